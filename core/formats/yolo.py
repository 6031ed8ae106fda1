"""YOLO and YOLO OBB export: ``classes.txt``, ``notes.json`` and ``labels/<image>.txt``.

Kept as label-studio-sdk 2.1.2's ``convert_to_yolo`` writes it: one line per label ``cls xc yc w h``
(normalised 0-1, rotation ignored), polygons as ``cls x1 y1 x2 y2 ...``, OBB as the four rotated corners from
the anchor; class ids are the sorted config labels (or ``category`` attributes), unknown labels appended. A
config with KeyPointLabels switches to YOLO-pose: classes are the rectangle labels in config order and each
box line carries its keypoints (linked by ``parentID``) in ``model_index`` order (config order when no label
has one; the converter then writes no point), ``0.0 0.0 0`` when absent. Key points without boxes make no pose
line (the registry offers no YOLO for them).
Each annotation rewrites its image's label file; annotations come newest first, so with several per task
the oldest one's labels remain, as in Label Studio.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from core.formats.coco import KEYPOINT_TAG, keypoint_order, label_categories
from core.formats.geometry import UniqueStems, exported_image_path, image_stem, rectangle_corners
from core.formats.records import (
    AnnotationRecord,
    UnusableRegion,
    finite,
    iter_annotation_records,
    label_names,
    number_of,
    polygon_points,
    region_id_of,
    skip_region,
)
from core.formats.schema import ExportSchema

RECTANGLE_TAG = "RectangleLabels"


def _keypoint_categories(schema: ExportSchema) -> tuple[list[dict[str, Any]], dict[str, int]]:
    keypoints = schema.labels_of(KEYPOINT_TAG)
    rectangles = schema.labels_of(RECTANGLE_TAG)
    categories = [{"id": i, "name": name, "keypoints": keypoints} for i, name in enumerate(rectangles)]
    return categories, {name: i for i, name in enumerate(rectangles)}


def _keypoint_lines(
    record: AnnotationRecord, values: list[dict[str, Any]], categories: list[dict[str, Any]], order: list[str]
) -> list[str]:
    """YOLO-pose lines: each box with its keypoints (``parentID`` = the box's region id).

    A box or keypoint without its coordinates is left out, and so is a keypoint whose ``parentID`` names no
    box; one whose values have the wrong type is left out and logged (:func:`skip_region`).
    """
    class_of = {c["name"]: c["id"] for c in categories}
    boxes: dict[Any, dict[str, Any]] = {}
    for value in values:
        if str(value.get("type", "")).lower() == "rectanglelabels" and value.get("rectanglelabels"):
            try:
                class_id = class_of.get(label_names(value, "rectanglelabels")[0])
                if class_id is None or not all(key in value for key in ("x", "y", "width", "height")):
                    continue
                x, y, w, h = (number_of(value, key) / 100 for key in ("x", "y", "width", "height"))
                base = [class_id, x + w / 2, y + h / 2, w, h]
                finite("x, y, width, height", *base)
            except UnusableRegion as problem:
                skip_region("YOLO", record, value, problem)
                continue
            region_id = value.get("id")
            # An id that is not a JSON scalar links no keypoint (a keypoint's such parentID is refused below).
            boxes[region_id if not isinstance(region_id, (dict, list)) else object()] = {"base": base, "points": {}}
    for value in values:
        if str(value.get("type", "")).lower() == "keypointlabels" and value.get("keypointlabels"):
            try:
                box = boxes.get(region_id_of(value, "parentID"))
                if box is None or "x" not in value or "y" not in value:
                    continue
                name = label_names(value, "keypointlabels")[0]
                point = (number_of(value, "x") / 100, number_of(value, "y") / 100, 2)
            except UnusableRegion as problem:
                skip_region("YOLO", record, value, problem)
                continue
            box["points"][name] = point
    lines = []
    for box in boxes.values():
        numbers: list[Any] = list(box["base"])
        for name in order:
            numbers.extend(box["points"].get(name, (0.0, 0.0, 0)))
        lines.append(" ".join(map(str, numbers)))
    return lines


def _plain_lines(
    record: AnnotationRecord,
    values: list[dict[str, Any]],
    categories: list[dict[str, Any]],
    name_to_id: dict[str, int],
    *,
    is_obb: bool,
) -> list[str]:
    """One line per label of each box or polygon; a region whose values have the wrong type is left out and
    logged (:func:`skip_region`)."""
    lines = []
    fmt = "YOLO_OBB" if is_obb else "YOLO"
    for value in values:
        try:
            names = [name for key in ("rectanglelabels", "polygonlabels", "labels") for name in label_names(value, key)]
            coordinates = _coordinates(value, is_obb=is_obb) if names else None
        except UnusableRegion as problem:
            skip_region(fmt, record, value, problem)
            continue
        for name in names:
            if name not in name_to_id:
                name_to_id[name] = len(categories)
                categories.append({"id": len(categories), "name": name})
            class_id = name_to_id[name]
            if coordinates is not None:
                lines.append(" ".join(f"{n}" for n in (class_id, *coordinates)))
    return lines


def _coordinates(value: dict[str, Any], *, is_obb: bool) -> list[float] | None:
    """The numbers after the class id on a region's line; None when the region has none (no coordinates,
    not a box or polygon), UnusableRegion when its values have the wrong type."""
    if "rectanglelabels" in value or "rectangle" in value or ("labels" in value and "points" not in value):
        if is_obb:
            needed = ("original_width", "original_height", "x", "y", "width", "height", "rotation")
            if not all(key in value for key in needed):
                return None
            for key in needed:
                number_of(value, key, positive=key.startswith("original_"))
            corners = rectangle_corners(value)
            if corners is None:
                return None
            numbers = [c for corner in corners for c in corner]
        else:
            if not all(key in value for key in ("x", "y", "width", "height")):
                return None
            x, y, w, h = (number_of(value, key) for key in ("x", "y", "width", "height"))
            numbers = [(x + w / 2) / 100, (y + h / 2) / 100, w / 100, h / 100]
        finite("x, y, width, height", *numbers)
        return numbers
    if "polygonlabels" in value or "polygon" in value or "labels" in value:
        if "points" not in value:
            return None
        return [c / 100 for point in polygon_points(value["points"]) for c in point]
    return None


def export_yolo(
    tasks: Iterable[dict[str, Any]], out_dir: Path, *, schema: ExportSchema, is_obb: bool = False
) -> list[Path]:
    """Write ``classes.txt``, ``notes.json`` and ``labels/*.txt`` under ``out_dir``; return the written paths.

    ``is_obb`` writes rotated corners (YOLO_OBB) instead of centre boxes. Images are not downloaded; label
    files are named after the image as the converter names its cached copy.
    """
    labels_dir = out_dir / "labels"
    labels_dir.mkdir(parents=True, exist_ok=True)
    is_keypoints = KEYPOINT_TAG in schema.control_tags
    if is_keypoints:
        categories, name_to_id = _keypoint_categories(schema)
        order = keypoint_order(schema)
    else:
        categories, name_to_id = label_categories(schema)
        order = []
    data_key = schema.data_keys[0] if schema.data_keys else None
    written: dict[Path, None] = {}
    stems = UniqueStems()
    for record in iter_annotation_records(tasks, schema, keep_region_ids=is_keypoints):
        image_path = exported_image_path(record.data.get(data_key, "") if data_key else "")
        label_path = labels_dir / f"{stems.stem(record.task_id, image_stem(image_path))}.txt"
        written[label_path] = None
        values = [value for values in record.outputs.values() for value in values]
        if not values:
            label_path.touch(exist_ok=True)  # an image without labels still gets its (empty) label file
            continue
        if is_keypoints:
            label_path.write_text("\n".join(_keypoint_lines(record, values, categories, order)), encoding="utf-8")
        else:
            lines = _plain_lines(record, values, categories, name_to_id, is_obb=is_obb)
            label_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    classes = out_dir / "classes.txt"
    classes.write_text("".join(c["name"] + "\n" for c in categories), encoding="utf-8")
    notes = out_dir / "notes.json"
    info = {"year": datetime.now().year, "version": "1.0", "contributor": "Label Studio"}
    notes.write_text(json.dumps({"categories": categories, "info": info}, indent=2, ensure_ascii=False), encoding="utf-8")
    return [classes, notes, *written]


def export_yolo_obb(tasks: Iterable[dict[str, Any]], out_dir: Path, *, schema: ExportSchema) -> list[Path]:
    """YOLO OBB: :func:`export_yolo` with rotated corners."""
    return export_yolo(tasks, out_dir, schema=schema, is_obb=True)
