"""Consensus of free values: text spans by character vote, transcripts by medoid, numbers by median."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from metrics._frame import _check_frame
from metrics.consensus.boxes import required_votes

SPAN_COLUMNS = ("task", "annotator", "label", "start", "end")


def vote_spans(df: pd.DataFrame, *, quorum: int | float = 0.5) -> pd.DataFrame:
    """Character-level vote on labelled text spans.

    For each task and label, a character belongs to the consensus when at least ``quorum``
    annotators covered it with that label (an annotator's overlapping spans count once); runs of
    such characters become spans. ``end`` is exclusive, as in Label Studio.

    Parameters
    ----------
    df : one row per span: task, annotator, label, start, end. A row with a missing ``start``
        records an annotator who read the task and marked nothing (it counts for a share quorum).
    quorum : int count or share of the task's annotators (default 0.5: 2 of 3, 1 of 2).

    Returns
    -------
    DataFrame task, label, start, end, support (the fewest votes of any character in the span).

    Examples
    --------
    >>> spans = pd.DataFrame({"task": 1, "annotator": ["a", "b", "c"], "label": "ORG",
    ...                       "start": [0, 2, 20], "end": [10, 10, 25]})
    >>> vote_spans(spans)[["start", "end"]].values.tolist()
    [[2, 10]]
    """
    _check_frame(df, SPAN_COLUMNS)
    columns = ["task", "label", "start", "end", "support"]
    n_annotators = df.groupby("task", sort=False)["annotator"].nunique()
    spans = df[df["start"].notna()]
    out: list[tuple[object, object, int, int, int]] = []
    for (task, label), group in spans.groupby(["task", "label"], sort=True):
        need = required_votes(quorum, int(n_annotators[task]))
        start = group["start"].to_numpy(dtype=np.int64)
        end = group["end"].to_numpy(dtype=np.int64)
        cuts = np.unique(np.concatenate([start, end]))
        # votes per elementary segment [cuts[i], cuts[i+1]): distinct annotators covering it
        covered = (start[:, None] <= cuts[None, :-1]) & (end[:, None] >= cuts[None, 1:])
        ann_code, _ = pd.factorize(group["annotator"])
        per_ann = np.zeros((ann_code.max() + 1, len(cuts) - 1), dtype=bool)
        np.logical_or.at(per_ann, ann_code, covered)
        votes = per_ann.sum(axis=0)
        keep = votes >= need
        i = 0
        while i < len(keep):
            if not keep[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(keep) and keep[j + 1]:
                j += 1
            out.append((task, label, int(cuts[i]), int(cuts[j + 1]), int(votes[i : j + 1].min())))
            i = j + 1
    return pd.DataFrame(out, columns=columns)


def medoid_texts(df: pd.DataFrame, *, column: str = "text") -> pd.Series:
    """The transcript with the least total Levenshtein distance to the task's other transcripts.

    A tie goes to the text that sorts first, so the answer does not depend on row order. Useful
    where ROVER-style word alignment is overkill: the medoid is always a real annotator's text.

    Parameters
    ----------
    df : task, annotator and ``column`` (the text); missing texts are ignored.

    Returns
    -------
    Series task -> text.

    Examples
    --------
    >>> texts = pd.DataFrame({"task": 1, "annotator": list("abc"),
    ...                       "text": ["the cat sat", "the cat sat.", "a cat sat"]})
    >>> medoid_texts(texts).tolist()
    ['the cat sat']
    """
    _check_frame(df, ("task", "annotator", column))
    result: dict[object, str] = {}
    for task, group in df[df[column].notna()].groupby("task", sort=False):
        texts = sorted(group[column].astype(str).tolist())
        total = cdist(texts, texts, scorer=Levenshtein.distance).sum(axis=1)
        result[task] = texts[int(np.argmin(total))]
    return pd.Series(result, dtype=object, name=column).rename_axis("task")


def median_numbers(df: pd.DataFrame, *, column: str = "label") -> pd.Series:
    """Median of the numbers annotators gave per task (robust to one outlier); NaNs ignored.

    With an even count it is the mean of the two middle values.
    """
    _check_frame(df, ("task", "annotator", column))
    values = pd.to_numeric(df[column], errors="raise")
    return values.groupby(df["task"], sort=False).median().rename(column)


def weighted_median(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The weighted median of one item's numbers: the value at which the running weight (values sorted)
    reaches half the total weight; where it lands exactly on half, the mean of that value and the next.

    With equal weights this is the ordinary median (the mean of the two middle values for an even count),
    so a weight of 1 for everyone changes nothing.

    Parameters
    ----------
    values : finite numbers, one per annotation.
    weights : positive weights in ``values``' order (default: 1 each).

    Returns
    -------
    float; NaN for no values.

    References
    ----------
    [1] Edgeworth, F. Y. (1888). On a new method of reducing observations relating to several quantities.
        Philosophical Magazine 25(154), 184-191 (the weighted median as the L1 location estimate).

    Examples
    --------
    >>> weighted_median([1, 2, 3, 4])
    2.5
    >>> weighted_median([2, 2, 5], [0.3, 0.3, 1.0])
    5.0
    """
    if weights is not None and len(weights) != len(values):
        raise ValueError(f"weighted_median: {len(values)} values but {len(weights)} weights")
    if not len(values):
        return float("nan")
    v = np.asarray(values, dtype=float)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    if (w <= 0).any():
        raise ValueError(f"weighted_median: weights must be positive, got {w[w <= 0][:3].tolist()}")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    running = np.cumsum(w)
    half = running[-1] / 2
    # Relative tolerance: equal weights summing to exactly half must take the two-middle-values branch.
    at = int(np.searchsorted(running, half - 1e-12 * running[-1]))
    if abs(running[at] - half) <= 1e-12 * running[-1] and at + 1 < len(v):
        return float((v[at] + v[at + 1]) / 2)
    return float(v[at])
