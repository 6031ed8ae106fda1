"""Timestamped labels on a video: TimelineLabels as frame ranges, Label Studio's way.

How a labeler uses it: watch the video in the player (its own controls show the time); pick a label (buttons,
with the label hotkeys); then drag across the timeline under the player, or type the start and end seconds
and press "Add range". Each range is listed with Select/Delete; the selected one can be played on its own, its
bounds nudged and its per-region answers typed in the panel.

Label Studio stores a TimelineLabels region as ``{"ranges": [{"start": 3, "end": 5}], "timelinelabels":
["Moving"]}`` in frames, counted from 1, at the Video tag's ``frameRate`` (24 when not given). The timeline
shows seconds, which is what the player shows. The video's length comes from the MP4 header (``mvhd``) when the
file is local; otherwise the timeline spans the ranges drawn so far (or 60 s).

Why not a frame-accurate player: a browser's ``<video>`` does not report frames, and Streamlit's ``st.video``
does not report the playhead; both bounds are typed or dragged, and shown in seconds and in frames.
"""
from __future__ import annotations

import math
import struct
from functools import partial
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from core.config import ControlTag, ObjectTag, resolve_value
from views.widgets.base import ResultItem, WidgetContext, region_widget
from views.widgets.components.interval_tools import range_strip
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

DEFAULT_FPS = 24.0  # Label Studio's Video frameRate default
UNKNOWN_LENGTH_S = 60.0
_CONTAINERS = {b"moov", b"trak", b"mdia"}


def mp4_duration_s(raw: bytes) -> float | None:
    """Length in seconds from an MP4/MOV file's movie header (``moov/mvhd``); None if there is none."""
    offset, end = 0, len(raw)
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", raw[offset:offset + 8])
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if offset + 16 > end:
                return None
            size = struct.unpack(">Q", raw[offset + 8:offset + 16])[0]
            header = 16
        elif size == 0:  # the box runs to the end of the file
            size = end - offset
        if size < header:
            return None
        if kind == b"moov":
            end, offset = offset + size, offset + header  # look inside the movie box only
            continue
        if kind == b"mvhd":
            body = raw[offset + header:offset + size]
            if not body:
                return None
            if body[0] == 1 and len(body) >= 32:
                timescale, duration = struct.unpack(">IQ", body[20:32])
            elif len(body) >= 20:
                timescale, duration = struct.unpack(">II", body[12:20])
            else:
                return None
            return duration / timescale if timescale else None
        offset += size
    return None


def frame_rate(obj: ObjectTag) -> float:
    """The Video tag's ``frameRate`` (Label Studio also accepts ``framerate``), else 24."""
    try:
        fps = float(obj.get("frameRate") or DEFAULT_FPS)
    except ValueError:
        return DEFAULT_FPS
    return fps if fps > 0 and math.isfinite(fps) else DEFAULT_FPS


def to_frame(seconds: float, fps: float) -> int:
    """The frame shown at ``seconds``, counted from 1 as Label Studio counts them."""
    return int(math.floor(max(0.0, seconds) * fps + 1e-9)) + 1


def to_seconds(frame: int, fps: float) -> float:
    """When frame ``frame`` (from 1) starts."""
    return (max(1, int(frame)) - 1) / fps


def range_of(item: ResultItem) -> tuple[int, int] | None:
    """The first (start, end) frame range of a timeline region, None if it has none."""
    ranges = item.get("value", {}).get("ranges") or []
    if not ranges or not isinstance(ranges[0], dict):
        return None
    try:
        return int(ranges[0]["start"]), int(ranges[0]["end"])
    except (KeyError, TypeError, ValueError):
        return None


def _range_value(start_frame: int, end_frame: int, target: Target) -> dict[str, Any]:
    value: dict[str, Any] = {"ranges": [{"start": start_frame, "end": end_frame}]}
    if target.control.kind.value_key:
        value[target.control.kind.value_key] = target.result_labels
    return value


def add_range(state: RegionState, obj: ObjectTag, target: Target, start_s: float, end_s: float,
              length_s: float | None) -> str | None:
    """Append a range (clamped to the video) and select it; returns its id, None if empty."""
    start_s, end_s = sorted((max(0.0, start_s), max(0.0, end_s)))
    if length_s is not None:
        start_s, end_s = min(start_s, length_s), min(end_s, length_s)
    if end_s - start_s <= 0:
        return None
    fps = frame_rate(obj)
    start_frame, end_frame = to_frame(start_s, fps), to_frame(end_s, fps)
    state.snapshot()
    region_id = new_region_id()
    state.items.append({"id": region_id, "from_name": target.control.name, "to_name": obj.name,
                        "type": target.control.kind.result_type,
                        "value": _range_value(start_frame, max(start_frame, end_frame), target),
                        "origin": "manual"})
    state.selected = region_id
    state.changed_by_python()
    return region_id


def _add_to(state_key: str, obj: ObjectTag, target: Target, length_s: float | None, start_s: float,
            end_s: float) -> str | None:
    return add_range(st.session_state[state_key], obj, target, start_s, end_s, length_s)


