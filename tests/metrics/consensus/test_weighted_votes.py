"""Weighted votes of one item (metrics.consensus): vote_leaders, weighted_median, borda_ranking(weights=...).
With every weight 1 each is its unweighted rule; a weight moves the result the way its definition says."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.consensus import borda_ranking, vote_leaders, weighted_median


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(-50, 50), min_size=1, max_size=9))
def test_the_weighted_median_with_equal_weights_is_the_median(values: list[int]) -> None:
    assert weighted_median(values) == pytest.approx(float(np.median(values)))
    assert weighted_median(values, [0.3] * len(values)) == pytest.approx(float(np.median(values)))


def test_a_down_weighted_pair_pulls_the_median_less_than_one_full_vote() -> None:
    assert weighted_median([2, 2, 5]) == 2.0
    assert weighted_median([2, 2, 5], [0.3, 0.3, 1.0]) == 5.0
    assert weighted_median([1, 2, 3], [1, 1, 2]) == 2.5  # the running weight lands on half exactly at 2
    assert math.isnan(weighted_median([]))


def test_the_weighted_median_refuses_weights_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="3 values but 2 weights"):
        weighted_median([1, 2, 3], [1, 1])
    with pytest.raises(ValueError, match="weights must be positive"):
        weighted_median([1, 2], [1, 0])


def test_vote_leaders_counts_weights_and_reports_ties_as_several_leaders() -> None:
    assert vote_leaders(["A", "A", "B"]) == ["A"]
    assert vote_leaders(["A", "A", "B"], [0.3, 0.3, 1.0]) == ["B"]
    assert vote_leaders(["A", "B"], [0.5, 0.5]) == ["A", "B"]
    assert vote_leaders(["A", "A", "B"], [0.1 + 0.2, 0.0, 0.3]) == ["A", "B"]  # float noise is still a tie
    assert vote_leaders([]) == []
    with pytest.raises(ValueError, match="2 answers but 1 weights"):
        vote_leaders(["A", "B"], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        vote_leaders(["A"], [-1.0])


def test_a_weighted_borda_count_follows_the_heavier_answer() -> None:
    two = {"top": ["a"], "rest": ["b"]}
    one = {"top": ["b"], "rest": ["a"]}
    assert borda_ranking([two, two, one]) == two
    assert borda_ranking([two, two, one], weights=[1, 1, 1]) == two
    assert borda_ranking([two, two, one], weights=[0.3, 0.3, 1.0]) == one
    assert borda_ranking([two, one], weights=[0.5, 0.5]) is None  # a tie is no consensus
    with pytest.raises(ValueError, match="2 answers but 3 weights"):
        borda_ranking([two, one], weights=[1, 1, 1])
