"""Chance-corrected agreement coefficients over a long label frame.

Every function takes the long frame (``task``, ``annotator``, ``label``: one row per judgement; a
missing label is a missing judgement) and returns a float where higher is better. All of them are
computed from one tasks x categories count matrix built with ``np.bincount``, so 100,000 tasks cost
milliseconds, not a Python loop per task.

Conventions shared by the module:

* A task with a single judgement carries no agreement information and is left out of the observed
  agreement (it still counts in the category prevalences of Fleiss and Gwet, as in Gwet (2014)).
* A coefficient whose chance term makes it 0/0 (one category only, or no task with two judgements)
  is ``NaN``: undefined, not perfect.
* Duplicate (task, annotator) rows raise ``ValueError``.

References
----------
.. [1] Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
   Psychological Measurement 20(1), 37-46. doi:10.1177/001316446002000104
.. [2] Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
   Bulletin 76(5), 378-382. doi:10.1037/h0031619
.. [3] Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
   Communication, University of Pennsylvania. https://repository.upenn.edu/asc_papers/43
.. [4] Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of
   high agreement. British Journal of Mathematical and Statistical Psychology 61(1), 29-48.
   doi:10.1348/000711006X126600
.. [5] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from metrics._frame import Coded, _check_frame, _count_matrix, _encode

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")


def _counts(df: pd.DataFrame, categories: Sequence[object] | None) -> tuple[Coded, np.ndarray]:
    coded = _encode(_check_frame(df), categories=categories)
    return coded, _count_matrix(coded)


def _pairwise_observed(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-task share of agreeing ordered pairs, for tasks with two or more judgements."""
    r = counts.sum(axis=1)
    keep = r >= 2
    c = counts[keep]
    rk = r[keep]
    return (c * (c - 1)).sum(axis=1) / (rk * (rk - 1)), keep


def _prevalence(counts: np.ndarray) -> np.ndarray:
    """pi_k: mean over tasks of the share of the task's judgements in category k (Gwet 2014, 2.5)."""
    r = counts.sum(axis=1)
    has = r > 0
    if not has.any():
        return np.zeros(counts.shape[1])
    prevalence: np.ndarray = (counts[has] / r[has, None]).mean(axis=0)
    return prevalence


def percent_agreement(df: pd.DataFrame) -> float:
    """Mean pairwise percent agreement.

    For each task with at least two judgements, the share of annotator pairs that gave the same
    label; then the mean over those tasks (the ``pa`` of Fleiss and Gwet).

    Parameters
    ----------
    df : long frame (task, annotator, label).

    Returns
    -------
    float in [0, 1]; NaN if no task has two judgements.

    Examples
    --------
    >>> frame = pd.DataFrame({"task": [1, 1, 2, 2], "annotator": ["a", "b", "a", "b"],
    ...                       "label": ["x", "x", "x", "y"]})
    >>> percent_agreement(frame)
    0.5
    """
    _, counts = _counts(df, None)
    pa, _ = _pairwise_observed(counts)
    return float(pa.mean()) if len(pa) else float("nan")


def fleiss_kappa(df: pd.DataFrame, *, categories: Sequence[object] | None = None) -> float:
    """Fleiss' kappa, generalised to missing judgements: ``(p_a - p_e) / (1 - p_e)``.

    ``p_a`` is :func:`percent_agreement`; ``p_e = sum_k pi_k**2`` with ``pi_k`` the mean share of
    category k per task (Gwet 2014 generalisation [5]_). With every task rated by the same number of
    annotators this is exactly Fleiss (1971) [2]_ (``statsmodels.stats.inter_rater.fleiss_kappa``);
    with missing judgements it equals ``irrCAC.raw.CAC(...).fleiss()``.

    Parameters
    ----------
    df : long frame (task, annotator, label).
    categories : optional label domain (unused categories do not change kappa).

    Returns
    -------
    float in [-1, 1]; NaN if no task has two judgements or only one category occurs.

    References
    ----------
    .. [2] Fleiss (1971), doi:10.1037/h0031619.
    .. [5] Gwet (2014), Handbook of Inter-Rater Reliability, ch. 2.
    """
    _, counts = _counts(df, categories)
    pa, _ = _pairwise_observed(counts)
    if not len(pa):
        return float("nan")
    pi = _prevalence(counts)
    return _chance_corrected(float(pa.mean()), float((pi**2).sum()))


