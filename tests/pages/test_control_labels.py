"""How the typed-answer controls are labelled (AppTest): a TextArea's placeholder is an example inside the
box and is not shown again as its label; the label is the control's name, collapsed (for screen readers),
as Choices and Rating have it; a question above comes from the config's label/title or a Header."""
from __future__ import annotations

from streamlit.proto.LabelVisibility_pb2 import LabelVisibility
from streamlit.testing.v1 import AppTest

from core.templates import get_template

COLLAPSED = LabelVisibility.LabelVisibilityOptions.COLLAPSED


def interface_app() -> None:
    import streamlit as st

    from core.config import auto_hotkeys, parse_config
    from core.media import MediaRef
    from views.widgets.base import WidgetContext
    from views.widgets.interface import render_interface

    cfg = parse_config(st.session_state["xml"])
    ctx = WidgetContext(cfg=cfg, data={"text": "A receipt.", "image": ""}, key_prefix="t1",
                        hotkeys=auto_hotkeys(cfg), resolve_media=lambda url: MediaRef())
    st.session_state["out"] = render_interface(st.session_state.get("out", []), ctx)


def _app(xml: str) -> AppTest:
    at = AppTest.from_function(interface_app, default_timeout=30)
    at.session_state["xml"] = xml
    at.run()
    assert not at.exception, at.exception
    return at


def _shown_text(at: AppTest) -> str:
    return " ".join(str(m.value) for m in at.markdown)


def test_the_image_captioning_example_shows_once_inside_the_box() -> None:
    xml = get_template("image-captioning").xml
    example = "A grey tabby cat lying on a rug, looking at the camera."
    at = _app(xml)
    (box,) = at.text_area
    assert box.placeholder == example
    assert box.label == "caption" and box.proto.label_visibility.value == COLLAPSED
    assert example not in _shown_text(at)
    assert "Describe the image in one plain sentence" in _shown_text(at)  # the Header asks the question


def test_a_single_line_textarea_a_number_and_a_taxonomy_are_labelled_the_same_way() -> None:
    at = _app("""<View>
      <Text name="text" value="$text"/>
      <TextArea name="note" toName="text" rows="1" placeholder="e.g. torn corner" title="Anything odd?"/>
      <Number name="total" toName="text" placeholder="0.00"/>
      <Taxonomy name="category" toName="text" placeholder="Pick a category">
        <Choice value="Food"/><Choice value="Travel"/>
      </Taxonomy>
    </View>""")
    (line,) = at.text_input
    assert (line.label, line.placeholder) == ("note", "e.g. torn corner")
    assert line.proto.label_visibility.value == COLLAPSED
    assert "**Anything odd?**" in _shown_text(at)  # the control's own title, once, above the box
    (number,) = at.number_input
    assert (number.label, number.proto.placeholder) == ("total", "0.00")
    assert number.proto.label_visibility.value == COLLAPSED
    (taxonomy,) = at.multiselect
    assert (taxonomy.label, taxonomy.placeholder) == ("category", "Pick a category")
    assert taxonomy.proto.label_visibility.value == COLLAPSED


def test_a_textarea_answer_is_still_recorded() -> None:
    at = _app('<View><Text name="text" value="$text"/><TextArea name="note" toName="text"/></View>')
    at.text_area[0].input("Creased.").run()
    assert not at.exception, at.exception
    assert [item["value"] for item in at.session_state["out"]] == [{"text": ["Creased."]}]