def _set_bounds(state_key: str, region_id: str, start_key: str, end_key: str, fps: float) -> None:
    state: RegionState = st.session_state[state_key]
    start, end = int(st.session_state[start_key]), int(st.session_state[end_key])
    if end >= start >= 1:
        state.snapshot()
        state.set_geometry(region_id, {"ranges": [{"start": start, "end": end}]})


def _figure(length_s: float, fps: float, state: RegionState, region_controls: list[ControlTag],
            colors: dict[tuple[str, str], str]) -> go.Figure:
    """The timeline: one band per range, in seconds; an invisible line over the length allows box selection."""
    figure = go.Figure(go.Scatter(x=[0, length_s], y=[0, 0], mode="lines", line={"width": 1, "color": "#adb5bd"},
                                  hoverinfo="skip"))
    by_name = {c.name: c for c in region_controls}
    for region_id in state.region_ids(set(by_name)):
        item = state.shape_item(region_id, set(by_name))
        bounds = range_of(item) if item is not None else None
        if item is None or bounds is None:
            continue
        color = region_color(item, by_name, colors)
        selected = region_id == state.selected
        figure.add_vrect(x0=to_seconds(bounds[0], fps), x1=to_seconds(bounds[1] + 1, fps),
                         fillcolor=with_alpha(color, 0.5 if selected else 0.3),
                         line={"color": color, "width": 2 if selected else 0},
                         annotation_text=", ".join(item_labels(item, by_name[item["from_name"]])),
                         annotation_position="top left")
    figure.update_layout(height=120, margin={"l": 10, "r": 10, "t": 24, "b": 24}, showlegend=False,
                         dragmode="select", selectdirection="h",
                         xaxis={"title": None, "ticksuffix": " s", "range": [0, length_s]},
                         yaxis={"visible": False, "range": [-1, 1], "fixedrange": True})
    return figure


def _describer(fps: float) -> Any:
    def describe(item: ResultItem) -> str:
        bounds = range_of(item)
        if bounds is None:
            return "no range"
        return (f"{to_seconds(bounds[0], fps):.2f}s - {to_seconds(bounds[1] + 1, fps):.2f}s "
                f"(frames {bounds[0]}-{bounds[1]})")
    return describe


@region_widget("Video")
def render_video_regions(obj: ObjectTag, controls: list[ControlTag], items: list[ResultItem],
                         ctx: WidgetContext) -> list[ResultItem]:
    """Play ``obj``'s video and edit the frame ranges of its TimelineLabels ``controls``."""
    region_controls, per_region_controls = split_controls(controls)
    state_key, state = load_state(ctx, obj, region_controls + per_region_controls, items)
    media = ctx.resolve_media(resolve_value(obj.value, ctx.data))
    if not media.available:
        st.warning(f"The video of {obj.name!r} is not available (not an allowed location).")
        return finish(state)
    source = str(media.path) if media.path is not None else str(media.url)
    length_s = mp4_duration_s(media.path.read_bytes()) if media.path is not None else None
    fps = frame_rate(obj)
    st.video(source)
    colors = label_colors(region_controls)
    target = pick_target(obj, region_controls, ctx, colors) if region_controls else None
    shown_s = length_s or max([UNKNOWN_LENGTH_S] + [to_seconds(b[1] + 1, fps) for b in
                               (range_of(i) for i in state.items) if b is not None])

    if region_controls:
        add = None if target is None else partial(_add_to, state_key, obj, target, length_s)
        range_strip(obj, ctx, state, _figure(shown_s, fps, state, region_controls, colors), name="timeline",
                    add=add, caption="Drag across the timeline to label a stretch of the video with the chosen label, "
                    f"or type its bounds ({fps:g} frames per second):", add_label="Add range", length_s=length_s,
                    step=0.5)

    region_list(obj, state_key, state, region_controls, ctx, colors, _describer(fps))
    if state.selected is not None:
        item = state.shape_item(state.selected, {c.name for c in region_controls})
        bounds = range_of(item) if item is not None else None
        if bounds is not None:
            player, _ = st.columns([2, 3])  # a small player for the range: the main one stays the reference
            player.caption("The selected range:")
            player.video(source, start_time=int(to_seconds(bounds[0], fps)),
                         end_time=math.ceil(to_seconds(bounds[1] + 1, fps)))
            if not ctx.disabled:
                last_frame = to_frame(length_s, fps) if length_s is not None else None
                start_key = ctx.key(obj.name, "start", state.selected, state.version)
                end_key = ctx.key(obj.name, "end", state.selected, state.version)
                with st.container(horizontal=True):
                    for label, key, current in (("First frame", start_key, bounds[0]),
                                                ("Last frame", end_key, bounds[1])):
                        st.number_input(label, value=current, min_value=1, step=1, key=key,
                                        max_value=max(last_frame, current) if last_frame else None,
                                        on_change=_set_bounds, args=(state_key, state.selected, start_key, end_key,
                                                                     fps))
    version = state.version
    selected_region_panel(obj, state_key, state, region_controls, per_region_controls, ctx)
    if state.version != version:
        st.rerun()
    return finish(state)