def gwet_ac1(df: pd.DataFrame, *, categories: Sequence[object] | None = None) -> float:
    """Gwet's AC1: ``(p_a - p_e) / (1 - p_e)`` with ``p_e = sum_k pi_k (1 - pi_k) / (q - 1)``.

    Less sensitive than kappa to the "high agreement, low kappa" paradox when one category dominates.
    ``q`` is the number of categories: ``len(categories)`` when given, else the number observed
    (so pass ``categories`` when some allowed labels were never used). Equals
    ``irrCAC.raw.CAC(..., categories=...).gwet()``.

    Parameters
    ----------
    df : long frame (task, annotator, label).
    categories : optional label domain.

    Returns
    -------
    float in [-1, 1]; NaN if no task has two judgements or fewer than two categories.

    References
    ----------
    .. [4] Gwet (2008), doi:10.1348/000711006X126600.
    """
    _, counts = _counts(df, categories)
    pa, _ = _pairwise_observed(counts)
    q = counts.shape[1]
    if not len(pa) or q < 2:
        return float("nan")
    pi = _prevalence(counts)
    return _chance_corrected(float(pa.mean()), float((pi * (1 - pi)).sum() / (q - 1)))


def _chance_corrected(pa: float, pe: float) -> float:
    if np.isclose(pe, 1.0, rtol=0.0, atol=1e-12):
        return float("nan")
    return (pa - pe) / (1 - pe)


