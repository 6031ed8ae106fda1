"""Key points to COCO and YOLO (issue 15, item 3): KeyPointLabels alone, a ``KeyPoint`` tool with a separate
``Labels`` control, and KeyPointLabels with RectangleLabels (unchanged: as label-studio-sdk 2.1.2's converter).

The converter's outputs below were made with label-studio-sdk 2.1.2 (``Converter(config=..., project_dir=None,
download_resources=False).convert(input, out, FORMAT, is_dir=False)``) on these very tasks; ``info`` left out.
What it does, case by case (docs/export-deviations.md):

* KeyPointLabels alone: its export page does not list COCO or YOLO (``_get_supported_formats``); called anyway,
  ``convert_to_coco`` writes one keypoints annotation per image in a ``default`` category (``COCO_KEYPOINTS_ONLY``
  below); ``convert_to_yolo`` writes empty label files and an empty ``classes.txt``; without any ``model_index``
  it raises ValueError ("No keypoint order found") and writes no COCO file.
* a KeyPoint tool with a separate Labels control: no COCO or YOLO listed; called anyway, COCO reads the ``labels``
  result as a rectangle, finds no height and drops every point (categories ``eye``, ``nose``, no annotation);
  YOLO writes empty label files; VOC raises KeyError 'height'.
* KeyPointLabels with RectangleLabels: COCO (boxes, then one keypoints annotation per image) and YOLO pose
  (``COCO_WITH_BOXES``, ``YOLO_POSE_WITH_BOXES``).

Image: 200 x 100 px, so x=10 %, y=20 % is (20, 20) px.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from core.config import parse_config
from core.formats.coco import write_coco
from core.formats.registry import FORMATS, supported_formats
from core.formats.schema import ExportSchema, schema_from_config
from core.formats.yolo import export_yolo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ls_exports"

KEYPOINTS_ONLY = """<View><Image name="img" value="$image"/>
  <KeyPointLabels name="kp" toName="img"><Label value="nose" model_index="0"/><Label value="eye" model_index="1"/>
  </KeyPointLabels></View>"""
KEYPOINTS_ONLY_NO_INDEX = """<View><Image name="img" value="$image"/>
  <KeyPointLabels name="kp" toName="img"><Label value="nose"/><Label value="eye"/></KeyPointLabels></View>"""
KEYPOINT_TOOL = """<View><Image name="img" value="$image"/><KeyPoint name="tool" toName="img"/>
  <Labels name="lab" toName="img"><Label value="nose"/><Label value="eye"/></Labels></View>"""
KEYPOINT_TOOL_INDEXED = """<View><Image name="img" value="$image"/><KeyPoint name="tool" toName="img"/>
  <Labels name="lab" toName="img"><Label value="eye" model_index="1"/><Label value="nose" model_index="0"/></Labels>
  </View>"""
KEYPOINTS_WITH_BOXES = """<View><Image name="img" value="$image"/>
  <RectangleLabels name="box" toName="img"><Label value="Car"/><Label value="Person"/></RectangleLabels>
  <KeyPointLabels name="kp" toName="img"><Label value="nose" model_index="0"/><Label value="eye" model_index="1"/>
  </KeyPointLabels></View>"""
BOX_AND_POINT_TOOLS = """<View><Image name="img" value="$image"/><Rectangle name="rect" toName="img"/>
  <KeyPoint name="tool" toName="img"/><Labels name="lab" toName="img"><Label value="Car"/><Label value="nose"/></Labels>
  </View>"""


def schema(config: str) -> ExportSchema:
    return schema_from_config(parse_config(config))


def offered(config: str) -> set[str]:
    return {fmt.name for fmt in supported_formats(schema(config))}


def keypoint(rid: str, x: float, y: float, label: str, *, parent: str | None = None) -> dict[str, Any]:
    region = {"id": rid, "from_name": "kp", "to_name": "img", "type": "keypointlabels", "original_width": 200,
              "original_height": 100, "image_rotation": 0, "value": {"x": x, "y": y, "width": 0.5, "keypointlabels": [label]}}
    if parent:
        region["parentID"] = parent
    return region


def tool_point(rid: str, x: float, y: float, label: str, *, geometry_in_labels: bool = True) -> list[dict[str, Any]]:
    """A KeyPoint tool's result and the Labels result naming it (same id), as Label Studio writes them."""
    size = {"original_width": 200, "original_height": 100, "image_rotation": 0}
    point = {"x": x, "y": y, "width": 0.5}
    labels = {**point, "labels": [label]} if geometry_in_labels else {"labels": [label]}
    return [
        {"id": rid, "from_name": "tool", "to_name": "img", "type": "keypoint", **size, "value": point},
        {"id": rid, "from_name": "lab", "to_name": "img", "type": "labels", **size, "value": labels},
    ]


