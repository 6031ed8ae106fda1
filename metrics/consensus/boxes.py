"""Box fusion: one consensus set of bounding boxes per image from several annotators' boxes."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from metrics._frame import _check_frame
from metrics.geometry import box_iou_pairs

BOX_COLUMNS = ("task", "annotator", "label", "x", "y", "width", "height")
FUSED_COLUMNS = ["task", "label", "x", "y", "width", "height", "support", "mean_iou"]


def required_votes(quorum: int | float, n_annotators: int) -> int:
    """Votes a region needs: ``quorum`` itself when an int, else ``ceil(quorum * n_annotators)``
    (at least 1) for a share in (0, 1]."""
    if isinstance(quorum, (int, np.integer)) and not isinstance(quorum, bool):
        if quorum < 1:
            raise ValueError(f"quorum must be >= 1 annotator, got {quorum}")
        return int(quorum)
    if not 0 < float(quorum) <= 1:
        raise ValueError(f"a fractional quorum must be in (0, 1], got {quorum}")
    return max(1, math.ceil(float(quorum) * n_annotators - 1e-9))


def _candidate_pairs(group: np.ndarray, coords: np.ndarray, annotators: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) of boxes in the same (task, label) group from different annotators with
    IoU >= threshold, without a Python loop over tasks: rows are sorted by group and the k-th
    neighbour in that order is paired for k = 1, 2, ... while any group is still that large."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    ii, jj = [], []
    for k in range(1, len(order)):
        same = g[:-k] == g[k:]
        if not same.any():
            break
        ii.append(order[:-k][same])
        jj.append(order[k:][same])
    if not ii:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    i, j = np.concatenate(ii), np.concatenate(jj)
    iou = box_iou_pairs(coords[i], coords[j])
    keep = (iou >= threshold) & (annotators[i] != annotators[j])
    lo, hi = np.minimum(i, j)[keep], np.maximum(i, j)[keep]
    return lo, hi, iou[keep]


def _clusters(n: int, i: np.ndarray, j: np.ndarray, iou: np.ndarray, group: np.ndarray, annotators: np.ndarray) -> np.ndarray:
    """Cluster id per box: complete linkage over the candidate pairs, best IoU first, at most one
    box per annotator per cluster, every pair inside a cluster a candidate (same task and label,
    IoU >= threshold). Greedy best-first merging, like CVAT's consensus merge."""
    order = np.lexsort((-iou, group[i]))
    linked = set(zip(i.tolist(), j.tolist()))
    owner = list(range(n))
    members: dict[int, list[int]] = {}
    ann = annotators.tolist()
    for a, b in zip(i[order].tolist(), j[order].tolist()):
        ca, cb = owner[a], owner[b]
        if ca == cb:
            continue
        ma, mb = members.get(ca, [ca]), members.get(cb, [cb])
        if {ann[x] for x in ma} & {ann[y] for y in mb}:
            continue
        if not all((min(x, y), max(x, y)) in linked for x in ma for y in mb):
            continue
        ma = ma + mb
        members[ca] = ma
        members.pop(cb, None)
        for y in mb:
            owner[y] = ca
    return np.asarray(owner, dtype=np.int64)


