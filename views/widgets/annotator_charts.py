"""The Quality page's pictures of people: one colour per person across every chart, axis titles in words.

Names reach plotly escaped (:func:`chart_names`): plotly reads ``<b>``, ``<a href>`` and entities in legends
and axis labels, and a display name must show as typed.
"""
from __future__ import annotations


from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.sanitize import escape_text

NA = "—"  # what a figure that cannot be known shows (the column's tooltip says why)


def annotator_colours(*frames: pd.DataFrame, column: str = "annotator") -> dict[str, str]:
    """One colour per annotator for every chart of the page, keyed by the escaped name the charts show
    (see chart_names): the sorted names of all ``frames`` onto a qualitative palette, so a person has the
    same colour in every chart whoever appears in which."""
    names = sorted({escape_text(name) for frame in frames if column in frame for name in frame[column]})
    palette = px.colors.qualitative.Plotly + px.colors.qualitative.D3[len(px.colors.qualitative.Plotly):]
    palette = palette + px.colors.qualitative.Alphabet
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def chart_names(frame: pd.DataFrame, column: str = "annotator") -> pd.DataFrame:
    """``frame`` with the names in ``column`` escaped for plotly."""
    return frame.assign(**{column: frame[column].map(escape_text)})


def lead_time_boxes(stats: pd.DataFrame, colours: dict[str, str] | None = None) -> go.Figure:
    """One box per annotator from precomputed quartiles and whiskers (core.analytics): the browser gets a
    few numbers per person, not every lead time of the project. ``colours``: see annotator_colours."""
    colours = colours if colours is not None else annotator_colours(stats)
    figure = go.Figure()
    for row in stats.itertuples(index=False):
        name = escape_text(row.annotator)
        figure.add_trace(go.Box(
            name=name, x=[name],
            q1=[row.q1], median=[row.median], q3=[row.q3],
            lowerfence=[row.lower_fence], upperfence=[row.upper_fence], mean=[row.mean], boxpoints=False,
            hovertext=f"{int(row.n):,} annotations",
            marker_color=colours.get(name), line_color=colours.get(name),
        ))
    figure.update_layout(showlegend=False, yaxis_title="lead time (s)", xaxis_title="annotator")
    return figure


def speed_quality_scatter(people: pd.DataFrame, colours: dict[str, str]) -> go.Figure | None:
    """Median lead time against quality (accuracy on gold where known, else agreement with the consensus),
    one dot per annotator sized by their annotations: the fast-and-careless sit bottom left."""
    quality = people["accuracy"].where(people["accuracy"].notna(), people["agreement_with_consensus"])
    shown = people.assign(quality=quality).dropna(subset=["lead_median_s", "quality"])
    shown = shown[shown["annotations"] > 0]
    if shown.empty:
        return None
    figure = go.Figure()
    for row in chart_names(shown).itertuples(index=False):
        measured = "accuracy" if pd.notna(row.accuracy) else "agreement with the consensus"
        figure.add_trace(go.Scatter(
            x=[row.lead_median_s], y=[row.quality], name=row.annotator, mode="markers",
            marker={"size": 8 + min(30, row.annotations ** 0.5), "color": colours.get(row.annotator)},
            hovertemplate=f"{row.annotator}<br>%{{x:.1f}} s median<br>{measured} %{{y:.2f}}<br>"
                          f"{int(row.annotations):,} annotations<extra></extra>",
        ))
    figure.update_layout(xaxis_title="median lead time (s)", yaxis_title="accuracy (or agreement with the consensus)",
                         legend_title_text="annotator")
    return figure


def weekly_lines(weekly: pd.DataFrame, value: str, title: str, colours: dict[str, str]) -> go.Figure | None:
    """One line per annotator of ``value`` per week, with the team's weekly median as a dashed trend line."""
    shown = weekly.dropna(subset=[value])
    if shown.empty:
        return None
    figure = go.Figure()
    for name, part in chart_names(shown).groupby("annotator", sort=True):
        figure.add_trace(go.Scatter(x=part["week"], y=part[value], name=name, mode="lines+markers",
                                    line={"color": colours.get(name)}))
    team = shown.groupby("week")[value].median()
    figure.add_trace(go.Scatter(x=team.index, y=team.to_numpy(), name="team median", mode="lines",
                                line={"color": "#555", "dash": "dash", "width": 3}))
    figure.update_layout(xaxis_title="week (Monday)", yaxis_title=title, legend_title_text="annotator")
    date_axis(figure, shown["week"], step_days=7)
    return figure


DAY_MS = 86_400_000


def date_axis(figure: go.Figure, dates: Any, *, step_days: int = 1, max_ticks: int = 10) -> None:
    """Whole days (or weeks) on a date axis: plotly zooms a range of one day into hours and prints the same
    date under every tick; at least one step either side, and no more than ``max_ticks`` ticks."""
    values = pd.to_datetime(pd.Series(list(dates)))
    if values.empty:
        return
    first, last = values.min(), values.max()
    steps = max(1, int((last - first).days // step_days) + 1)
    every = step_days * max(1, -(-steps // max_ticks))
    pad = pd.Timedelta(days=step_days)
    figure.update_xaxes(type="date", tickformat="%Y-%m-%d", dtick=every * DAY_MS, tick0=first,
                        range=[first - pad / 2, last + pad / 2])


def csv_bytes(frame: pd.DataFrame, column_config: dict[str, Any] | None = None) -> bytes:
    """``frame`` as CSV the way a spreadsheet reader expects it: columns titled as the table titles them
    (``column_config``; hidden ones left out) and numbers rounded to four decimals."""
    out = frame.round(4)
    if column_config:
        hidden = [c for c in out.columns if c in column_config and column_config[c] is None]
        out = out.drop(columns=hidden).rename(columns={c: _title(v) for c, v in column_config.items()
                                                       if v is not None and c in out.columns})
    return out.to_csv(index=False).encode("utf-8")


def csv_download(frame: pd.DataFrame, *, file_name: str, key: str, label: str = "CSV",
                 column_config: dict[str, Any] | None = None) -> None:
    """A small button that downloads :func:`csv_bytes` of ``frame``, encoded only when pressed (no rerun)."""
    st.download_button(label, data=lambda: csv_bytes(frame, column_config), file_name=file_name, mime="text/csv",
                       key=key, icon=":material/download:", on_click="ignore")


def _title(config: Any) -> str:
    """A column's title from its column_config entry (a plain string, or a column config's ``label``)."""
    return config if isinstance(config, str) else str(config.get("label") or "")
