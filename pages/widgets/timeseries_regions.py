"""TimeSeriesLabels (and Labels) on a TimeSeries: labeled time ranges, picked from the series' own times.

The series is drawn as a chart (``objects.show_timeseries``); below it the labeler picks a label, a start
and an end among the time column's values (numbers or date strings, as in the task) and adds the range;
ranges are listed with their label and can be removed. Results follow Label Studio:
``{"start", "end", "instant", "timeserieslabels": [label]}`` with a region ``id``.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import ControlTag, ObjectTag, resolve_value
from pages.widgets.base import ResultItem, WidgetContext, region_widget, result_item
from pages.widgets.components.region_tools import new_region_id
from pages.widgets.objects import show_timeseries


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


@region_widget("TimeSeries")
def render_timeseries_regions(
    obj: ObjectTag, controls: list[ControlTag], items: list[ResultItem], ctx: WidgetContext
) -> list[ResultItem]:
    show_timeseries(obj, ctx)
    range_controls = [c for c in controls if c.kind.is_region]
    names = {c.name for c in range_controls}
    key = ctx.key(obj.name, "ts_ranges")
    if key not in st.session_state:
        st.session_state[key] = [dict(i) for i in items if i.get("from_name") in names]
    ranges: list[ResultItem] = st.session_state[key]
    times = series_times(obj, ctx.data)
    if not ctx.disabled and times:
        for control in range_controls:
            labels = [o.result_value for o in control.all_options()]
            label_col, start_col, end_col, add_col = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
            label = label_col.selectbox("Label", labels, key=ctx.key(obj.name, control.name, "label"))
            start = start_col.selectbox("From", times, key=ctx.key(obj.name, control.name, "start"))
            end = end_col.selectbox("To", times, index=len(times) - 1, key=ctx.key(obj.name, control.name, "end"))
            if add_col.button("Add range", key=ctx.key(obj.name, control.name, "add"), icon=":material/add:"):
                lo, hi = sorted((times.index(start), times.index(end)))
                value_key = control.kind.value_key or "timeserieslabels"
                ranges.append(
                    result_item(
                        control,
                        {"start": times[lo], "end": times[hi], "instant": lo == hi, value_key: [label]},
                        to_name=obj.name,
                        id=new_region_id(),
                    )
                )
    if not times:
        st.caption("This series has no inline time values to pick ranges from.")
    for index, item in enumerate(list(ranges)):
        value = item.get("value", {})
        names_shown = ", ".join(next((v for k, v in value.items() if k.endswith("labels")), []))
        text_col, remove_col = st.columns([6, 1], vertical_alignment="center")
        text_col.markdown(f"**{names_shown}** {value.get('start')} → {value.get('end')}")
        if not ctx.disabled and remove_col.button("Remove", key=ctx.key(obj.name, "ts_remove", index)):
            ranges.pop(index)
            st.rerun()
    passthrough = [i for i in items if i.get("from_name") not in names]  # per-region answers stay as they were
    return [*ranges, *passthrough]
