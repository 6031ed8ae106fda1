"""Agreement coefficients: reference values, invariances, degenerate inputs, and equality with the
reference implementations (krippendorff, scikit-learn, statsmodels, irrCAC) on random data."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metrics.coefficients import (
    cohen_kappa_pairs,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    light_kappa,
    percent_agreement,
)
from tests.metrics.conftest import long_frame

krippendorff = pytest.importorskip("krippendorff")


# --- the worked example of quality-references.md section 2 (values recomputed with each package) ---
def test_krippendorff_alpha_nominal_matches_the_reference_value(worked_example):
    assert krippendorff_alpha(worked_example) == pytest.approx(0.607623, abs=1e-6)


def test_krippendorff_alpha_interval_matches_the_reference_value(worked_example):
    assert krippendorff_alpha(worked_example, level_of_measurement="interval") == pytest.approx(0.711316, abs=1e-6)


def test_fleiss_kappa_with_missing_data_matches_gwets_generalisation(worked_example):
    assert fleiss_kappa(worked_example) == pytest.approx(0.64527, abs=1e-5)


def test_gwet_ac1_matches_the_reference_value(worked_example):
    assert gwet_ac1(worked_example) == pytest.approx(0.65232, abs=1e-5)


def test_percent_agreement_is_the_mean_pairwise_share(worked_example):
    assert percent_agreement(worked_example) == pytest.approx(0.766667, abs=1e-6)


def test_cohen_kappa_per_pair_matches_the_reference_values(worked_example):
    pairs = cohen_kappa_pairs(worked_example).set_index(["annotator_a", "annotator_b"])
    assert pairs.loc[("r1", "r2"), "kappa"] == pytest.approx(0.627907, abs=1e-6)
    assert pairs.loc[("r1", "r3"), "kappa"] == pytest.approx(0.575758, abs=1e-6)
    assert pairs.loc[("r2", "r3"), "kappa"] == pytest.approx(0.363636, abs=1e-6)
    assert pairs.loc[("r1", "r2"), "n_tasks"] == 8
    assert light_kappa(worked_example) == pytest.approx(0.522434, abs=1e-6)


def test_fleiss_kappa_on_complete_items_matches_statsmodels_reference(worked_example):
    complete = worked_example[worked_example["task"].isin([0, 1, 2, 4, 6, 8])]
    assert fleiss_kappa(complete) == pytest.approx(0.411215, abs=1e-6)


def test_irrcac_shipped_table_gives_gwets_published_values():
    irr = pytest.importorskip("irrCAC.datasets")
    table = irr.raw_4raters()
    frame = table.reset_index(drop=True).melt(ignore_index=False, var_name="annotator", value_name="label")
    frame = frame.rename_axis("task").reset_index().dropna(subset=["label"])
    assert fleiss_kappa(frame) == pytest.approx(0.76117, abs=1e-5)
    assert gwet_ac1(frame, categories=[1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(0.77544, abs=1e-5)
    assert krippendorff_alpha(frame) == pytest.approx(0.74342, abs=1e-5)


# --- invariances ---
ALL = [percent_agreement, fleiss_kappa, gwet_ac1, krippendorff_alpha, light_kappa]


@pytest.mark.parametrize("coefficient", ALL, ids=lambda f: f.__name__)
def test_coefficients_do_not_depend_on_row_order_or_annotator_names(coefficient, worked_example):
    shuffled = worked_example.sample(frac=1, random_state=3)
    shuffled["annotator"] = shuffled["annotator"].map({"r1": "zed", "r2": "amy", "r3": "kim"})
    assert coefficient(shuffled) == pytest.approx(coefficient(worked_example), abs=1e-12)


@pytest.mark.parametrize("coefficient", ALL, ids=lambda f: f.__name__)
def test_nominal_coefficients_do_not_depend_on_label_names(coefficient, worked_example):
    renamed = worked_example.assign(label=worked_example["label"].map({1: "cat", 2: "ant", 3: "bee"}))
    assert coefficient(renamed) == pytest.approx(coefficient(worked_example), abs=1e-12)


def test_kappa_is_symmetric_in_its_raters(worked_example):
    swapped = worked_example.iloc[::-1]  # r3 is now seen first, so every pair comes out reversed
    a = cohen_kappa_pairs(worked_example).set_index(["annotator_a", "annotator_b"])["kappa"]
    b = cohen_kappa_pairs(swapped)
    assert list(b["annotator_a"]) != list(a.index.get_level_values(0))
    b = {frozenset(k): v for k, v in zip(zip(b["annotator_a"], b["annotator_b"]), b["kappa"])}
    for (x, y), value in a.items():
        assert b[frozenset((x, y))] == pytest.approx(value, abs=1e-12)


# --- degenerate inputs ---
@pytest.mark.parametrize("coefficient", ALL, ids=lambda f: f.__name__)
def test_an_empty_frame_gives_nan(coefficient):
    assert np.isnan(coefficient(pd.DataFrame(columns=["task", "annotator", "label"])))


@pytest.mark.parametrize("coefficient", [fleiss_kappa, gwet_ac1, krippendorff_alpha, light_kappa], ids=lambda f: f.__name__)
def test_a_single_label_everywhere_is_undefined_not_perfect(coefficient):
    frame = long_frame([["a", "a", "a"], ["a", "a", "a"]])
    assert np.isnan(coefficient(frame))


def test_percent_agreement_of_a_single_label_everywhere_is_one():
    assert percent_agreement(long_frame([["a", "a"], ["a", "a"]])) == 1.0


@pytest.mark.parametrize("coefficient", ALL, ids=lambda f: f.__name__)
def test_tasks_with_one_judgement_only_give_nan(coefficient):
    frame = pd.DataFrame({"task": [1, 2], "annotator": ["a", "b"], "label": ["x", "y"]})
    assert np.isnan(coefficient(frame))


def test_perfect_agreement_gives_one():
    frame = long_frame([["x", "y", "z", "x"], ["x", "y", "z", "x"], ["x", "y", "z", "x"]])
    for coefficient in ALL:
        assert coefficient(frame) == pytest.approx(1.0)


def test_missing_columns_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['annotator'\]"):
        krippendorff_alpha(pd.DataFrame({"task": [1], "label": ["x"]}))


def test_an_annotator_labelling_a_task_twice_is_rejected():
    frame = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["x", "y", "x"]})
    with pytest.raises(ValueError, match="more than once"):
        fleiss_kappa(frame)


def test_interval_alpha_rejects_text_labels():
    with pytest.raises(ValueError, match="numeric labels"):
        krippendorff_alpha(long_frame([["a", "b"], ["a", "a"]]), level_of_measurement="interval")


def test_unknown_level_of_measurement_is_rejected(worked_example):
    with pytest.raises(ValueError, match="unknown level_of_measurement"):
        krippendorff_alpha(worked_example, level_of_measurement="cardinal")  # type: ignore[arg-type]


def test_missing_labels_are_missing_judgements(worked_example):
    with_nan = pd.concat([worked_example, pd.DataFrame({"task": [9], "annotator": ["r2"], "label": [np.nan]})])
    assert krippendorff_alpha(with_nan) == pytest.approx(krippendorff_alpha(worked_example))


# --- equality with the reference implementations on random data ---
def ratings(min_raters: int = 2, max_raters: int = 5, missing: bool = True) -> st.SearchStrategy[np.ndarray]:
    """raters x items matrix of category codes 0..3 as floats, NaN = missing."""
    @st.composite
    def build(draw: st.DrawFn) -> np.ndarray:
        n_raters = draw(st.integers(min_raters, max_raters))
        n_items = draw(st.integers(2, 25))
        q = draw(st.integers(2, 4))
        cells = draw(st.lists(st.integers(0, q - 1), min_size=n_raters * n_items, max_size=n_raters * n_items))
        x = np.array(cells, dtype=np.float64).reshape(n_raters, n_items)
        if missing:
            holes = draw(st.lists(st.booleans(), min_size=x.size, max_size=x.size))
            x[np.array(holes).reshape(x.shape) & (draw(st.floats(0, 0.5)) > 0.1)] = np.nan
        return x

    return build()


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pairable(x: np.ndarray) -> bool:
    n = (~np.isnan(x)).sum(axis=0)
    values = x[:, n >= 2]
    return bool((n >= 2).any()) and len(np.unique(values[~np.isnan(values)])) >= 2


@SETTINGS
@given(ratings(), st.sampled_from(["nominal", "ordinal", "interval"]))
def test_alpha_equals_the_krippendorff_package(x, level):
    assume(_pairable(x))
    expected = krippendorff.alpha(reliability_data=x, level_of_measurement=level)
    assert krippendorff_alpha(long_frame(x), level_of_measurement=level) == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(ratings(min_raters=2, max_raters=2, missing=False))
def test_cohen_kappa_equals_scikit_learn(x):
    metrics = pytest.importorskip("sklearn.metrics")
    assume(len(np.unique(x)) >= 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = metrics.cohen_kappa_score(x[0], x[1])
    got = cohen_kappa_pairs(long_frame(x))["kappa"].iloc[0]
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(ratings(min_raters=2, max_raters=6, missing=False))
def test_fleiss_kappa_equals_statsmodels_on_complete_data(x):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    assume(len(np.unique(x)) >= 2)
    table, _ = inter_rater.aggregate_raters(x.T.astype(int))
    assert fleiss_kappa(long_frame(x)) == pytest.approx(inter_rater.fleiss_kappa(table), abs=1e-9)


def _irrcac(x: np.ndarray):  # type: ignore[no-untyped-def]
    raw = pytest.importorskip("irrCAC.raw")
    assume((~np.isnan(x)).any(axis=0).sum() >= 2)  # irrCAC's standard error divides by n - 1
    cats = sorted(np.unique(x[~np.isnan(x)]).tolist())
    # digits=15: irrCAC rounds to 5 digits by default; categories given because under pandas 3 its
    # own inference counts NaN as a category.
    return raw.CAC(pd.DataFrame(x.T), categories=cats, digits=15), cats


@SETTINGS
@given(ratings())
def test_gwet_ac1_equals_irrcac(x):
    assume(_pairable(x))
    cac, cats = _irrcac(x)
    expected = float(cac.gwet()["est"]["coefficient_value"])
    assert gwet_ac1(long_frame(x), categories=cats) == pytest.approx(expected, abs=1e-9)


@SETTINGS
@given(ratings())
def test_fleiss_kappa_with_missing_data_equals_irrcac(x):
    assume(_pairable(x))
    cac, _ = _irrcac(x)
    assert fleiss_kappa(long_frame(x)) == pytest.approx(float(cac.fleiss()["est"]["coefficient_value"]), abs=1e-9)


def test_alpha_on_100k_tasks_is_fast_and_equals_the_krippendorff_package():
    import time

    rng = np.random.default_rng(7)
    truth = rng.integers(0, 4, 100_000)
    x = np.where(rng.random((3, 100_000)) < 0.7, truth, rng.integers(0, 4, (3, 100_000))).astype(float)
    frame = pd.DataFrame({"task": np.tile(np.arange(100_000), 3), "annotator": np.repeat([0, 1, 2], 100_000),
                          "label": x.ravel().astype(int)})
    start = time.perf_counter()
    got = krippendorff_alpha(frame)
    elapsed = time.perf_counter() - start
    assert got == pytest.approx(krippendorff.alpha(reliability_data=x, level_of_measurement="nominal"), abs=1e-9)
    assert elapsed < 1.0
