"""Parsing: the typed tree, case-insensitive tags, hostile XML, the sample-task comment."""
from __future__ import annotations

import time

import pytest

from core.config import (ConfigValidationError, ControlTag, LabelingConfig, LabelOption, ObjectTag,
                         parse_config)
from core.errors import ConfigError

NER = """<View>
  <Labels name="label" toName="text">
    <Label value="Person" background="red" hotkey="p"/>
    <Label value="Organization" alias="ORG"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""


def test_parse_builds_objects_and_controls_in_config_order() -> None:
    cfg = parse_config(NER)
    assert isinstance(cfg, LabelingConfig)
    assert cfg.xml == NER
    assert list(cfg.objects) == ["text"]
    assert list(cfg.controls) == ["label"]
    text = cfg.objects["text"]
    assert isinstance(text, ObjectTag)
    assert (text.name, text.tag, text.value, text.variables, text.line) == ("text", "Text", "$text", ("text",), 6)
    label = cfg.controls["label"]
    assert isinstance(label, ControlTag)
    assert (label.tag, label.to_names, label.line, label.kind.name) == ("Labels", ("text",), 2, "Labels")
    assert label.options[0] == LabelOption("Person", None, "p", "red", (), label.options[0].attrs, 3)
    assert label.options[1].alias == "ORG"


def test_result_type_and_label_names_use_aliases() -> None:
    cfg = parse_config(NER)
    assert cfg.result_type("label") == "labels"
    assert cfg.label_names("label") == ["Person", "ORG"]


def test_unknown_control_name_raises_key_error_listing_controls() -> None:
    with pytest.raises(KeyError, match="label"):
        parse_config(NER).result_type("nope")


def test_tag_names_are_case_insensitive_and_normalised() -> None:
    cfg = parse_config('<view><IMAGE name="img" value="$image"/>'
                       '<Rectanglelabels name="box" toname="img"><label value="Car"/></Rectanglelabels></view>')
    assert cfg.root.tag == "View"
    assert cfg.objects["img"].tag == "Image"
    box = cfg.controls["box"]
    assert box.tag == "RectangleLabels" and box.to_names == ("img",)
    assert cfg.result_type("box") == "rectanglelabels"
    assert box.get("toName") == "img"  # attribute names are case-insensitive too


def test_audio_plus_is_read_as_audio() -> None:
    cfg = parse_config('<View><AudioPlus name="a" value="$audio"/></View>')
    assert cfg.objects["a"].tag == "Audio"


def test_taxonomy_options_form_a_tree_and_label_names_flatten_it() -> None:
    cfg = parse_config("""<View><Text name="t" value="$t"/>
      <Taxonomy name="tax" toName="t">
        <Choice value="Animals"><Choice value="Cat"/><Choice value="Dog"/></Choice>
        <Choice value="Plants"/>
      </Taxonomy></View>""")
    tax = cfg.controls["tax"]
    assert [o.value for o in tax.options] == ["Animals", "Plants"]
    assert [c.value for c in tax.options[0].children] == ["Cat", "Dog"]
    assert cfg.label_names("tax") == ["Animals", "Cat", "Dog", "Plants"]


def test_options_inside_a_view_wrapper_belong_to_the_control() -> None:
    cfg = parse_config('<View><Text name="t" value="$t"/><Choices name="c" toName="t">'
                       '<View><Choice value="A"/></View><Choice value="B"/></Choices></View>')
    assert cfg.label_names("c") == ["A", "B"]


def test_ranker_buckets_are_options_named_by_their_name() -> None:
    cfg = parse_config('<View><List name="l" value="$items" title="t"/><Ranker name="r" toName="l">'
                       '<Bucket name="good" title="Good"/><Bucket name="bad" title="Bad"/></Ranker></View>')
    assert cfg.label_names("r") == ["good", "bad"]
    assert cfg.controls["r"].options[0].get("title") == "Good"


def test_relations_without_name_get_a_stable_name() -> None:
    cfg = parse_config('<View><Relations><Relation value="founded_by"/></Relations>'
                       '<Text name="t" value="$t"/><Labels name="l" toName="t"><Label value="Org"/></Labels></View>')
    assert "relations" in cfg.controls
    assert cfg.result_type("relations") == "relation"
    assert cfg.label_names("relations") == ["founded_by"]


def test_dynamic_options_are_read_from_the_task() -> None:
    cfg = parse_config('<View><Text name="t" value="$t"/>'
                       '<Choices name="c" toName="t" value="$options"/></View>')
    choices = cfg.controls["c"]
    assert choices.is_dynamic and choices.dynamic_options_variable == "options"
    assert choices.options == () and cfg.label_names("c") == []
    assert cfg.variables == ("t", "options")


def test_unsupported_tags_are_parsed_and_listed_with_lines() -> None:
    cfg = parse_config('<View>\n<Image name="i" value="$i"/>\n'
                       '<BrushLabels name="b" toName="i"><Label value="x"/></BrushLabels>\n</View>')
    assert cfg.unsupported_tags() == [("BrushLabels", 3)]


def test_tree_keeps_visual_tags_and_style_text() -> None:
    cfg = parse_config('<View><Style>.a { color: red }</Style><Header value="Hi"/>'
                       '<Text name="t" value="$t"/></View>')
    assert [n.tag for n in cfg.root.walk()] == ["View", "Style", "Header", "Text"]
    assert cfg.root.children[0].text == ".a { color: red }"
    assert cfg.find("t") is not None and cfg.find("t").tag == "Text"


# --- errors raised by parse_config ---------------------------------------------------------------
def test_malformed_xml_reports_line_and_column() -> None:
    with pytest.raises(ConfigError, match=r"malformed XML at line 2, column \d+: mismatched tag"):
        parse_config('<View>\n<Text name="t" value="$t"></View>')


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_config_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        parse_config(text)


def test_unknown_tag_is_named_with_its_line_and_the_supported_tags() -> None:
    with pytest.raises(ConfigError, match=r"unknown tag <Bogus> at line 2; supported tags: .*Choices"):
        parse_config('<View><Text name="t" value="$t"/>\n<Bogus name="b" toName="t"/></View>')


def test_root_must_be_view() -> None:
    with pytest.raises(ConfigError, match=r"root tag must be <View>, not <Choices>"):
        parse_config('<Choices name="c" toName="t"><Choice value="a"/></Choices>')


def test_duplicate_names_are_refused_naming_both_lines() -> None:
    with pytest.raises(ConfigError, match=r'duplicate name "x": <Choices> at line 3 and <Text> at line 2'):
        parse_config('<View>\n<Text name="x" value="$t"/>\n<Choices name="x" toName="x"><Choice value="a"/></Choices></View>')


def test_parse_collects_several_fatal_problems_at_once() -> None:
    with pytest.raises(ConfigValidationError) as info:
        parse_config('<View>\n<Bogus/>\n<Wat/>\n<Text value="$t"/></View>')
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 3
    assert "<Bogus>" in messages[0] and "<Wat>" in messages[1] and "`name`" in messages[2]


# --- hostile XML ---------------------------------------------------------------------------------
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<View><Header value="&lol9;"/></View>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE View [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<View><Header value="&xxe;"/></View>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE View SYSTEM "http://example.com/evil.dtd">
<View/>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
                         ids=["billion-laughs", "external-entity", "external-dtd"])
def test_hostile_xml_is_refused_quickly_with_a_message_about_xml(xml: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="XML") as info:
        parse_config(xml)
    assert time.perf_counter() - started < 1.0
    assert "root:" not in str(info.value)  # nothing from /etc/passwd leaked into the message


def test_xml_declaration_with_another_encoding_still_reads_unicode() -> None:
    cfg = parse_config('<?xml version="1.0" encoding="ISO-8859-1"?>\n<View><Header value="Café"/></View>')
    assert cfg.root.children[0].get("value") == "Café"


def test_absurdly_deep_nesting_is_refused_without_recursion_error() -> None:
    with pytest.raises(ConfigError, match="nested deeper"):
        parse_config("<View>" * 5000 + "</View>" * 5000)


# --- the sample-task comment ---------------------------------------------------------------------
def test_trailing_comment_with_data_and_annotations_becomes_the_sample_task() -> None:
    cfg = parse_config(NER + '\n<!-- {"data": {"text": "Hi Bob"}, "annotations": [{"result": []}]} -->')
    assert cfg.sample_task == {"data": {"text": "Hi Bob"}, "annotations": [{"result": []}]}


def test_trailing_comment_with_flat_data_is_wrapped() -> None:
    cfg = parse_config(NER + '\n<!-- note -->\n<!--{"text": "Hi -- Bob",}-->\n')
    assert cfg.sample_task == {"data": {"text": "Hi -- Bob"}}


def test_trailing_comment_with_a_list_of_tasks_uses_the_first() -> None:
    cfg = parse_config(NER + '\n<!-- [{"text": "one"}, {"text": "two"}] -->')
    assert cfg.sample_task == {"data": {"text": "one"}}


def test_unreadable_or_absent_comment_gives_no_sample_task() -> None:
    assert parse_config(NER).sample_task is None
    assert parse_config(NER + "\n<!-- {not json at all -->").sample_task is None
    assert parse_config(NER + "\n<!-- just a remark -->").sample_task is None
