"""metrics.confusion: each annotator's confusion matrix against a reference, hand-computed and against
scikit-learn's confusion_matrix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from metrics.confusion import confusion_counts, confusion_matrices

LABELS = ["Positive", "Negative", "Neutral"]
REFERENCE = pd.Series({1: "Positive", 2: "Positive", 3: "Negative", 4: "Neutral", 5: "Neutral"})
ANSWERS = pd.DataFrame(
    [(1, "ana", "Positive"), (2, "ana", "Neutral"), (3, "ana", "Negative"), (4, "ana", "Positive"),
     (5, "ana", "Neutral"), (6, "ana", "Negative"),  # task 6 has no reference
     (1, "ben", "Positive"), (4, "ben", "Neutral")],
    columns=["task", "annotator", "label"],
)


def test_matrices_count_reference_rows_against_the_annotators_columns() -> None:
    matrices = confusion_matrices(ANSWERS, REFERENCE, categories=LABELS)
    ana = matrices["ana"]
    assert list(ana.index) == LABELS and list(ana.columns) == LABELS
    assert ana.loc["Positive"].tolist() == [1, 0, 1]  # task 1 right, task 2 said Neutral
    assert ana.loc["Negative"].tolist() == [0, 1, 0]
    assert ana.loc["Neutral"].tolist() == [1, 0, 1]  # task 4 said Positive, task 5 right
    assert int(ana.to_numpy().sum()) == 5  # task 6 (no reference) left out
    assert int(np.trace(ana.to_numpy())) == 3
    assert matrices["ben"].to_numpy().sum() == 2 and np.trace(matrices["ben"].to_numpy()) == 2


def test_matrices_equal_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    truth = pd.Series(rng.choice(LABELS, 200), index=range(200))
    said = np.where(rng.random(200) < 0.7, truth.to_numpy(), rng.choice(LABELS, 200))
    answers = pd.DataFrame({"task": range(200), "annotator": "ana", "label": said})
    ours = confusion_matrices(answers, truth, categories=LABELS)["ana"].to_numpy()
    assert (ours == confusion_matrix(truth.to_numpy(), said, labels=LABELS)).all()


def test_labels_outside_the_categories_follow_them_sorted() -> None:
    answers = pd.DataFrame({"task": [1, 2], "annotator": "ana", "label": ["Zebra", "Positive"]})
    matrix = confusion_matrices(answers, pd.Series({1: "Positive", 2: "Apple"}), categories=["Positive"])["ana"]
    assert list(matrix.index) == ["Positive", "Apple", "Zebra"]
    assert matrix.loc["Positive", "Zebra"] == 1 and matrix.loc["Apple", "Positive"] == 1


def test_counts_are_the_long_form_of_the_matrices() -> None:
    counts = confusion_counts(ANSWERS, REFERENCE)
    assert counts["count"].sum() == 7
    assert counts.set_index(["annotator", "reference", "label"]).loc[("ana", "Neutral", "Positive"), "count"] == 1


def test_no_reference_in_common_gives_no_matrix() -> None:
    assert confusion_matrices(ANSWERS, pd.Series({99: "Positive"})) == {}
    assert confusion_matrices(ANSWERS.iloc[:0], REFERENCE) == {}


def test_bad_inputs_are_refused() -> None:
    twice = pd.concat([ANSWERS, ANSWERS.iloc[:1]])
    with pytest.raises(ValueError, match="more than once"):
        confusion_counts(twice, REFERENCE)
    with pytest.raises(TypeError, match="Series"):
        confusion_counts(ANSWERS, {1: "Positive"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="several labels"):
        confusion_counts(ANSWERS, pd.Series(["A", "B"], index=[1, 1]))
