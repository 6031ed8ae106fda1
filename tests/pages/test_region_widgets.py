"""Region widgets through AppTest: what is drawn from the items, and the items that come back.

The canvas and the span component are browser-side; AppTest cannot draw on them, but a component's
state can be injected through ``at.session_state[key]`` (streamlit-notes.md section 4), which is what
the browser would send.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from views.widgets.text_regions import from_paragraph, snap_span, to_paragraph
from tests.pages.region_harness import region_widget_app

ROOT = Path(__file__).resolve().parents[2]
COINS = ROOT / "assets/demo/images/coins.jpg"  # 384 x 303
WAV = ROOT / "assets/demo/audio/01.wav"
BOX_XML = (ROOT / "assets/demo/image-boxes/config.xml").read_text()
NER_XML = (ROOT / "assets/demo/named-entities/config.xml").read_text()
CANVAS = "t1_image_canvas"
SPANS = "t1_text_spans"

COIN_BOX = {"id": "coinbox001", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
            "original_width": 384, "original_height": 303, "image_rotation": 0,
            "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0, "rectanglelabels": ["Coin"]}}


def _app(xml: str, obj: str, *, data: dict | None = None, items: list | None = None,
         media: Path | None = None, **state: object) -> AppTest:
    at = AppTest.from_function(region_widget_app, default_timeout=30)
    at.session_state["xml"] = xml
    at.session_state["object"] = obj
    at.session_state["data"] = data or {}
    at.session_state["items_in"] = items or []
    if media is not None:
        at.session_state["media"] = str(media)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _component(at: AppTest, key: str):  # type: ignore[no-untyped-def]
    return next(e for e in at.main if e.type == "bidi_component" and e.key == key)


def _drawing(at: AppTest, key: str = CANVAS) -> list[dict]:
    return json.loads(_component(at, key).proto.json)["initialDrawing"]["objects"]


def _send_canvas(at: AppTest, objects: list[dict], key: str = CANVAS) -> AppTest:
    at.session_state[key] = {"drawing": {"raw": {"objects": objects}, "data": None}}
    return at.run()


def _out(at: AppTest) -> list[dict]:
    assert not at.exception, at.exception
    return at.session_state["out"]


# --- image ----------------------------------------------------------------------------------------

def test_initial_box_is_drawn_at_its_pixel_place_and_returned_unchanged() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    (drawn,) = _drawing(at)
    assert drawn["type"] == "LabeledRect" and drawn["label"] == "Coin"
    assert (drawn["originX"], drawn["originY"]) == ("left", "top")
    assert [drawn[k] for k in ("left", "top", "width", "height")] == pytest.approx([38.4, 60.6, 115.2, 121.2])
    assert _out(at) == [COIN_BOX]


def test_a_drawn_box_comes_back_in_percent_of_the_original_image_with_the_chosen_label() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    at.button(key="t1_image_target_label_Person").click().run()
    drawn = _drawing(at)
    new = {"type": "LabeledRect", "label": "Person", "left": 96, "top": 30.3, "width": 48, "height": 60.6,
           "scaleX": 1, "scaleY": 1, "originX": "left", "originY": "top", "angle": 0}
    out = _out(_send_canvas(at, drawn + [new]))
    assert out[0] == COIN_BOX
    added = out[1]
    assert added["from_name"] == "label" and added["to_name"] == "image" and added["type"] == "rectanglelabels"
    assert added["value"]["rectanglelabels"] == ["Person"]
    assert [added["value"][k] for k in ("x", "y", "width", "height")] == pytest.approx([25, 10, 12.5, 20])
    assert added["value"]["rotation"] == 0
    assert (added["original_width"], added["original_height"], added["image_rotation"]) == (384, 303, 0)
    assert len(added["id"]) == 10 and set(added["id"]) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def test_moving_a_box_on_the_canvas_updates_it_and_keeps_its_id() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    (drawn,) = _drawing(at)
    moved = dict(drawn, left=drawn["left"] + 38.4, scaleX=0.5)
    (item,) = _out(_send_canvas(at, [moved]))
    assert item["id"] == "coinbox001"
    assert [item["value"][k] for k in ("x", "y", "width", "height")] == pytest.approx([20, 20, 15, 40])


def test_delete_button_removes_the_region_and_undo_brings_it_back() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    at.button(key="t1_image_del_coinbox001").click().run()
    assert _out(at) == [] and _drawing(at) == []
    at.button(key="t1_image_undo").click().run()
    assert _out(at) == [COIN_BOX] and len(_drawing(at)) == 1


def test_undoing_a_drawn_box_makes_the_canvas_reload_its_drawing() -> None:
    """The canvas reloads only when the drawing it is given changes: after undoing a box the labeler drew,
    the drawing must differ from the one given before the box (else the undone box stays on screen and comes
    back with the next shape)."""
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    before = json.loads(_component(at, CANVAS).proto.json)["initialDrawing"]
    drawn = _drawing(at)
    new = {"type": "LabeledRect", "label": "Coin", "left": 96, "top": 30.3, "width": 48, "height": 60.6,
           "scaleX": 1, "scaleY": 1, "originX": "left", "originY": "top", "angle": 0}
    assert len(_out(_send_canvas(at, drawn + [new]))) == 2
    at.button(key="t1_image_undo").click().run()
    assert _out(at) == [COIN_BOX]
    after = json.loads(_component(at, CANVAS).proto.json)["initialDrawing"]
    assert after["objects"] == before["objects"] and after != before


def test_deleting_on_the_canvas_toolbar_removes_the_region() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    assert _out(_send_canvas(at, [])) == []


def test_large_exif_rotated_image_is_downscaled_for_display_but_measured_in_original_pixels(tmp_path: Path) -> None:
    image = Image.new("RGB", (2000, 1000), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees: the transposed original is 1000 x 2000
    path = tmp_path / "tall.jpg"
    image.save(path, exif=exif)
    at = _app(BOX_XML, "image", media=path)
    canvas = json.loads(_component(at, CANVAS).proto.json)
    assert (canvas["canvasWidth"], canvas["canvasHeight"]) == (360, 720)
    box = {"type": "LabeledRect", "label": "Coin", "left": 36, "top": 72, "width": 180, "height": 360,
           "originX": "left", "originY": "top"}
    (item,) = _out(_send_canvas(at, [box]))
    assert (item["original_width"], item["original_height"]) == (1000, 2000)
    assert [item["value"][k] for k in ("x", "y", "width", "height")] == pytest.approx([10, 10, 50, 50])


def test_polygon_and_keypoint_tools_make_their_own_result_types() -> None:
    xml = """<View><Image name="img" value="$image"/>
      <PolygonLabels name="poly" toName="img"><Label value="Road"/></PolygonLabels>
      <KeyPointLabels name="kp" toName="img"><Label value="Nose"/></KeyPointLabels></View>"""
    at = _app(xml, "img", media=COINS)
    polygon = {"type": "Polygon", "points": [{"x": 0, "y": 0}, {"x": 192, "y": 0}, {"x": 192, "y": 151.5}],
               "left": 96, "top": 75.75, "originX": "center", "originY": "center"}
    (item,) = _out(_send_canvas(at, [polygon], 't1_img_canvas'))
    assert item["type"] == "polygonlabels" and item["value"]["polygonlabels"] == ["Road"]
    assert [c for p in item["value"]["points"] for c in p] == pytest.approx([0, 0, 50, 0, 50, 50])
    at.button(key="t1_img_target_kp_Nose").click().run()
    circle = {"type": "Circle", "left": 38.4 - 5, "top": 30.3, "radius": 4, "strokeWidth": 2,
              "originX": "left", "originY": "center"}
    out = _out(_send_canvas(at, _drawing(at, 't1_img_canvas') + [circle], 't1_img_canvas'))
    point = next(i for i in out if i["type"] == "keypointlabels")
    assert (point["value"]["x"], point["value"]["y"]) == pytest.approx((10, 10))
    assert point["value"]["keypointlabels"] == ["Nose"]


def test_per_region_textarea_answers_share_the_selected_box_id() -> None:
    xml = BOX_XML.replace("</View>", '<TextArea name="note" toName="image" perRegion="true"/></View>')
    at = _app(xml, "image", items=[COIN_BOX], media=COINS)
    at.button(key="t1_image_sel_coinbox001").click().run()
    at.text_area(key="t1_image_pr_note_coinbox001_1").input("shiny").run()
    out = _out(at)
    note = next(i for i in out if i["from_name"] == "note")
    assert note["id"] == "coinbox001" and note["type"] == "textarea"
    assert note["value"]["text"] == ["shiny"] and note["value"]["x"] == 10
    assert note["original_width"] == 384


ANSWERS_XML = BOX_XML.replace("</View>", """
  <Choices name="colour" toName="image" perRegion="true" choice="Multiple">
    <Choice value="Gold"/><Choice value="Silver"/><Choice value="Copper"/></Choices>
  <Choices name="side" toName="image" perRegion="true" required="true"><Choice value="Heads"/><Choice value="Tails"/></Choices>
  <Rating name="wear" toName="image" perRegion="true" maxRating="10"/>
  <Number name="year" toName="image" perRegion="true" min="1800" max="2100"/>
  <DateTime name="found" toName="image" perRegion="true" only="date"/>
