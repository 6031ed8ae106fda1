"""Quantiles and box-plot statistics from a histogram (value, count) instead of every value.

A database groups a million lead times into a few thousand (person, tenth of a second) buckets in one
``GROUP BY``; these functions then give the same quantiles ``numpy.quantile`` (linear interpolation, its
default) gives on the values themselves, exactly when each bucket holds one distinct value and to the bucket's
width otherwise.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def quantiles_from_counts(values: Sequence[float] | FloatArray, counts: Sequence[int] | npt.NDArray[np.int64],
                          qs: Sequence[float]) -> FloatArray:
    """The ``qs`` quantiles of a sample given as distinct ``values`` (any order) with their ``counts``.

    >>> quantiles_from_counts([1.0, 2.0, 10.0], [2, 1, 1], [0.5, 0.75]).tolist()  # sample 1, 1, 2, 10
    [1.5, 4.0]
    """
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(counts, dtype=np.int64)
    if v.shape != c.shape or v.ndim != 1:
        raise ValueError("values and counts must be one-dimensional and of the same length")
    keep = c > 0
    v, c = v[keep], c[keep]
    if not len(v):
        return np.full(len(qs), np.nan)
    order = np.argsort(v, kind="stable")
    v, c = v[order], c[order]
    ends = np.cumsum(c)  # rank (0-based) of the last copy of each value is ends - 1
    n = int(ends[-1])

    def at(rank: npt.NDArray[np.int64]) -> FloatArray:
        return v[np.searchsorted(ends, rank, side="right")]

    pos = np.asarray(qs, dtype=np.float64) * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    low_values = at(lo)
    return np.asarray(low_values + (pos - lo) * (at(hi) - low_values), dtype=np.float64)


def box_from_counts(values: Sequence[float] | FloatArray, counts: Sequence[int] | npt.NDArray[np.int64]
                    ) -> dict[str, float]:
    """Quartiles and Tukey's whiskers (the furthest values within 1.5 IQR of the box) of the sample."""
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(counts, dtype=np.int64)
    q1, median, q3 = quantiles_from_counts(v, c, [0.25, 0.5, 0.75])
    spread = 1.5 * (q3 - q1)
    inside = v[(c > 0) & (v >= q1 - spread) & (v <= q3 + spread)]
    return {"q1": float(q1), "median": float(median), "q3": float(q3), "n": float(c.sum()),
            "lower_fence": float(inside.min()) if len(inside) else float("nan"),
            "upper_fence": float(inside.max()) if len(inside) else float("nan")}
