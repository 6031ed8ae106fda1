"""Shared fixtures for metrics tests: the worked examples of the quality references."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_path


# quality-references.md section 2: 10 items x 3 raters, categories {1, 2, 3}, None = missing.
WORKED_EXAMPLE = [
    [1, 1, 2, 3, 1, 2, 3, 1, 2, None],
    [1, 1, 2, 3, 2, 2, 3, None, 3, 1],
    [1, 2, 2, None, 3, None, 3, 1, 2, 1],
]


def long_frame(raters_by_items: list[list[object]] | np.ndarray, names: list[str] | None = None) -> pd.DataFrame:
    """Long (task, annotator, label) frame from a raters x items table; None/NaN cells are missing."""
    rows = []
    for r, row in enumerate(raters_by_items):
        for i, value in enumerate(row):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            rows.append((i, names[r] if names else f"r{r + 1}", value))
    return pd.DataFrame(rows, columns=["task", "annotator", "label"])


@pytest.fixture
def worked_example() -> pd.DataFrame:
    return long_frame(WORKED_EXAMPLE)


def dataset(name: str) -> tuple[pd.DataFrame, pd.Series]:
    labels_path = shared_path("datasets", name, "labels.csv")
    labels = pd.read_csv(labels_path, dtype=str).rename(columns={"worker": "annotator"})
    gold_path = labels_path.with_name("gold.csv")
    gold = pd.read_csv(gold_path, dtype=str).set_index("task")["label"] if gold_path.exists() else pd.Series(dtype=str)
    return labels, gold
