"""A value matrix drawn as a coloured table: a heatmap the data grid draws, with no chart library to load.

The Quality page's agreement matrix (annotator x annotator) was a plotly heatmap; a chart takes a second or
more to draw in the browser, a table of the same cells a few milliseconds, and it keeps each cell's numbers
readable and copyable.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

RED, YELLOW, GREEN = (215, 48, 39), (255, 255, 191), (26, 152, 80)  # the ends and middle of ColorBrewer RdYlGn


def cell_colour(value: float, low: float) -> str:
    """CSS for a cell whose value runs from ``low`` (red) through the middle (yellow) to 1 (green)."""
    if pd.isna(value):
        return ""
    t = min(1.0, max(0.0, (float(value) - low) / (1.0 - low)))
    a, b, f = (RED, YELLOW, t * 2) if t < 0.5 else (YELLOW, GREEN, t * 2 - 1)
    r, g, bl = (round(x + (y - x) * f) for x, y in zip(a, b, strict=True))
    text = "#fff" if t > 0.85 or t < 0.15 else "#222"
    return f"background-color: rgb({r}, {g}, {bl}); color: {text}"


def agreement_table(matrix: pd.DataFrame, shared: pd.DataFrame, low: float) -> Any:
    """The annotator x annotator matrix as a coloured table, each cell its value and the tasks it rests on
    ("0.82 · n=40"): read at a glance like a heatmap, drawn by the data grid (no chart library to load)."""
    text = pd.DataFrame(
        [[("" if pd.isna(v) else f"{v:.2f} · n={int(n)}") for v, n in zip(row_v, row_n, strict=True)]
         for row_v, row_n in zip(matrix.to_numpy(), shared.fillna(0).to_numpy(), strict=True)],
        index=matrix.index, columns=matrix.columns,
    )
    colours = matrix.apply(lambda column: [cell_colour(v, low) for v in column])
    return text.style.apply(lambda _: colours, axis=None)
