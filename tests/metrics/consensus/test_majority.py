"""Majority and weighted vote: ties are no consensus, the interface matches crowd-kit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.consensus import MajorityVote, WeightedVote


def frame(rows: list[tuple[object, str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


VOTES = frame([(1, "a", "cat"), (1, "b", "cat"), (1, "c", "dog"), (2, "a", "cat"), (2, "b", "dog"), (3, "c", "dog")])


def test_majority_vote_picks_the_most_frequent_label():
    assert MajorityVote().fit_predict(VOTES)[1] == "cat"


def test_a_tie_is_no_consensus_never_a_coin_flip():
    for _ in range(5):
        assert pd.isna(MajorityVote().fit_predict(VOTES.sample(frac=1))[2])


def test_fit_returns_self_and_sets_trailing_underscore_attributes():
    mv = MajorityVote()
    assert mv.fit(VOTES) is mv
    assert list(mv.probas_.columns) == ["cat", "dog"]
    assert mv.probas_.loc[1, "cat"] == pytest.approx(2 / 3)
    assert mv.agreement_[2] == pytest.approx(0.5)
    assert mv.skills_["c"] == pytest.approx(0.5)  # wrong on task 1, right on task 3


def test_result_is_indexed_by_task_with_every_task_once():
    result = MajorityVote().fit_predict(VOTES)
    assert result.index.name == "task"
    assert sorted(result.index) == [1, 2, 3]


def test_empty_input_gives_an_empty_result():
    assert MajorityVote().fit_predict(frame([])).empty


def test_a_single_label_is_the_consensus():
    assert MajorityVote().fit_predict(frame([(1, "a", "x")])).tolist() == ["x"]


def test_renaming_labels_renames_the_consensus():
    renamed = VOTES.assign(label=VOTES["label"].map({"cat": "B", "dog": "A"}))
    assert MajorityVote().fit_predict(renamed)[1] == "B"


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="annotator"):
        MajorityVote().fit(pd.DataFrame({"task": [1], "label": ["x"]}))


def test_weighted_vote_lets_a_reliable_annotator_break_a_tie():
    result = WeightedVote(weights={"a": 2.0, "b": 1.0}).fit_predict(VOTES)
    assert result[2] == "cat"


def test_weighted_vote_with_equal_weights_is_majority_vote():
    weighted = WeightedVote(weights={"a": 0.3, "b": 0.3, "c": 0.3}).fit_predict(VOTES)
    pd.testing.assert_series_equal(weighted, MajorityVote().fit_predict(VOTES))


def test_weighted_vote_rejects_negative_weights():
    with pytest.raises(ValueError, match="non-negative"):
        WeightedVote(weights={"a": -1.0}).fit(VOTES)


def test_weighted_vote_ties_are_no_consensus_despite_float_rounding():
    votes = frame([(1, "a", "x"), (1, "b", "y"), (1, "c", "y")])
    result = WeightedVote(weights={"a": 0.3, "b": 0.1, "c": 0.2}).fit_predict(votes)
    assert np.all(pd.isna(result))
