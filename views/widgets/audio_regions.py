"""Audio segments: Labels on Audio as ``start``/``end`` regions in seconds, with per-region transcripts.

How a labeler uses it: play the audio in the player; pick a label (buttons, with the label hotkeys);
then either drag a box across the waveform (box-select) or type start/end seconds and press "Add
segment". Each segment is listed with Select/Delete; the selected one can be played on its own, its
bounds nudged, its label changed and its per-region answers (e.g. a ``perRegion`` TextArea transcript)
typed in the panel.

Why not a waveform component: ``streamlit-wavesurfer`` loads React from a CDN (broken offline) and
``audix`` (streamlit-advanced-audio) keeps a single region in a Components v1 iframe
(``streamlit-notes.md`` section 7). The built-in ``st.audio`` (with ``start_time``/``end_time`` for a
segment) and a plotly waveform with box selection need nothing from the network.

``original_length`` comes from the WAV header (stdlib ``wave``), or from soundfile when installed.
"""
from __future__ import annotations

import io
import wave
from functools import partial
from typing import Any

import numpy as np
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

WAVEFORM_BINS = 1200


def wav_duration_s(raw: bytes) -> float | None:
    """Length in seconds of a WAV file from its header; None if it is not a readable WAV."""
    try:
        with wave.open(io.BytesIO(raw)) as reader:
            rate = reader.getframerate()
            return reader.getnframes() / rate if rate else None
    except (wave.Error, EOFError):
        return None


def _soundfile_duration_s(raw: bytes) -> float | None:
    try:
        import soundfile  # optional: not a pinned dependency
    except ImportError:
        return None
    try:
        info = soundfile.info(io.BytesIO(raw))
    except RuntimeError:
        return None
    return float(info.frames) / info.samplerate if info.samplerate else None


@st.cache_data(max_entries=64, show_spinner=False)
def _waveform(raw: bytes) -> tuple[float | None, list[float], list[float]]:
    """``(duration_s, bin times, peak amplitude per bin in 0..1)`` of a WAV (empty lists otherwise)."""
    duration = wav_duration_s(raw)
    if duration is None:
        return _soundfile_duration_s(raw), [], []
    with wave.open(io.BytesIO(raw)) as reader:
        width, channels, frames = reader.getsampwidth(), reader.getnchannels(), reader.getnframes()
        data = reader.readframes(frames)
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}.get(width)
    if dtype is None or frames == 0:
        return duration, [], []
    samples = np.frombuffer(data, dtype=dtype).astype(np.float64)
    if width == 1:
        samples -= 128.0
    samples = np.abs(samples.reshape(-1, channels)).max(axis=1)
    bins = min(WAVEFORM_BINS, len(samples))
    edges = np.linspace(0, len(samples), bins + 1).astype(int)
    peaks = np.array([samples[a:b].max() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:], strict=True)])
    top = peaks.max() or 1.0
    times = (edges[:-1] / len(samples) * duration).tolist()
    return duration, times, (peaks / top).tolist()


def _segment_value(start: float, end: float, target: Target) -> dict[str, Any]:
    value: dict[str, Any] = {"start": round(start, 3), "end": round(end, 3), "channel": 0}
    if target.control.kind.value_key:
        value[target.control.kind.value_key] = target.result_labels
    return value


def add_segment(state: RegionState, obj: ObjectTag, target: Target, start: float, end: float,
                length_s: float | None) -> str | None:
    """Append a segment (clamped to the audio) and select it; returns its id, None if empty."""
    start, end = sorted((max(0.0, start), max(0.0, end)))
    if length_s is not None:
        start, end = min(start, length_s), min(end, length_s)
    if end - start <= 0:
        return None
    state.snapshot()
    region_id = new_region_id()
    item: ResultItem = {"id": region_id, "from_name": target.control.name, "to_name": obj.name,
                        "type": target.control.kind.result_type, "value": _segment_value(start, end, target),
                        "origin": "manual"}
    if length_s is not None:
        item["original_length"] = round(length_s, 3)
    state.items.append(item)
    state.selected = region_id
    state.changed_by_python()
    return region_id


def _add_to(state_key: str, obj: ObjectTag, target: Target, length_s: float | None, start: float,
            end: float) -> str | None:
    return add_segment(st.session_state[state_key], obj, target, start, end, length_s)


def _set_bounds(state_key: str, region_id: str, start_key: str, end_key: str) -> None:
    state: RegionState = st.session_state[state_key]
    start, end = float(st.session_state[start_key]), float(st.session_state[end_key])
    if end > start:
        state.snapshot()
        state.set_geometry(region_id, {"start": round(start, 3), "end": round(end, 3)})


