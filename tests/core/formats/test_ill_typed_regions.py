"""Region values of the wrong type in an export: the writers leave that region out and log why (logger
``core.formats``: format, task, annotation, region and field); valid but odd values are written as Label
Studio writes them. One test per crash the converter fuzzing found (tests/fuzz/test_fuzz_convert.py), and a
few neighbours of each.
"""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.formats.coco import write_coco
from core.formats.conll import write_conll
from core.formats.geometry import image_stem
from core.formats.records import prettify
from core.formats.schema import ControlSpec, ExportSchema, ObjectSpec
from core.formats.voc import export_voc
from core.formats.writers_ls import write_csv, write_json_min, write_tsv
from core.formats.yolo import export_yolo, export_yolo_obb

from .conftest import box, image_schema, image_task

UPLOAD = "/data/upload/1/cat.jpg"


Logged = Callable[[], list[str]]


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Logged:
    """The warnings the writers have logged so far."""
    caplog.set_level("WARNING", logger="core.formats")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "core.formats"]


def coco(tasks: list[dict[str, Any]], schema: ExportSchema) -> dict[str, Any]:
    out = io.StringIO()
    write_coco(tasks, out, schema=schema)
    return json.loads(out.getvalue())


def with_value(region: dict[str, Any], **value: Any) -> dict[str, Any]:
    return dict(region, value=dict(region["value"], **value))


# --- COCO / VOC: box with text coordinates ------------------------------------------------------------

def test_coco_leaves_out_a_box_with_text_coordinates_and_says_which(images: ExportSchema, logged: Logged) -> None:
    bad = with_value(box(10, 20, 30, 40, "Car", region="bad"), x="1")
    result = coco([image_task(5, UPLOAD, bad, box(10, 20, 30, 40, "Car", region="ok"), annotation_id=9)], images)
    assert [im["width"] for im in result["images"]] == [200]  # the image is still there
    assert [a["bbox"] for a in result["annotations"]] == [pytest.approx([20, 20, 60, 40])]
    assert logged() == [
        "COCO export: task 5, annotation 9, result[1] ('box', id 'bad') left out: x must be a number, found a string"]


@pytest.mark.parametrize("field, raw, reason", [
    ("width", True, "width must be a number, found a boolean"),
    ("rotation", None, "rotation must be a number, found null"),
    ("y", 10**30, "y is out of range"),
    ("height", [1], "height must be a number, found a list"),
])
def test_coco_refuses_every_box_field_that_is_not_a_usable_number(
    images: ExportSchema, logged: Logged, field: str, raw: Any, reason: str
) -> None:
    result = coco([image_task(1, UPLOAD, with_value(box(10, 20, 30, 40, "Car"), **{field: raw}))], images)
    assert result["annotations"] == []
    assert [w.endswith(reason) for w in logged()] == [True]


def test_coco_rotated_box_of_zero_width_is_written_not_divided_by(images: ExportSchema, logged: Logged) -> None:
    result = coco([image_task(1, UPLOAD, box(50, 50, 0, 10, "Car", rotation=90))], images)
    [annotation] = result["annotations"]
    # The 10 px tall line hanging from (100, 50) px, turned 90 degrees clockwise: it now points left, 20 px long.
    assert annotation["bbox"] == pytest.approx([80, 50, 20, 0], abs=1e-9)
    assert logged() == []


def test_coco_image_size_of_the_wrong_type_leaves_the_region_out(images: ExportSchema, logged: Logged) -> None:
    bad = dict(box(10, 20, 30, 40, "Car"), original_width="200")
    result = coco([image_task(1, UPLOAD, bad)], images)
    assert result["annotations"] == [] and result["images"] == []
    assert [w.endswith("original_width must be a number, found a string") for w in logged()] == [True]