def rectangle(rid: str, x: float, y: float, w: float, h: float, label: str) -> dict[str, Any]:
    return {"id": rid, "from_name": "box", "to_name": "img", "type": "rectanglelabels", "original_width": 200,
            "original_height": 100, "image_rotation": 0,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}


def task(task_id: int, image: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": task_id, "data": {"image": image}, "predictions": [], "annotations": [{
        "id": task_id * 10, "completed_by": 1, "result": results, "was_cancelled": False, "ground_truth": False,
        "created_at": "2024-01-01T00:00:00Z"}]}


def coco(tasks: list[dict[str, Any]], config: str) -> dict[str, Any]:
    out = io.StringIO()
    write_coco(tasks, out, schema=schema(config))
    result = json.loads(out.getvalue())
    result.pop("info")
    return result


def yolo(tasks: list[dict[str, Any]], config: str, folder: Path) -> tuple[list[str], dict[str, str]]:
    export_yolo(tasks, folder, schema=schema(config))
    labels = {path.name: path.read_text() for path in sorted((folder / "labels").iterdir())}
    return (folder / "classes.txt").read_text().splitlines(), labels


KEYPOINTS_ONLY_TASKS = [
    task(1, "/data/upload/1/a.jpg", [keypoint("k1", 10, 20, "nose"), keypoint("k2", 30, 40, "eye")]),
    task(2, "/data/upload/1/b.jpg", [keypoint("k3", 50, 50, "nose"), keypoint("k4", 60, 70, "nose")]),
]
DEFAULT_CATEGORY = {"id": 0, "name": "default", "supercategory": "default", "keypoints": ["nose", "eye"], "skeleton": []}
COCO_KEYPOINTS_ONLY = {
    "images": [{"width": 200, "height": 100, "id": 0, "file_name": "/data/upload/1/a.jpg"},
               {"width": 200, "height": 100, "id": 1, "file_name": "/data/upload/1/b.jpg"}],
    "categories": [DEFAULT_CATEGORY],
    "annotations": [
        {"id": 0, "image_id": 0, "category_id": 0, "keypoints": [20, 20, 2, 60, 40, 2], "num_keypoints": 2,
         "bbox": [20, 20, 40, 20], "iscrowd": 0},
        {"id": 1, "image_id": 1, "category_id": 0, "keypoints": [120, 70, 2, 0, 0, 0], "num_keypoints": 1,
         "bbox": [120, 70, 0, 0], "iscrowd": 0},
    ],
}

BOXES_TASK = task(1, "/data/upload/1/a.jpg", [
    rectangle("b1", 10, 10, 30, 40, "Person"), keypoint("k1", 20, 20, "nose", parent="b1"),
    keypoint("k2", 25, 30, "eye", parent="b1"), rectangle("b2", 50, 10, 30, 40, "Person"),
    keypoint("k3", 60, 20, "nose", parent="b2"),
])
COCO_WITH_BOXES = {
    "images": [{"width": 200, "height": 100, "id": 0, "file_name": "/data/upload/1/a.jpg"}],
    "categories": [{"id": 0, "name": "Car"}, {"id": 1, "name": "Person"}, {**DEFAULT_CATEGORY, "id": 2}],
    "annotations": [
        {"id": 0, "image_id": 0, "category_id": 1, "segmentation": [], "bbox": [20.0, 10.0, 60.0, 40.0], "ignore": 0,
         "iscrowd": 0, "area": 2400.0},
        {"id": 1, "image_id": 0, "category_id": 1, "segmentation": [], "bbox": [100.0, 10.0, 60.0, 40.0], "ignore": 0,
         "iscrowd": 0, "area": 2400.0},
        {"id": 2, "image_id": 0, "category_id": 2, "keypoints": [120, 20, 2, 50, 30, 2], "num_keypoints": 2,
         "bbox": [50, 20, 70, 10], "iscrowd": 0},
    ],
}
YOLO_POSE_WITH_BOXES = ("1 0.25 0.30000000000000004 0.3 0.4 0.2 0.2 2 0.25 0.3 2\n"
                        "1 0.65 0.30000000000000004 0.3 0.4 0.6 0.2 2 0.0 0.0 0")

