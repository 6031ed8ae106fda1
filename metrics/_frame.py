"""Validation and integer coding of the long label frame shared by ``metrics``.

The long frame has one row per (task, annotator) judgement with the columns ``task``, ``annotator``
and ``label``. A missing ``label`` (NaN/None) is a missing judgement and is dropped. Every public
function in ``metrics`` validates its frame with :func:`_check_frame` and then works on the integer
codes from :func:`_encode`, never on Python objects row by row.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

LONG_COLUMNS = ("task", "annotator", "label")


def _check_frame(df: object, required: Sequence[str] = LONG_COLUMNS) -> pd.DataFrame:
    """Return ``df`` if it is a DataFrame holding every column in ``required``.

    Raises
    ------
    TypeError
        ``df`` is not a pandas DataFrame.
    ValueError
        Columns are missing; the message names them and the columns that were found.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame with columns {list(required)}, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {missing}; expected {list(required)}, found {[str(c) for c in df.columns]}"
        )
    return df


@dataclass(frozen=True)
class Coded:
    """A long frame as integer codes (rows with a missing label dropped).

    ``task``, ``annotator`` and ``label`` are int64 arrays of equal length; ``tasks``, ``annotators``
    and ``labels`` map a code back to the original value (``labels`` sorted when sortable, so
    results do not depend on row order).
    """

    task: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    tasks: pd.Index
    annotators: pd.Index
    labels: pd.Index

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_labels(self) -> int:
        return len(self.labels)


def _factorize(values: pd.Series | np.ndarray, *, sort: bool) -> tuple[np.ndarray, pd.Index]:
    arr = np.asarray(values)
    if arr.dtype.kind in "iu" and len(arr):
        # Dense integer ids (the usual database keys): code by offset + bincount, ~10x faster than
        # hashing. The codes come out in sorted order of the ids.
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo <= 4 * len(arr) + 1_000_000:
            present = np.bincount(arr - lo, minlength=hi - lo + 1) > 0
            rank = np.cumsum(present) - 1
            return rank[arr - lo].astype(np.int64), pd.Index(np.flatnonzero(present) + lo)
    try:
        codes, uniques = pd.factorize(values, sort=sort)
    except TypeError:  # mixed, unorderable labels: keep first-seen order
        codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64, copy=False), pd.Index(uniques)


def _encode(
    df: pd.DataFrame,
    *,
    categories: Sequence[object] | None = None,
    check_duplicates: bool = True,
) -> Coded:
    """Integer-code a validated long frame.

    Parameters
    ----------
    df : long frame (task, annotator, label), already checked by :func:`_check_frame`.
    categories : optional label domain; labels outside it raise ``ValueError``. Categories nobody
        used still count (they matter for Gwet's AC1, whose chance term depends on their number).
    check_duplicates : raise ``ValueError`` when an annotator labels the same task twice; the
        inter-annotator coefficients assume one judgement per (task, annotator).
    """
    labelled = df[df["label"].notna()]
    task, tasks = _factorize(labelled["task"].to_numpy(), sort=False)
    annotator, annotators = _factorize(labelled["annotator"].to_numpy(), sort=False)
    if categories is None:
        label, labels = _factorize(labelled["label"].to_numpy(), sort=True)
    else:
        labels = pd.Index(list(categories))
        if labels.has_duplicates:
            raise ValueError(f"categories must be distinct, got {list(categories)}")
        label = labels.get_indexer(labelled["label"].to_numpy()).astype(np.int64)
        if (label < 0).any():
            unknown = pd.unique(labelled["label"].to_numpy()[label < 0])[:5]
            raise ValueError(f"label(s) {list(unknown)} not in categories {list(categories)}")
    if check_duplicates and len(task):
        key = task * len(annotators) + annotator
        n_cells = len(tasks) * len(annotators)
        if n_cells <= 8 * len(key) + 1_000_000:  # a bincount is ~10x faster than a sort
            dup = np.bincount(key, minlength=n_cells) > 1
            first = int(np.flatnonzero(dup)[0]) if dup.any() else -1
        else:
            key = np.sort(key)
            dup = key[1:] == key[:-1]
            first = int(key[1:][dup][0]) if dup.any() else -1
        if first >= 0:
            k = first
            raise ValueError(
                f"annotator {annotators[k % len(annotators)]!r} labelled task {tasks[k // len(annotators)]!r} "
                f"more than once; keep one judgement per (task, annotator)"
            )
    return Coded(task, annotator, label, tasks, annotators, labels)


def _count_matrix(coded: Coded, weights: np.ndarray | None = None) -> np.ndarray:
    """Tasks x labels matrix of (optionally weighted) votes, via one ``bincount``."""
    q = coded.n_labels
    if q == 0:
        return np.zeros((coded.n_tasks, 0))
    flat = np.bincount(coded.task * q + coded.label, weights=weights, minlength=coded.n_tasks * q)
    return flat.reshape(coded.n_tasks, q).astype(np.float64, copy=False)
