"""Pairwise agreement between two annotations of one task, per control tag, and task agreement.

Inputs are Label Studio result *values* (the ``"value"`` object of a result), grouped per control tag
(``from_name``): one annotation's regions of a tag are a list of values. Every pairwise function
returns a score in [0, 1], is symmetric in its two arguments, scores two empty annotations 1 and
one empty against one non-empty 0 (Label Studio's rules, ``docs/source/guide/stats.md``).

============================  ==================================================================
result ``type``               default pairwise score
============================  ==================================================================
choices                       exact match of the chosen set (``method="jaccard"`` for multi-choice)
rectanglelabels, rectangle    IoU, one-to-one Hungarian matching of same-label boxes, soft F1
polygonlabels, polygon        same, with polygon IoU (shapely)
labels (text spans)           character-overlap F1 per label
textarea                      normalised Levenshtein similarity of aligned items
rating, number                ``1 - |a - b| / scale``
taxonomy                      Jaccard of the sets of selected path prefixes (shared sub-trees)
============================  ==================================================================

:func:`task_agreement` combines them the Label Studio way: the mean pairwise score per tag over all
pairs of annotations, then the (optionally weighted) mean over tags.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from metrics.geometry import (
    as_polygon,
    box_iou_matrix,
    match_regions,
    polygon_iou_matrix,
    rectangle_polygon,
    span_overlap_matrix,
)
from metrics.text import edit_similarity

Value = Mapping[str, Any]
PairwiseFn = Callable[..., float]


def _both_empty(a: Sequence[Value], b: Sequence[Value]) -> float | None:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    return None


def _region_label(value: Value) -> object:
    """The first label of a region (``rectanglelabels``, ``polygonlabels``, ``labels`` ...), or None."""
    for key, item in value.items():
        if key.endswith("labels") and isinstance(item, list) and item:
            return item[0]
    return None


def choices_agreement(a: Sequence[Value], b: Sequence[Value], *, method: str = "exact") -> float:
    """Agreement of two ``{"choices": [...]}`` values: exact match of the sets, or their Jaccard.

    Examples
    --------
    >>> choices_agreement([{"choices": ["A", "B"]}], [{"choices": ["B"]}], method="jaccard")
    0.5
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    sa = {c for v in a for c in v.get("choices", [])}
    sb = {c for v in b for c in v.get("choices", [])}
    if method == "exact":
        return float(sa == sb)
    if method == "jaccard":
        union = sa | sb
        return 1.0 if not union else len(sa & sb) / len(union)
    raise ValueError(f"unknown choices method {method!r}; expected 'exact' or 'jaccard'")


def _matched_score(sim: np.ndarray, la: Sequence[object], lb: Sequence[object], threshold: float, metric: str) -> float:
    """Soft F1 of a one-to-one matching of same-label regions (``"iou"``: each match counts its similarity;
    ``"f1"``: each counts 1), over ``n_a + n_b`` regions.

    Pairs below ``threshold`` (or of different labels) are removed *before* the Hungarian assignment
    (Kuhn 1955): then ``"iou"`` is the maximum total similarity and ``"f1"`` the maximum number of matches
    (ties broken by similarity), both unique, so the score is symmetric in ``a`` and ``b``. Thresholding
    after the assignment, as :func:`metrics.geometry.match_regions` does, can keep a different share of
    two equally good assignments of ``(a, b)`` and ``(b, a)``.
    """
    if metric not in ("iou", "f1"):
        raise ValueError(f"unknown region metric {metric!r}; expected 'iou' or 'f1'")
    same = np.asarray(la, dtype=object)[:, None] == np.asarray(lb, dtype=object)[None, :]
    eligible = same & (sim >= threshold) & (sim > 0)
    n = len(la) + len(lb)
    if metric == "iou":  # soft F1: matched similarities count partially
        _, _, scores = match_regions(np.where(eligible, sim, 0.0), threshold=0.0)
        return float(2 * scores.sum() / n)
    # F1: a kept match counts 1; the weight min(n_a, n_b) + 1 per match makes the count come first
    rows, _, _ = match_regions(np.where(eligible, min(len(la), len(lb)) + 1.0 + sim, 0.0), threshold=0.0)
    return float(2 * len(rows) / n)


def _box_array(values: Sequence[Value]) -> np.ndarray:
    """The (n, 4) ``x, y, width, height`` array of unrotated rectangle values."""
    return np.array([[v["x"], v["y"], v["width"], v["height"]] for v in values], dtype=np.float64)