ALWAYS = {"JSON", "JSON_MIN", "CSV", "TSV"}


# --- which formats each config is offered --------------------------------------------------------------------

def test_keypointlabels_alone_are_offered_coco_but_not_yolo_or_voc() -> None:
    assert offered(KEYPOINTS_ONLY) == ALWAYS | {"COCO", "YOLO_OBB"}
    assert offered(KEYPOINTS_ONLY_NO_INDEX) == ALWAYS | {"COCO", "YOLO_OBB"}


def test_a_keypoint_tool_with_a_separate_labels_control_is_offered_coco_only() -> None:
    assert offered(KEYPOINT_TOOL) == ALWAYS | {"COCO"}


def test_keypoints_with_rectangles_keep_coco_yolo_and_voc() -> None:
    assert offered(KEYPOINTS_WITH_BOXES) == ALWAYS | {"COCO", "YOLO", "YOLO_OBB", "VOC"}


def test_the_yolo_description_says_why_key_points_alone_get_no_yolo() -> None:
    needs = FORMATS["YOLO"].needs
    assert "KeyPointLabels only with RectangleLabels" in needs and "key points alone have no object box" in needs
    assert "KeyPoint tool with Labels" in FORMATS["COCO"].needs


# --- (a) KeyPointLabels alone ----------------------------------------------------------------------------------

def test_keypointlabels_alone_write_the_converters_coco_keypoints() -> None:
    got = coco(KEYPOINTS_ONLY_TASKS, KEYPOINTS_ONLY)
    assert got == COCO_KEYPOINTS_ONLY
    first = got["annotations"][0]  # nose (10 %, 20 %) and eye (30 %, 40 %) of 200 x 100 px, visible (2)
    assert first["keypoints"] == [20, 20, 2, 60, 40, 2] and first["num_keypoints"] == 2
    assert first["bbox"] == [20, 20, 40, 20]  # around the visible points


def test_keypointlabels_without_model_index_keep_the_config_order() -> None:
    """The converter raises ValueError ("No keypoint order found") and writes no COCO file."""
    got = coco(KEYPOINTS_ONLY_TASKS[:1], KEYPOINTS_ONLY_NO_INDEX)
    assert got["categories"] == [DEFAULT_CATEGORY]
    assert got["annotations"][0]["keypoints"] == [20, 20, 2, 60, 40, 2]


def test_the_keypoints_fixture_writes_what_the_converter_writes_once_model_index_is_set() -> None:
    """tests/fixtures/ls_exports/keypoints (Face, Nose without model_index): the converter raises; given the
    config with model_index 0 and 1 it writes this (three annotations: task 2 has two annotators)."""
    config = (FIXTURES / "keypoints.xml").read_text()
    tasks = json.loads((FIXTURES / "keypoints.json").read_text())
    assert "COCO" in offered(config)
    got = coco(tasks, config)
    assert got["categories"] == [{**DEFAULT_CATEGORY, "keypoints": ["Face", "Nose"]}]
    assert [a["image_id"] for a in got["annotations"]] == [0, 1, 2]
    assert [(a["keypoints"], a["num_keypoints"], a["bbox"]) for a in got["annotations"]] == [
        ([264, 146, 2, 287, 201, 2], 2, [264, 146, 23, 55]),
        ([507, 190, 2, 528, 254, 2], 2, [507, 190, 21, 64]),
        ([512, 192, 2, 530, 255, 2], 2, [512, 192, 18, 63]),
    ]


def test_keypointlabels_alone_make_no_yolo_pose_line(tmp_path: Path) -> None:
    """Not offered; the writer called anyway writes what the converter does: no class, empty label files."""
    classes, labels = yolo(KEYPOINTS_ONLY_TASKS, KEYPOINTS_ONLY, tmp_path)
    assert classes == [] and labels == {"a.txt": "", "b.txt": ""}


# --- (b) a KeyPoint tool with a separate Labels control --------------------------------------------------------