def test_coco_label_that_is_not_text_leaves_the_region_out(images: ExportSchema, logged: Logged) -> None:
    result = coco([image_task(1, UPLOAD, with_value(box(10, 20, 30, 40, "Car"), rectanglelabels=[{"a": 1}]))], images)
    assert result["annotations"] == []
    assert [c["name"] for c in result["categories"]] == ["Airplane", "Car"]
    assert [w.endswith("rectanglelabels must hold label names (text), found an object") for w in logged()] == [True]


def test_voc_leaves_out_a_box_with_text_coordinates_and_keeps_the_others(
    tmp_path: Path, images: ExportSchema, logged: Logged
) -> None:
    bad = with_value(box(10, 20, 30, 40, "Car", region="bad"), x="1")
    export_voc([image_task(1, UPLOAD, bad, box(10, 20, 30, 40, "Airplane"))], tmp_path, schema=images)
    root = ET.parse(tmp_path / "Annotations" / "cat.xml").getroot()
    assert [o.findtext("name") for o in root.iter("object")] == ["Airplane"]
    assert (root.findtext("size/width"), root.findtext("size/height")) == ("200", "100")
    assert logged() == [
        "VOC export: task 1, annotation 1, result[1] ('box', id 'bad') left out: x must be a number, found a string"]


def test_voc_image_size_of_the_wrong_type_leaves_the_annotation_out(
    tmp_path: Path, images: ExportSchema, logged: Logged
) -> None:
    assert export_voc([image_task(1, UPLOAD, dict(box(10, 20, 30, 40, "Car"), original_height={"h": 1}))],
                      tmp_path, schema=images) == []
    assert logged() == ["VOC export: task 1, annotation 1 left out: its image size comes from result[1] "
                              "('box', id 'r1'), whose original_height must be a number, found an object"]


def test_voc_box_past_the_float_range_is_left_out(tmp_path: Path, images: ExportSchema, logged: Logged) -> None:
    export_voc([image_task(1, UPLOAD, box(1e308, 0, 1, 1, "Car"))], tmp_path, schema=images)
    assert list(ET.parse(tmp_path / "Annotations" / "cat.xml").getroot().iter("object")) == []
    assert [w.endswith("x, y, width, height give coordinates out of range") for w in logged()] == [True]


# --- COCO: polygon points that are text ---------------------------------------------------------------

def polygon(points: Any) -> dict[str, Any]:
    return {"id": "p1", "from_name": "poly", "to_name": "img", "type": "polygonlabels", "original_width": 200,
            "original_height": 100, "value": {"points": points, "polygonlabels": ["Car"]}}


@pytest.mark.parametrize("points, reason", [
    ("abc", "points must be a list of [x, y] points, found a string"),
    ([[0, 0], [1, 2, 3]], "points[1] must be an [x, y] pair, found 3 numbers"),
    ([[0, 0], 5], "points[1] must be an [x, y] pair, found a number"),
    ([[0, "1"]], "points[0][1] must be a number, found a string"),
])
def test_coco_leaves_out_a_polygon_whose_points_are_not_number_pairs(
    images: ExportSchema, logged: Logged, points: Any, reason: str
) -> None:
    result = coco([image_task(1, UPLOAD, polygon(points), box(10, 20, 30, 40, "Car"))], images)
    assert [a["bbox"] for a in result["annotations"]] == [pytest.approx([20, 20, 60, 40])]
    assert logged() == [f"COCO export: task 1, annotation 1, result[1] ('poly', id 'p1') left out: {reason}"]


def test_yolo_leaves_out_a_polygon_whose_points_are_text(tmp_path: Path, images: ExportSchema, logged: Logged) -> None:
    export_yolo([image_task(1, UPLOAD, polygon("abc"), box(10, 20, 30, 40, "Car"))], tmp_path, schema=images)
    assert (tmp_path / "labels" / "cat.txt").read_text() == "1 0.25 0.4 0.3 0.4\n"
    assert [w.startswith("YOLO export: task 1, annotation 1, result[1] ('poly', id 'p1') left out: points")
            for w in logged()] == [True]


# --- YOLO: keypoint whose parentID is an object -------------------------------------------------------

