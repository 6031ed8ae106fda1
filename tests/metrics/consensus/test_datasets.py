"""Consensus on the published crowd datasets with gold (skipped when ``shared/datasets`` is absent).

Reference accuracies are crowd-kit 1.4.2's Dawid-Skene, from ``shared/datasets/README.txt``.
"""
from __future__ import annotations

import pandas as pd
import pytest

from metrics.coefficients import krippendorff_alpha
from metrics.consensus import DawidSkene, MajorityVote
from tests.metrics.conftest import dataset

CROWD_KIT_DS = {"rte": 0.9275, "temp": 0.9416, "wsd": 0.9944, "bluebirds": 0.8889}


def accuracy(predicted: pd.Series, gold: pd.Series) -> float:
    return float((predicted.reindex(gold.index) == gold).mean())


@pytest.mark.parametrize("name", sorted(CROWD_KIT_DS))
def test_dawid_skene_is_at_least_as_accurate_as_crowd_kit(name):
    labels, gold = dataset(name)
    assert accuracy(DawidSkene().fit_predict(labels), gold) >= CROWD_KIT_DS[name] - 0.005


@pytest.mark.parametrize("name", sorted(CROWD_KIT_DS))
def test_dawid_skene_is_at_least_as_accurate_as_majority_vote(name):
    labels, gold = dataset(name)
    assert accuracy(DawidSkene().fit_predict(labels), gold) >= accuracy(MajorityVote().fit_predict(labels), gold)


def test_dawid_skene_skills_rank_bluebirds_annotators_like_their_gold_accuracy():
    labels, gold = dataset("bluebirds")
    skills = DawidSkene().fit(labels).skills_
    truth = labels["task"].map(gold)
    real = (labels["label"] == truth).groupby(labels["annotator"]).mean()
    assert skills.corr(real.reindex(skills.index), method="spearman") > 0.8


def test_anaesthesia_inter_rater_alpha_matches_the_reference():
    labels, _ = dataset("anaesthesia")
    first = labels[labels["repeat"] == "1"].assign(label=lambda d: d["label"].astype(int))
    assert krippendorff_alpha(first) == pytest.approx(0.584, abs=0.001)
    assert krippendorff_alpha(first, level_of_measurement="ordinal") == pytest.approx(0.812, abs=0.001)


def test_anaesthesia_test_retest_alpha_of_observer_one_matches_the_reference():
    labels, _ = dataset("anaesthesia")
    observer = labels[labels["annotator"] == "1"]
    retest = observer.assign(annotator=observer["repeat"], label=observer["label"].astype(int))
    assert krippendorff_alpha(retest) == pytest.approx(0.696, abs=0.001)
    assert krippendorff_alpha(retest, level_of_measurement="ordinal") == pytest.approx(0.818, abs=0.001)
