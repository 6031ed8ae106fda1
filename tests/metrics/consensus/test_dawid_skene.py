"""Dawid-Skene: recovers annotator skill without gold, beats majority vote with a spammer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.consensus import DawidSkene, MajorityVote, OneCoinDawidSkene


def simulate(n_tasks: int, accuracies: dict[str, float], seed: int = 0, q: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, q, n_tasks)
    rows = []
    for name, p in accuracies.items():
        right = rng.random(n_tasks) < p
        noise = (truth + rng.integers(1, q, n_tasks)) % q
        rows.append(pd.DataFrame({"task": np.arange(n_tasks), "annotator": name, "label": np.where(right, truth, noise)}))
    return pd.concat(rows, ignore_index=True), pd.Series(truth, index=pd.Index(np.arange(n_tasks), name="task"))


def test_skills_estimate_each_annotators_accuracy_without_gold():
    df, _ = simulate(3000, {"good": 0.9, "fair": 0.7, "poor": 0.5, "ok": 0.8})
    skills = DawidSkene().fit(df).skills_
    assert skills["good"] == pytest.approx(0.9, abs=0.03)
    assert skills["fair"] == pytest.approx(0.7, abs=0.03)
    assert skills["poor"] == pytest.approx(0.5, abs=0.04)


def test_dawid_skene_beats_majority_vote_when_annotators_differ_in_skill():
    df, truth = simulate(2000, {"expert": 0.95, "s1": 0.55, "s2": 0.55, "s3": 0.5, "s4": 0.5}, seed=1)
    ds = (DawidSkene().fit_predict(df) == truth).mean()
    mv = (MajorityVote().fit_predict(df) == truth).mean()
    assert ds > mv + 0.05


def test_fitted_attributes_have_the_documented_shapes():
    df, _ = simulate(200, {"a": 0.8, "b": 0.7, "c": 0.6})
    ds = DawidSkene().fit(df)
    assert ds.probas_.shape == (200, 3)
    np.testing.assert_allclose(ds.probas_.sum(axis=1), 1.0)
    assert ds.priors_.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(ds.errors_.groupby(level="annotator").sum().to_numpy(), 1.0)
    assert 1 <= ds.n_iter_ <= 100
    assert np.isfinite(ds.loglik_)


def test_em_with_zero_iterations_is_majority_vote():
    df, _ = simulate(300, {"a": 0.8, "b": 0.7, "c": 0.6})
    pd.testing.assert_series_equal(DawidSkene(n_iter=0).fit_predict(df), MajorityVote().fit_predict(df))


def test_result_does_not_depend_on_row_order():
    df, _ = simulate(300, {"a": 0.8, "b": 0.7, "c": 0.6}, seed=4)
    a = DawidSkene().fit_predict(df)
    b = DawidSkene().fit_predict(df.sample(frac=1, random_state=2)).reindex(a.index)
    pd.testing.assert_series_equal(a, b)


def test_many_votes_on_one_task_do_not_underflow():
    df = pd.DataFrame({"task": 1, "annotator": [f"w{i}" for i in range(3000)], "label": "x"})
    df = pd.concat([df, pd.DataFrame({"task": 2, "annotator": [f"w{i}" for i in range(3000)], "label": "y"})])
    assert DawidSkene().fit_predict(df).tolist() == ["x", "y"]


def test_empty_input_gives_an_empty_result():
    assert DawidSkene().fit_predict(pd.DataFrame(columns=["task", "annotator", "label"])).empty


def test_a_single_label_is_the_consensus():
    df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "x", "x"]})
    assert DawidSkene().fit_predict(df).tolist() == ["x", "x"]


def test_negative_settings_are_rejected():
    with pytest.raises(ValueError):
        DawidSkene(smoothing=-1)


def test_one_coin_model_learns_one_accuracy_per_annotator():
    df, truth = simulate(2000, {"a": 0.9, "b": 0.6, "c": 0.6, "d": 0.55}, seed=3)
    model = OneCoinDawidSkene().fit(df)
    assert model.skills_["a"] == pytest.approx(0.9, abs=0.03)
    assert (model.labels_ == truth).mean() > 0.85
