"""Majority vote and weighted majority vote, over frames (``MajorityVote``, ``WeightedVote``) and over one
item's answers (``vote_leaders``)."""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from metrics._frame import _count_matrix
from metrics.consensus._base import TIE_TOLERANCE, CategoricalAggregator, _coded, _frame_of, _pick

H = TypeVar("H", bound=Hashable)


class MajorityVote(CategoricalAggregator):
    """Majority vote: the label most annotators gave; a tie is no consensus (NaN).

    ``probas_`` holds each label's vote share per task, ``agreement_`` the winner's share (the
    tied share on ties), ``skills_`` each annotator's agreement with the consensus on the tasks that
    have one (crowd-kit's ``accuracy_on_aggregates``).

    Unlike crowd-kit's ``MajorityVote``, which breaks ties at random, a tie is reported as missing so
    a reviewer can settle it.

    Examples
    --------
    >>> frame = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"),
    ...                       "label": ["cat", "cat", "dog", "cat", "dog"]})
    >>> MajorityVote().fit_predict(frame).tolist()
    ['cat', nan]
    """

    def fit(self, df: pd.DataFrame) -> "MajorityVote":
        coded = _coded(df)
        counts = _count_matrix(coded)
        self.labels_ = _pick(counts, coded)
        totals = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        self.probas_ = _frame_of(shares, coded)
        self.agreement_ = pd.Series(shares.max(axis=1) if shares.size else [], index=self.probas_.index, dtype=float)
        self.skills_ = _agreement_with(coded, self.labels_)
        return self


class WeightedVote(CategoricalAggregator):
    """Weighted majority vote: each annotator's vote counts ``weights[annotator]``.

    Parameters
    ----------
    weights : annotator -> non-negative weight (e.g. accuracy on gold tasks, or ``skills_`` of a
        fitted :class:`~metrics.consensus.DawidSkene`). Annotators not listed get ``default_weight``.
    default_weight : weight of an annotator missing from ``weights`` (default 1.0).

    With log-odds weights ``log(K-1) + log(p/(1-p))`` of accuracies ``p`` this is the Bayes-optimal
    rule under the one-coin model (Nitzan & Paroush 1982; see Li & Yu 2014,
    doi:10.48550/arXiv.1409.4807). Ties are NaN.
    """

    def __init__(self, *, weights: pd.Series | dict[object, float], default_weight: float = 1.0) -> None:
        self.weights = weights
        self.default_weight = default_weight

    def fit(self, df: pd.DataFrame) -> "WeightedVote":
        coded = _coded(df)
        weights = pd.Series(self.weights, dtype=float)
        if (weights < 0).any():
            raise ValueError(f"weights must be non-negative, got {weights[weights < 0].head(3).to_dict()}")
        per_annotator = weights.reindex(coded.annotators).fillna(self.default_weight).to_numpy()
        scores = _count_matrix(coded, weights=per_annotator[coded.annotator])
        self.labels_ = _pick(scores, coded)
        totals = scores.sum(axis=1, keepdims=True)
        self.probas_ = _frame_of(np.divide(scores, totals, out=np.zeros_like(scores), where=totals > 0), coded)
        return self


def vote_leaders(keys: Sequence[H], weights: Sequence[float] | None = None) -> list[H]:
    """The answers with the most votes of one item: one answer is a consensus, two or more a tie.

    Parameters
    ----------
    keys : one answer per annotation (any hashable; "no answer" is an answer like any other).
    weights : how much each annotation counts, in ``keys``' order (default: 1 each); non-negative.

    Returns
    -------
    The leading answers in first-seen order; ``[]`` for no keys. Sums within ``TIE_TOLERANCE`` (relative,
    as :class:`WeightedVote` decides ties) are a tie.

    Examples
    --------
    >>> vote_leaders(["cat", "cat", "dog"])
    ['cat']
    >>> vote_leaders(["cat", "cat", "dog"], [0.3, 0.3, 1.0])
    ['dog']
    >>> vote_leaders(["cat", "dog"], [0.5, 0.5])
    ['cat', 'dog']
    """
    if weights is not None and len(weights) != len(keys):
        raise ValueError(f"vote_leaders: {len(keys)} answers but {len(weights)} weights")
    sums: dict[H, float] = {}
    for i, key in enumerate(keys):
        weight = 1.0 if weights is None else float(weights[i])
        if weight < 0:
            raise ValueError(f"vote_leaders: weights must be non-negative, got {weight} for answer {key!r}")
        sums[key] = sums.get(key, 0.0) + weight
    if not sums:
        return []
    top = max(sums.values())
    floor = top - TIE_TOLERANCE * max(1.0, abs(top))
    return [key for key, total in sums.items() if total >= floor]


def _agreement_with(coded, consensus: pd.Series) -> pd.Series:  # type: ignore[no-untyped-def]
    """Share of each annotator's labels equal to the consensus, over tasks that have one."""
    label_code = pd.Index(coded.labels).get_indexer(consensus.to_numpy())  # -1 where NaN
    truth = label_code[coded.task]
    has = truth >= 0
    hits = np.bincount(coded.annotator[has], weights=(coded.label[has] == truth[has]), minlength=len(coded.annotators))
    seen = np.bincount(coded.annotator[has], minlength=len(coded.annotators))
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(hits / seen, index=pd.Index(coded.annotators, name="annotator"), name="skill")
