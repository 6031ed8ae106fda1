"""validate_config: one clear message per problem, naming the tag and its line; all problems at once."""
from __future__ import annotations

import pytest

from core.config import ConfigValidationError, check_task_data, parse_config, validate_config
from core.errors import ConfigError


def problems_of(xml: str) -> list[str]:
    with pytest.raises(ConfigValidationError) as info:
        validate_config(xml)
    return [p.message for p in info.value.problems]


def test_a_valid_config_passes_and_returns_the_tree() -> None:
    cfg = validate_config('<View><Image name="img" value="$image"/>'
                          '<RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>')
    assert list(cfg.controls) == ["box"]


def test_to_name_naming_no_object_is_reported() -> None:
    [message] = problems_of('<View>\n<Text name="t" value="$t"/>\n'
                            '<Choices name="c" toName="txt"><Choice value="a"/></Choices></View>')
    assert message.startswith('<Choices name="c"> at line 3: toName="txt" names no object tag')
    assert "(object tags: t)" in message


def test_control_pointing_at_a_kind_it_cannot_label_is_reported() -> None:
    [message] = problems_of('<View>\n<Text name="t" value="$t"/>\n'
                            '<RectangleLabels name="box" toName="t"><Label value="Car"/></RectangleLabels></View>')
    assert message == ('<RectangleLabels name="box"> at line 3 cannot label <Text name="t"> (line 2); '
                       "RectangleLabels labels only Image")


def test_choices_without_options_is_reported_unless_dynamic() -> None:
    [message] = problems_of('<View><Text name="t" value="$t"/>\n<Choices name="c" toName="t"/></View>')
    assert '<Choices name="c"> at line 2 has no options' in message
    validate_config('<View><Text name="t" value="$t"/><Choices name="c" toName="t" value="$opts"/></View>')


def test_missing_required_attributes_are_reported() -> None:
    # Two objects a Choices could label: the missing toName stays an error (the one-object fallback
    # is tested in test_chat_and_fallbacks.py).
    messages = problems_of('<View>\n<Text name="t"/>\n<Choices name="c"><Choice value="a"/></Choices>\n'
                           '<Image value="$i"/>\n<Choices toName="t"><Choice value="b"/></Choices>\n'
                           '<Image name="i2" value="$i2"/></View>')
    assert messages == ['<Text name="t"> at line 2 has no `value` attribute',
                        '<Choices name="c"> at line 3 has no `toName` attribute; several object tags could be '
                        'meant, name one of: "t" (<Text> line 2), "i2" (<Image> line 6)',
                        "<Image> at line 4 has no `name` attribute",
                        "<Choices> at line 5 has no `name` attribute"]


def test_image_may_use_value_list_instead_of_value() -> None:
    validate_config('<View><Image name="pages" valueList="$pages"/>'
                    '<Choices name="c" toName="pages"><Choice value="ok"/></Choices></View>')


def test_unknown_and_unsupported_tags_are_reported_with_supported_tags() -> None:
    messages = problems_of('<View>\n<Image name="i" value="$i"/>\n<Bogus/>\n'
                           '<BrushLabels name="b" toName="i"><Label value="x"/></BrushLabels></View>')
    assert messages[0].startswith("unknown tag <Bogus> at line 3; supported tags: ")
    assert messages[1].startswith("unsupported tag <BrushLabels> at line 4")
    assert "supported tags: " in messages[1] and "RectangleLabels" in messages[1]


def test_unsupported_tags_may_be_allowed_explicitly() -> None:
    cfg = validate_config('<View><Image name="i" value="$i"/>'
                          '<BrushLabels name="b" toName="i"><Label value="x"/></BrushLabels></View>',
                          allow_unsupported=True)
    assert cfg.unsupported_tags() == [("BrushLabels", 1)]


def test_child_tag_outside_its_parent_is_reported() -> None:
    [message] = problems_of('<View><Text name="t" value="$t"/>\n<Label value="x"/></View>')
    assert message.startswith("<Label> at line 2 must be inside")


def test_duplicate_option_values_are_reported() -> None:
    [message] = problems_of('<View><Text name="t" value="$t"/>\n<Choices name="c" toName="t">'
                            '<Choice value="a"/>\n<Choice value="a"/></Choices></View>')
    assert 'option "a" appears twice (lines 2 and 3)' in message


def test_pairwise_needs_two_objects() -> None:
    [message] = problems_of('<View><Text name="a" value="$a"/>\n<Pairwise name="p" toName="a"/></View>')
    assert "toName must name two objects" in message


def test_every_problem_is_collected_not_just_the_first() -> None:
    messages = problems_of('<View>\n<Text name="t" value="$t"/>\n'
                           '<Choices name="c" toName="nope"/>\n'
                           '<RectangleLabels name="r" toName="t"><Label value="a"/></RectangleLabels>\n'
                           '<Chat name="chat" value="$chat" toName="other"/></View>')
    assert len(messages) == 4
    assert [m.split(" at line ")[1][0] for m in messages if " at line " in m] == ["3", "3", "4", "5"]


def test_validation_error_is_a_config_error_whose_message_lists_problems() -> None:
    with pytest.raises(ConfigError, match="2 problems"):
        validate_config('<View><Text name="t" value="$t"/><Choices name="c" toName="x"/></View>')


def test_malformed_xml_is_a_config_error_from_validate_too() -> None:
    with pytest.raises(ConfigError, match="malformed XML at line 1"):
        validate_config("<View><Text></View>")


# --- check_task_data -----------------------------------------------------------------------------
def test_check_task_data_names_each_missing_variable_and_its_tag() -> None:
    cfg = parse_config('<View>\n<Header value="Task: $title"/>\n<Image name="img" value="$image"/>\n'
                       '<Text name="t" value="$doc.body"/>\n'
                       '<Choices name="c" toName="img" value="$opts"/></View>')
    messages = check_task_data(cfg, {"doc": {"title": "x"}, "opts": []})
    assert messages == [
        'task data has no "title" (read by <Header> value="Task: $title" at line 2)',
        'task data has no "image" (read by <Image name="img"> value="$image" at line 3)',
        'task data has "doc" but not $doc.body (read by <Text name="t"> value="$doc.body" at line 4)',
    ]
    assert check_task_data(cfg, {"title": "T", "image": "x.jpg", "doc": {"body": "b"}, "opts": []}) == []


def test_check_task_data_refuses_non_object_data() -> None:
    cfg = parse_config('<View><Text name="t" value="$t"/></View>')
    assert check_task_data(cfg, ["not", "a", "dict"]) == ["task data must be a JSON object, not list"]  # type: ignore[arg-type]
