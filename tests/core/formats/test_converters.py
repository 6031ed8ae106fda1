"""COCO, YOLO, YOLO OBB, VOC, CoNLL 2003 and ASR manifest on small hand-made tasks, values worked by hand.

Geometry: an image of 200 x 100 px; a box at x=10 %, y=20 %, 30 % wide, 40 % high is 20, 20, 60 x 40 px.
"""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from core.formats.asr import write_asr_manifest
from core.formats.coco import write_coco
from core.formats.conll import tokens_and_tags, write_conll
from core.formats.geometry import exported_image_path, rotated_rectangle_aabb
from core.formats.schema import ControlSpec, ExportSchema, ObjectSpec
from core.formats.voc import export_voc
from core.formats.yolo import export_yolo, export_yolo_obb

from .conftest import box, image_schema, image_task

UPLOAD = "/data/upload/1/cat.jpg"  # uploads keep their name: the label file is labels/cat.txt


def polygon(points: list[list[float]], label: str) -> dict:
    return {"id": "p1", "from_name": "poly", "to_name": "img", "type": "polygonlabels", "original_width": 200,
            "original_height": 100, "value": {"points": points, "closed": True, "polygonlabels": [label]}}


def keypoint(x: float, y: float, label: str, parent: str | None = None) -> dict:
    return {"id": f"k-{label}", "from_name": "kp", "to_name": "img", "type": "keypointlabels", "parentID": parent,
            "original_width": 200, "original_height": 100,
            "value": {"x": x, "y": y, "width": 1, "keypointlabels": [label]}}


def coco(tasks: list[dict], schema: ExportSchema) -> dict:
    out = io.StringIO()
    write_coco(tasks, out, schema=schema)
    return json.loads(out.getvalue())


# --- image paths and geometry -------------------------------------------------------------------------

def test_image_urls_are_named_like_label_studio_caches_them() -> None:
    assert exported_image_path("/image1") == "images/718f1d05__image1"
    assert exported_image_path(UPLOAD) == UPLOAD
    assert exported_image_path("s3://bucket/a.png") == "s3://bucket/a.png"
    assert exported_image_path("https://h/x/a.png?sig=1").endswith("__a.png")


def test_a_box_rotated_90_degrees_has_the_enclosing_axis_aligned_box() -> None:
    # Clockwise about the top-left corner (50, 50): the 20 x 10 box now hangs down and to the left.
    x, y, w, h = rotated_rectangle_aabb({"x": 50, "y": 50, "width": 20, "height": 10, "rotation": 90})
    assert (x, y, w, h) == pytest.approx((40, 50, 10, 20))


# --- COCO ---------------------------------------------------------------------------------------------

def test_coco_box_and_polygon_in_pixels_with_sorted_categories(images: ExportSchema) -> None:
    result = coco([image_task(1, UPLOAD, box(10, 20, 30, 40, "Car"), polygon([[0, 0], [50, 0], [50, 50]], "Airplane"))],
                  images)
    assert result["categories"] == [{"id": 0, "name": "Airplane"}, {"id": 1, "name": "Car"}]
    assert result["images"] == [{"width": 200, "height": 100, "id": 0, "file_name": UPLOAD}]
    rect, poly = result["annotations"]
    assert (rect["category_id"], rect["bbox"], rect["area"]) == (1, pytest.approx([20, 20, 60, 40]), pytest.approx(2400))
    assert poly["segmentation"] == [[0, 0, 100, 0, 100, 50]]
    assert (poly["category_id"], poly["bbox"], poly["area"]) == (0, [0, 0, 100, 50], 2500)
    assert {"year", "version", "contributor", "date_created"} <= set(result["info"])


def test_coco_label_missing_from_the_config_becomes_a_new_category(images: ExportSchema) -> None:
    result = coco([image_task(1, UPLOAD, box(10, 20, 30, 40, "Truck"))], images)
    assert result["categories"][-1] == {"id": 2, "name": "Truck"}
    assert result["annotations"][0]["category_id"] == 2