def keypoint(parent: Any, *, x: Any = 50, label: Any = "eye") -> dict[str, Any]:
    return {"id": "k1", "from_name": "kp", "to_name": "img", "type": "keypointlabels", "parentID": parent,
            "original_width": 200, "original_height": 100,
            "value": {"x": x, "y": 50, "width": 1, "keypointlabels": [label]}}


def test_yolo_pose_leaves_out_a_keypoint_whose_parent_id_is_an_object(tmp_path: Path, logged: Logged) -> None:
    task = image_task(1, UPLOAD, box(10, 20, 30, 40, "Car", region="b1"), keypoint({"a": 1}))
    export_yolo([task], tmp_path, schema=image_schema(keypoints=True))
    assert (tmp_path / "labels" / "cat.txt").read_text() == "0 0.25 0.4 0.3 0.4 0.0 0.0 0 0.0 0.0 0"
    assert logged() == ["YOLO export: task 1, annotation 1, result[2] ('kp', id 'k1') left out: "
                              "parentID must be a region id, found an object"]


def test_yolo_pose_keypoint_with_text_coordinates_is_left_out_and_a_box_id_object_links_nothing(
    tmp_path: Path, logged: Logged
) -> None:
    task = image_task(1, UPLOAD, box(10, 20, 30, 40, "Car", region="b1"), keypoint("b1", x="50"),
                      dict(box(0, 0, 10, 10, "Car"), id=["odd"]))
    export_yolo([task], tmp_path, schema=image_schema(keypoints=True))
    assert (tmp_path / "labels" / "cat.txt").read_text().splitlines() == [
        "0 0.25 0.4 0.3 0.4 0.0 0.0 0 0.0 0.0 0", "0 0.05 0.05 0.1 0.1 0.0 0.0 0 0.0 0.0 0"]
    assert [w.endswith("('kp', id 'k1') left out: x must be a number, found a string") for w in logged()] == [True]


def test_yolo_obb_leaves_out_a_box_on_an_image_of_zero_width(
    tmp_path: Path, images: ExportSchema, logged: Logged
) -> None:
    export_yolo_obb([image_task(1, UPLOAD, box(10, 20, 30, 40, "Car", size=(0, 100)))], tmp_path, schema=images)
    assert (tmp_path / "labels" / "cat.txt").read_text() == ""
    assert [w.endswith("original_width must be positive, found 0") for w in logged()] == [True]


def test_yolo_labels_that_are_not_a_list_of_names_leave_the_region_out(
    tmp_path: Path, images: ExportSchema, logged: Logged
) -> None:
    # Iterated, the string "Car" would have made classes "C", "a" and "r".
    export_yolo([image_task(1, UPLOAD, with_value(box(10, 20, 30, 40, "Car"), rectanglelabels="Car"))], tmp_path,
                schema=images)
    assert (tmp_path / "classes.txt").read_text() == "Airplane\nCar\n"
    assert [w.endswith("rectanglelabels must be a list of label names, found a string") for w in logged()] == [True]


def test_label_file_names_are_cut_to_255_bytes_not_characters() -> None:
    stem = image_stem("images/" + "日" * 200 + ".png")
    assert len(stem.encode()) <= 251 and stem == "日" * 83
    assert image_stem("a" * 300 + ".png") == "a" * 251


# --- CoNLL: span past the text, label null ------------------------------------------------------------

NER = ExportSchema(controls=(ControlSpec("ner", "Labels", ("text",), ("PER", "LOC")),),
                   objects=(ObjectSpec("text", "Text", "text"),))


def conll(*values: dict[str, Any]) -> str:
    task = {"id": 1, "data": {"text": "Bob met Ann."}, "annotations": [{"id": 2, "created_at": "x", "result": [
        {"id": f"s{i}", "from_name": "ner", "to_name": "text", "type": "labels", "value": value}
        for i, value in enumerate(values, start=1)]}]}
    out = io.StringIO()
    write_conll([task], out, schema=NER)
    return out.getvalue().removeprefix("-DOCSTART- -X- O\n").removesuffix("\n\n")


