"""COCO export (``result.json``), laid out as label-studio-sdk 2.1.2's ``convert_to_coco`` writes it.

Rules kept for parity: one ``images`` entry per exported annotation (Label Studio exports each annotation
of a task as its own image record), ids 0-based; categories are the config's label names sorted, or their
``<Label category="N">``; keypoint labels merge into one ``default`` category with a ``keypoints`` list
ordered by ``model_index``, and an image's key points into one keypoints annotation (bbox around the visible
points); a rotated rectangle's bbox is the axis-aligned box around it, in pixels; labels missing from the
config are appended as new categories. Key points a ``KeyPoint`` tool drew and a separate ``Labels`` control
named are written as KeyPointLabels' are (the converter drops them), and key points without any
``model_index`` keep the config's order (the converter raises); docs/export-deviations.md. Images and annotations are spooled to temporary
files so memory does not grow with the project.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from core.formats.geometry import box_aabb, exported_image_path, polygon_area, polygon_bbox
from core.formats.records import (
    INT64,
    UnusableRegion,
    finite,
    iter_annotation_records,
    label_names,
    number_of,
    numbers_of,
    polygon_points,
    skip_region,
)
from core.formats.schema import ControlSpec, ExportSchema

KEYPOINT_TAG = "KeyPointLabels"
POINT_TOOL_TAG = "KeyPoint"
_BOX_TOOL_TAGS = ("Rectangle", "Polygon")
_LABEL_KEYS = ("rectanglelabels", "polygonlabels", "keypointlabels", "labels")
_BOX_KEYS = ("x", "y", "width", "height", "rotation")
_SIZE_KEYS = ("original_width", "original_height")


def is_region_control(tag: str) -> bool:
    """A control whose labels name regions (RectangleLabels, PolygonLabels, KeyPointLabels, Labels ...), so
    they are classes; Choices, Taxonomy and the like answer for the whole image and are not."""
    return tag.endswith("Labels")


def label_categories(schema: ExportSchema) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Categories from every control's labels: explicit ``category`` attributes first, the rest sorted by
    name and numbered with the ids left free (``Converter._get_labels``)."""
    labels: set[str] = set()
    categories: list[dict[str, Any]] = []
    name_to_id: dict[str, int] = {}
    for control in schema.controls:
        if not is_region_control(control.tag):
            continue  # image-level Choices/Taxonomy name no region: no category (the converter makes them one)
        labels.update(control.labels)
        for label, attrs in control.label_attrs.items():
            raw = attrs.get("category")
            if raw is None:
                continue
            try:
                category_id = int(raw)
            except (TypeError, ValueError):
                continue  # the converter ignores a non-numeric category too
            categories.append({"id": category_id, "name": label})
            name_to_id[label] = category_id
    used = set(name_to_id.values())
    free_ids = (i for i in range(len(labels) + len(used) + 1) if i not in used)
    for label, category_id in zip(sorted(labels - set(name_to_id)), free_ids):
        categories.append({"id": category_id, "name": label})
        name_to_id[label] = category_id
    return categories, name_to_id


def point_label_controls(schema: ExportSchema) -> list[ControlSpec]:
    """The ``Labels`` controls that name key points: on an Image a ``KeyPoint`` tool draws on."""
    images = {obj.name for obj in schema.objects if obj.tag == "Image"}
    pointed = images & {name for c in schema.controls if c.tag == POINT_TOOL_TAG for name in c.to_names}
    return [c for c in schema.controls if c.tag == "Labels" and pointed & set(c.to_names)]


def _keypoint_controls(schema: ExportSchema, *, tool_labels: bool) -> list[ControlSpec]:
    controls = [c for c in schema.controls if c.tag == KEYPOINT_TAG]
    return controls + point_label_controls(schema) if tool_labels else controls


