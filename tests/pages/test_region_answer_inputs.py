"""The answer inputs shared by whole-task controls and the per-region panel (views/widgets/controls.py):
what a Number takes and shows, a DateTime's range, how a compact input is titled, and a chosen rating."""
from __future__ import annotations

import datetime as dt

from streamlit.proto.LabelVisibility_pb2 import LabelVisibility
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.testing.v1 import AppTest

from tests.pages.region_harness import region_widget_app
from tests.pages.test_chat_widget import CONVERSATION, PER_REGION_XML
from tests.pages.test_chat_widget import _app as _chat_app
from tests.pages.test_control_labels import interface_app
from tests.pages.test_region_widgets import BOX_XML, COIN_BOX, COINS

COLLAPSED = LabelVisibility.LabelVisibilityOptions.COLLAPSED
VISIBLE = LabelVisibility.LabelVisibilityOptions.VISIBLE


def _interface(xml: str, items: list | None = None) -> AppTest:
    at = AppTest.from_function(interface_app, default_timeout=30)
    at.session_state["xml"] = xml
    if items is not None:
        at.session_state["out"] = items
    at.run()
    assert not at.exception, at.exception
    return at


def _text_view(body: str) -> str:
    return f'<View><Text name="text" value="$text"/>{body}</View>'


def _number_item(value: float) -> dict:
    return {"from_name": "n", "to_name": "text", "type": "number", "value": {"number": value}}


# --- Number ---------------------------------------------------------------------------------------

def test_a_whole_step_number_takes_and_shows_whole_numbers() -> None:
    at = _interface(_text_view('<Number name="n" toName="text" min="0" max="20"/>'), [_number_item(4)])
    (number,) = at.number_input
    assert number.proto.data_type == NumberInput.INT and number.proto.format == "%d"  # "4", not "4.00"
    assert number.value == 4 and isinstance(number.value, int)
    assert (number.proto.min, number.proto.max, number.proto.step) == (0, 20, 1)
    number.set_value(7).run()
    assert at.session_state["out"] == [_number_item(7)] and isinstance(at.session_state["out"][0]["value"]["number"], int)
    explicit = _interface(_text_view('<Number name="n" toName="text" step="2"/>'))
    assert explicit.number_input[0].proto.data_type == NumberInput.INT


def test_a_fractional_step_number_shows_the_steps_decimals() -> None:
    at = _interface(_text_view('<Number name="n" toName="text" min="0" max="5" step="0.25"/>'), [_number_item(1.5)])
    (number,) = at.number_input
    assert number.proto.data_type == NumberInput.FLOAT and number.proto.format == "%.2f"
    assert number.value == 1.5
    number.set_value(2.75).run()
    assert at.session_state["out"] == [_number_item(2.75)]


def test_a_stored_fraction_in_a_whole_step_number_is_shown_as_it_is() -> None:
    """An imported 2.5 in a step-1 Number is not cut to 2 by an integer input."""
    at = _interface(_text_view('<Number name="n" toName="text"/>'), [_number_item(2.5)])
    (number,) = at.number_input
    assert number.proto.data_type == NumberInput.FLOAT and number.value == 2.5
    assert at.session_state["out"] == [_number_item(2.5)]


# --- DateTime -------------------------------------------------------------------------------------

def _date_item(value: str) -> dict:
    return {"from_name": "d", "to_name": "text", "type": "datetime", "value": {"datetime": value}}


def test_a_date_picker_spans_two_centuries_unless_the_config_says_min_and_max() -> None:
    at = _interface(_text_view('<DateTime name="d" toName="text" only="date"/>'))
    (picker,) = at.date_input
    assert (picker.proto.min, picker.proto.max) == ("1900-01-01", "2100-12-31")  # not ten years around today
    picker.set_value(dt.date(1931, 7, 4)).run()
    assert at.session_state["out"] == [_date_item("1931-07-04")]

    bounded = _interface(_text_view('<DateTime name="d" toName="text" only="date" min="2020-01-01" max="2020-12-31"/>'))
    assert (bounded.date_input[0].proto.min, bounded.date_input[0].proto.max) == ("2020-01-01", "2020-12-31")
    years = _interface(_text_view('<DateTime name="d" toName="text" only="date" min="1990" max="1999"/>'))
    assert (years.date_input[0].proto.min, years.date_input[0].proto.max) == ("1990-01-01", "1999-12-31")