</View>""")


def _answer(out: list[dict], name: str) -> dict:
    return next(i for i in out if i["from_name"] == name)


def test_per_region_answers_use_the_whole_task_widgets_with_the_parsed_attributes() -> None:
    """The compact inputs are the family renderers of controls.py (issue 12, point 4): choice="Multiple" is
    multi-choice in any case, options carry their hotkeys, a required single choice is changed but never
    emptied, a 10-star Rating shows numbers, a Number keeps whole numbers whole, a date-only DateTime is a
    date picker, and every answer shares the region's id and geometry."""
    import datetime as dt

    at = _app(ANSWERS_XML, "image", items=[COIN_BOX], media=COINS)
    at.button(key="t1_image_sel_coinbox001").click().run()
    prefix = "t1_image_pr_{}_coinbox001_1"
    gold = at.button(key=prefix.format("colour") + "_opt_Gold")
    assert gold.proto.shortcut  # the option's automatic hotkey, as on the whole-task buttons
    gold.click().run()
    at.button(key=prefix.format("colour") + "_opt_Copper").click().run()
    assert _answer(_out(at), "colour")["value"]["choices"] == ["Gold", "Copper"]  # "Multiple": several

    at.button(key=prefix.format("side") + "_opt_Heads").click().run()
    at.button(key=prefix.format("side") + "_opt_Tails").click().run()
    at.button(key=prefix.format("side") + "_opt_Tails").click().run()  # required: not emptied
    assert _answer(_out(at), "side")["value"]["choices"] == ["Tails"]

    wear = at.button_group(key=prefix.format("wear"))
    assert wear.options[-1] == "10"  # numbers, not ten stars
    wear.set_value(7).run()
    at.number_input(key=prefix.format("year")).set_value(1921).run()
    at.date_input(key=prefix.format("found")).set_value(dt.date(2024, 5, 1)).run()
    out = _out(at)
    assert _answer(out, "wear")["value"]["rating"] == 7
    year = _answer(out, "year")["value"]["number"]
    assert year == 1921 and isinstance(year, int)
    found = _answer(out, "found")
    assert found["value"]["datetime"] == "2024-05-01" and found["type"] == "datetime"
    for name in ("colour", "side", "wear", "year", "found"):
        item = _answer(out, name)
        assert item["id"] == "coinbox001" and item["value"]["x"] == 10 and item["original_width"] == 384