def keypoint_order(schema: ExportSchema, *, tool_labels: bool = False) -> list[str]:
    """Keypoint label names ordered by their ``model_index`` (labels without one are left out, as the
    converter does); when no label has one, every keypoint label in config order (the converter raises).

    ``tool_labels`` counts the labels of a ``Labels`` control naming a ``KeyPoint`` tool's points (COCO)."""
    controls = _keypoint_controls(schema, tool_labels=tool_labels)
    block: dict[str, Any] = {}
    for control in controls:
        block.update(control.label_attrs)
    pairs: list[tuple[int, str]] = []
    used: set[int] = set()
    for name, attrs in block.items():
        try:
            index = int(attrs.get("model_index"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if index not in used:
            pairs.append((index, name))
            used.add(index)
    if not pairs:
        return list(dict.fromkeys(label for control in controls for label in control.labels))
    return [name for _, name in sorted(pairs)]


def _merge_keypoint_categories(
    categories: list[dict[str, Any]], name_to_id: dict[str, int], schema: ExportSchema
) -> tuple[list[dict[str, Any]], dict[str, int], int | None]:
    """Replace keypoint labels by one ``default`` category numbered after the others (SDK 2.1.2); also return
    its id (None without key points).

    The labels of a ``Labels`` control naming a KeyPoint tool's points are keypoint names too; when the same
    control also names a Rectangle/Polygon tool's regions, they stay categories for those as well."""
    point_controls = point_label_controls(schema)
    keypoint_labels = list(dict.fromkeys(
        [*schema.labels_of(KEYPOINT_TAG), *(label for c in point_controls for label in c.labels)]
    ))
    if not keypoint_labels:
        return categories, name_to_id, None
    boxed = {name for c in schema.controls if c.tag in _BOX_TOOL_TAGS for name in c.to_names}
    merged = set(schema.labels_of(KEYPOINT_TAG)) | {
        label for c in point_controls if not boxed & set(c.to_names) for label in c.labels
    }
    kept = sorted((c for c in categories if c["name"] not in merged), key=lambda c: c["id"])
    mapping = {c["name"]: c["id"] for c in kept}
    merged_id = max((c["id"] for c in kept), default=-1) + 1
    kept.append(
        {"id": merged_id, "name": "default", "supercategory": "default", "keypoints": keypoint_labels, "skeleton": []}
    )
    mapping.update(dict.fromkeys(merged, merged_id))
    return kept, mapping, merged_id


def _keypoint_annotation(
    points: list[tuple[float, float, list[str]]], order: list[str], annotation_id: int, image_id: int,
    category_id: int,
) -> dict[str, Any]:
    """The image's one keypoints annotation from its keypoints' ``(x, y, labels)`` in pixels (a later point
    with the same label replaces an earlier one, as in the converter)."""
    keypoints = [0] * (len(order) * 3)
    for x, y, labels in points:
        for label in labels:
            if label in order:
                i = order.index(label)
                keypoints[3 * i : 3 * i + 3] = [int(round(x)), int(round(y)), 2]
    visible = [i for i in range(len(order)) if keypoints[3 * i + 2] > 0]
    if visible:
        xs = [keypoints[3 * i] for i in visible]
        ys = [keypoints[3 * i + 1] for i in visible]
        bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    else:
        bbox = [0, 0, 0, 0]
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category_id,
        "keypoints": keypoints,
        "num_keypoints": len(visible),
        "bbox": bbox,
        "iscrowd": 0,
    }


def _encode(item: dict[str, Any]) -> str:
    """One annotation or image as compact JSON (orjson: ~5x faster than json.dumps on 100,000 boxes)."""
    return orjson.dumps(item).decode()


class _Spool:
    """A JSON array written item by item to a temporary file, copied out at the end."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.count = 0

    def append(self, item: dict[str, Any]) -> None:
        self.file.write(",\n" if self.count else "\n")
        self.file.write(_encode(item))
        self.count += 1

    def copy_to(self, out: IO[str]) -> None:
        self.file.seek(0)
        out.write("[")
        shutil.copyfileobj(self.file, out)
        out.write("\n]" if self.count else "]")
        self.file.close()


def write_coco(tasks: Iterable[dict[str, Any]], out: IO[str], *, schema: ExportSchema) -> int:
    """Write COCO ``{images, categories, annotations, info}`` to ``out``; return the number of annotations.

    Image sizes come from the results' ``original_width/height`` (images are not downloaded).
    """
    categories, name_to_id, keypoint_category = _merge_keypoint_categories(*label_categories(schema), schema)
    order = keypoint_order(schema, tool_labels=True)
    points_labelled = bool(point_label_controls(schema))  # a Labels result may name a KeyPoint tool's point
    data_key = schema.data_keys[0] if schema.data_keys else None
    images, annotations = _Spool(), _Spool()
    try:
        for record in iter_annotation_records(tasks, schema):
            image_path = exported_image_path(record.data.get(data_key, "") if data_key else "")
            image_id = images.count
            if not record.outputs:
                images.append({"width": None, "height": None, "id": image_id, "file_name": image_path})
                continue
            width = height = None
            keypoints: list[tuple[float, float, list[str]]] = []
            for values in record.outputs.values():
                for value in values:
                    try:
                        category = _category(value)
                        if category is None:
                            continue
                        if not width or not height:
                            if "original_width" not in value or "original_height" not in value:
                                continue
                            width, height = number_of(value, "original_width"), number_of(value, "original_height")
                            images.append({"width": width, "height": height, "id": image_id, "file_name": image_path})
                        if category not in name_to_id:
                            name_to_id[category] = len(categories)
                            categories.append({"id": len(categories), "name": category})
                        category_id = name_to_id[category]
                        annotation = _region_annotation(value, width, height, points_labelled=points_labelled)
                    except UnusableRegion as problem:
                        skip_region("COCO", record, value, problem)
                        continue
                    if isinstance(annotation, tuple):
                        keypoints.append(annotation)
                    elif annotation is not None:
                        annotations.append(
                            {"id": annotations.count, "image_id": image_id, "category_id": category_id, **annotation}
                        )
            if keypoints and order and keypoint_category is not None:
                annotations.append(_keypoint_annotation(keypoints, order, annotations.count, image_id, keypoint_category))
        out.write("{\n\"images\": ")
        images.copy_to(out)
        out.write(",\n\"categories\": ")
        out.write(json.dumps(categories, ensure_ascii=False, indent=2))
        out.write(",\n\"annotations\": ")
        count = annotations.count
        annotations.copy_to(out)
        now = datetime.now()
        info = {"year": now.year, "version": "1.0", "description": "", "contributor": "Label Studio", "url": "",
                "date_created": str(now)}
        out.write(",\n\"info\": " + json.dumps(info, indent=2) + "\n}\n")
        return count
    finally:
        images.file.close()
        annotations.file.close()


def _category(value: dict[str, Any]) -> str | None:
    """The region's category: the first name of its first non-empty label list (None without one)."""
    for key in _LABEL_KEYS:
        if value.get(key):
            return label_names(value, key)[0]
    return None


def _size(value: dict[str, Any], width: float, height: float) -> tuple[float, float]:
    """The region's own ``original_width/height``, else the image's (taken from an earlier region)."""
    if "original_width" in value and "original_height" in value:
        ow, oh = numbers_of(value, _SIZE_KEYS)
        return ow, oh
    ow = number_of(value, "original_width") if "original_width" in value else width
    oh = number_of(value, "original_height") if "original_height" in value else height
    return ow, oh


def _is_labelled_point(value: dict[str, Any]) -> bool:
    """A ``Labels`` result naming a KeyPoint tool's point: a position without a box's height or a polygon's
    points (Label Studio copies the tool's ``x``, ``y`` and point ``width`` into it)."""
    return "labels" in value and "x" in value and "y" in value and "height" not in value and "points" not in value


def _region_annotation(
    value: dict[str, Any], width: float, height: float, *, points_labelled: bool = False
) -> dict[str, Any] | tuple[float, float, list[str]] | None:
    """COCO fields of one region, ``(x, y, labels)`` in pixels for a keypoint (merged per image later), None
    to skip; UnusableRegion for a value of the wrong type. ``points_labelled``: the config has a KeyPoint tool
    whose points a separate Labels control names."""
    if points_labelled and _is_labelled_point(value):
        return _point(value, width, height, label_names(value, "labels"))
    if "rectanglelabels" in value or ("labels" in value and "points" not in value):
        if "x" not in value or "y" not in value or "width" not in value or "height" not in value:
            return None
        x, y, w, h, *rotation = numbers_of(value, _BOX_KEYS if "rotation" in value else _BOX_KEYS[:4])
        ow, oh = _size(value, width, height)
        try:
            box = box_aabb(x, y, w, h, rotation[0] if rotation else 0.0)
        except OverflowError:
            raise UnusableRegion("x, y, width, height", "give coordinates out of range") from None
        x, y, w, h = box[0] * ow / 100, box[1] * oh / 100, box[2] * ow / 100, box[3] * oh / 100
        finite("x, y, width, height", x, y, w, h, w * h)
        return {"segmentation": [], "bbox": [x, y, w, h], "ignore": 0, "iscrowd": 0, "area": w * h}
    if "polygonlabels" in value or "labels" in value:  # a polygon named by a separate Labels control
        points = [(px / 100 * width, py / 100 * height) for px, py in polygon_points(value.get("points") or [])]
        if not points:
            return None
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        finite("points", *xs, *ys)
        try:
            area = polygon_area(xs, ys)
        except (OverflowError, ValueError):  # fsum of products past the float range
            raise UnusableRegion("points", "give coordinates out of range") from None
        finite("points", area)
        return {
            "segmentation": [[c for p in points for c in p]],
            "bbox": polygon_bbox(xs, ys),
            "ignore": 0,
            "iscrowd": 0,
            "area": area,
        }
    if "keypointlabels" in value:
        if "x" not in value or "y" not in value:
            return None
        return _point(value, width, height, label_names(value, "keypointlabels"))
    return None


def _point(value: dict[str, Any], width: float, height: float, labels: list[str]) -> tuple[float, float, list[str]]:
    """A key point's ``(x, y, labels)`` in pixels."""
    ow, oh = _size(value, width, height)
    x, y = number_of(value, "x") / 100 * ow, number_of(value, "y") / 100 * oh
    finite("x, y", x, y, bound=INT64)  # written rounded to integers
    return x, y, labels


def export_coco(tasks: Iterable[dict[str, Any]], out_dir: Path, *, schema: ExportSchema) -> list[Path]:
    """Write ``out_dir/result.json`` (the converter's layout); return the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "result.json"
    with path.open("w", encoding="utf-8") as out:
        write_coco(tasks, out, schema=schema)
    return [path]
