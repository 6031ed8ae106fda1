"""metrics.label_agreement: specific (positive) agreement per label and per-pair label disagreement, against
hand-computed values, the two-rater formula of Cicchetti & Feinstein, invariances and degenerate inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.label_agreement import pairwise_label_disagreement, specific_agreement, specific_agreement_from_counts


def frame(rows: list[tuple[object, object, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


# Three annotators, four tasks (hand-counted below):
#   t1: A A A   t2: A A B   t3: B B   t4: C A   t5: C (alone)
THREE = frame([
    (1, "x", "A"), (1, "y", "A"), (1, "z", "A"),
    (2, "x", "A"), (2, "y", "A"), (2, "z", "B"),
    (3, "x", "B"), (3, "y", "B"),
    (4, "x", "C"), (4, "z", "A"),
    (5, "y", "C"),
])


def by_label(result: pd.DataFrame) -> pd.DataFrame:
    return result.set_index("label")


def test_specific_agreement_matches_the_hand_computed_sums() -> None:
    out = by_label(specific_agreement(THREE))
    # A: sum n(n-1) = 6 + 2 + 0 = 8; sum n(n_i - 1) = 3*2 + 2*2 + 1*1 = 11
    assert out.loc["A", "agreement"] == pytest.approx(8 / 11)
    assert (out.loc["A", "n_tasks"], out.loc["A", "n_chosen"]) == (3, 6)
    # B: t2 (1 of 3): 0 / 2; t3 (2 of 2): 2 / 2
    assert out.loc["B", "agreement"] == pytest.approx(2 / 4)
    # C: t4 (1 of 2): 0 / 1; t5 alone adds nothing
    assert out.loc["C", "agreement"] == pytest.approx(0.0)
    assert (out.loc["C", "n_tasks"], out.loc["C", "n_chosen"]) == (1, 1)
    assert list(out.index) == ["A", "B", "C"]


def test_two_raters_give_the_positive_agreement_2a_over_2a_plus_b_plus_c() -> None:
    # a = 3 both positive, b = 2 only x, c = 1 only y, d = 4 both negative (Cicchetti & Feinstein 1990)
    pairs = [("P", "P")] * 3 + [("P", "N")] * 2 + [("N", "P")] * 1 + [("N", "N")] * 4
    rows = [(i, who, label) for i, (x, y) in enumerate(pairs) for who, label in (("x", x), ("y", y))]
    out = by_label(specific_agreement(frame(rows)))
    assert out.loc["P", "agreement"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    assert out.loc["N", "agreement"] == pytest.approx(2 * 4 / (2 * 4 + 2 + 1))  # negative agreement 2d/(2d+b+c)


def test_specific_agreement_is_invariant_to_renaming_annotators_and_order_of_rows() -> None:
    renamed = THREE.assign(annotator=THREE["annotator"].map({"x": 3, "y": 1, "z": 2})).sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(specific_agreement(renamed), specific_agreement(THREE))


def test_a_multi_choice_answer_is_judged_label_by_label() -> None:
    # t1: x {A, B}, y {A}: A agreed by both (2/2), B chosen by x only (0/1)
    out = by_label(specific_agreement(frame([(1, "x", "A"), (1, "x", "B"), (1, "y", "A")])))
    assert out.loc["A", "agreement"] == pytest.approx(1.0)
    assert out.loc["B", "agreement"] == pytest.approx(0.0)


def test_counts_with_a_rater_who_chose_nothing_lower_the_agreement() -> None:
    # t1: three annotators answered, two chose A, the third chose none of the labels
    out = specific_agreement_from_counts(pd.DataFrame({"task": [1], "label": ["A"], "n": [2]}), pd.Series({1: 3}))
    assert out.loc[0, "agreement"] == pytest.approx(2 / 4)


def test_degenerate_inputs_give_nan_or_empty() -> None:
    assert specific_agreement(frame([])).empty
    alone = specific_agreement(frame([(1, "x", "A"), (2, "x", "B")]))
    assert alone["agreement"].isna().all() and (alone["n_tasks"] == 0).all()


def test_bad_counts_are_refused_with_the_tasks_named() -> None:
    with pytest.raises(ValueError, match="missing column"):
        specific_agreement(pd.DataFrame({"task": [1], "label": ["A"]}))
    with pytest.raises(ValueError, match=r"task\(s\) \[7\]"):
        specific_agreement_from_counts(pd.DataFrame({"task": [7], "label": ["A"], "n": [2]}), pd.Series({1: 2}))
    with pytest.raises(ValueError, match="more annotators chose"):
        specific_agreement_from_counts(pd.DataFrame({"task": [1], "label": ["A"], "n": [3]}), pd.Series({1: 2}))


def test_pairwise_disagreement_matches_hand_counts() -> None:
    out = pairwise_label_disagreement(THREE).set_index(["annotator_a", "annotator_b", "label"])
    # x-y share t1, t2, t3, and x-y pairs: A on t1 (both), t2 (both) -> 0/2; B on t3 (both) -> 0/1
    assert out.loc[("x", "y", "A"), ["n_tasks", "n_disagree"]].tolist() == [2, 0]
    # x-z share t1, t2, t4: A on t1 (both), t2 (x only), t4 (z only) -> 2/3; B on t2 (z only); C on t4 (x only)
    assert out.loc[("x", "z", "A"), ["n_tasks", "n_disagree"]].tolist() == [3, 2]
    assert out.loc[("x", "z", "A"), "disagreement"] == pytest.approx(2 / 3)
    assert out.loc[("x", "z", "B"), "disagreement"] == pytest.approx(1.0)
    assert out.loc[("x", "z", "C"), "disagreement"] == pytest.approx(1.0)
    # y-z share t1, t2: A on t1 (both), t2 (y only); B on t2 (z only)
    assert out.loc[("y", "z", "A"), ["n_tasks", "n_disagree"]].tolist() == [2, 1]
    assert ("y", "z", "C") not in out.index  # y's C on t5 is not a shared task


def test_pairwise_disagreement_is_symmetric_in_its_annotators() -> None:
    swapped = THREE.assign(annotator=THREE["annotator"].map({"x": "z", "z": "x", "y": "y"}))
    a = pairwise_label_disagreement(THREE).set_index(["annotator_a", "annotator_b", "label"])
    b = pairwise_label_disagreement(swapped)
    flipped = {("x", "y"): ("y", "z"), ("x", "z"): ("x", "z"), ("y", "z"): ("x", "y")}
    for row in b.itertuples(index=False):
        original = flipped[(row.annotator_a, row.annotator_b)]
        assert a.loc[(*original, row.label), "n_disagree"] == row.n_disagree
        assert a.loc[(*original, row.label), "n_tasks"] == row.n_tasks


def test_pairwise_disagreement_of_multi_choice_answers() -> None:
    # t1: x {A, B}, y {A, C}: A both (0), B x only (1), C y only (1)
    out = pairwise_label_disagreement(frame([(1, "x", "A"), (1, "x", "B"), (1, "y", "A"), (1, "y", "C")]))
    assert out.set_index("label")["n_disagree"].to_dict() == {"A": 0, "B": 1, "C": 1}


def test_pairwise_disagreement_of_nobody_sharing_a_task_is_empty() -> None:
    assert pairwise_label_disagreement(frame([(1, "x", "A"), (2, "y", "A")])).empty
    assert pairwise_label_disagreement(frame([])).empty


def test_specific_agreement_equals_pooled_pairwise_agreement() -> None:
    """Each label's specific agreement is the agreeing ordered pairs over all ordered pairs with a chooser:
    rebuilt from the per-pair counts (both chose = n_tasks - n_disagree) on random data."""
    rng = np.random.default_rng(7)
    rows = [(t, a, rng.choice(["A", "B", "C"])) for t in range(60) for a in range(4) if rng.random() < 0.8]
    df = frame(rows)
    pairs = pairwise_label_disagreement(df)
    both = (pairs["n_tasks"] - pairs["n_disagree"]).groupby(pairs["label"]).sum()
    either = pairs["n_tasks"].groupby(pairs["label"]).sum()
    # ordered pairs: agree 2 * both; with a chooser: 2 * both + one-sided ones
    expected = 2 * both / (2 * both + (either - both))
    out = specific_agreement(df).set_index("label")["agreement"]
    pd.testing.assert_series_equal(out.sort_index(), expected.sort_index(), check_names=False)