def test_a_per_region_control_without_a_compact_input_says_so_in_the_panel() -> None:
    xml = BOX_XML.replace("</View>", '<Pairwise name="pick" toName="image" perRegion="true"/></View>')
    at = _app(xml, "image", items=[COIN_BOX], media=COINS)
    at.button(key="t1_image_sel_coinbox001").click().run()
    assert any("Pairwise" in w.value for w in at.warning)
    assert _out(at) == [COIN_BOX]


def test_read_only_boxes_are_a_picture_that_fits_its_column_without_editing_buttons() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS, disabled=True)
    # A canvas has a fixed pixel width and is clipped in the narrow columns of review and the data browser.
    assert not [e for e in at.main if e.type == "bidi_component" and e.key == CANVAS]
    assert len([e for e in at.main if e.type == "image"]) == 1
    assert not [b for b in at.button if b.key and ("_del_" in b.key or "target" in b.key)]
    assert _out(at) == [COIN_BOX]


def test_the_read_only_picture_draws_each_region_where_its_percent_coordinates_say() -> None:
    import io

    from PIL import Image

    from views.widgets.image_regions import DisplayImage, annotated_preview

    blank = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(blank, format="PNG")
    image = DisplayImage(blank.getvalue(), 400, 200, 200, 100)
    box = {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0}
    polygon = {"points": [[60, 10], [90, 10], [90, 50]]}
    point = {"x": 50, "y": 90, "width": 1}
    png = annotated_preview(image, [(box, "#ff0000", ""), (polygon, "#0000ff", ""), (point, "#00ff00", "")])
    with Image.open(io.BytesIO(png)) as drawn:
        pixels = drawn.convert("RGB")
        assert pixels.getpixel((20, 40)) == (255, 0, 0)  # the box's left edge: x 10% of 200, y 20%..60% of 100
        assert pixels.getpixel((40, 40)) == (255, 255, 255)  # its inside stays the image
        assert pixels.getpixel((180, 20)) == (0, 0, 255)  # the polygon's right edge at x 90%
        assert pixels.getpixel((100, 90)) == (0, 255, 0)  # the key point
    labelled = annotated_preview(image, [(box, "#ff0000", "Coin")])
    with Image.open(io.BytesIO(labelled)) as drawn:
        pixels = drawn.convert("RGB")
        tag = [pixels.getpixel((x, y)) for x in range(20, 40) for y in range(0, 20)]
        assert (255, 0, 0) in tag and (255, 255, 255) in tag  # a red tag with white writing above the box