@pytest.mark.parametrize("geometry_in_labels", [True, False])
def test_a_keypoint_tool_with_a_separate_labels_control_writes_coco_keypoints(geometry_in_labels: bool) -> None:
    """The converter drops every point (categories eye and nose, no annotation); Quorum writes them as for
    KeyPointLabels, the Labels' labels in config order; a labels result without the point's x/y takes the tool's."""
    results = [*tool_point("k1", 10, 20, "nose", geometry_in_labels=geometry_in_labels),
               *tool_point("k2", 30, 40, "eye", geometry_in_labels=geometry_in_labels)]
    got = coco([task(1, "/data/upload/1/a.jpg", results)], KEYPOINT_TOOL)
    assert got == {
        "images": [{"width": 200, "height": 100, "id": 0, "file_name": "/data/upload/1/a.jpg"}],
        "categories": [DEFAULT_CATEGORY],
        "annotations": [{"id": 0, "image_id": 0, "category_id": 0, "keypoints": [20, 20, 2, 60, 40, 2],
                         "num_keypoints": 2, "bbox": [20, 20, 40, 20], "iscrowd": 0}],
    }


def test_a_keypoint_tools_labels_follow_model_index_when_set() -> None:
    got = coco([task(1, "/data/upload/1/a.jpg", tool_point("k1", 30, 40, "eye"))], KEYPOINT_TOOL_INDEXED)
    assert got["categories"] == [{**DEFAULT_CATEGORY, "keypoints": ["eye", "nose"]}]  # the config's order
    (annotation,) = got["annotations"]
    assert annotation["keypoints"] == [0, 0, 0, 60, 40, 2]  # nose (index 0) absent, eye (index 1) visible
    assert annotation["num_keypoints"] == 1 and annotation["bbox"] == [60, 40, 0, 0]


def test_boxes_and_points_named_by_one_labels_control_keep_their_categories() -> None:
    """A Rectangle and a KeyPoint tool share the Labels: boxes keep the labels' categories, points go to default."""
    box = {"x": 10, "y": 10, "width": 30, "height": 40, "rotation": 0}
    size = {"original_width": 200, "original_height": 100}
    results = [
        {"id": "b1", "from_name": "rect", "to_name": "img", "type": "rectangle", **size, "value": box},
        {"id": "b1", "from_name": "lab", "to_name": "img", "type": "labels", **size, "value": {**box, "labels": ["Car"]}},
        *tool_point("k1", 50, 50, "nose"),
    ]
    assert offered(BOX_AND_POINT_TOOLS) == ALWAYS | {"COCO", "YOLO", "YOLO_OBB", "VOC"}
    got = coco([task(1, "/data/upload/1/a.jpg", results)], BOX_AND_POINT_TOOLS)
    assert got["categories"] == [{"id": 0, "name": "Car"}, {"id": 1, "name": "nose"},
                                 {**DEFAULT_CATEGORY, "id": 2, "keypoints": ["Car", "nose"]}]
    box_annotation, points = got["annotations"]
    assert box_annotation["category_id"] == 0 and box_annotation["bbox"] == [20.0, 10.0, 60.0, 40.0]
    assert points["category_id"] == 2 and points["keypoints"] == [0, 0, 0, 100, 50, 2]


# --- (c) KeyPointLabels with RectangleLabels: as the converter ------------------------------------------------

def test_keypoints_with_rectangles_coco_is_the_converters() -> None:
    assert coco([BOXES_TASK], KEYPOINTS_WITH_BOXES) == COCO_WITH_BOXES


def test_keypoints_with_rectangles_yolo_pose_is_the_converters(tmp_path: Path) -> None:
    classes, labels = yolo([BOXES_TASK], KEYPOINTS_WITH_BOXES, tmp_path)
    assert classes == ["Car", "Person"]
    assert labels == {"a.txt": YOLO_POSE_WITH_BOXES}


def test_keypoints_with_rectangles_without_model_index_carry_their_points_in_config_order(tmp_path: Path) -> None:
    """The converter writes the pose lines without any point (and raises for COCO)."""
    config = KEYPOINTS_WITH_BOXES.replace(' model_index="0"', "").replace(' model_index="1"', "")
    _, labels = yolo([BOXES_TASK], config, tmp_path)
    assert labels == {"a.txt": YOLO_POSE_WITH_BOXES}
    assert coco([BOXES_TASK], config) == COCO_WITH_BOXES
