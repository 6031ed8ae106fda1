"""The Chat widget through AppTest, driven by the whole interface walker (render_interface).

Covers: task messages shown, adding a message (-> a chatmessage item), deleting it, roles, selecting
a message and answering a per-region control (-> an item with the message id), visibleWhen blocks,
the llm note, read-only mode and the max-messages limit.
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.config import parse_config
from core.results import check_chat_rules, check_result
from tests.conftest import shared_path

CONVERSATION = [{"role": "user", "content": "How do I add an annotator?"},
                {"role": "assistant", "content": "Create an account and give it the Annotator role."}]

EDITABLE_XML = """<View>
  <Text name="instructions" value="$text"/>
  <Chat name="chat" value="$chat" toName="chat" minMessages="2" maxMessages="3"
        messageroles="user,assistant" editable="true" llm="openai/gpt-4.1-nano"/>
</View>"""

PER_REGION_XML = """<View>
  <Chat name="chat" value="$chat" editable="false"/>
  <Header size="4">Overall quality</Header>
  <Rating name="overall" toName="chat"/>
  <View visibleWhen="no-region-selected">
    <Header value="Click on a message to evaluate"/>
  </View>
  <View visibleWhen="region-selected" whenRole="assistant">
    <Header value="Response Accuracy"/>
    <Rating name="accuracy" toName="chat" perRegion="true" maxRating="5"/>
    <Choices name="outcome" toName="chat" perRegion="true">
      <Choice value="Compliant"/><Choice value="Over refusal"/>
    </Choices>
    <View visibleWhen="choice-selected" whenTagName="outcome" whenChoiceValue="Over refusal">
      <Header value="Refusal quality"/>
      <TextArea name="refusal_note" toName="chat" perRegion="true"/>
    </View>
  </View>
  <View visibleWhen="region-selected" whenRole="user">
    <Header value="User risk"/>
    <Choices name="risk" toName="chat" perRegion="true"><Choice value="Benign"/><Choice value="Risky"/></Choices>
  </View>