def fuse_boxes(
    df: pd.DataFrame,
    *,
    iou_threshold: float = 0.5,
    quorum: int | float = 0.5,
    method: str = "mean",
) -> pd.DataFrame:
    """Fuse several annotators' boxes per task into consensus boxes.

    Per task and label, boxes from different annotators are clustered by IoU (complete linkage,
    best pairs first; at most one box per annotator in a cluster, every pair in it at IoU >=
    ``iou_threshold``). A cluster supported by at least ``quorum`` annotators becomes one box whose
    coordinates are the ``mean`` or per-coordinate ``median`` of its members (CVAT's consensus
    merge; mean fusion equals weighted boxes fusion with equal scores). Smaller clusters are dropped.

    Parameters
    ----------
    df : one row per box: task, annotator, label, x, y, width, height (percent of the image).
        A row with a missing ``x`` records an annotator who saw the task and drew nothing; it counts
        towards the number of annotators of a fractional quorum.
    iou_threshold : minimum IoU for two boxes to be the same object (default 0.5, PASCAL VOC).
    quorum : annotators a box needs: an int count, or a share of the task's annotators
        (default 0.5: two of three, one of two).
    method : "mean" (default) or "median".

    Returns
    -------
    DataFrame with columns task, label, x, y, width, height, support (annotators in the cluster) and
    mean_iou (mean IoU of the members with the fused box), sorted by task then x, y.

    References
    ----------
    .. [1] CVAT, ``cvat/apps/consensus/intersect_merge.py`` (cluster per replica, quorum).
    .. [2] Solovyev, R., Wang, W. & Gabruseva, T. (2021). Weighted boxes fusion. Image and Vision
       Computing 107. doi:10.1016/j.imavis.2021.104117

    Examples
    --------
    >>> boxes = pd.DataFrame({"task": 1, "annotator": ["a", "b", "c"], "label": "Car",
    ...                       "x": [10, 11, 60], "y": [10, 10, 60], "width": 20, "height": 20})
    >>> fuse_boxes(boxes, quorum=2)[["x", "support"]].values.tolist()
    [[10.5, 2.0]]
    """
    _check_frame(df, BOX_COLUMNS)
    if method not in ("mean", "median"):
        raise ValueError(f"unknown fusion method {method!r}; expected 'mean' or 'median'")
    if not len(df):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in FUSED_COLUMNS})
    task_code, tasks = pd.factorize(df["task"], sort=False)
    ann_code, _ = pd.factorize(df["annotator"], sort=False)
    label_code, labels = pd.factorize(df["label"], sort=False)
    n_annotators = pd.Series(ann_code).groupby(task_code).nunique().to_numpy()
    has_box = df["x"].notna().to_numpy() & (label_code >= 0)
    idx = np.flatnonzero(has_box)
    coords = df[["x", "y", "width", "height"]].to_numpy(dtype=np.float64)[idx]
    task_code, ann_code, label_code = task_code[idx], ann_code[idx], label_code[idx]
    group = task_code * max(len(labels), 1) + label_code
    i, j, iou = _candidate_pairs(group, coords, ann_code, iou_threshold)
    cluster_code, cluster_ids = pd.factorize(_clusters(len(idx), i, j, iou, group, ann_code))
    support = np.bincount(cluster_code, minlength=len(cluster_ids))
    need = np.array([required_votes(quorum, int(n)) for n in n_annotators], dtype=np.int64) if len(n_annotators) else np.zeros(0, np.int64)
    first = np.full(len(cluster_ids), -1)
    first[cluster_code[::-1]] = np.arange(len(cluster_code))[::-1]  # a member of each cluster
    kept = support >= need[task_code[first]]
    if method == "mean":
        fused = np.column_stack([np.bincount(cluster_code, weights=coords[:, c]) for c in range(4)]) / support[:, None]
    else:
        fused = pd.DataFrame(coords).groupby(cluster_code).median().to_numpy()
    member_iou = box_iou_pairs(coords, fused[cluster_code])
    mean_iou = np.bincount(cluster_code, weights=member_iou) / support
    if not kept.any():
        return pd.DataFrame({c: pd.Series(dtype=float) for c in FUSED_COLUMNS})
    result = pd.DataFrame(
        {
            "task": np.asarray(tasks)[task_code[first[kept]]],
            "label": np.asarray(labels)[label_code[first[kept]]],
            "x": fused[kept, 0],
            "y": fused[kept, 1],
            "width": fused[kept, 2],
            "height": fused[kept, 3],
            "support": support[kept].astype(np.float64),
            "mean_iou": mean_iou[kept],
        }
    )
    return result.sort_values(["task", "x", "y"], kind="stable").reset_index(drop=True)
