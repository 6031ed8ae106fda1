"""metrics.histogram against numpy on the values themselves."""
from __future__ import annotations

import numpy as np
import pytest

from metrics.histogram import box_from_counts, quantiles_from_counts


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_from_counts_equal_numpy_on_the_expanded_sample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.choice(np.round(rng.exponential(10, 40), 1), size=40, replace=False)
    counts = rng.integers(0, 7, 40)
    counts[0] = max(counts[0], 1)
    sample = np.repeat(values, counts)
    qs = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]
    assert quantiles_from_counts(values, counts, qs) == pytest.approx(np.quantile(sample, qs))


def test_box_from_counts_and_edge_cases() -> None:
    box = box_from_counts([5.0, 100.0], [5, 1])  # the test_analytics sample: 100 is an outlier
    assert (box["q1"], box["median"], box["q3"], box["upper_fence"], box["n"]) == (5.0, 5.0, 5.0, 5.0, 6.0)
    assert np.isnan(quantiles_from_counts([], [], [0.5])).all()
    assert quantiles_from_counts([3.0], [1], [0.5, 0.9]).tolist() == [3.0, 3.0]
    with pytest.raises(ValueError):
        quantiles_from_counts([1.0, 2.0], [1], [0.5])