def rectangle_agreement(
    a: Sequence[Value], b: Sequence[Value], *, threshold: float = 0.5, metric: str = "iou", aspect: float = 1.0
) -> float:
    """Agreement of two sets of rectangles (percent ``x, y, width, height``, ``rotation``).

    Boxes are matched one-to-one by the Hungarian method on IoU, only boxes with the same label can
    match, pairs below ``threshold`` are unmatched. ``metric="iou"`` returns
    ``2 * sum(matched IoU) / (n_a + n_b)`` (an F1 where each match counts its IoU), ``"f1"`` counts
    each match as 1. Rotated boxes go through shapely with the image ``aspect`` (width/height).
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    la, lb = [_region_label(v) for v in a], [_region_label(v) for v in b]
    if any(v.get("rotation", 0) for v in [*a, *b]):
        pa = [rectangle_polygon(v["x"], v["y"], v["width"], v["height"], v.get("rotation", 0), aspect=aspect) for v in a]
        pb = [rectangle_polygon(v["x"], v["y"], v["width"], v["height"], v.get("rotation", 0), aspect=aspect) for v in b]
        sim = polygon_iou_matrix(pa, pb)
    else:
        sim = box_iou_matrix(_box_array(a), _box_array(b))
    return _matched_score(sim, la, lb, threshold, metric)


def polygon_agreement(
    a: Sequence[Value], b: Sequence[Value], *, threshold: float = 0.5, metric: str = "iou"
) -> float:
    """Agreement of two sets of polygons (``points`` in percent); matching as :func:`rectangle_agreement`."""
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    sim = polygon_iou_matrix([as_polygon(v["points"]) for v in a], [as_polygon(v["points"]) for v in b])
    return _matched_score(sim, [_region_label(v) for v in a], [_region_label(v) for v in b], threshold, metric)


def _merged(spans: list[tuple[int, int]]) -> np.ndarray:
    """Union of half-open intervals as sorted, disjoint (start, end) rows."""
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def span_agreement(a: Sequence[Value], b: Sequence[Value]) -> float:
    """Character-overlap F1 of two sets of labelled text spans (``start``, exclusive ``end``).

    Per label, the characters both annotations cover; ``F1 = 2 * overlap / (chars_a + chars_b)``
    summed over labels. Overlapping spans of one annotation count their characters once.

    Examples
    --------
    >>> span_agreement([{"start": 0, "end": 14, "labels": ["Tool"]}],
    ...                [{"start": 10, "end": 14, "labels": ["Tool"]}])
    0.4444444444444444
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    labels = {_region_label(v) for v in [*a, *b]}
    overlap = total = 0.0
    for label in labels:
        ua = _merged([(int(v["start"]), int(v["end"])) for v in a if _region_label(v) == label])
        ub = _merged([(int(v["start"]), int(v["end"])) for v in b if _region_label(v) == label])
        overlap += float(span_overlap_matrix(ua, ub).sum())
        total += float((ua[:, 1] - ua[:, 0]).sum() + (ub[:, 1] - ub[:, 0]).sum())
    return 1.0 if total == 0 else 2 * overlap / total


def textarea_agreement(a: Sequence[Value], b: Sequence[Value], *, normalise: bool = True) -> float:
    """Mean :func:`~metrics.text.edit_similarity` of the ``text`` items aligned by position; an item
    one side lacks scores 0 (Label Studio's TextArea rule)."""
    ta = [t for v in a for t in v.get("text", [])]
    tb = [t for v in b for t in v.get("text", [])]
    if not ta and not tb:
        return 1.0
    scores = [edit_similarity(x, y, normalise=normalise) for x, y in zip(ta, tb)]
    return float(sum(scores) / max(len(ta), len(tb)))