def _figure(times: list[float], peaks: list[float], length_s: float | None, state: RegionState,
            region_controls: list[ControlTag], colors: dict[tuple[str, str], str]) -> go.Figure:
    figure = go.Figure()
    if times:
        figure.add_trace(go.Scatter(x=times + times[::-1], y=peaks + [-p for p in peaks[::-1]],
                                    fill="toself", mode="lines", line={"width": 0.5, "color": "#4363d8"},
                                    hoverinfo="skip", name="waveform"))
    else:  # no samples to draw: an invisible line over the duration still allows box selection
        figure.add_trace(go.Scatter(x=[0, length_s or 1], y=[0, 0], mode="lines", hoverinfo="skip"))
    by_name = {c.name: c for c in region_controls}
    for region_id in state.region_ids(set(by_name)):
        item = state.shape_item(region_id, set(by_name))
        if item is None:
            continue
        value = item.get("value", {})
        color = region_color(item, by_name, colors)
        selected = region_id == state.selected
        figure.add_vrect(x0=value.get("start", 0), x1=value.get("end", 0),
                         fillcolor=with_alpha(color, 0.45 if selected else 0.25),
                         line={"color": color, "width": 2 if selected else 0},
                         annotation_text=", ".join(item_labels(item, by_name[item["from_name"]])),
                         annotation_position="top left")
    figure.update_layout(height=170, margin={"l": 10, "r": 10, "t": 24, "b": 24}, showlegend=False,
                         dragmode="select", selectdirection="h",
                         xaxis={"title": None, "ticksuffix": " s", "range": [0, length_s] if length_s else None},
                         yaxis={"visible": False, "range": [-1.05, 1.05], "fixedrange": True})
    return figure


def _describe(item: ResultItem) -> str:
    value = item.get("value", {})
    return f"{float(value.get('start', 0)):.2f}s - {float(value.get('end', 0)):.2f}s"


@region_widget("Audio")
def render_audio_regions(obj: ObjectTag, controls: list[ControlTag], items: list[ResultItem],
                         ctx: WidgetContext) -> list[ResultItem]:
    """Play ``obj``'s audio and edit the segments of ``controls`` on it."""
    region_controls, per_region_controls = split_controls(controls)
    state_key, state = load_state(ctx, obj, region_controls + per_region_controls, items)
    media = ctx.resolve_media(resolve_value(obj.value, ctx.data))
    if not media.available:
        st.warning(f"The audio of {obj.name!r} is not available (not an allowed location).")
        return finish(state)
    raw = media.path.read_bytes() if media.path is not None else None
    length_s, times, peaks = _waveform(raw) if raw is not None else (None, [], [])
    st.audio(raw if raw is not None else media.url)
    extra = {"original_length": round(length_s, 3)} if length_s is not None else {}
    colors = label_colors(region_controls)
    target = pick_target(obj, region_controls, ctx, colors) if region_controls else None

    if region_controls:
        add = None if target is None else partial(_add_to, state_key, obj, target, length_s)
        range_strip(obj, ctx, state, _figure(times, peaks, length_s, state, region_controls, colors), name="wave",
                    add=add, caption="Drag across the waveform to add a segment with the chosen label, or type its "
                    "bounds:", add_label="Add segment", length_s=length_s, step=0.1)

    region_list(obj, state_key, state, region_controls, ctx, colors, _describe)
    if state.selected is not None:
        item = state.shape_item(state.selected, {c.name for c in region_controls})
        if item is not None:
            value = item.get("value", {})
            start, end = float(value.get("start", 0)), float(value.get("end", 0))
            st.audio(raw if raw is not None else media.url, start_time=start, end_time=end)
            if not ctx.disabled:
                start_key = ctx.key(obj.name, "start", state.selected, state.version)
                end_key = ctx.key(obj.name, "end", state.selected, state.version)
                with st.container(horizontal=True):
                    for label, key, current in (("Segment start (s)", start_key, start),
                                                ("Segment end (s)", end_key, end)):
                        st.number_input(label, value=current, min_value=0.0, max_value=length_s,
                                        step=0.05, format="%.3f", key=key, on_change=_set_bounds,
                                        args=(state_key, state.selected, start_key, end_key))
    version = state.version
    selected_region_panel(obj, state_key, state, region_controls, per_region_controls, ctx,
                          extra_fields=extra)
    if state.version != version:
        st.rerun()
    return finish(state)