def _assist(at: AppTest, event_id: str, kind: str, key: str = "t1_image_assist", **extra: object) -> AppTest:
    """What the canvas helper sends on the Delete key, a click on the toolbar's bin or Ctrl + wheel."""
    at.session_state[key] = {"event": {"id": event_id, "type": kind, **extra}}
    return at.run()


COIN_NOTE = {"id": "coinbox001", "from_name": "note", "to_name": "image", "type": "textarea",
             "original_width": 384, "original_height": 303, "image_rotation": 0,
             "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0, "text": ["shiny"]}}
SECOND_BOX = {**COIN_BOX, "id": "coinbox002", "value": {**COIN_BOX["value"], "x": 50}}
NOTE_XML = BOX_XML.replace("</View>", '<TextArea name="note" toName="image" perRegion="true"/></View>')


def test_the_delete_key_removes_the_selected_region_once_and_undo_brings_it_back() -> None:
    at = _app(NOTE_XML, "image", items=[COIN_BOX, COIN_NOTE, SECOND_BOX], media=COINS)
    at.button(key="t1_image_sel_coinbox001").click().run()
    out = _out(_assist(at, "k1", "delete"))
    assert out == [SECOND_BOX]  # the box and its per-region answer
    assert len(_drawing(at)) == 1 and at.session_state["t1_image_regions"].selected is None
    at.button(key="t1_image_sel_coinbox002").click().run()
    at.run()  # the same event seen again on a later run is not applied again
    assert _out(at) == [SECOND_BOX]
    at.button(key="t1_image_undo").click().run()
    assert _out(at) == [COIN_BOX, COIN_NOTE, SECOND_BOX] and len(_drawing(at)) == 2


def test_the_delete_key_deletes_a_box_just_drawn_and_nothing_without_a_selection() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    assert _out(_assist(at, "k1", "delete")) == [COIN_BOX]  # nothing selected: nothing deleted
    new = {"type": "LabeledRect", "label": "Coin", "left": 96, "top": 30.3, "width": 48, "height": 60.6,
           "originX": "left", "originY": "top"}
    assert len(_out(_send_canvas(at, _drawing(at) + [new]))) == 2  # a new box is the selected region
    assert _out(_assist(at, "k2", "delete")) == [COIN_BOX]
    assert len(_drawing(at)) == 1


def test_the_toolbar_bin_deletes_every_region_in_one_undoable_step() -> None:
    at = _app(NOTE_XML, "image", items=[COIN_BOX, COIN_NOTE, SECOND_BOX], media=COINS)
    assert _out(_assist(at, "b1", "clear")) == []
    assert _drawing(at) == [] and "**Regions (0)**" in [m.value for m in at.markdown]
    at.button(key="t1_image_undo").click().run()
    assert _out(at) == [COIN_BOX, COIN_NOTE, SECOND_BOX]


def _canvas_data(at: AppTest, key: str = CANVAS) -> dict:
    return json.loads(_component(at, key).proto.json)


def test_zooming_in_draws_a_larger_sharper_canvas_and_keeps_the_stored_percent() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    assert (_canvas_data(at)["canvasWidth"], _canvas_data(at)["canvasHeight"]) == (384, 303)
    at.segmented_control(key="t1_image_zoom").set_value(2.0).run()
    data = _canvas_data(at)
    assert (data["canvasWidth"], data["canvasHeight"]) == (768, 606)
    assert data["maxDisplayHeight"] == 520  # the larger canvas scrolls in a view
    import base64
    import io
    background = base64.b64decode(data["backgroundImageURL"].split(",", 1)[1])
    with Image.open(io.BytesIO(background)) as shown:
        assert shown.size == (768, 606)  # resampled from the original at the zoomed size, not stretched
    (drawn,) = data["initialDrawing"]["objects"]
    assert [drawn[k] for k in ("left", "top", "width", "height")] == pytest.approx([76.8, 121.2, 230.4, 242.4])
    assert _out(at) == [COIN_BOX]  # redrawing at another zoom changes no stored value
    # the box of test_a_drawn_box_comes_back_in_percent..., drawn at twice the size
    new = {"type": "LabeledRect", "label": "Coin", "left": 192, "top": 60.6, "width": 96, "height": 121.2,
           "originX": "left", "originY": "top"}
    added = _out(_send_canvas(at, data["initialDrawing"]["objects"] + [new]))[1]
    assert [added["value"][k] for k in ("x", "y", "width", "height")] == pytest.approx([25, 10, 12.5, 20])
    assert (added["original_width"], added["original_height"]) == (384, 303)
    assert [at.toggle(key="t1_image_pan").label] == ["Pan"]


def test_ctrl_wheel_steps_the_zoom_and_zoom_false_hides_it() -> None:
    at = _app(BOX_XML, "image", items=[COIN_BOX], media=COINS)
    _assist(at, "w1", "zoom", step=1)
    assert at.segmented_control(key="t1_image_zoom").value == 1.5
    assert _canvas_data(at)["canvasWidth"] == 576
    _assist(at, "w2", "zoom", step=-1)
    _assist(at, "w3", "zoom", step=-1)  # not below 100 %
    assert at.segmented_control(key="t1_image_zoom").value == 1.0 and _canvas_data(at)["canvasWidth"] == 384
    plain = _app(BOX_XML.replace('zoom="true"', 'zoom="false"'), "image", items=[COIN_BOX], media=COINS)
    assert not [s for s in plain.segmented_control if s.key == "t1_image_zoom"]


def test_a_key_point_placed_zoomed_in_keeps_the_size_it_has_unzoomed() -> None:
    xml = """<View><Image name="img" value="$image"/>
      <KeyPointLabels name="kp" toName="img"><Label value="Nose"/></KeyPointLabels></View>"""
    circle = {"type": "Circle", "left": 38.4 - 5, "top": 30.3, "radius": 4, "strokeWidth": 2,
              "originX": "left", "originY": "center"}
    at = _app(xml, "img", media=COINS)
    (unzoomed,) = _out(_send_canvas(at, [circle], "t1_img_canvas"))
    at = _app(xml, "img", media=COINS)
    at.segmented_control(key="t1_img_zoom").set_value(3.0).run()
    zoomed_circle = dict(circle, left=3 * 38.4 - 5, top=3 * 30.3)  # the same click, three times as far
    (zoomed,) = _out(_send_canvas(at, [zoomed_circle], "t1_img_canvas"))
    assert [zoomed["value"][k] for k in ("x", "y", "width")] == pytest.approx(
        [unzoomed["value"][k] for k in ("x", "y", "width")])
    at.button(key=f"t1_img_sel_{zoomed['id']}").click().run()  # Python redraws the canvas
    (drawn,) = _drawing(at, "t1_img_canvas")
    assert drawn["radius"] == pytest.approx(4)  # shown the same size on screen at every zoom


# --- text -----------------------------------------------------------------------------------------

TEXT = "Maria Okafor met ACME in Lagos.\r\nNew line"
PER = {"id": "maria00001", "from_name": "label", "to_name": "text", "type": "labels",
       "value": {"start": 0, "end": 12, "text": "Maria Okafor", "labels": ["PER"]}}


def _select(at: AppTest, start: int, end: int, seq: int, **extra: object) -> AppTest:
    at.session_state[SPANS] = {"event": {"seq": seq, "type": "select", "start": start, "end": end, **extra}}
    return at.run()


def test_initial_spans_are_drawn_with_their_label_colour() -> None:
    at = _app(NER_XML, "text", data={"text": TEXT}, items=[PER])
    data = json.loads(_component(at, SPANS).proto.json)
    assert data["blocks"] == [{"text": TEXT}]
    (span,) = data["spans"]
    assert (span["start"], span["end"], span["label"], span["color"]) == (0, 12, "PER", "#ff6b6b")
    assert _out(at) == [PER]


def test_selected_text_becomes_a_span_with_an_exclusive_end_and_overlaps_are_kept() -> None:
    at = _app(NER_XML, "text", data={"text": TEXT}, items=[PER])
    at.button(key="t1_text_target_label_ORG").click().run()
    out = _out(_select(at, 6, 12, seq=1))  # "Okafor", inside the PER span
    assert out[0] == PER
    assert out[1]["value"] == {"start": 6, "end": 12, "text": "Okafor", "labels": ["ORG"]}
    assert TEXT[out[1]["value"]["start"]:out[1]["value"]["end"]] == "Okafor"
    spans = json.loads(_component(at, SPANS).proto.json)["spans"]
    assert [(s["start"], s["end"]) for s in spans] == [(0, 12), (6, 12)]


def test_word_granularity_widens_a_partial_selection_and_crlf_counts_two() -> None:
    at = _app(NER_XML, "text", data={"text": TEXT}, items=[])
    out = _out(_select(at, 19, 21, seq=1))  # "ME" of ACME, granularity="word"
    assert out[0]["value"]["text"] == "ACME" and (out[0]["value"]["start"], out[0]["value"]["end"]) == (17, 21)
    out = _out(_select(at, 33, 36, seq=2))  # after "\r\n": "New"
    assert out[1]["value"] == {"start": 33, "end": 36, "text": "New", "labels": ["PER"]}


def test_an_old_event_is_not_replayed_and_a_span_can_be_removed() -> None:
    at = _app(NER_XML, "text", data={"text": TEXT}, items=[PER])
    _select(at, 17, 21, seq=7)
    at.run()  # the same event again: no second span
    assert len(_out(at)) == 2
    at.button(key="t1_text_del_maria00001").click().run()
    assert [i["value"]["text"] for i in _out(at)] == ["ACME"]


def test_clicking_a_span_selects_it_for_relabelling() -> None:
    at = _app(NER_XML, "text", data={"text": TEXT}, items=[PER])
    at.session_state[SPANS] = {"event": {"seq": 3, "type": "click", "id": "maria00001"}}
    at.run()
    at.selectbox(key="t1_text_relabel_maria00001_1").select("LOC").run()
    assert _out(at)[0]["value"]["labels"] == ["LOC"]


def test_paragraph_labels_store_paragraph_indices_and_offsets() -> None:
    xml = """<View><Paragraphs name="dialogue" value="$dialogue" layout="dialogue"/>
      <ParagraphLabels name="tone" toName="dialogue"><Label value="Angry"/></ParagraphLabels></View>"""
    dialogue = [{"author": "A", "text": "Hello there."}, {"author": "B", "text": "Go away now!"}]
    at = _app(xml, "dialogue", data={"dialogue": dialogue})
    data = json.loads(_component(at, "t1_dialogue_spans").proto.json)
    assert [b["prefix"] for b in data["blocks"]] == ["A:", "B:"]
    at.session_state["t1_dialogue_spans"] = {"event": {"seq": 1, "type": "select", "start": 6, "end": 19}}
    (item,) = _out(at.run())
    assert item["type"] == "paragraphlabels"
    assert item["value"] == {"start": 0, "end": 1, "startOffset": 6, "endOffset": 7,
                             "text": "there.Go away", "paragraphlabels": ["Angry"]}


def test_hypertext_is_sanitised_and_spans_keep_xpath_and_global_offsets() -> None:
    xml = """<View><HyperText name="page" value="$html"/>
      <HyperTextLabels name="ents" toName="page"><Label value="Name"/></HyperTextLabels></View>"""
    html = '<p onclick="x()">Hi <b>Ann</b></p><script>alert(1)</script>'
    at = _app(xml, "page", data={"html": html})
    (block,) = json.loads(_component(at, "t1_page_spans").proto.json)["blocks"]
    assert "script" not in block["html"] and "onclick" not in block["html"] and "<b>Ann</b>" in block["html"]
    at.session_state["t1_page_spans"] = {"event": {
        "seq": 1, "type": "select", "start": 3, "end": 6, "text": "Ann", "start_xpath": "/p[1]/b[1]/text()[1]",
        "start_offset": 0, "end_xpath": "/p[1]/b[1]/text()[1]", "end_offset": 3}}
    (item,) = _out(at.run())
    assert item["value"] == {"start": "/p[1]/b[1]/text()[1]", "end": "/p[1]/b[1]/text()[1]", "startOffset": 0,
                             "endOffset": 3, "globalOffsets": {"start": 3, "end": 6}, "text": "Ann",
                             "hypertextlabels": ["Name"]}


def test_hypertext_images_outside_the_media_allow_list_are_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_MEDIA_HOSTS", "cdn.example.com")
    xml = """<View><HyperText name="page" value="$html"/>
      <HyperTextLabels name="ents" toName="page"><Label value="Name"/></HyperTextLabels></View>"""
    html = '<p>a<img src="https://tracker.example.net/p.gif">b<img src="https://cdn.example.com/ok.png"></p>'
    (block,) = json.loads(_component(_app(xml, "page", data={"html": html}), "t1_page_spans").proto.json)["blocks"]
    assert "tracker.example.net" not in block["html"] and "image not shown" in block["html"]
    assert 'src="https://cdn.example.com/ok.png"' in block["html"]


def test_a_label_background_that_is_no_colour_never_reaches_the_page_css() -> None:
    xml = """<View><Text name="text" value="$text"/><Labels name="ner" toName="text">
      <Label value="PER" background="red; } body { background: url(//tracker.example.net/p.gif) }"/>
      <Label value="LOC" background="#123456"/></Labels></View>"""
    at = _app(xml, "text", data={"text": "Ann lives in Oslo"})
    css = " ".join(e.proto.body for e in at.get("html"))  # style-only HTML goes to the event container
    assert "tracker.example.net" not in css and "#123456" in css
    assert "border-left: 0.45rem solid #e6194b" in css  # PER: the first palette colour


def test_the_region_list_shows_a_spans_text_as_text_even_when_it_is_markdown() -> None:
    text = "see ![p](https://tracker.example.net/p.gif) now"
    xml = """<View><Text name="text" value="$text"/>
      <Labels name="ner" toName="text"><Label value="PER"/></Labels></View>"""
    span = {"id": "r1", "from_name": "ner", "to_name": "text", "type": "labels",
            "value": {"start": 4, "end": 43, "text": text[4:43], "labels": ["PER"]}}
    at = _app(xml, "text", data={"text": text}, items=[span])
    row = next(m.value for m in at.markdown if "<small>" in m.value)
    assert "![p](" not in row and "\\!\\[p\\]\\(https\\:" in row


def test_span_helpers() -> None:
    assert snap_span("  ab cd  ", 0, 9, words=False) == (2, 7)
    assert snap_span("hello world", 1, 8, words=True) == (0, 11)
    assert to_paragraph([5, 3], 5, is_end=True) == (0, 5)
    assert to_paragraph([5, 3], 5, is_end=False) == (1, 0)
    assert from_paragraph([5, 3], 1, 2) == 7


# --- audio ----------------------------------------------------------------------------------------

AUDIO_XML = """<View><Audio name="audio" value="$audio"/>
  <Labels name="speaker" toName="audio"><Label value="Agent" background="#4dabf7"/><Label value="Caller"/></Labels>
  <TextArea name="transcript" toName="audio" perRegion="true" rows="2"/></View>"""


def test_audio_segment_added_from_bounds_with_original_length_and_a_transcript() -> None:
    at = _app(AUDIO_XML, "audio", data={"audio": "/data/upload/01.wav"}, media=WAV)
    at.button(key="t1_audio_target_speaker_Caller").click().run()
    at.number_input(key="t1_audio_new_start").set_value(0.5)
    at.number_input(key="t1_audio_new_end").set_value(1.25)
    at.button(key="t1_audio_add").click().run()
    (segment,) = _out(at)
    assert segment["value"] == {"start": 0.5, "end": 1.25, "channel": 0, "speaker": ["Caller"]} or \
        segment["value"] == {"start": 0.5, "end": 1.25, "channel": 0, "labels": ["Caller"]}
    assert segment["original_length"] == pytest.approx(3.258, abs=0.01)
    version = at.session_state["t1_audio_regions"].version
    at.text_area(key=f"t1_audio_pr_transcript_{segment['id']}_{version}").input("hello").run()
    out = _out(at)
    transcript = next(i for i in out if i["from_name"] == "transcript")
    assert transcript["id"] == segment["id"]
    assert transcript["value"] == {"start": 0.5, "end": 1.25, "channel": 0, "text": ["hello"]}
    at.button(key=f"t1_audio_del_{segment['id']}").click().run()
    assert _out(at) == []
