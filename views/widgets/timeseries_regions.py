"""TimeSeriesLabels (and Labels) on a TimeSeries: labeled time ranges, dragged across the chart.

How a labeler uses it: pick a label (buttons, with the label hotkeys), then drag across the chart --
only the time axis matters -- and the range becomes a region of that label, drawn as a band in the
label's colour. The range snaps to the series' own samples inside the drag (numbers, or date strings
exactly as the task writes them); a drag between two samples takes the nearest ones. Regions are
listed under the chart with Select/Delete (and server-side undo); the selected one gets its
``perRegion`` answers in a panel. For the keyboard (and screen readers) the same range can be picked
in two select boxes of the series' times and added with "Add range".

Results follow Label Studio (``label-studio-formats.md`` section b): ``{"start", "end", "instant",
"timeserieslabels": [label]}`` with a region ``id``; ``instant`` is true when start and end are the
same sample.

Why a plotly chart: ``st.plotly_chart(on_select="rerun", selection_mode=("box",))`` reports the
dragged box with nothing loaded from the network; the drag is horizontal only (``dragmode="select"``,
``selectdirection="h"``, fixed y axes). The chart's selection lives in session state under its key,
so every rerun would report the same box again: the key carries the region state's ``version``
(bumped by every change, so a new chart starts with no selection) and the last box handled is
remembered, so a drag makes exactly one region.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.config import ControlTag, ObjectTag, TagNode, css_color, resolve_value
from views.widgets.base import ResultItem, WidgetContext, region_widget
from views.widgets.components.region_tools import (
    RegionState,
    Target,
    finish,
    item_labels,
    label_colors,
    load_state,
    new_region_id,
    pick_target,
    region_color,
    region_list,
    selected_region_panel,
    split_controls,
    with_alpha,
)
from views.widgets.objects import show_timeseries

CHANNEL_HEIGHT_PX = 150
DEFAULT_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")


def series_times(obj: ObjectTag, data: dict[str, Any]) -> list[Any]:
    """The values of the time column (or 0..n-1 when the config names none)."""
    value = resolve_value(obj.value, data)
    if not isinstance(value, dict) or not value:
        return []
    column = obj.get("timeColumn")
    if column and isinstance(value.get(column), list):
        return list(value[column])
    first = next((v for v in value.values() if isinstance(v, list)), [])
    return list(range(len(first)))


@dataclass(frozen=True)
class TimeAxis:
    """The series' time values as stored (``times``) and as plotted (``xs``: numbers or timestamps)."""

    times: list[Any]
    xs: list[Any]
    is_date: bool

    def x_of(self, value: Any) -> Any:
        """Where a stored time value (a region's start/end) lies on the plotted axis."""
        if value in self.times:
            return self.xs[self.times.index(value)]
        return _as_x(value, self.is_date)

    def snap(self, low: Any, high: Any) -> tuple[Any, Any] | None:
        """The first and last sample inside ``[low, high]`` (plotted units), or the samples nearest to
        the ends when none is inside; None when the series is empty or the bounds unreadable."""
        if not self.xs:
            return None
        lo, hi = _as_x(low, self.is_date), _as_x(high, self.is_date)
        if lo is None or hi is None:
            return None
        lo, hi = min(lo, hi), max(lo, hi)
        inside = [i for i, x in enumerate(self.xs) if lo <= x <= hi]
        if inside:
            first, last = inside[0], inside[-1]
        else:
            first, last = sorted((self._nearest(lo), self._nearest(hi)))
        return self.times[first], self.times[last]

    def _nearest(self, x: Any) -> int:
        return min(range(len(self.xs)), key=lambda i: abs(_distance(self.xs[i], x)))


def _distance(a: Any, b: Any) -> float:
    delta = a - b
    return delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)


def _as_x(value: Any, is_date: bool) -> Any:
    if is_date:
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            return None
        if stamp is pd.NaT:
            return None
        return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def time_axis(obj: ObjectTag, data: dict[str, Any]) -> TimeAxis:
    """The time axis of a series: numbers as they are; date strings parsed (``timeFormat`` first)."""
    times = series_times(obj, data)
    if all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
        return TimeAxis(times, [float(t) for t in times], False)
    fmt = obj.get("timeFormat") or None
    parsed = None
    for attempt in (fmt, None) if fmt else (None,):
        try:
            parsed = pd.to_datetime(pd.Series([str(t) for t in times]), format=attempt)
            break
        except (ValueError, TypeError):
            continue
    if parsed is None:  # neither numbers nor dates: plot by position, store the values themselves
        return TimeAxis(times, [float(i) for i in range(len(times))], False)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return TimeAxis(times, list(parsed), True)


def _channels(obj: ObjectTag, ctx: WidgetContext, columns: dict[str, list[Any]]) -> list[dict[str, str]]:
    """The ``<Channel>`` children (column, legend, units, colour); every other column when none."""
    node: TagNode | None = ctx.cfg.find(obj.name)
    out = []
    for child in node.children if node is not None else ():
        column = child.get("column")
        if child.tag == "Channel" and column in columns:
            out.append({"column": column, "legend": child.get("legend") or column,
                        "units": child.get("units") or "", "color": css_color(child.get("strokeColor")) or ""})
    if out:
        return out
    time_column = obj.get("timeColumn")
    return [{"column": c, "legend": c, "units": "", "color": ""} for c in columns if c != time_column]