</View>"""


def interface_app() -> None:
    import streamlit as st

    from core.config import auto_hotkeys, parse_config
    from core.media import MediaRef
    from views.widgets.base import WidgetContext
    from views.widgets.interface import render_interface

    cfg = parse_config(st.session_state["xml"])
    ctx = WidgetContext(cfg=cfg, data=st.session_state.get("data", {}), key_prefix="t1",
                        hotkeys=auto_hotkeys(cfg), resolve_media=lambda url: MediaRef(),
                        disabled=st.session_state.get("disabled", False))
    items = st.session_state.get("out", st.session_state.get("items_in", []))  # the page feeds back
    st.session_state["out"] = render_interface(items, ctx)


def _app(xml: str, data: dict, items: list | None = None, **state: object) -> AppTest:
    at = AppTest.from_function(interface_app, default_timeout=30)
    at.session_state["xml"] = xml
    at.session_state["data"] = data
    at.session_state["items_in"] = items or []
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _out(at: AppTest) -> list[dict]:
    assert not at.exception, at.exception
    return at.session_state["out"]


def _texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_task_messages_are_shown_as_plain_text_with_their_roles() -> None:
    hostile = [{"role": "user", "content": "<script>alert(1)</script> **bold**"}]
    at = _app(PER_REGION_XML, {"chat": CONVERSATION + hostile})
    assert _texts(at) == [m["content"] for m in CONVERSATION + hostile]  # st.text: no HTML, no Markdown
    captions = " ".join(c.value for c in at.caption)
    assert "#1 · user" in captions and "#2 · assistant" in captions and "3 messages" in captions
    assert _out(at) == []
    # Header with text content, and the no-region-selected block while nothing is selected.
    assert "Overall quality" in _markdown(at) and "Click on a message to evaluate" in _markdown(at)
    assert "Response Accuracy" not in _markdown(at)


def test_adding_a_message_makes_a_chatmessage_item_and_it_can_be_deleted() -> None:
    cfg = parse_config(EDITABLE_XML)
    at = _app(EDITABLE_XML, {"text": "Play a customer", "chat": []})
    assert any("does not call models" in i.value for i in at.info)  # the llm note
    assert at.radio(key="t1_chat_role").value == "user"
    at.text_area(key="t1_chat_text").set_value("Hi, my export is empty.")
    at.button(key="t1_chat_add").click().run()
    (item,) = _out(at)
    assert item["from_name"] == item["to_name"] == "chat" and item["type"] == "chatmessage"
    assert item["value"] == {"chatmessage": {"role": "user", "content": "Hi, my export is empty."}}
    assert len(item["id"]) == 10
    check_result(cfg, _out(at))
    assert at.text_area(key="t1_chat_text").value == ""  # cleared, next role preselected
    assert at.radio(key="t1_chat_role").value == "assistant"
    assert check_chat_rules(cfg, _out(at), {"chat": []}) == [
        "the conversation 'chat' needs at least 2 messages; it has 1"]

    at.text_area(key="t1_chat_text").set_value("Which format did you export?").run()
    at.button(key="t1_chat_add").click().run()
    out = _out(at)
    assert [i["value"]["chatmessage"]["role"] for i in out] == ["user", "assistant"]
    assert check_chat_rules(cfg, out, {"chat": []}) == []
    assert "Hi, my export is empty." in _texts(at)

    at.button(key=f"t1_chat_del_{out[0]['id']}").click().run()
    assert [i["value"]["chatmessage"]["content"] for i in _out(at)] == ["Which format did you export?"]


def test_an_empty_message_is_not_added_and_the_maximum_disables_add() -> None:
    at = _app(EDITABLE_XML, {"text": "t", "chat": CONVERSATION})
    at.button(key="t1_chat_add").click().run()
    assert _out(at) == [] and any("Type the message first" in w.value for w in at.warning)
    at.text_area(key="t1_chat_text").set_value("third").run()
    at.button(key="t1_chat_add").click().run()
    assert len(_out(at)) == 1
    assert at.button(key="t1_chat_add").disabled  # 2 task messages + 1 added = maxMessages 3


def test_selecting_a_message_shows_its_block_and_a_rating_is_stored_with_the_message_id() -> None:
    cfg = parse_config(PER_REGION_XML)
    at = _app(PER_REGION_XML, {"chat": CONVERSATION})
    at.button(key="t1_chat_sel_msg-1").click().run()
    md = _markdown(at)
    assert "Response Accuracy" in md and "User risk" not in md
    assert "Click on a message to evaluate" not in md  # no-region-selected block hidden now
    assert "Refusal quality" not in md  # choice-selected: nothing chosen yet
    at.button_group(key="t1_chat_pr_accuracy_msg-1_1").set_value(4).run()
    (item,) = _out(at)
    assert item == {"id": "msg-1", "from_name": "accuracy", "to_name": "chat", "type": "rating",
                    "value": {"rating": 4}, "origin": "manual", "item_index": 1}
    check_result(cfg, _out(at))

    at.button(key="t1_chat_pr_outcome_msg-1_1_opt_Over refusal").click().run()  # the Choices' own buttons
    assert "Refusal quality" in _markdown(at)  # nested choice-selected view follows the message's answer
    assert {i["from_name"] for i in _out(at)} == {"accuracy", "outcome"}

    at.button(key="t1_chat_sel_msg-0").click().run()  # a user message: the other block
    md = _markdown(at)
    assert "User risk" in md and "Response Accuracy" not in md
    at.button(key="t1_chat_pr_risk_msg-0_2_opt_Risky").click().run()
    risk = next(i for i in _out(at) if i["from_name"] == "risk")
    assert risk["id"] == "msg-0" and risk["value"] == {"choices": ["Risky"]} and risk["item_index"] == 0
    assert len(_out(at)) == 3  # answers of message 1 are kept

    at.button(key="t1_chat_sel_msg-0").click().run()  # again: unselect
    assert "Click on a message to evaluate" in _markdown(at)


def test_a_whole_conversation_rating_is_a_plain_item() -> None:
    at = _app(PER_REGION_XML, {"chat": CONVERSATION})
    assert not at.exception
    keys = [w.key for w in at.button_group]
    assert any(k and "overall" in k for k in keys)


def test_stored_answers_come_back_and_read_only_mode_has_no_add_or_delete() -> None:
    added = {"id": "abcdefghij", "from_name": "chat", "to_name": "chat", "type": "chatmessage",
             "value": {"chatmessage": {"role": "assistant", "content": "Typed by the labeler"}}}
    at = _app(EDITABLE_XML, {"text": "t", "chat": []}, items=[added], disabled=True)
    assert _out(at) == [added]
    assert "Typed by the labeler" in _texts(at)
    keys = {b.key for b in at.button}
    assert "t1_chat_add" not in keys and "t1_chat_del_abcdefghij" not in keys


@pytest.mark.parametrize("name", ["chat__chat_rlhf.xml", "chat__chatbot.xml", "chat__chat_red_team.xml",
                                  "chat__chat_eval.xml", "chat__chat_llm_eval.xml"])
def test_the_chat_templates_render_with_their_sample_task(name: str) -> None:
    path = shared_path("ls-templates", name)
    from core.config import generate_sample_task

    xml = path.read_text(encoding="utf-8")
    cfg = parse_config(xml)
    at = _app(xml, generate_sample_task(cfg))
    assert _out(at) == []
    assert not at.error
    messages = cfg.sample_task["data"]["chat"] if cfg.sample_task else []
    for message in messages:
        assert message["content"] in _texts(at)
    if messages and any(c.get("perRegion") for c in cfg.controls.values()):
        at.button(key="t1_chat_sel_msg-1").click().run()  # an assistant message: its block shows
        assert not at.exception and "Selected: message #2" in _markdown(at)


def test_chatbot_assessment_rating_without_to_name_and_header_text_render() -> None:
    path = shared_path("ls-templates", "generative-ai__chatbot-assessment.xml")
    from core.config import generate_sample_task

    xml = path.read_text(encoding="utf-8")
    cfg = parse_config(xml)
    at = _app(xml, generate_sample_task(cfg))
    assert not at.exception and not at.error
    assert "InstructGPT Assessment" in _markdown(at)  # <Header style=...>text content</Header>
    assert not any(".container" in m.value for m in at.markdown)  # <Style> CSS never reaches the page
    rating = next(w for w in at.button_group if w.key and "likert_scale" in w.key)
    rating.set_value(6).run()
    item = next(i for i in _out(at) if i["from_name"] == "likert_scale")
    assert item["to_name"] == "dialogue" and item["type"] == "rating" and item["value"] == {"rating": 6}
    check_result(cfg, _out(at))


def test_a_read_only_answer_using_a_choice_since_removed_is_shown_and_marked() -> None:
    """An annotation keeps the config version it was made under; after a label is removed the review and data
    pages must still show what the annotator chose, not an empty answer."""
    xml = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
           '<Choice value="Positive"/><Choice value="Negative"/></Choices></View>')
    old = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Neutral"]}}
    at = _app(xml, {"text": "meh"}, [old], disabled=True)
    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "**Neutral** (not in the current config)" in shown, shown
    assert at.session_state["out"] == [{**old, "value": {"choices": ["Neutral"]}}] or \
        [i["value"] for i in at.session_state["out"]] == [{"choices": ["Neutral"]}]
