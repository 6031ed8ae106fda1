"""Agreement per label: how far annotators agree on one category, and which pairs disagree about it.

A project-wide coefficient (Fleiss, Krippendorff) hides *where* people disagree: a team can agree on
"Positive" and split on "Neutral". Two views answer that:

* :func:`specific_agreement`: per label, the proportion of specific (positive) agreement [1]_ [2]_ -- of
  the annotator pairs on a task in which at least one member chose the label, how often the other chose
  it too, pooled over tasks (each pair counted once from either side);
* :func:`pairwise_label_disagreement`: per pair of annotators and label, on the tasks both answered where
  at least one of the two chose the label, the share where the other did not ("Ana and Ben disagree on
  Neutral 40%, n=25").

Both read the long frame (``task``, ``annotator``, ``label``) and accept several rows per (task,
annotator) -- a multi-choice answer is one row per chosen label, each label judged present or absent on
its own. Exact duplicate rows are counted once. A task where an annotator chose nothing for the control is
not in the frame (that annotator did not answer); to count such an answer as "none of the labels", add
the counts yourself and call :func:`specific_agreement_from_counts`.

References
----------
.. [1] Uebersax, J. S. Raw agreement indices, "Generalized case: specific agreement" (multiple raters,
   varying numbers of ratings per case). http://www.john-uebersax.com/stat/raw.htm
.. [2] Cicchetti, D. V. & Feinstein, A. R. (1990). High agreement but low kappa: II. Resolving the
   paradoxes. Journal of Clinical Epidemiology 43(6), 551-558 (positive agreement of two raters,
   PA = 2a / (2a + b + c)).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from metrics._frame import _check_frame

SPECIFIC_COLUMNS = ["label", "n_tasks", "n_chosen", "agreement"]
PAIR_COLUMNS = ["annotator_a", "annotator_b", "label", "n_tasks", "n_disagree", "disagreement"]


def _judgements(df: pd.DataFrame) -> pd.DataFrame:
    """The validated frame without missing labels and without exact duplicate rows."""
    frame = _check_frame(df)
    return frame.loc[frame["label"].notna(), ["task", "annotator", "label"]].drop_duplicates()


def specific_agreement_from_counts(counts: pd.DataFrame, raters: pd.Series) -> pd.DataFrame:
    """Proportion of specific agreement per label from per-task counts.

    For label ``j``, with ``n_ij`` the annotators of task ``i`` who chose ``j`` and ``n_i`` the annotators
    who answered task ``i`` [1]_::

        ps(j) = sum_i n_ij (n_ij - 1) / sum_i n_ij (n_i - 1)

    the agreeing ordered pairs on ``j`` over the ordered pairs with a first member who chose ``j``. With two
    annotators it is the positive agreement 2a / (2a + b + c) [2]_. Tasks with a single annotator add
    nothing to either sum.

    Parameters
    ----------
    counts : frame with columns ``task``, ``label``, ``n`` (annotators of the task who chose the label);
        rows with ``n == 0`` are ignored.
    raters : annotators who answered each task (``n_i``), indexed by task; every task of ``counts``
        must be in it, with ``n_i >= n_ij``.

    Returns
    -------
    Frame ``label, n_tasks, n_chosen, agreement``, one row per label of ``counts`` (sorted when the
    labels sort): ``n_tasks`` tasks with two or more annotators where someone chose the label,
    ``n_chosen`` times it was chosen on them, ``agreement`` in [0, 1], NaN where ``n_tasks`` is 0.

    Raises
    ------
    ValueError
        A column is missing, a task of ``counts`` has no ``raters`` entry, or ``n`` exceeds it.

    Examples
    --------
    Task 1 has three annotators (two chose A, one B), task 2 two (both A): for A, (2 + 2) agreeing
    ordered pairs out of (2 * 2 + 2 * 1) = 4/6.

    >>> counts = pd.DataFrame({"task": [1, 1, 2], "label": ["A", "B", "A"], "n": [2, 1, 2]})
    >>> specific_agreement_from_counts(counts, pd.Series({1: 3, 2: 2}))
      label  n_tasks  n_chosen  agreement
    0     A        2         4   0.666667
    1     B        1         1   0.000000
    """
    counts = _check_frame(counts, ("task", "label", "n"))
    counts = counts[counts["n"] > 0]
    n_i = raters.reindex(counts["task"].to_numpy()).to_numpy(dtype=np.float64)
    if np.isnan(n_i).any():
        missing = counts["task"].to_numpy()[np.isnan(n_i)][:5].tolist()
        raise ValueError(f"task(s) {missing} have counts but no number of annotators in raters")
    n_ij = counts["n"].to_numpy(dtype=np.float64)
    if (n_ij > n_i).any():
        bad = counts["task"].to_numpy()[n_ij > n_i][:5].tolist()
        raise ValueError(f"task(s) {bad}: more annotators chose a label than answered the task")
    shared = n_i >= 2
    terms = pd.DataFrame({
        "label": counts["label"].to_numpy(),
        "agree": n_ij * (n_ij - 1),
        "possible": n_ij * (n_i - 1),
        "task": shared.astype(np.int64),
        "chosen": np.where(shared, n_ij, 0.0),
    })
    try:
        grouped = terms.groupby("label", sort=True)
        sums = grouped[["agree", "possible", "task", "chosen"]].sum()
    except TypeError:  # labels that do not sort: first-seen order
        grouped = terms.groupby("label", sort=False)
        sums = grouped[["agree", "possible", "task", "chosen"]].sum()
    possible = sums["possible"].to_numpy()
    agreement = np.divide(sums["agree"].to_numpy(), possible, out=np.full(len(sums), np.nan), where=possible > 0)
    return pd.DataFrame({
        "label": sums.index.to_numpy(),
        "n_tasks": sums["task"].to_numpy(dtype=np.int64),
        "n_chosen": sums["chosen"].to_numpy(dtype=np.int64),
        "agreement": agreement,
    }, columns=SPECIFIC_COLUMNS)


def specific_agreement(df: pd.DataFrame) -> pd.DataFrame:
    """Proportion of specific agreement per label over a long frame.

    Parameters
    ----------
    df : long frame (task, annotator, label); several labels per (task, annotator) allowed.

    Returns
    -------
    Frame ``label, n_tasks, n_chosen, agreement`` (see :func:`specific_agreement_from_counts`); ``n_i`` is
    the number of distinct annotators of the task in ``df``.

    Examples
    --------
    Two annotators, label A on three tasks: both chose A on one, one of them on two others, so
    PA = 2 * 1 / (2 * 1 + 2) = 0.5.

    >>> df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "annotator": ["x", "y"] * 3,
    ...                    "label": ["A", "A", "A", "B", "B", "A"]})
    >>> specific_agreement(df)[["label", "n_tasks", "agreement"]]
      label  n_tasks  agreement
    0     A        3        0.5
    1     B        2        0.0
    """
    rows = _judgements(df)
    counts = rows.groupby(["task", "label"], sort=False).size().rename("n").reset_index()
    raters = rows.groupby("task")["annotator"].nunique()
    return specific_agreement_from_counts(counts, raters)


def _ordered_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of the annotators, in sorted order when they sort (so pair a < b is stable)."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64), pd.Index(uniques)


def pairwise_label_disagreement(df: pd.DataFrame) -> pd.DataFrame:
    """Per pair of annotators and label: how often one chose the label and the other did not.

    For annotators ``a`` and ``b`` and label ``j``: among the tasks both answered on which at least one of
    them chose ``j`` (``n_tasks``), those on which exactly one did (``n_disagree``), and their share
    (``disagreement`` in [0, 1]). It is 1 minus the pair's positive agreement on ``j`` read as a Jaccard
    index (both / either), which a manager can say in words: "they disagree on Neutral 40% of the time
    one of them says Neutral".

    Parameters
    ----------
    df : long frame (task, annotator, label); several labels per (task, annotator) allowed.

    Returns
    -------
    Frame ``annotator_a, annotator_b, label, n_tasks, n_disagree, disagreement``, ``annotator_a`` before
    ``annotator_b`` in sorted order, one row per pair and label with ``n_tasks >= 1``; sorted by pair and
    label.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "annotator": ["ana", "ben"] * 3,
    ...                    "label": ["Neutral", "Neutral", "Neutral", "Positive", "Positive", "Positive"]})
    >>> pairwise_label_disagreement(df)
      annotator_a annotator_b     label  n_tasks  n_disagree  disagreement
    0         ana         ben   Neutral        2           1           0.5
    1         ana         ben  Positive        2           1           0.5
    """
    rows = _judgements(df)
    if rows.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    who, annotators = _ordered_codes(rows["annotator"])
    rows = rows.assign(who=who)
    answered = rows[["task", "who"]].drop_duplicates()
    pairs = answered.merge(answered, on="task", suffixes=("_a", "_b"))
    pairs = pairs[pairs["who_a"] < pairs["who_b"]]
    chosen = rows[["task", "who", "label"]]
    # Each (pair, task, label) with the label chosen by a, by b, or both: counted once per side that chose it.
    by_a = pairs.merge(chosen.rename(columns={"who": "who_a"}), on=["task", "who_a"])
    by_b = pairs.merge(chosen.rename(columns={"who": "who_b"}), on=["task", "who_b"])
    sides = pd.concat([by_a, by_b], ignore_index=True)
    per_task = sides.groupby(["who_a", "who_b", "label", "task"], sort=False).size()
    one_side = (per_task == 1).rename("one_side").reset_index()
    summary = one_side.groupby(["who_a", "who_b", "label"], sort=False)["one_side"].agg(["size", "sum"]).reset_index()
    out = pd.DataFrame({
        "annotator_a": annotators[summary["who_a"].to_numpy()].to_numpy(),
        "annotator_b": annotators[summary["who_b"].to_numpy()].to_numpy(),
        "label": summary["label"].to_numpy(),
        "n_tasks": summary["size"].to_numpy(dtype=np.int64),
        "n_disagree": summary["sum"].to_numpy(dtype=np.int64),
    })
    out["disagreement"] = out["n_disagree"] / out["n_tasks"]
    order = pd.DataFrame({"a": summary["who_a"].to_numpy(), "b": summary["who_b"].to_numpy()})
    try:
        out = out.assign(_a=order["a"], _b=order["b"]).sort_values(["_a", "_b", "label"], kind="stable")
    except TypeError:  # labels that do not sort
        out = out.assign(_a=order["a"], _b=order["b"]).sort_values(["_a", "_b"], kind="stable")
    return out.drop(columns=["_a", "_b"]).reset_index(drop=True)[PAIR_COLUMNS]
