"""What the time-range widgets share (audio segments, video timeline ranges): a plotly strip on which a drag
adds a range with the chosen label, and start/end inputs with an "Add" button for typed bounds.

Each widget draws its own strip (a waveform, a timeline) and says how a range in seconds becomes a region
(``add``: seconds in, the new region's id out, None when the range is empty).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from core.config import ObjectTag
from views.widgets.base import WidgetContext
from views.widgets.components.region_tools import RegionState

AddRange = Callable[[float, float], "str | None"]


def box_x_range(event: Any) -> tuple[float, float] | None:
    """The x extent of the box a drag selected on a plotly chart, None when nothing is selected."""
    selection = event.get("selection", {}) if hasattr(event, "get") else {}
    boxes = selection.get("box") or []
    xs = (boxes[0].get("x") or []) if boxes else []
    return (float(min(xs)), float(max(xs))) if len(xs) >= 2 else None


def _add_typed(add: AddRange, start_key: str, end_key: str) -> None:
    add(float(st.session_state.get(start_key) or 0.0), float(st.session_state.get(end_key) or 0.0))


def range_strip(obj: ObjectTag, ctx: WidgetContext, state: RegionState, figure: go.Figure, *, name: str,
                add: AddRange | None, caption: str, add_label: str, length_s: float | None, step: float) -> None:
    """The strip (``figure``, box-selectable unless read-only) and, with a label chosen (``add`` given), the
    typed-bounds row. A drag adds one range, once: the same box seen again on the next rerun is ignored."""
    event = st.plotly_chart(figure, key=ctx.key(obj.name, name, state.version),
                            on_select="ignore" if ctx.disabled else "rerun", selection_mode=("box",),
                            config={"displayModeBar": False})
    if ctx.disabled or add is None:
        return
    box = box_x_range(event)
    if box is not None and box != state.extra.get("box"):
        state.extra["box"] = box
        if add(*box):
            st.rerun()  # redraw the strip with the new range and a cleared selection
    st.caption(caption)
    start_key, end_key = ctx.key(obj.name, "new_start"), ctx.key(obj.name, "new_end")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.number_input("Start (s)", min_value=0.0, max_value=length_s, step=step, key=start_key)
        st.number_input("End (s)", min_value=0.0, max_value=length_s, step=step, key=end_key)
        st.button(add_label, key=ctx.key(obj.name, "add"), icon=":material/add:", on_click=_add_typed,
                  args=(add, start_key, end_key))
