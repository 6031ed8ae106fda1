"""RectangleLabels, Rectangle, PolygonLabels and Polygon: regions drawn on an image, in percent of its size.

Agreement: one-to-one Hungarian matching of same-label shapes on IoU, pairs below 0.5 unmatched, scored
as a soft F1 ``2 * sum(matched IoU) / (n_a + n_b)`` (:func:`metrics.agreement.rectangle_agreement`,
:func:`metrics.agreement.polygon_agreement`; PASCAL VOC's IoU >= 0.5 for "the same object").
Consensus: boxes clustered by IoU across annotators, a cluster at least half of them drew becomes its
mean box (:func:`metrics.consensus.fuse_boxes`, CVAT's merge); polygons -- and rotated boxes, whose mean
is not a box -- by the same clustering with the cluster's medoid shape, always one somebody drew
(:func:`metrics.consensus.vote_polygons`). Gold: precision, recall and mean IoU of matched boxes
(:func:`metrics.annotators.box_detections`); polygons by the agreement score.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.config import ControlTag
from core.tags.spec import (
    ControlInput,
    GoldScorer,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    check_labels,
    check_number,
    consensus_item,
    first_label,
    is_number,
    plain_attrs,
    scored_by,
)
from metrics.agreement import polygon_agreement, rectangle_agreement
from metrics.annotators import NO_DETECTIONS, Detections, box_detections
from metrics.consensus import fuse_boxes, vote_polygons
from metrics.geometry import rectangle_polygon

IMAGE_KEYS = ("original_width", "original_height", "image_rotation")
BOX_KEYS = ("x", "y", "width", "height")


def box_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return rectangle_agreement(a, b)


def polygon_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return polygon_agreement(a, b)


def validate_box(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    problems = check_labels(value, control.kind.value_key)
    for key in ("x", "y"):
        problems += check_number(value, key, low=0, high=100)
    for key in ("width", "height"):
        problems += check_number(value, key, low=0, high=100) or check_number(value, key, positive=True)
    rotation = value.get("rotation", 0)
    if not is_number(rotation):
        problems.append(f"rotation: {rotation!r} is not a number")
    elif not problems and not rotation:
        for start, size in (("x", "width"), ("y", "height")):
            if value[start] + value[size] > 100 + 1e-6:
                problems.append(f"{size}: {start} + {size} = {value[start] + value[size]:g} reaches past the image")
    return problems


def validate_polygon(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    problems = check_labels(value, control.kind.value_key)
    points = value.get("points")
    if not isinstance(points, list) or len(points) < 3:
        return [*problems, "points: a polygon needs a list of at least 3 [x, y] points"]
    for index, point in enumerate(points, start=1):
        if not (isinstance(point, (list, tuple)) and len(point) == 2 and all(is_number(c) for c in point)):
            return [*problems, f"points: point {index} is not an [x, y] pair of numbers"]
        if not all(-1e-6 <= float(c) <= 100 + 1e-6 for c in point):
            return [*problems, f"points: point {index} {list(point)} is outside the image (0-100)"]
    return problems


def _rows(inp: ControlInput, columns: tuple[str, ...]) -> tuple[list[dict[str, Any]], ResultItem | None]:
    rows: list[dict[str, Any]] = []
    template: ResultItem | None = None
    value_key = inp.control.kind.value_key
    for annotator, items in enumerate(inp.per_annotation):
        if not items:
            rows.append({"task": 0, "annotator": annotator, "label": "", **{k: np.nan for k in columns}})
        for item in items:
            template = template or item
            rows.append({"task": 0, "annotator": annotator, "label": first_label(item, value_key),
                         **{k: float(item["value"][k]) for k in columns}})
    return rows, template


def box_fusion(inp: ControlInput) -> list[ResultItem] | None:
    """Mean box of each cluster at least half the annotators drew; rotated boxes go by medoid shape."""
    if any(item.get("value", {}).get("rotation") for items in inp.per_annotation for item in items):
        return shape_medoids(inp)
    control, value_key = inp.control, inp.control.kind.value_key
    rows, template = _rows(inp, BOX_KEYS)
    fused = fuse_boxes(pd.DataFrame(rows))
    extra = {k: template[k] for k in IMAGE_KEYS if template and k in template}
    out: list[ResultItem] = []
    for i, row in enumerate(fused.itertuples(index=False)):
        value: dict[str, Any] = {k: round(float(getattr(row, k)), 4) for k in BOX_KEYS}
        value["rotation"] = 0
        if value_key:
            value[value_key] = [row.label]
        out.append(consensus_item(control, template, value, id=f"consensus-{control.name}-{i}", **extra))
    return out


def _outline(value: Value) -> list[tuple[float, float]]:
    if "points" in value:
        return [(float(x), float(y)) for x, y in value["points"]]
    polygon = rectangle_polygon(value["x"], value["y"], value["width"], value["height"], value.get("rotation", 0))
    return [(float(x), float(y)) for x, y in list(polygon.exterior.coords)[:-1]]


def shape_medoids(inp: ControlInput) -> list[ResultItem] | None:
    """Shapes clustered by IoU across annotators; a cluster at least half of them drew is represented by
    its medoid, the member closest to the others -- a real drawn shape, copied whole."""
    value_key = inp.control.kind.value_key
    drawn: dict[tuple[str, tuple[tuple[float, float], ...]], ResultItem] = {}
    per_annotator: list[list[tuple[str, list[tuple[float, float]]]]] = []
    for items in inp.per_annotation:
        shapes = []
        for item in items:
            outline = _outline(item.get("value", {}))
            label = first_label(item, value_key)
            drawn.setdefault((label, tuple(outline)), item)
            shapes.append((label, outline))
        per_annotator.append(shapes)
    out: list[ResultItem] = []
    for i, (label, points) in enumerate(vote_polygons(per_annotator)):
        template = drawn[(str(label), tuple((float(x), float(y)) for x, y in points))]
        extra = {k: template[k] for k in IMAGE_KEYS if k in template}
        out.append(consensus_item(inp.control, template, dict(template["value"]),
                                  id=f"consensus-{inp.control.name}-{i}", **extra))
    return out


def _box_evidence(control: ControlTag, mine: Values, truth: Values) -> Detections:
    return box_detections(mine, truth)


def _box_summary(pieces: list[Detections]) -> dict[str, float]:
    total = sum(pieces, NO_DETECTIONS)
    return {"precision": total.precision, "recall": total.recall, "mean_iou": total.mean_iou}


_BOX_GOLD = GoldScorer("box_detections", _box_evidence, _box_summary)
_BOX = TagBehaviour(family="shapes", attrs=plain_attrs, validate=validate_box, agreement=box_pairwise,
                    consensus=box_fusion, gold=_BOX_GOLD, region_noun="box")
_POLYGON = TagBehaviour(family="shapes", attrs=plain_attrs, validate=validate_polygon, agreement=polygon_pairwise,
                        consensus=shape_medoids, gold=scored_by("score", "polygon_iou", polygon_pairwise),
                        region_noun="polygon")

BEHAVIOURS = {
    "RectangleLabels": TagBehaviour(family="shapes", attrs=plain_attrs, validate=validate_box,
                                    agreement=box_pairwise, consensus=box_fusion, gold=_BOX_GOLD,
                                    exports=("COCO", "YOLO", "YOLO_OBB", "VOC"), region_noun="box"),
    "Rectangle": _BOX,
    "PolygonLabels": TagBehaviour(family="shapes", attrs=plain_attrs, validate=validate_polygon,
                                  agreement=polygon_pairwise, consensus=shape_medoids,
                                  gold=scored_by("score", "polygon_iou", polygon_pairwise),
                                  exports=("COCO", "YOLO", "YOLO_OBB"), region_noun="polygon"),
    "Polygon": _POLYGON,
}
