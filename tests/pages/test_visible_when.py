"""visibleWhen in the labeling interface (AppTest): conditional Choices open and close as the labeler
answers, a hidden control's answer leaves the result, and a block laid out before its condition
follows it in the same interaction."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

CONDITIONAL_XML = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Mixed"/>
  </Choices>
  <View visibleWhen="choice-selected" whenTagName="sentiment" whenChoiceValue="Negative,Mixed">
    <Header value="What went wrong?"/>
    <Choices name="reason" toName="text" required="true"><Choice value="Price"/><Choice value="Quality"/></Choices>
    <TextArea name="detail" toName="text" visibleWhen="choice-selected" whenTagName="reason"
              whenChoiceValue="Quality"/>
  </View>
  <View visibleWhen="no-region-selected"><Header value="Nothing selected"/></View>
  <View visibleWhen="region-selected"><Header value="A region is selected"/></View>
</View>"""

# The conditional block comes *before* the Choices it depends on.
BLOCK_FIRST_XML = """<View>
  <Text name="text" value="$text"/>
  <Choices name="extra" toName="text" visibleWhen="choice-selected" whenTagName="topic" whenChoiceValue="Other">
    <Choice value="Spam"/><Choice value="Ads"/>
  </Choices>
  <Choices name="topic" toName="text"><Choice value="Sport"/><Choice value="Other"/></Choices>
</View>"""


def interface_app() -> None:
    import streamlit as st

    from core.config import auto_hotkeys, parse_config
    from core.media import MediaRef
    from views.widgets.base import WidgetContext
    from views.widgets.interface import render_interface

    cfg = parse_config(st.session_state["xml"])
    ctx = WidgetContext(cfg=cfg, data={"text": "The delivery was late."}, key_prefix="t1",
                        hotkeys=auto_hotkeys(cfg), resolve_media=lambda url: MediaRef())
    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    st.session_state["out"] = render_interface(st.session_state.get("out", []), ctx)  # the page feeds back


def _app(xml: str) -> AppTest:
    at = AppTest.from_function(interface_app, default_timeout=30)
    at.session_state["xml"] = xml
    return at.run()


def _keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button} | {t.key for t in at.text_area}


def _headers(at: AppTest) -> str:
    return " ".join(str(m.value) for m in at.markdown) + " ".join(str(h.value) for h in at.header) \
        + " ".join(str(h.value) for h in at.subheader)


def _click(at: AppTest, control: str, value: str) -> AppTest:
    at.button(key=f"t1_choice_{control}_{value}").click().run()
    assert not at.exception, at.exception
    return at


def _answers(at: AppTest) -> dict[str, object]:
    return {i["from_name"]: i["value"] for i in at.session_state["out"]}


def test_the_conditional_block_opens_for_the_named_choices_only() -> None:
    at = _app(CONDITIONAL_XML)
    assert not at.exception, at.exception
    assert "t1_choice_reason_Price" not in _keys(at)
    _click(at, "sentiment", "Positive")
    assert "t1_choice_reason_Price" not in _keys(at)
    _click(at, "sentiment", "Mixed")
    assert "t1_choice_reason_Price" in _keys(at)
    assert not at.text_area  # the nested detail box waits for "Quality"


def test_a_nested_condition_opens_inside_an_open_block() -> None:
    at = _app(CONDITIONAL_XML)
    _click(at, "sentiment", "Negative")
    _click(at, "reason", "Quality")
    assert at.text_area, "the detail box appears once Quality is chosen"
    at.text_area[0].input("arrived broken").run()
    assert _answers(at)["detail"] == {"text": ["arrived broken"]}


def test_answers_of_a_closed_block_leave_the_result() -> None:
    at = _app(CONDITIONAL_XML)
    _click(at, "sentiment", "Negative")
    _click(at, "reason", "Price")
    assert _answers(at) == {"sentiment": {"choices": ["Negative"]}, "reason": {"choices": ["Price"]}}
    _click(at, "sentiment", "Positive")
    assert _answers(at) == {"sentiment": {"choices": ["Positive"]}}
    assert "t1_choice_reason_Price" not in _keys(at)