def test_coco_category_attribute_fixes_the_id() -> None:
    schema = ExportSchema(
        controls=(ControlSpec("box", "RectangleLabels", ("img",), ("Car", "Bus"), {"Bus": {"category": "7"}}),),
        objects=(ObjectSpec("img", "Image", "image"),),
    )
    assert coco([image_task(1, UPLOAD, box(1, 1, 1, 1, "Bus"))], schema)["categories"] == [
        {"id": 7, "name": "Bus"}, {"id": 0, "name": "Car"}]


def test_coco_keypoints_merge_into_one_default_category_in_model_index_order() -> None:
    result = coco([image_task(1, UPLOAD, box(10, 20, 30, 40, "Car"), keypoint(50, 50, "nose"))],
                  image_schema(keypoints=True))
    assert result["categories"][-1] == {"id": 2, "name": "default", "supercategory": "default",
                                        "keypoints": ["nose", "eye"], "skeleton": []}
    kp = result["annotations"][-1]
    assert kp["keypoints"] == [100, 50, 2, 0, 0, 0] and kp["num_keypoints"] == 1 and kp["category_id"] == 2


def test_coco_has_one_image_record_per_annotation_and_skips_cancelled_ones(images: ExportSchema) -> None:
    task = image_task(1, UPLOAD, box(10, 20, 30, 40, "Car"))
    second = dict(task["annotations"][0], id=2, created_at="2025-01-01T00:00:00Z")
    cancelled = dict(task["annotations"][0], id=3, was_cancelled=True)
    task["annotations"] += [second, cancelled]
    result = coco([task], images)
    assert [im["id"] for im in result["images"]] == [0, 1]
    assert [a["image_id"] for a in result["annotations"]] == [0, 1]


# --- YOLO ---------------------------------------------------------------------------------------------

def label_lines(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]


def test_yolo_writes_classes_and_centre_boxes_normalised(tmp_path: Path, images: ExportSchema) -> None:
    export_yolo([image_task(1, UPLOAD, box(10, 20, 30, 40, "Car"), polygon([[0, 0], [50, 0], [50, 50]], "Airplane"))],
                tmp_path, schema=images)
    assert (tmp_path / "classes.txt").read_text() == "Airplane\nCar\n"
    assert label_lines(tmp_path / "labels" / "cat.txt") == [pytest.approx([1, 0.25, 0.4, 0.3, 0.4]),
                                                            pytest.approx([0, 0, 0, 0.5, 0, 0.5, 0.5])]
    assert json.loads((tmp_path / "notes.json").read_text())["categories"][1] == {"id": 1, "name": "Car"}


def test_yolo_ignores_rotation_but_yolo_obb_writes_rotated_corners(tmp_path: Path, images: ExportSchema) -> None:
    task = image_task(1, UPLOAD, box(10, 20, 30, 40, "Car", rotation=90))
    export_yolo([task], tmp_path / "plain", schema=images)
    assert label_lines(tmp_path / "plain" / "labels" / "cat.txt") == [pytest.approx([1, 0.25, 0.4, 0.3, 0.4])]
    export_yolo_obb([task], tmp_path / "obb", schema=images)
    # Pixel corners (20,20) (20,80) (-20,80) (-20,20) on 200 x 100, starting at the anchor.
    assert label_lines(tmp_path / "obb" / "labels" / "cat.txt") == [
        pytest.approx([1, 0.1, 0.2, 0.1, 0.8, -0.1, 0.8, -0.1, 0.2], abs=1e-12)]


def test_yolo_image_without_annotations_gets_an_empty_label_file(tmp_path: Path, images: ExportSchema) -> None:
    export_yolo([{"id": 1, "data": {"image": UPLOAD}, "annotations": []}], tmp_path, schema=images)
    assert (tmp_path / "labels" / "cat.txt").read_text() == ""