def _distance(level: str, values: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Krippendorff's squared difference function delta^2 for each pair of category codes [3]_."""
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "ordinal":
        # delta_ck = (sum_{g=c..k} n_g - (n_c + n_k)/2)^2 over the categories in rank order.
        cum = np.concatenate(([0.0], np.cumsum(n_c)))
        lo = np.minimum.outer(np.arange(len(n_c)), np.arange(len(n_c)))
        hi = np.maximum.outer(np.arange(len(n_c)), np.arange(len(n_c)))
        between = cum[hi + 1] - cum[lo]
        ordinal: np.ndarray = (between - (n_c[:, None] + n_c[None, :]) / 2) ** 2
        return ordinal
    if level == "interval":
        interval: np.ndarray = np.subtract.outer(values, values) ** 2
        return interval
    if level == "ratio":
        s = np.add.outer(values, values)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = (np.subtract.outer(values, values) / s) ** 2
        ratio: np.ndarray = np.nan_to_num(d, nan=0.0)
        return ratio
    raise ValueError(f"unknown level_of_measurement {level!r}; expected one of {LEVELS}")


def krippendorff_alpha(
    df: pd.DataFrame,
    *,
    level_of_measurement: Level = "nominal",
    categories: Sequence[object] | None = None,
) -> float:
    """Krippendorff's alpha: ``alpha = 1 - D_o / D_e``, any number of annotators, missing data.

    Built from the coincidence matrix ``o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1)`` over tasks
    ``u`` with ``m_u >= 2`` judgements; ``n_c = sum_k o_ck``, ``n = sum_c n_c``;
    ``alpha = 1 - (n - 1) * sum o_ck d_ck / sum_{c,k} n_c n_k d_ck`` [3]_.

    Parameters
    ----------
    df : long frame (task, annotator, label). For ``interval``/``ratio`` labels must be numbers.
    level_of_measurement : "nominal" (default), "ordinal", "interval" or "ratio". Note that the
        ``krippendorff`` package defaults to "interval", which is wrong for categories.
    categories : order of the categories for "ordinal" (default: sorted labels).

    Returns
    -------
    float <= 1; NaN if no task has two judgements or every pairable value is the same.

    References
    ----------
    .. [3] Krippendorff (2011), Computing Krippendorff's Alpha-Reliability.

    Examples
    --------
    Two annotators agree on two of three tasks:

    >>> frame = pd.DataFrame({"task": [1, 1, 2, 2, 3, 3], "annotator": list("ababab"),
    ...                       "label": ["x", "x", "y", "y", "x", "y"]})
    >>> round(krippendorff_alpha(frame), 4)
    0.4444
    """
    if level_of_measurement not in LEVELS:
        raise ValueError(f"unknown level_of_measurement {level_of_measurement!r}; expected one of {LEVELS}")
    coded, counts = _counts(df, categories)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    if not len(pairable):
        return float("nan")
    w = 1.0 / (m[m >= 2] - 1)
    # o = sum_u n_u n_u^T / (m_u - 1) minus each value paired with itself.
    o = (pairable * w[:, None]).T @ pairable - np.diag((pairable * w[:, None]).sum(axis=0))
    n_c = o.sum(axis=0)
    n = n_c.sum()
    values = np.arange(len(n_c), dtype=np.float64)
    if level_of_measurement in ("interval", "ratio"):
        try:
            values = np.asarray(coded.labels, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{level_of_measurement} alpha needs numeric labels, got e.g. {list(coded.labels[:3])}"
            ) from None
    d = _distance(level_of_measurement, values, n_c)
    expected = float(n_c @ d @ n_c)
    if expected <= 0:
        return float("nan")
    return float(1.0 - (n - 1) * float((o * d).sum()) / expected)


def cohen_kappa_pairs(df: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa for every pair of annotators who labelled at least one task in common.

    ``kappa = (p_o - p_e) / (1 - p_e)`` over the tasks both annotators labelled, with ``p_e`` from
    each annotator's own label marginals on those tasks [1]_ (``sklearn.metrics.cohen_kappa_score``
    on the shared tasks).

    Parameters
    ----------
    df : long frame (task, annotator, label).

    Returns
    -------
    DataFrame with columns ``annotator_a``, ``annotator_b``, ``n_tasks``, ``agreement`` (p_o) and
    ``kappa`` (NaN when ``p_e == 1``, e.g. both used one and the same label throughout), one row per
    pair, ``annotator_a`` first-seen before ``annotator_b``. Swapping the two gives the same kappa.

    References
    ----------
    .. [1] Cohen (1960), doi:10.1177/001316446002000104.
    """
    coded = _encode(_check_frame(df))
    columns = ["annotator_a", "annotator_b", "n_tasks", "agreement", "kappa"]
    if not len(coded.task):
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("agreement", "kappa") else object) for c in columns})
    q = coded.n_labels
    n_ann = len(coded.annotators)
    rows = pd.DataFrame({"t": coded.task, "a": coded.annotator, "l": coded.label})
    pairs = rows.merge(rows, on="t", suffixes=("_a", "_b"))
    pairs = pairs[pairs["a_a"] < pairs["a_b"]]
    pair_key = pairs["a_a"].to_numpy() * n_ann + pairs["a_b"].to_numpy()
    pair_code, pair_ids = pd.factorize(pair_key, sort=True)
    n_pairs = len(pair_ids)
    conf = np.bincount(
        (pair_code * q + pairs["l_a"].to_numpy()) * q + pairs["l_b"].to_numpy(), minlength=n_pairs * q * q
    ).reshape(n_pairs, q, q).astype(np.float64)
    n = conf.sum(axis=(1, 2))
    p_o = np.trace(conf, axis1=1, axis2=2) / n
    p_e = (conf.sum(axis=2) * conf.sum(axis=1)).sum(axis=1) / n**2
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(np.isclose(p_e, 1.0, rtol=0, atol=1e-12), np.nan, (p_o - p_e) / (1 - p_e))
    ids = np.asarray(pair_ids, dtype=np.int64)
    return pd.DataFrame(
        {
            "annotator_a": coded.annotators[ids // n_ann],
            "annotator_b": coded.annotators[ids % n_ann],
            "n_tasks": n.astype(np.int64),
            "agreement": p_o,
            "kappa": kappa,
        }
    )


def light_kappa(df: pd.DataFrame) -> float:
    """Light's kappa: the mean of :func:`cohen_kappa_pairs` over pairs where kappa is defined.

    Returns NaN when no pair of annotators shares a task.

    References
    ----------
    Light, R. J. (1971). Measures of response agreement for qualitative data. Psychological
    Bulletin 76(5), 365-377. doi:10.1037/h0031643
    """
    kappas = cohen_kappa_pairs(df)["kappa"].dropna()
    return float(kappas.mean()) if len(kappas) else float("nan")