def test_conll_span_ending_past_the_text_tags_to_the_last_token(logged: Logged) -> None:
    assert conll({"start": 4, "end": 10**30, "labels": ["PER"]}).splitlines() == [
        "Bob -X- _ O", "met -X- _ B-PER", "Ann -X- _ I-PER", ". -X- _ I-PER"]
    assert logged() == []


def test_conll_span_whose_label_is_null_is_left_out_and_the_others_tagged(logged: Logged) -> None:
    lines = conll({"start": 0, "end": 10**30, "labels": [None]}, {"start": 8, "end": 11, "labels": ["PER"]})
    assert lines.splitlines() == ["Bob -X- _ O", "met -X- _ O", "Ann -X- _ B-PER", ". -X- _ O"]
    assert logged() == ["CONLL2003 export: task 1, annotation 2, result[1] ('ner', id 's1') left out: "
                              "labels must hold label names (text), found null"]


@pytest.mark.parametrize("value, reason", [
    ({"start": "0", "end": 3, "labels": ["PER"]}, "start must be a character offset (a number), found a string"),
    ({"start": 0, "end": [3], "labels": ["PER"]}, "end must be a character offset (a number), found a list"),
    ({"start": 0, "end": 3, "labels": {"PER": 1}}, "labels must be a list of label names, found an object"),
])
def test_conll_span_with_ill_typed_offsets_or_labels_is_left_out(
    logged: Logged, value: dict[str, Any], reason: str
) -> None:
    assert conll(value).splitlines() == ["Bob -X- _ O", "met -X- _ O", "Ann -X- _ O", ". -X- _ O"]
    assert [w.endswith(reason) for w in logged()] == [True]


# --- JSON_MIN / CSV / TSV: TextArea text that is an object --------------------------------------------

AUDIO = ExportSchema(controls=(ControlSpec("transcription", "TextArea", ("audio",)),),
                     objects=(ObjectSpec("audio", "Audio", "audio"),))


def textarea_task(text: Any) -> list[dict[str, Any]]:
    return [{"id": 1, "data": {"audio": "a.wav"}, "annotations": [{"id": 1, "completed_by": 1, "result": [
        {"from_name": "transcription", "to_name": "audio", "type": "textarea", "value": {"text": text}}]}]}]


def test_json_min_writes_a_textarea_text_that_is_an_object_whole(logged: Logged) -> None:
    out = io.StringIO()
    assert write_json_min(textarea_task({"a": 1}), out, schema=AUDIO) == 1
    assert json.loads(out.getvalue())[0]["transcription"] == {"text": {"a": 1}}  # one TextArea value: not a list
    assert logged() == []


@pytest.mark.parametrize("write, delimiter", [(write_csv, ","), (write_tsv, "\t")])
def test_csv_and_tsv_write_a_textarea_text_that_is_an_object_as_json(write: Any, delimiter: str) -> None:
    out = io.StringIO(newline="")
    assert write(textarea_task({"a": 1}), out, schema=AUDIO) == 1
    [row] = csv.DictReader(io.StringIO(out.getvalue()), delimiter=delimiter)
    assert row["transcription"] == '{"text":{"a":1}}'


@pytest.mark.parametrize("text, shown", [
    (["hi"], "hi"), ("h", "h"), ("hi", {"text": "hi"}), (5, {"text": 5}), ({"a": 1}, {"text": {"a": 1}}),
    ([], {"text": []}),
])
def test_prettify_unwraps_only_a_one_item_text_as_label_studio_does(text: Any, shown: Any) -> None:
    assert prettify([{"type": "TextArea", "text": text}]) == shown


@pytest.mark.parametrize("choices, shown", [(["A"], "A"), ({"A": 1}, {"choices": {"A": 1}}), (1, {"choices": 1})])
def test_prettify_unwraps_only_a_one_item_choices_list(choices: Any, shown: Any) -> None:
    assert prettify([{"type": "Choices", "choices": choices}]) == shown