def _figure(axis: TimeAxis, columns: dict[str, list[Any]], channels: list[dict[str, str]], state: RegionState,
            region_controls: list[ControlTag], colors: dict[tuple[str, str], str], height: int) -> go.Figure:
    rows = max(1, len(channels))
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for row, channel in enumerate(channels, start=1):
        values = columns[channel["column"]]
        title = channel["legend"] + (f" ({channel['units']})" if channel["units"] else "")
        figure.add_trace(go.Scatter(x=axis.xs[:len(values)], y=values, mode="lines+markers", name=title,
                                    marker={"size": 4},
                                    line={"width": 1.5, "color": channel["color"] or DEFAULT_COLORS[(row - 1) % 5]}),
                         row=row, col=1)
        figure.update_yaxes(title_text=title, fixedrange=True, row=row, col=1)
    by_name = {c.name: c for c in region_controls}
    for region_id in state.region_ids(set(by_name)):
        item = state.shape_item(region_id, set(by_name))
        if item is None:
            continue
        value = item.get("value", {})
        x0, x1 = axis.x_of(value.get("start")), axis.x_of(value.get("end"))
        if x0 is None or x1 is None:
            continue
        color = region_color(item, by_name, colors)
        selected = region_id == state.selected
        figure.add_vrect(x0=x0, x1=x1, row="all", col=1, fillcolor=with_alpha(color, 0.45 if selected else 0.25),
                         line={"color": color, "width": 2 if selected else 0}, layer="below")
        figure.add_annotation(x=x0, y=1.0, yref="paper", xanchor="left", yanchor="bottom", showarrow=False,
                              text=", ".join(item_labels(item, by_name[item["from_name"]])),
                              font={"color": color, "size": 11})
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 28, "b": 24}, showlegend=False,
                         dragmode="select", selectdirection="h", hovermode="x unified")
    return figure


def _box_of(event: Any) -> tuple[Any, Any] | None:
    selection = event.get("selection", {}) if hasattr(event, "get") else {}
    boxes = selection.get("box") or []
    if not boxes:
        return None
    xs = boxes[0].get("x") or []
    return (xs[0], xs[-1]) if len(xs) >= 2 else None


def add_range(state: RegionState, obj: ObjectTag, target: Target, axis: TimeAxis, start: Any, end: Any) -> str:
    """Append a range of ``target``'s label from ``start`` to ``end`` (stored time values, any order),
    select it and return its id."""
    lo, hi = sorted((axis.times.index(start), axis.times.index(end)))
    value: dict[str, Any] = {"start": axis.times[lo], "end": axis.times[hi], "instant": lo == hi}
    if target.control.kind.value_key:
        value[target.control.kind.value_key] = target.result_labels
    state.snapshot()
    region_id = new_region_id()
    state.items.append({"id": region_id, "from_name": target.control.name, "to_name": obj.name,
                        "type": target.control.kind.result_type, "value": value, "origin": "manual"})
    state.selected = region_id
    state.changed_by_python()
    return region_id


def _add_from_inputs(state_key: str, obj: ObjectTag, target: Target, axis: TimeAxis, start_key: str,
                     end_key: str) -> None:
    start, end = st.session_state.get(start_key), st.session_state.get(end_key)
    if start in axis.times and end in axis.times:
        add_range(st.session_state[state_key], obj, target, axis, start, end)


def _describe(item: ResultItem) -> str:
    value = item.get("value", {})
    return f"{value.get('start')} → {value.get('end')}"


@region_widget("TimeSeries")
def render_timeseries_regions(
    obj: ObjectTag, controls: list[ControlTag], items: list[ResultItem], ctx: WidgetContext
) -> list[ResultItem]:
    """Draw ``obj``'s channels and edit the time ranges of ``controls`` on them."""
    region_controls, per_region_controls = split_controls(controls)
    state_key, state = load_state(ctx, obj, region_controls + per_region_controls, items)
    raw = resolve_value(obj.value, ctx.data)
    axis = time_axis(obj, ctx.data)
    if not isinstance(raw, dict) or not axis.times or not region_controls:
        show_timeseries(obj, ctx)
        if region_controls:
            st.caption("This series has no inline time values to pick ranges from.")
        region_list(obj, state_key, state, region_controls, ctx, label_colors(region_controls), _describe)
        return finish(state)
    columns = {k: v for k, v in raw.items() if isinstance(v, list)}
    channels = _channels(obj, ctx, columns)
    colors = label_colors(region_controls)
    target = pick_target(obj, region_controls, ctx, colors)
    height = max(200, CHANNEL_HEIGHT_PX * len(channels) + 60)
    event = st.plotly_chart(_figure(axis, columns, channels, state, region_controls, colors, height),
                            key=ctx.key(obj.name, "chart", state.version),
                            on_select="ignore" if ctx.disabled else "rerun", selection_mode=("box",),
                            config={"displayModeBar": False})
    box = _box_of(event) if not ctx.disabled else None
    if box is not None and target is not None and [state.version, *map(str, box)] != state.extra.get("box"):
        state.extra["box"] = [state.version, *map(str, box)]  # this drag is handled, whatever follows
        snapped = axis.snap(*box)
        if snapped is not None:
            add_range(state, obj, target, axis, *snapped)
            st.rerun()  # redraw with the new band and a chart that starts with no selection
    if not ctx.disabled and target is not None:
        st.caption("Drag across the chart to add a range with the chosen label, or pick its times:")
        start_key, end_key = ctx.key(obj.name, "start"), ctx.key(obj.name, "end")
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox("From", axis.times, key=start_key)
            st.selectbox("To", axis.times, index=len(axis.times) - 1, key=end_key)
            st.button("Add range", key=ctx.key(obj.name, "add"), icon=":material/add:", on_click=_add_from_inputs,
                      args=(state_key, obj, target, axis, start_key, end_key))
    region_list(obj, state_key, state, region_controls, ctx, colors, _describe)
    version = state.version
    selected_region_panel(obj, state_key, state, region_controls, per_region_controls, ctx)
    if state.version != version:
        st.rerun()
    return finish(state)
