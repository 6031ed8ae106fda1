"""Chat in the config language and in results; a control without toName labelling the only object."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from commands import config as config_command
from core.config import (
    TAG_KINDS,
    chat_limit,
    chat_roles,
    config_problems,
    config_warnings,
    parse_config,
    validate_config,
)
from core.results import InvalidResultError, check_chat_rules, check_result, missing_required

CHAT_XML = """<View>
  <Text name="instructions" value="$text"/>
  <Chat name="chat" value="$chat" toName="chat" minMessages="2" maxMessages="$max"
        messageroles="customer,agent" editable="true" llm="openai/gpt-4.1-nano"/>
  <Rating name="accuracy" toName="chat" perRegion="true"/>
  <Choices name="answered" toName="chat" required="true"><Choice value="Yes"/><Choice value="No"/></Choices>
  <TextArea name="note" toName="chat"/>
  <Number name="turns" toName="chat"/>
</View>"""


def _message(role: str = "customer", content: str = "Hello", **extra: object) -> dict:
    return {"id": "a1b2c3d4e5", "from_name": "chat", "to_name": "chat", "type": "chatmessage",
            "value": {"chatmessage": {"role": role, "content": content}}, **extra}


def test_chat_parses_as_a_supported_object_that_controls_may_label() -> None:
    cfg = validate_config(CHAT_XML)
    chat = cfg.objects["chat"]
    assert chat.tag == "Chat" and chat.value == "$chat" and chat.variables == ("chat",)
    assert TAG_KINDS["Chat"].has_widget and TAG_KINDS["Chat"].result_type == "chatmessage"
    assert {c.tag for c in cfg.controls.values() if c.to_names == ("chat",)} == {
        "Rating", "Choices", "TextArea", "Number"}
    assert chat_roles(chat) == ["customer", "agent"]
    assert chat_roles(parse_config('<View><Chat name="c" value="$c"/></View>').objects["c"]) == ["user", "assistant"]
    assert chat_limit(chat, "minMessages") == 2
    assert chat_limit(chat, "maxMessages") is None  # $max needs the task
    assert chat_limit(chat, "maxMessages", {"max": 10}) == 10
    assert chat_limit(chat, "maxMessages", {"max": "lots"}) is None


def test_chat_llm_is_a_warning_not_a_problem() -> None:
    cfg, problems = config_problems(CHAT_XML)
    assert problems == [] and cfg is not None
    (warning,) = config_warnings(cfg)
    assert warning.tag == "Chat" and warning.line == 3
    assert 'llm="openai/gpt-4.1-nano" is not honoured' in warning.message


@pytest.mark.parametrize(("attrs", "expected"), [
    ('toName="other"', 'toName="other" must name the Chat itself'),
    ('minMessages="two"', 'minMessages="two" is not a whole number'),
    ('minMessages="5" maxMessages="3"', "minMessages=5 is above maxMessages=3"),
    ('editable="yes"', 'editable="yes" must be "true" or "false"'),
])
def test_bad_chat_attributes_are_reported_naming_the_tag_and_line(attrs: str, expected: str) -> None:
    _, problems = config_problems(f'<View>\n<Chat name="chat" value="$chat" {attrs}/></View>')
    (problem,) = problems
    assert problem.tag == "Chat" and '<Chat name="chat"> at line 2' in problem.message
    assert expected in problem.message


def test_a_chat_message_and_per_message_answers_pass_check_result() -> None:
    cfg = parse_config(CHAT_XML)
    result = [
        _message(),
        {"id": "msg-1", "item_index": 1, "from_name": "accuracy", "to_name": "chat", "type": "rating",
         "value": {"rating": 4}},
        {"id": "a1b2c3d4e5", "from_name": "accuracy", "to_name": "chat", "type": "rating", "value": {"rating": 2}},
        {"id": "x", "from_name": "answered", "to_name": "chat", "type": "choices", "value": {"choices": ["Yes"]}},
    ]
    check_result(cfg, result)
    assert missing_required(cfg, result) == []
    assert missing_required(cfg, result[:1]) == ["answered"]


@pytest.mark.parametrize(("item", "expected"), [
    (_message(role="user"), "role 'user' is not one of Chat 'chat''s roles (customer, agent)"),
    (_message(content="   "), "needs text content"),
    ({**_message(), "to_name": "instructions"}, "must have to_name 'chat'"),
    ({**_message(), "type": "textarea"}, "makes 'chatmessage'"),
    ({**_message(), "value": {"text": ["hi"]}}, 'value must be {"chatmessage"'),
])
def test_bad_chat_messages_are_refused(item: dict, expected: str) -> None:
    with pytest.raises(InvalidResultError, match="result item 1") as info:
        check_result(parse_config(CHAT_XML), [item])
    assert expected in str(info.value)


def test_messages_cannot_be_added_to_a_chat_that_is_not_editable() -> None:
    cfg = parse_config('<View><Chat name="chat" value="$chat" editable="false"/></View>')
    with pytest.raises(InvalidResultError, match="not editable"):
        check_result(cfg, [_message(role="user")])


def test_min_and_max_messages_count_task_and_added_messages() -> None:
    cfg = parse_config(CHAT_XML)
    one_task_message = {"text": "t", "chat": [{"role": "customer", "content": "Hi"}], "max": 2}
    assert check_chat_rules(cfg, [], one_task_message) == [
        "the conversation 'chat' needs at least 2 messages; it has 1"]
    assert check_chat_rules(cfg, [_message()], one_task_message) == []
    too_many = [_message(), {**_message(role="agent"), "id": "zzzzzzzzzz"}]
    assert check_chat_rules(cfg, too_many, one_task_message) == [
        "the conversation 'chat' may have at most 2 messages; it has 3"]
    assert check_chat_rules(cfg, too_many, {**one_task_message, "max": "n/a"}) == []  # unreadable: not enforced


def test_per_message_answers_must_name_a_message_of_the_conversation() -> None:
    cfg = parse_config(CHAT_XML)
    data = {"text": "t", "chat": [{"role": "customer", "content": "Hi"}, {"role": "agent", "content": "Yes?"}]}

    def rating(region_id: str) -> dict:
        return {"id": region_id, "from_name": "accuracy", "to_name": "chat", "type": "rating", "value": {"rating": 3}}
    assert check_chat_rules(cfg, [rating("msg-1"), _message(), rating("a1b2c3d4e5")], data) == []
    assert check_chat_rules(cfg, [rating("msg-2")], data) == [
        "'accuracy' answers message 'msg-2', which is not in the conversation 'chat'"]


# --- a control without toName ---------------------------------------------------------------------

def test_a_control_without_to_name_labels_the_only_object_with_a_warning() -> None:
    xml = ('<View>\n<Paragraphs name="dialogue" value="$messages" layout="dialogue"/>\n'
           '<Rating name="likert_scale" maxRating="7"/>\n</View>')
    cfg, problems = config_problems(xml)
    assert problems == [] and cfg is not None
    assert cfg.controls["likert_scale"].to_names == ("dialogue",)
    (warning,) = config_warnings(cfg)
    assert warning.tag == "Rating" and warning.line == 3
    assert warning.message.startswith('<Rating name="likert_scale"> at line 3 has no `toName`; it labels '
                                      '<Paragraphs name="dialogue"> (line 2)')
    check_result(cfg, [{"from_name": "likert_scale", "to_name": "dialogue", "type": "rating",
                        "value": {"rating": 6}}])


def test_a_control_without_to_name_and_two_candidate_objects_is_an_error_naming_them() -> None:
    xml = ('<View>\n<Text name="a" value="$a"/>\n<Text name="b" value="$b"/>\n'
           '<Rating name="score"/>\n</View>')
    _, problems = config_problems(xml)
    (problem,) = problems
    assert problem.tag == "Rating" and problem.line == 4
    assert problem.message.startswith('<Rating name="score"> at line 4 has no `toName` attribute')
    assert '"a" (<Text> line 2), "b" (<Text> line 3)' in problem.message


def test_only_objects_the_control_may_label_are_candidates() -> None:
    # RectangleLabels labels only Image: the Text does not count, so the Image is the one candidate.
    xml = ('<View><Text name="t" value="$t"/><Image name="img" value="$img"/>'
           '<RectangleLabels name="box"><Label value="Car"/></RectangleLabels></View>')
    cfg = validate_config(xml)
    assert cfg.controls["box"].to_names == ("img",)
    _, problems = config_problems('<View><Text name="t" value="$t"/>'
                                  '<RectangleLabels name="box"><Label value="Car"/></RectangleLabels></View>')
    assert [p.message for p in problems] == ['<RectangleLabels name="box"> at line 1 has no `toName` attribute']


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cli.py")
    config_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_config_check_prints_warnings_and_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "chat.xml"
    path.write_text('<View>\n<Chat name="chat" value="$chat" editable="true" llm="openai/gpt-4.1-nano"/>\n'
                    '<Rating name="overall"/>\n</View>')
    assert _cli(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok: {path}") and "overall (Rating -> chat)" in out
    warnings = [line for line in out.splitlines() if ": warning: " in line]
    assert [w.split(": warning: ")[0] for w in warnings] == [f"{path}:2", f"{path}:3"]
    assert "llm=" in warnings[0] and "has no `toName`; it labels <Chat" in warnings[1]
    path.write_text('<View>\n<Chat name="chat" value="$chat"/>\n<Text name="t" value="$t"/>\n'
                    '<Rating name="overall"/>\n</View>')
    assert _cli(["config", "check", str(path)]) == 1
    assert f'{path}:4: <Rating name="overall"> at line 4 has no `toName` attribute' in capsys.readouterr().out


# --- on submit ------------------------------------------------------------------------------------

def test_submit_enforces_min_messages_counting_the_task_conversation(make_uow) -> None:
    from core.labeling import next_task, submit_annotation
    from tests.core.helpers import import_json, make_project, make_user

    admin = make_user(make_uow, "admin", admin=True)
    labeler = make_user(make_uow, "ann")
    xml = ('<View><Chat name="chat" value="$chat" minMessages="3" messageroles="customer,agent" '
           'editable="true"/></View>')
    project = make_project(make_uow, admin, config=xml, members={"annotator": [labeler]})
    import_json(make_uow, admin, project.id, [{"chat": [{"role": "customer", "content": "Hi"}]}])
    with make_uow() as uow:
        task = next_task(uow, labeler, project_id=project.id)
        uow.commit()
    one = [_message(role="agent", content="Hello, how can I help?")]
    with make_uow() as uow, pytest.raises(InvalidResultError, match="needs at least 3 messages; it has 2"):
        submit_annotation(uow, labeler, task_id=task.task_id, result=one)
    two = one + [{**_message(content="My export is empty"), "id": "second0001"}]
    with make_uow() as uow:
        submit_annotation(uow, labeler, task_id=task.task_id, result=two)
        uow.commit()
