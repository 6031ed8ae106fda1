"""Consensus for keypoints, polygons, time intervals, rankings and relations, over plain lists.

Region kinds (keypoints, polygons, intervals) follow :func:`metrics.consensus.fuse_boxes`: per label,
regions from different annotators are clustered greedily, best pair first (complete linkage, at most
one region per annotator in a cluster, every pair in it at or above ``threshold``), and a cluster
drawn by at least :func:`~metrics.consensus.boxes.required_votes` annotators becomes one consensus
region; smaller clusters are dropped (CVAT's consensus merge, ``cvat/apps/consensus/intersect_merge.py``).
An annotator who drew nothing is an empty list: it still counts towards a fractional quorum.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from metrics.agreement_kinds import interval_iou_matrix, oks_similarity_matrix
from metrics.consensus._base import TIE_TOLERANCE
from metrics.consensus.boxes import required_votes
from metrics.geometry import as_polygon, polygon_iou_matrix

L = TypeVar("L", bound=Hashable)
Points = Sequence[Sequence[float]]

__all__ = ["borda_ranking", "cluster_keypoints", "vote_intervals", "vote_polygons", "vote_relations"]


def _greedy_clusters(annotators: Sequence[int], labels: Sequence[Hashable], sim: npt.NDArray[np.float64], threshold: float) -> list[list[int]]:
    """Clusters (lists of region indices) by greedy best-first complete linkage: candidate pairs are
    regions of different annotators with the same label and ``0 < sim >= threshold``; two clusters
    merge when they share no annotator and every cross pair is a candidate."""
    n = len(annotators)
    pairs = [
        (float(sim[i, j]), i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if annotators[i] != annotators[j] and labels[i] == labels[j] and sim[i, j] >= threshold and sim[i, j] > 0
    ]
    linked = {(i, j) for _, i, j in pairs}
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    owner = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _, i, j in pairs:
        ci, cj = owner[i], owner[j]
        if ci == cj:
            continue
        mi, mj = members[ci], members[cj]
        if {annotators[x] for x in mi} & {annotators[y] for y in mj}:
            continue
        if not all((min(x, y), max(x, y)) in linked for x in mi for y in mj):
            continue
        members[ci] = mi + mj
        del members[cj]
        for y in mj:
            owner[y] = ci
    return [sorted(m) for _, m in sorted(members.items())]


def _owners(per_annotator: Sequence[Sequence[object]]) -> list[int]:
    """The annotator (index) of every region, regions flattened in annotator order."""
    return [k for k, regions in enumerate(per_annotator) for _ in regions]


def cluster_keypoints(
    per_annotator: Sequence[Sequence[tuple[L, float, float]]],
    *,
    threshold: float = 0.5,
    sigma: float = 0.025,
    quorum: int | float = 0.5,
) -> list[tuple[L, float, float]]:
    """Consensus keypoints: same-label points clustered by OKS-like similarity, a cluster with
    enough votes becomes its mean point.

    Why: a keypoint has no area, so the box IoU of :func:`~metrics.consensus.fuse_boxes` becomes
    the object keypoint similarity of COCO's keypoint evaluation (https://cocodataset.org/#keypoints-eval;
    Ronchi & Perona 2017, doi:10.1109/ICCV.2017.48), ``exp(-d^2 / (2 sigma^2))`` with ``d`` in image
    fractions (:func:`metrics.agreement_kinds.oks_similarity_matrix`). The mean of the members is
    the least-squares point, as weighted boxes fusion averages boxes (Solovyev et al. 2021,
    doi:10.1016/j.imavis.2021.104117).

    Parameters
    ----------
    per_annotator : per annotator, a list of ``(label, x, y)`` in percent of the image.
    threshold : minimum similarity of two points of one cluster (default 0.5: about 2.9 % apart).
    sigma : tolerated error as a fraction of the image (default 0.025).
    quorum : an int count or a share of the annotators (default 0.5: two of three, one of two).

    Returns
    -------
    ``(label, mean x, mean y)`` per kept cluster, sorted by x then y.

    Examples
    --------
    >>> cluster_keypoints([[("Eye", 10, 10)], [("Eye", 11, 10)], [("Eye", 80, 80)]])
    [('Eye', 10.5, 10.0)]
    """
    annotators = _owners(per_annotator)
    labels = [label for regions in per_annotator for label, _, _ in regions]
    coords = np.array([[x, y] for regions in per_annotator for _, x, y in regions], dtype=np.float64).reshape(-1, 2)
    sim = oks_similarity_matrix(coords, coords, sigma=sigma)
    need = required_votes(quorum, len(per_annotator))
    out = [
        (labels[c[0]], float(coords[c, 0].mean()), float(coords[c, 1].mean()))
        for c in _greedy_clusters(annotators, labels, sim, threshold)
        if len(c) >= need
    ]
    return sorted(out, key=lambda r: (r[1], r[2]))


def vote_polygons(
    per_annotator: Sequence[Sequence[tuple[L, Points]]],
    *,
    threshold: float = 0.5,
    quorum: int | float = 0.5,
) -> list[tuple[L, Points]]:
    """Consensus polygons: same-label polygons clustered by IoU (shapely), a cluster with enough
    votes becomes its medoid, the member with the highest mean IoU to the other members.

    Why the medoid: averaging polygons needs a vertex correspondence they do not have; the medoid
    (Kaufman & Rousseeuw 1990, Finding Groups in Data, ch. 2, doi:10.1002/9780470316801) is always a
    polygon someone drew, like :func:`~metrics.consensus.medoid_texts` for transcripts. A tie goes
    to the earlier annotator. Clustering as :func:`~metrics.consensus.fuse_boxes` (IoU >= 0.5, PASCAL
    VOC, Everingham et al. 2010, doi:10.1007/s11263-009-0275-4).

    Parameters
    ----------
    per_annotator : per annotator, a list of ``(label, points)``; points ``[[x, y], ...]`` in percent.
    threshold : minimum IoU of two polygons of one cluster (default 0.5).
    quorum : an int count or a share of the annotators (default 0.5).

    Returns
    -------
    ``(label, points)`` per kept cluster (the medoid's own points object), sorted by the polygon's
    bounding box (min x, then min y).

    Examples
    --------
    >>> square = lambda x: [[x, 0], [x + 10, 0], [x + 10, 10], [x, 10]]
    >>> vote_polygons([[("Roof", square(0))], [("Roof", square(1))], [("Roof", square(50))]])
    [('Roof', [[0, 0], [10, 0], [10, 10], [0, 10]])]
    """
    annotators = _owners(per_annotator)
    labels = [label for regions in per_annotator for label, _ in regions]
    points = [p for regions in per_annotator for _, p in regions]
    shapes = [as_polygon(p) for p in points]
    sim = polygon_iou_matrix(shapes, shapes)
    need = required_votes(quorum, len(per_annotator))
    out: list[tuple[L, Points]] = []
    for c in _greedy_clusters(annotators, labels, sim, threshold):
        if len(c) < need:
            continue
        inner = sim[np.ix_(c, c)]
        mean_iou = (inner.sum(axis=1) - np.diag(inner)) / max(len(c) - 1, 1)
        best = c[int(np.argmax(mean_iou))]  # argmax takes the first of equals: the earliest annotator
        out.append((labels[best], points[best]))

    def corner(region: tuple[L, Points]) -> tuple[float, float]:
        xy = np.asarray(region[1], dtype=np.float64).reshape(-1, 2)
        return (float(xy[:, 0].min()), float(xy[:, 1].min())) if len(xy) else (0.0, 0.0)

    return sorted(out, key=corner)


def vote_intervals(
    per_annotator: Sequence[Sequence[tuple[L, float, float]]],
    *,
    threshold: float = 0.5,
    quorum: int | float = 0.5,
) -> list[tuple[L, float, float]]:
    """Consensus time intervals: same-label intervals clustered by interval IoU, a cluster with
    enough votes becomes ``(label, median start, median end)``.

    Why the median: one annotator's late click should not move the boundary, and the median of
    each endpoint is the robust estimate of a boundary several people placed (as
    :func:`~metrics.consensus.fuse_boxes` offers ``method="median"``). IoU is the temporal IoU of
    :func:`metrics.agreement_kinds.interval_iou_matrix`; clustering as ``fuse_boxes``.

    Parameters
    ----------
    per_annotator : per annotator, a list of ``(label, start, end)`` (seconds, frames or samples).
    threshold : minimum IoU of two intervals of one cluster (default 0.5).
    quorum : an int count or a share of the annotators (default 0.5).

    Returns
    -------
    ``(label, start, end)`` per kept cluster, sorted by start then end.

    Examples
    --------
    >>> vote_intervals([[("Speech", 0, 10)], [("Speech", 1, 10)], [("Speech", 2, 11)]])
    [('Speech', 1.0, 10.0)]
    """
    annotators = _owners(per_annotator)
    labels = [label for regions in per_annotator for label, _, _ in regions]
    spans = np.sort(
        np.array([[s, e] for regions in per_annotator for _, s, e in regions], dtype=np.float64).reshape(-1, 2), axis=1
    )
    sim = interval_iou_matrix(spans, spans)
    need = required_votes(quorum, len(per_annotator))
    out = [
        (labels[c[0]], float(np.median(spans[c, 0])), float(np.median(spans[c, 1])))
        for c in _greedy_clusters(annotators, labels, sim, threshold)
        if len(c) >= need
    ]
    return sorted(out, key=lambda r: (r[1], r[2]))


def borda_ranking(
    rankings: Sequence[dict[str, list[str]]], *, weights: Sequence[float] | None = None
) -> dict[str, list[str]] | None:
    """Consensus of Ranker answers (``{bucket: [item_id, ...]}``), or None when there is none.

    Each item goes to the bucket most answers put it in; within a bucket, items are ordered by
    their mean position in that bucket over the answers that put them there, the Borda count
    (de Borda, J.-C. (1781). Mémoire sur les élections au scrutin. Histoire de l'Académie Royale des
    Sciences) used as a rank aggregation (Dwork, C., Kumar, R., Naor, M. & Sivakumar, D. (2001).
    Rank aggregation methods for the web. WWW '01, 613-622, doi:10.1145/371920.372165). An item
    some answers leave out is placed by the answers that have it. A tie, either between an item's
    top buckets or between two items' mean positions in one bucket, is no consensus: None.

    ``weights``: how much each answer counts, in ``rankings``' order (default 1 each): an item's bucket
    votes are sums of weights, and its mean position a weighted mean.

    Returns
    -------
    ``{bucket: [item_id, ...]}`` with every bucket any answer has, in first-seen order (a bucket
    no item won is empty); ``{}`` for no answers.

    Examples
    --------
    >>> borda_ranking([{"top": ["a", "b"], "rest": ["c"]}, {"top": ["a", "b"], "rest": ["c"]},
    ...                {"top": ["b"], "rest": ["a", "c"]}])
    {'top': ['a', 'b'], 'rest': ['c']}
    """
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"borda_ranking: {len(rankings)} answers but {len(weights)} weights")
    buckets: list[str] = []
    votes: dict[str, dict[str, float]] = {}
    positions: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else float(weights[index])
        seen: set[str] = set()
        for bucket, items in ranking.items():
            if bucket not in buckets:
                buckets.append(bucket)
            for pos, item in enumerate(items):
                if item in seen:
                    raise ValueError(f"item {item!r} is ranked twice in one answer")
                seen.add(item)
                counts = votes.setdefault(item, {})
                counts[bucket] = counts.get(bucket, 0.0) + weight
                positions.setdefault((item, bucket), []).append((pos, weight))
    out: dict[str, list[str]] = {bucket: [] for bucket in buckets}
    for item, counts in votes.items():
        (top, n), *rest = sorted(counts.items(), key=lambda kv: -kv[1])
        if rest and abs(rest[0][1] - n) <= TIE_TOLERANCE:
            return None
        out[top].append(item)
    for bucket, items in out.items():
        mean = {item: float(np.average([p for p, _ in positions[(item, bucket)]],
                                       weights=[w for _, w in positions[(item, bucket)]]))
                for item in items}
        items.sort(key=lambda item: mean[item])
        for x, y in zip(items, items[1:]):
            if abs(mean[x] - mean[y]) <= TIE_TOLERANCE:
                return None
    return out


Relation = tuple[int, int, tuple[str, ...], str]


def _normalised(relation: Relation) -> Relation:
    src, dst, labels, direction = relation
    if direction not in ("right", "left", "bi"):
        raise ValueError(f"unknown relation direction {direction!r}; expected 'right', 'left' or 'bi'")
    if direction == "left":
        src, dst, direction = dst, src, "right"
    elif direction == "bi":
        src, dst = min(src, dst), max(src, dst)
    return src, dst, tuple(sorted(set(labels))), direction


def vote_relations(per_annotator: Sequence[Sequence[Relation]], *, quorum: int | float = 0.5) -> list[Relation]:
    """Consensus relations: a relation given by at least the quorum of annotators is kept.

    A relation is ``(from_cluster, to_cluster, labels, direction)`` after the caller mapped each
    endpoint to its consensus region's index. It is normalised first (a ``"left"`` relation is the
    reversed ``"right"`` one, a ``"bi"`` relation's endpoints are unordered, labels are a sorted set)
    and counted once per annotator: a majority vote per candidate triple, the rule of
    :class:`~metrics.consensus.MajorityVote` applied to each (from, to, labels) triple as in
    relation-extraction crowdsourcing (Dumitrache, Aroyo & Welty 2018, Crowdsourcing ground truth for
    medical relation extraction, ACM TiiS 8(2), doi:10.1145/3152889).

    Returns
    -------
    The kept relations in normalised form, sorted.

    Examples
    --------
    >>> vote_relations([[(0, 1, ("part_of",), "right")], [(1, 0, ("part_of",), "left")], []])
    [(0, 1, ('part_of',), 'right')]
    """
    need = required_votes(quorum, len(per_annotator))
    counts: Counter[Relation] = Counter()
    for relations in per_annotator:
        counts.update({_normalised(r) for r in relations})
    return sorted(r for r, n in counts.items() if n >= need)
