"""Issue 15 items 3-4: every box-like config exports to COCO, YOLO and VOC, and Quorum keeps what Label
Studio's converter loses (docs/export-deviations.md)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from core.formats.coco import export_coco
from core.formats.registry import supported_formats
from core.formats.schema import ControlSpec, ExportSchema, ObjectSpec
from core.formats.voc import export_voc
from core.formats.yolo import export_yolo

from .conftest import box, image_task

IMAGE = ObjectSpec("img", "Image", "image")


def tool_schema(tool: str, *, choices: bool = False) -> ExportSchema:
    controls = [ControlSpec("tool", tool, ("img",)), ControlSpec("label", "Labels", ("img",), ("Car", "Fish"))]
    if choices:
        controls.append(ControlSpec("scene", "Choices", ("img",), ("Day", "Night")))
    return ExportSchema(controls=tuple(controls), objects=(IMAGE,))


def tool_pair(tool_type: str, geometry: dict[str, Any], label: str, *, region: str = "r1",
              geometry_in_labels: bool = True) -> list[dict[str, Any]]:
    """A region drawn by a Rectangle/Polygon tool and named by a separate Labels control, as Label Studio
    writes it: two results with the same id (the labels one repeats the geometry unless told not to)."""
    size = {"original_width": 200, "original_height": 100}
    labels_value = {**(geometry if geometry_in_labels else {}), "labels": [label]}
    return [
        {"id": region, "from_name": "tool", "to_name": "img", "type": tool_type, **size, "value": dict(geometry)},
        {"id": region, "from_name": "label", "to_name": "img", "type": "labels", **size, "value": labels_value},
    ]


def choice(value: str) -> dict[str, Any]:
    return {"id": "c1", "from_name": "scene", "to_name": "img", "type": "choices", "value": {"choices": [value]}}


def coco(tmp_path: Path, tasks: list[dict[str, Any]], schema: ExportSchema) -> dict[str, Any]:
    export_coco(tasks, tmp_path / "coco", schema=schema)
    return json.loads((tmp_path / "coco" / "result.json").read_text())


def yolo_labels(tmp_path: Path, tasks: list[dict[str, Any]], schema: ExportSchema) -> tuple[list[str], dict[str, str]]:
    out = tmp_path / "yolo"
    export_yolo(tasks, out, schema=schema)
    classes = (out / "classes.txt").read_text().split("\n")[:-1]
    return classes, {p.name: p.read_text() for p in sorted((out / "labels").iterdir())}


def voc_objects(tmp_path: Path, tasks: list[dict[str, Any]], schema: ExportSchema) -> dict[str, list[tuple[str, ...]]]:
    out = tmp_path / "voc"
    export_voc(tasks, out, schema=schema)
    found = {}
    for path in sorted((out / "Annotations").iterdir()):
        root = ET.parse(path).getroot()
        found[path.name] = [
            (o.findtext("name") or "", *(o.findtext(f"bndbox/{k}") or "" for k in ("xmin", "ymin", "xmax", "ymax")))
            for o in root.iter("object")
        ]
    return found


BOX = {"x": 10.0, "y": 20.0, "width": 30.0, "height": 40.0, "rotation": 0}


def test_rectangle_tool_with_a_separate_labels_control_offers_and_writes_coco_yolo_and_voc(tmp_path: Path) -> None:
    schema = tool_schema("Rectangle")
    assert {"COCO", "YOLO", "VOC"} <= {f.name for f in supported_formats(schema)}
    tasks = [image_task(1, "http://x/a.jpg", *tool_pair("rectangle", BOX, "Car"))]
    result = coco(tmp_path, tasks, schema)
    names = {c["id"]: c["name"] for c in result["categories"]}
    assert [(names[a["category_id"]], a["bbox"]) for a in result["annotations"]] == [("Car", [20.0, 20.0, 60.0, 40.0])]
    classes, labels = yolo_labels(tmp_path, tasks, schema)
    (text,) = labels.values()
    assert text.split() == [str(classes.index("Car")), "0.25", "0.4", "0.3", "0.4"]
    assert list(voc_objects(tmp_path, tasks, schema).values()) == [[("Car", "20", "20", "80", "60")]]


def test_a_labels_result_without_geometry_takes_its_tool_regions_geometry(tmp_path: Path) -> None:
    schema = tool_schema("Rectangle")
    tasks = [image_task(1, "http://x/a.jpg", *tool_pair("rectangle", BOX, "Car", geometry_in_labels=False))]
    assert len(coco(tmp_path, tasks, schema)["annotations"]) == 1
    assert list(voc_objects(tmp_path, tasks, schema).values()) == [[("Car", "20", "20", "80", "60")]]


def test_polygon_tool_with_a_separate_labels_control_writes_coco_and_yolo(tmp_path: Path) -> None:
    schema = tool_schema("Polygon")
    assert {"COCO", "YOLO"} <= {f.name for f in supported_formats(schema)}
    polygon = {"points": [[10.0, 10.0], [50.0, 10.0], [50.0, 50.0]], "closed": True}
    tasks = [image_task(1, "http://x/a.jpg", *tool_pair("polygon", polygon, "Fish"))]
    (annotation,) = coco(tmp_path, tasks, schema)["annotations"]
    assert annotation["segmentation"] == [[20.0, 10.0, 100.0, 10.0, 100.0, 50.0]]
    classes, labels = yolo_labels(tmp_path, tasks, schema)
    (text,) = labels.values()
    assert text.split() == [str(classes.index("Fish")), "0.1", "0.1", "0.5", "0.1", "0.5", "0.5"]


def test_voc_keeps_the_boxes_of_a_task_whose_first_result_is_a_choice(tmp_path: Path) -> None:
    schema = ExportSchema(controls=(ControlSpec("scene", "Choices", ("img",), ("Day",)),
                                    ControlSpec("box", "RectangleLabels", ("img",), ("Car",))), objects=(IMAGE,))
    tasks = [image_task(1, "http://x/a.jpg", choice("Day"), box(10, 20, 30, 40, "Car"))]
    assert list(voc_objects(tmp_path, tasks, schema).values()) == [[("Car", "20", "20", "80", "60")]]


def test_image_level_choices_are_neither_coco_categories_nor_yolo_classes(tmp_path: Path) -> None:
    schema = ExportSchema(controls=(ControlSpec("box", "RectangleLabels", ("img",), ("Car", "Person")),
                                    ControlSpec("scene", "Choices", ("img",), ("Fish", "Day"))), objects=(IMAGE,))
    tasks = [image_task(1, "http://x/a.jpg", choice("Fish"), box(10, 20, 30, 40, "Car"))]
    assert sorted(c["name"] for c in coco(tmp_path, tasks, schema)["categories"]) == ["Car", "Person"]
    classes, labels = yolo_labels(tmp_path, tasks, schema)
    assert classes == ["Car", "Person"]
    assert [line.split()[0] for line in next(iter(labels.values())).splitlines()] == ["0"]


def test_the_tool_with_labels_config_keeps_choices_out_of_the_classes(tmp_path: Path) -> None:
    schema = tool_schema("Rectangle", choices=True)
    tasks = [image_task(1, "http://x/a.jpg", choice("Night"), *tool_pair("rectangle", BOX, "Car"))]
    assert yolo_labels(tmp_path, tasks, schema)[0] == ["Car", "Fish"]
    assert list(voc_objects(tmp_path, tasks, schema).values()) == [[("Car", "20", "20", "80", "60")]]


def test_two_tasks_whose_images_share_a_file_name_write_two_label_files(tmp_path: Path) -> None:
    schema = ExportSchema(controls=(ControlSpec("box", "RectangleLabels", ("img",), ("Car", "Fish")),), objects=(IMAGE,))
    tasks = [
        image_task(1, "s3://bucket/set1/img.jpg", box(10, 20, 30, 40, "Car")),
        image_task(2, "s3://bucket/set2/img.jpg", box(10, 20, 30, 40, "Fish")),
        image_task(3, "s3://bucket/other.jpg", box(10, 20, 30, 40, "Fish")),
    ]
    classes, labels = yolo_labels(tmp_path, tasks, schema)
    assert sorted(labels) == ["2__img.txt", "img.txt", "other.txt"]  # the converter's name where it is unique
    assert labels["img.txt"].split()[0] == str(classes.index("Car"))
    assert labels["2__img.txt"].split()[0] == str(classes.index("Fish"))
    objects = voc_objects(tmp_path, tasks, schema)
    assert sorted(objects) == ["2__img.xml", "img.xml", "other.xml"]
    assert objects["img.xml"][0][0] == "Car" and objects["2__img.xml"][0][0] == "Fish"


def test_annotations_of_one_task_still_share_its_file_as_in_label_studio(tmp_path: Path) -> None:
    schema = ExportSchema(controls=(ControlSpec("box", "RectangleLabels", ("img",), ("Car", "Fish")),), objects=(IMAGE,))
    task = image_task(1, "s3://bucket/set1/img.jpg", box(10, 20, 30, 40, "Car"), created_at="2024-01-01T00:00:00Z")
    task["annotations"].append({**task["annotations"][0], "id": 2, "created_at": "2024-02-01T00:00:00Z",
                                "result": [box(10, 20, 30, 40, "Fish")]})
    assert sorted(yolo_labels(tmp_path, [task], schema)[1]) == ["img.txt"]
