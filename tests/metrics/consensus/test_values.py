"""Span vote, medoid transcript and median number."""
from __future__ import annotations

import pandas as pd
import pytest

from metrics.consensus import median_numbers, medoid_texts, vote_spans


def spans(rows):
    return pd.DataFrame(rows, columns=["task", "annotator", "label", "start", "end"])


def test_span_vote_keeps_characters_most_annotators_marked():
    df = spans([(1, "a", "ORG", 0, 10), (1, "b", "ORG", 2, 10), (1, "c", "ORG", 20, 25)])
    assert vote_spans(df)[["start", "end", "support"]].values.tolist() == [[2, 10, 2]]
    assert len(vote_spans(df, quorum=1)) == 2  # [0, 10) and [20, 25)


def test_an_annotators_overlapping_spans_count_once():
    df = spans([(1, "a", "ORG", 0, 10), (1, "a", "ORG", 5, 8), (1, "b", "PER", 0, 3)])
    voted = vote_spans(df, quorum=2)
    assert voted.empty


def test_span_labels_vote_separately():
    df = spans([(1, "a", "ORG", 0, 5), (1, "b", "PER", 0, 5)])
    assert vote_spans(df, quorum=2).empty
    assert sorted(vote_spans(df, quorum=1)["label"]) == ["ORG", "PER"]


def test_medoid_is_the_text_closest_to_all_others():
    df = pd.DataFrame({"task": 1, "annotator": list("abcd"),
                       "text": ["the cat sat", "the cat sat.", "a cat sat", "the cat sad"]})
    assert medoid_texts(df)[1] == "the cat sat"


def test_medoid_tie_does_not_depend_on_row_order():
    df = pd.DataFrame({"task": 1, "annotator": ["a", "b"], "text": ["xy", "ab"]})
    assert medoid_texts(df)[1] == medoid_texts(df.iloc[::-1])[1] == "ab"


def test_median_number_resists_one_outlier():
    df = pd.DataFrame({"task": [1, 1, 1, 2, 2], "annotator": list("abcab"), "label": [3.0, 3.5, 100.0, 1, 2]})
    assert median_numbers(df).to_dict() == {1: 3.5, 2: 1.5}


def test_value_consensus_names_missing_columns():
    with pytest.raises(ValueError, match="text"):
        medoid_texts(pd.DataFrame({"task": [1], "annotator": ["a"]}))