def test_region_blocks_follow_the_selection_with_no_region_widget_nothing_is_selected() -> None:
    at = _app(CONDITIONAL_XML)
    text = _headers(at)
    assert "Nothing selected" in text and "A region is selected" not in text


def test_a_block_before_its_condition_follows_it_in_the_same_click() -> None:
    at = _app(BLOCK_FIRST_XML)
    assert "t1_choice_extra_Spam" not in _keys(at)
    runs = at.session_state["runs"]
    _click(at, "topic", "Other")
    assert "t1_choice_extra_Spam" in _keys(at)
    assert at.session_state["runs"] - runs == 2  # the click's run plus one corrective rerun
    _click(at, "extra", "Ads")
    runs = at.session_state["runs"]
    _click(at, "topic", "Sport")
    assert "t1_choice_extra_Spam" not in _keys(at)
    assert _answers(at) == {"topic": {"choices": ["Sport"]}}
    assert at.session_state["runs"] - runs == 2


PER_REGION_XML = """<View>
  <TimeSeriesLabels name="events" toName="ts"><Label value="Peak"/><Label value="Dip"/></TimeSeriesLabels>
  <TimeSeries name="ts" value="$ts" valueType="json" timeColumn="step"><Channel column="power"/></TimeSeries>
  <Choices name="cause" toName="ts" perRegion="true" visibleWhen="region-selected" whenTagName="events"
           whenLabelValue="Peak"><Choice value="Load"/><Choice value="Fault"/></Choices>
</View>"""


def region_app() -> None:
    import streamlit as st

    from core.config import auto_hotkeys, parse_config
    from core.media import MediaRef
    from views.widgets.base import WidgetContext
    from views.widgets.interface import render_interface

    cfg = parse_config(st.session_state["xml"])
    ctx = WidgetContext(cfg=cfg, data={"ts": {"step": [0, 1, 2, 3], "power": [1.0, 4.0, 0.5, 1.0]}},
                        key_prefix="t1", hotkeys=auto_hotkeys(cfg), resolve_media=lambda url: MediaRef())
    st.session_state["out"] = render_interface(st.session_state.get("out", []), ctx)


def _drag(at: AppTest, x0: float, x1: float) -> None:
    key = f"t1_ts_chart_{at.session_state['t1_ts_regions'].version}"
    at.session_state[key] = {"selection": {"points": [], "point_indices": [], "lasso": [],
                                           "box": [{"xref": "x", "yref": "y", "x": [x0, x1], "y": [0, 1]}]}}
    at.run()
    assert not at.exception, at.exception


def _per_region_questions(at: AppTest) -> set[str]:
    """The per-region controls whose answer buttons the panel shows (keys ``..._pr_<control>_<region>_...``)."""
    return {b.key.split("_pr_")[1].split("_")[0] for b in at.button if b.key and "_pr_" in b.key}


def test_a_per_region_question_shows_only_for_regions_with_its_label() -> None:
    at = AppTest.from_function(region_app, default_timeout=30)
    at.session_state["xml"] = PER_REGION_XML
    at.run()
    _drag(at, 0.5, 1.5)  # a Peak (the first label) is added and selected
    assert _per_region_questions(at) == {"cause"}
    at.button(key="t1_ts_target_events_Dip").click().run()
    _drag(at, 1.5, 2.5)  # a Dip: the question stays hidden
    assert not _per_region_questions(at)
    peak = next(i for i in at.session_state["out"] if i["value"].get("timeserieslabels") == ["Peak"])
    at.button(key=f"t1_ts_sel_{peak['id']}").click().run()
    assert _per_region_questions(at) == {"cause"}
