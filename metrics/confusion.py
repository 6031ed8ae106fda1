"""Confusion matrices of each annotator against a reference label per task (ground truth or consensus).

Accuracy says how often an annotator is right; the confusion matrix says *how* they are wrong: which
reference label they mistake for which ("when the answer is Neutral, Ana says Positive"). Rows are the
reference label, columns the annotator's label, cells counts of tasks, as in scikit-learn's
``confusion_matrix`` (rows true, columns predicted) [1]_.

References
----------
.. [1] Pedregosa, F. et al. (2011). Scikit-learn: Machine learning in Python. JMLR 12, 2825-2830
   (``sklearn.metrics.confusion_matrix``: C[i, j] is the number of observations known to be in group i
   and predicted to be in group j).
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd

from metrics._frame import _check_frame, _encode

COUNT_COLUMNS = ["annotator", "reference", "label", "count"]


def _check_reference(reference: object) -> pd.Series:
    if not isinstance(reference, pd.Series):
        raise TypeError(f"reference must be a pandas Series of labels indexed by task, got {type(reference).__name__}")
    if reference.index.has_duplicates:
        dup = reference.index[reference.index.duplicated()][:5].tolist()
        raise ValueError(f"reference has several labels for task(s) {dup}; give one per task")
    return reference


def confusion_counts(df: pd.DataFrame, reference: pd.Series) -> pd.DataFrame:
    """Per annotator, (reference label, their label) counts over the tasks that have a reference.

    Parameters
    ----------
    df : long frame (task, annotator, label), one label per (task, annotator) (a single-choice answer).
    reference : the reference label per task, indexed by task; tasks without one (absent or NaN) are left out.

    Returns
    -------
    Frame ``annotator, reference, label, count`` (only the observed combinations), sorted.

    Raises
    ------
    ValueError
        A column is missing, an annotator labels a task twice, or the reference has a task twice.
    TypeError
        ``reference`` is not a Series.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 2, 3, 1], "annotator": ["ana", "ana", "ana", "ben"],
    ...                    "label": ["A", "B", "B", "A"]})
    >>> confusion_counts(df, pd.Series({1: "A", 2: "A", 3: "B"}))
      annotator reference label  count
    0       ana         A     A      1
    1       ana         A     B      1
    2       ana         B     B      1
    3       ben         A     A      1
    """
    frame = _check_frame(df)
    _encode(frame, check_duplicates=True)  # one label per (task, annotator): raises otherwise
    reference = _check_reference(reference).dropna()
    labelled = frame[frame["label"].notna()]
    truth = reference.reindex(labelled["task"].to_numpy())
    known = truth.notna().to_numpy()
    joined = pd.DataFrame({
        "annotator": labelled["annotator"].to_numpy()[known],
        "reference": truth.to_numpy()[known],
        "label": labelled["label"].to_numpy()[known],
    })
    if joined.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    counts = joined.groupby(["annotator", "reference", "label"], sort=False).size().rename("count").reset_index()
    try:
        counts = counts.sort_values(["annotator", "reference", "label"], kind="stable")
    except TypeError:  # values that do not sort: first-seen order
        pass
    return counts.reset_index(drop=True)[COUNT_COLUMNS]


def confusion_matrices(
    df: pd.DataFrame, reference: pd.Series, *, categories: Sequence[Hashable] | None = None
) -> dict[Hashable, pd.DataFrame]:
    """One square confusion matrix per annotator: rows the reference label, columns the annotator's.

    Parameters
    ----------
    df, reference : as :func:`confusion_counts`.
    categories : the labels in the order to show them (a config's options); labels observed but not
        listed follow, sorted. Default: the observed labels, sorted.

    Returns
    -------
    ``{annotator: matrix}`` for each annotator with at least one task that has a reference. Each matrix
    is an int frame over every category on both axes (index named ``reference``, columns ``label``);
    its sum is the number of that annotator's tasks with a reference, its trace the ones they got right.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 2, 3], "annotator": "ana", "label": ["A", "B", "B"]})
    >>> confusion_matrices(df, pd.Series({1: "A", 2: "A", 3: "B"}), categories=["A", "B"])["ana"]  # doctest: +NORMALIZE_WHITESPACE
    label      A  B
    reference
    A          1  1
    B          0  1
    """
    counts = confusion_counts(df, reference)
    order = list(categories or [])
    seen = set(order)
    extra = [v for v in pd.unique(pd.concat([counts["reference"], counts["label"]])) if v not in seen]
    try:
        extra = sorted(extra)
    except TypeError:
        pass
    labels = pd.Index(order + extra)
    out: dict[Hashable, pd.DataFrame] = {}
    for annotator, group in counts.groupby("annotator", sort=False):
        matrix = group.pivot_table(index="reference", columns="label", values="count", aggfunc="sum", fill_value=0)
        matrix = matrix.reindex(index=labels, columns=labels, fill_value=0).astype("int64")
        matrix.index.name, matrix.columns.name = "reference", "label"
        out[annotator] = matrix
    return out
