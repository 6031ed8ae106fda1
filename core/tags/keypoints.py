"""KeyPointLabels and KeyPoint: points marked on an image, in percent of its size.

Agreement: an OKS-like similarity ``exp(-d² / 2σ²)`` of two points, ``d`` their distance as a fraction of
the image and σ = 0.025 (COCO's keypoint similarity, Ronchi & Perona 2017, with one σ for every point
kind since Label Studio's points carry no body part), same-label points matched one-to-one at a
similarity of at least 0.5, scored as a soft F1 (:func:`metrics.agreement_kinds.keypoint_agreement`).
Consensus: points clustered across annotators by that similarity; a cluster at least half of them marked
becomes its mean point (:func:`metrics.consensus.cluster_keypoints`).
"""
from __future__ import annotations

from typing import Any

from core.config import ControlTag
from core.tags.spec import (
    ControlInput,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    check_labels,
    check_number,
    consensus_item,
    first_label,
    plain_attrs,
    scored_by,
)
from core.tags.shapes import IMAGE_KEYS
from metrics.agreement_kinds import keypoint_agreement
from metrics.consensus import cluster_keypoints


def keypoint_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return keypoint_agreement(a, b)


def validate_keypoint(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    problems = check_labels(value, control.kind.value_key)
    for key in ("x", "y"):
        problems += check_number(value, key, low=0, high=100)
    if "width" in value:
        problems += check_number(value, "width", low=0, high=100)
    return problems


def mean_points(inp: ControlInput) -> list[ResultItem] | None:
    """The mean point of each cluster of points at least half the annotators marked."""
    value_key = inp.control.kind.value_key
    template: ResultItem | None = None
    per_annotator: list[list[tuple[str, float, float]]] = []
    for items in inp.per_annotation:
        points = []
        for item in items:
            template = template or item
            drawn = item.get("value", {})
            points.append((first_label(item, value_key), float(drawn["x"]), float(drawn["y"])))
        per_annotator.append(points)
    extra = {k: template[k] for k in IMAGE_KEYS if template and k in template}
    out: list[ResultItem] = []
    for i, (label, x, y) in enumerate(cluster_keypoints(per_annotator)):
        value: dict[str, Any] = {"x": round(float(x), 4), "y": round(float(y), 4)}
        if template is not None and "width" in template.get("value", {}):
            value["width"] = template["value"]["width"]
        if value_key:
            value[value_key] = [label]
        out.append(consensus_item(inp.control, template, value, id=f"consensus-{inp.control.name}-{i}", **extra))
    return out


BEHAVIOURS = {
    "KeyPointLabels": TagBehaviour(family="keypoints", attrs=plain_attrs, validate=validate_keypoint,
                                   agreement=keypoint_pairwise, consensus=mean_points,
                                   gold=scored_by("score", "keypoint_similarity", keypoint_pairwise),
                                   exports=("COCO", "YOLO", "YOLO_OBB"), region_noun="point"),
    "KeyPoint": TagBehaviour(family="keypoints", attrs=plain_attrs, validate=validate_keypoint,
                             agreement=keypoint_pairwise, consensus=mean_points,
                             gold=scored_by("score", "keypoint_similarity", keypoint_pairwise), region_noun="point"),
}