def test_yolo_pose_lines_carry_linked_keypoints_in_model_index_order(tmp_path: Path) -> None:
    task = image_task(1, UPLOAD, box(10, 20, 30, 40, "Car", region="b1"), keypoint(50, 50, "eye", parent="b1"),
                      keypoint(5, 5, "nose", parent="elsewhere"))
    export_yolo([task], tmp_path, schema=image_schema(keypoints=True))
    assert (tmp_path / "classes.txt").read_text() == "Car\nAirplane\n"  # rectangle labels, config order
    assert label_lines(tmp_path / "labels" / "cat.txt") == [
        pytest.approx([0, 0.25, 0.4, 0.3, 0.4, 0, 0, 0, 0.5, 0.5, 2])]


# --- VOC ----------------------------------------------------------------------------------------------

def test_voc_writes_truncated_pixel_boxes_per_image(tmp_path: Path, images: ExportSchema) -> None:
    export_voc([image_task(1, UPLOAD, box(10.9, 20.9, 30, 40, "Car"), completed_by={"email": "a@b.c"})],
               tmp_path, schema=images)
    root = ET.parse(tmp_path / "Annotations" / "cat.xml").getroot()
    assert root.findtext("filename") == "cat.jpg"
    assert root.findtext("source/annotator") == "a@b.c"
    assert (root.findtext("size/width"), root.findtext("size/height")) == ("200", "100")
    [obj] = root.iter("object")
    assert obj.findtext("name") == "Car"
    assert [obj.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == ["21", "20", "81", "60"]


# --- CoNLL 2003 ---------------------------------------------------------------------------------------

NER = ExportSchema(controls=(ControlSpec("ner", "Labels", ("text",), ("PER", "LOC")),),
                   objects=(ObjectSpec("text", "Text", "text"),))


def span(start: int, end: int, label: str) -> dict:
    return {"from_name": "ner", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "labels": [label]}}


def test_conll_tags_tokens_begin_inside_outside() -> None:
    text = "Alice moved to New York."
    assert tokens_and_tags(text, [{"start": 15, "end": 23, "labels": ["LOC"]}, {"start": 0, "end": 5, "labels": ["PER"]}]) == (
        ["Alice", "moved", "to", "New", "York", "."], ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"])


def test_conll_file_starts_with_docstart_and_separates_annotations() -> None:
    task = {"id": 1, "data": {"text": "Bob ran."},
            "annotations": [{"id": 1, "result": [span(0, 3, "PER")], "created_at": "x"}]}
    out = io.StringIO()
    assert write_conll([task], out, schema=NER) == 1
    assert out.getvalue() == "-DOCSTART- -X- O\nBob -X- _ B-PER\nran -X- _ O\n. -X- _ O\n\n"


# --- ASR manifest -------------------------------------------------------------------------------------

def test_asr_manifest_line_has_path_duration_text_and_annotator() -> None:
    schema = ExportSchema(controls=(ControlSpec("transcript", "TextArea", ("audio",)),),
                          objects=(ObjectSpec("audio", "Audio", "audio"),))
    task = {"id": 1, "data": {"audio": "https://h/clips/a.wav"}, "annotations": [{
        "id": 4, "completed_by": 7, "created_at": "x",
        "result": [{"from_name": "transcript", "to_name": "audio", "type": "textarea", "original_length": 2.5,
                    "value": {"text": ["hello there"]}}]}]}
    out = io.StringIO()
    assert write_asr_manifest([task], out, schema=schema) == 1
    assert json.loads(out.getvalue()) == {"audio_filepath": "audio/a.wav", "duration": 2.5,
                                          "text": "hello there", "annotator": "7"}


def test_asr_manifest_names_the_audio_file_of_local_files_urls() -> None:
    from core.formats.asr import audio_file_name

    assert audio_file_name("/data/local-files/?d=demo/audio/01.wav") == "01.wav"
    assert audio_file_name("https://cdn.example.com/calls/2024/a%20b.mp3?sig=x") == "a%20b.mp3"
    assert audio_file_name("s3://bucket/calls/42.flac") == "42.flac"
    assert audio_file_name("/data/upload/7/call.wav") == "call.wav"