def numeric_agreement(a: Sequence[Value], b: Sequence[Value], *, key: str = "number", scale: float | None = None) -> float:
    """``1 - |x - y| / scale`` clipped to [0, 1], for ``{"number": x}`` or ``{"rating": x}``.

    ``scale`` is the distance that counts as total disagreement, e.g. ``max_rating - 1`` for a
    1..max_rating scale; ``None`` uses ``max(|x|, |y|)`` (relative difference; 0 and 0 agree).
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty
    x, y = float(a[0][key]), float(b[0][key])
    denom = scale if scale is not None else max(abs(x), abs(y))
    if denom <= 0:
        return float(x == y)
    return float(np.clip(1.0 - abs(x - y) / denom, 0.0, 1.0))


def rating_agreement(a: Sequence[Value], b: Sequence[Value], *, max_rating: int = 5) -> float:
    """:func:`numeric_agreement` of ``rating`` on a 1..``max_rating`` scale (Label Studio's default 5)."""
    return numeric_agreement(a, b, key="rating", scale=max(max_rating - 1, 1))


def taxonomy_agreement(a: Sequence[Value], b: Sequence[Value]) -> float:
    """Jaccard of the selected paths' prefix sets: ``[["A", "B"]]`` vs ``[["A", "C"]]`` share the
    sub-tree ``A`` and score 1/3.

    Examples
    --------
    >>> taxonomy_agreement([{"taxonomy": [["A", "B"]]}], [{"taxonomy": [["A", "C"]]}])
    0.3333333333333333
    """
    empty = _both_empty(a, b)
    if empty is not None:
        return empty

    def prefixes(values: Sequence[Value]) -> set[tuple[object, ...]]:
        return {tuple(path[: i + 1]) for v in values for path in v.get("taxonomy", []) for i in range(len(path))}

    pa, pb = prefixes(a), prefixes(b)
    union = pa | pb
    return 1.0 if not union else len(pa & pb) / len(union)


#: Pairwise agreement function per Label Studio result ``type``.
AGREEMENT_FUNCTIONS: dict[str, PairwiseFn] = {
    "choices": choices_agreement,
    "rectanglelabels": rectangle_agreement,
    "rectangle": rectangle_agreement,
    "polygonlabels": polygon_agreement,
    "polygon": polygon_agreement,
    "labels": span_agreement,
    "textarea": textarea_agreement,
    "rating": rating_agreement,
    "number": numeric_agreement,
    "taxonomy": taxonomy_agreement,
}


def pairwise_agreement(tag_type: str, a: Sequence[Value], b: Sequence[Value], **options: Any) -> float:
    """Agreement of two annotations' values of one tag, by the function registered for ``tag_type``.

    Raises
    ------
    ValueError
        ``tag_type`` has no agreement function; the message lists the supported types.
    """
    fn = AGREEMENT_FUNCTIONS.get(tag_type.lower())
    if fn is None:
        raise ValueError(f"no agreement function for result type {tag_type!r}; supported: {sorted(AGREEMENT_FUNCTIONS)}")
    return fn(a, b, **options)


def _by_tag(results: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, list[Value]]]:
    tags: dict[str, tuple[str, list[Value]]] = {}
    for r in results:
        name = r.get("from_name")
        if name is None or "type" not in r or "value" not in r:
            raise ValueError(f"a result needs from_name, type and value, got keys {sorted(r)}")
        tags.setdefault(name, (r["type"], []))[1].append(r["value"])
    return tags


def tag_agreements(
    annotations: Sequence[Sequence[Mapping[str, Any]]],
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, float]:
    """Mean pairwise agreement per control tag over all pairs of annotations of one task.

    Parameters
    ----------
    annotations : one list of Label Studio results (``{"from_name", "type", "value"}``) per annotation.
    options : per ``from_name`` keyword options for its pairwise function (e.g. ``{"box": {"threshold": 0.75}}``).

    Returns
    -------
    ``{from_name: score}``; empty when fewer than two annotations. A tag one annotation lacks counts
    as that annotation's empty answer.
    """
    grouped = [_by_tag(results) for results in annotations]
    types: dict[str, str] = {}
    for g in grouped:
        for name, (kind, _) in g.items():
            types.setdefault(name, kind)
    out: dict[str, float] = {}
    if len(grouped) < 2:
        return out
    for name, kind in types.items():
        opts = dict((options or {}).get(name, {}))
        scores = [
            pairwise_agreement(kind, ga.get(name, (kind, []))[1], gb.get(name, (kind, []))[1], **opts)
            for ga, gb in itertools.combinations(grouped, 2)
        ]
        out[name] = float(np.mean(scores))
    return out


def task_agreement(
    annotations: Sequence[Sequence[Mapping[str, Any]]],
    *,
    weights: Mapping[str, float] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> float:
    """Task agreement: :func:`tag_agreements` averaged over tags, weighted by ``weights[from_name]``
    (default 1; weight 0 leaves a tag out, like Label Studio's ``control_weights``).

    Returns NaN with fewer than two annotations or when every weight is 0.

    Examples
    --------
    >>> a = [{"from_name": "sentiment", "type": "choices", "value": {"choices": ["Positive"]}}]
    >>> b = [{"from_name": "sentiment", "type": "choices", "value": {"choices": ["Negative"]}}]
    >>> task_agreement([a, a, b])
    0.3333333333333333
    """
    per_tag = tag_agreements(annotations, options=options)
    w = {name: float((weights or {}).get(name, 1.0)) for name in per_tag}
    if any(v < 0 for v in w.values()):
        raise ValueError(f"tag weights must be >= 0, got {w}")
    total = sum(w.values())
    if not per_tag or total == 0:
        return float("nan")
    return sum(per_tag[name] * w[name] for name in per_tag) / total
