"""What every categorical consensus method shares: the crowd-kit interface and the tie rule.

An aggregator is configured in ``__init__`` (keyword-only), learns from a long frame in ``fit(df)``
(which returns ``self``) and exposes what it learned as attributes ending in ``_``; ``fit_predict``
returns the consensus label per task as a Series indexed by task. A task whose best labels tie has
no consensus: its value is missing (``NaN``), never a coin flip.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from metrics._frame import Coded, _check_frame, _encode

#: Two scores closer than this are a tie (float sums of equal vote weights are not bit-identical).
TIE_TOLERANCE = 1e-9


class CategoricalAggregator:
    """Base class: ``fit(df) -> self``, ``fit_predict(df) -> Series``; subclasses set ``labels_``."""

    labels_: pd.Series
    probas_: pd.DataFrame  # set by the aggregators that estimate label probabilities

    def fit(self, df: pd.DataFrame) -> "CategoricalAggregator":  # pragma: no cover - abstract
        raise NotImplementedError

    def fit_predict(self, df: pd.DataFrame) -> pd.Series:
        """Fit on ``df`` (task, annotator, label) and return ``labels_``: one label per task, NaN on ties."""
        return self.fit(df).labels_

    def fit_predict_proba(self, df: pd.DataFrame) -> pd.DataFrame:
        """Fit on ``df`` and return ``probas_``: tasks x labels, rows summing to 1."""
        self.fit(df)
        return self.probas_


def _coded(df: pd.DataFrame) -> Coded:
    return _encode(_check_frame(df), check_duplicates=False)


def _pick(scores: np.ndarray, coded: Coded) -> pd.Series:
    """Arg-max label per task; a tie (within ``TIE_TOLERANCE``) between the best labels gives NaN."""
    index = pd.Index(coded.tasks, name="task")
    if scores.size == 0:
        return pd.Series(index=index, dtype=object, name="label")
    best = scores.argmax(axis=1)
    top = scores[np.arange(len(scores)), best]
    is_tied = (scores >= (top - TIE_TOLERANCE * np.maximum(1.0, np.abs(top)))[:, None]).sum(axis=1) > 1
    values = np.asarray(coded.labels, dtype=object)[best]
    values[is_tied] = np.nan
    return pd.Series(values, index=index, name="label", dtype=object)


def _frame_of(matrix: np.ndarray, coded: Coded) -> pd.DataFrame:
    return pd.DataFrame(matrix, index=pd.Index(coded.tasks, name="task"), columns=pd.Index(coded.labels, name="label"))