def test_a_stored_date_outside_the_range_is_shown_with_a_note_not_a_crash() -> None:
    xml = _text_view('<DateTime name="d" toName="text" only="date" min="2020-01-01" max="2020-12-31"/>')
    at = _interface(xml, [_date_item("1850-03-01")])
    (picker,) = at.date_input
    assert picker.value == dt.date(1850, 3, 1) and picker.proto.min == "1850-03-01"
    assert any("1850-03-01 lies outside 2020-01-01 – 2020-12-31" in c.value for c in at.caption)
    assert at.session_state["out"] == [_date_item("1850-03-01")]  # kept until changed
    dated = _interface(_text_view('<DateTime name="d" toName="text"/>'), [_date_item("2150-01-02T08:30")])
    assert dated.date_input[0].value == dt.date(2150, 1, 2) and dated.session_state["out"] == [
        _date_item("2150-01-02T08:30")]


def test_a_stored_year_is_read_back() -> None:
    at = _interface(_text_view('<DateTime name="d" toName="text" only="year" min="1950"/>'), [_date_item("1999")])
    (year,) = at.number_input
    assert year.value == 1999 and year.proto.min == 1950
    assert at.session_state["out"] == [_date_item("1999")]


# --- the per-region panel: titles and the chosen rating --------------------------------------------

PANEL_XML = BOX_XML.replace("</View>", """
  <Header value="How worn is it?"/>
  <Rating name="wear" toName="image" perRegion="true"/>
  <Number name="year" toName="image" perRegion="true" title="Year struck"/>
  <Header value="$hint"/>
  <TextArea name="note" toName="image" perRegion="true" rows="1"/>
</View>""")


def _panel(xml: str) -> AppTest:
    at = AppTest.from_function(region_widget_app, default_timeout=30)
    at.session_state["xml"] = xml
    at.session_state["object"] = "image"
    at.session_state["data"] = {}
    at.session_state["items_in"] = [COIN_BOX]
    at.session_state["media"] = str(COINS)
    at.run()
    at.button(key="t1_image_sel_coinbox001").click().run()
    assert not at.exception, at.exception
    return at


def test_a_compact_input_is_titled_by_its_label_or_the_header_asking_it_never_by_a_raw_name_under_a_header() -> None:
    at = _panel(PANEL_XML)
    prefix = "t1_image_pr_{}_coinbox001_1"
    wear = at.button_group(key=prefix.format("wear"))
    # The header stands elsewhere in the layout (below the image): the panel repeats its question.
    assert (wear.label, wear.proto.label_visibility.value) == ("How worn is it?", VISIBLE)
    year = at.number_input(key=prefix.format("year"))
    assert (year.label, year.proto.label_visibility.value) == ("Year struck", VISIBLE)  # its own title
    note = at.text_input(key=prefix.format("note"))
    assert note.label == "Note"  # a header reading task data asks nothing fixed: the name (in words) is all there is
    assert "wear" not in [m.value for m in at.markdown] and "year" not in [m.value for m in at.markdown]


def test_a_chat_panel_under_its_header_shows_no_raw_control_name() -> None:
    """The Chat draws the block's Header ("Response Accuracy") in the panel: the rating under it is not
    titled again, least of all by its name."""
    at = _chat_app(PER_REGION_XML, {"chat": CONVERSATION})
    at.button(key="t1_chat_sel_msg-1").click().run()
    accuracy = at.button_group(key="t1_chat_pr_accuracy_msg-1_1")
    assert accuracy.label == "Response Accuracy" and accuracy.proto.label_visibility.value == COLLAPSED
    shown = [m.value for m in at.markdown]
    assert "Response Accuracy" in "\n".join(shown)
    assert not [m for m in shown if "accuracy" in m or "outcome" in m]  # neither raw name


def test_a_chosen_rating_is_filled_with_the_primary_colour() -> None:
    at = _panel(PANEL_XML)
    key = "t1_image_pr_wear_coinbox001_1"
    at.button_group(key=key).set_value(3).run()
    css = "\n".join(str(h.proto.body) for h in at.get("html"))
    rule = f'.st-key-{key} button[aria-checked="true"]'
    assert rule in css and "background: #3b5bdb" in css.split(rule, 1)[1]


def test_the_hint_before_a_selection_names_the_questions_not_the_controls() -> None:
    at = AppTest.from_function(region_widget_app, default_timeout=30)
    for key, value in {"xml": PANEL_XML, "object": "image", "data": {}, "items_in": [COIN_BOX],
                       "media": str(COINS)}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    assert "Select a region to answer “How worn is it?”, “Year struck”, “Note” for it." in [c.value for c in at.caption]
