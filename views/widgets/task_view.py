"""A task shown read-only: its data once, then several results (annotations, consensus, ground truth) in
columns through the labeling widgets (``render_interface`` with ``disabled=True``).

Shared by the review page and the data browser so that both draw answers exactly as the labeler saw them.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import streamlit as st

from core.config import LabelingConfig
from core.media import MediaRef
from views.widgets.base import OBJECT_VIEWS, WidgetContext
from views.widgets.interface import controls_by_object, render_interface

MediaResolver = Callable[[object], MediaRef]  # see core.cloud_storage.project_media


def columns_config(full: LabelingConfig) -> LabelingConfig:
    """The config the per-result columns render: objects shown once above are left out (their regions'
    objects stay, since each result's regions are drawn on them; a List stays for the Ranker)."""
    drawn_on = controls_by_object(full.controls)
    keep = {name: obj for name, obj in full.objects.items() if name in drawn_on or obj.tag == "List"}
    return dataclasses.replace(full, objects=keep)


WIDE_OBJECTS = frozenset({"Image", "Video", "TimeSeries"})  # pictures and charts need room to be read


def answer_slots(cfg: LabelingConfig, n: int) -> list[Any]:
    """``n`` bordered-column slots for answers side by side, wrapping to more rows: two per row when the
    columns draw pictures or charts (at a fifth of the page an image's boxes cannot be read), else four."""
    per_row = 2 if any(obj.tag in WIDE_OBJECTS for obj in columns_config(cfg).objects.values()) else 4
    n = max(n, 1)
    width = min(n, per_row)  # every row as wide as the first, so all answers are drawn at one size
    slots: list[Any] = []
    for _ in range(0, n, width):
        slots.extend(st.columns(width))
    return slots[:n]


def task_context(
    cfg: LabelingConfig, data: dict[str, Any], media: MediaResolver, *, key_prefix: str, disabled: bool
) -> WidgetContext:
    return WidgetContext(cfg=cfg, data=data, key_prefix=key_prefix, hotkeys={}, resolve_media=media, disabled=disabled)


def _shared_objects(cfg: LabelingConfig) -> list[Any]:
    """The objects drawn once above the columns (the columns draw those their regions are on)."""
    column_objects = columns_config(cfg).objects
    return [obj for name, obj in cfg.objects.items() if name not in column_objects and obj.tag in OBJECT_VIEWS]


def render_task_data(cfg: LabelingConfig, data: dict[str, Any], media: MediaResolver, *, key_prefix: str) -> None:
    """The objects the columns leave out (texts, images without regions ...), drawn once, in a bordered box;
    nothing at all when the columns draw every object (an image with boxes), rather than an empty box."""
    shared = _shared_objects(cfg)
    if not shared:
        return
    ctx = task_context(cfg, data, media, key_prefix=key_prefix, disabled=True)
    with st.container(border=True):
        for obj in shared:
            OBJECT_VIEWS[obj.tag](obj, ctx)


def render_read_only(
    cfg: LabelingConfig, data: dict[str, Any], result: list[dict[str, Any]], media: MediaResolver, *, key_prefix: str
) -> None:
    """One result in a column, read-only, on the columns' config (see :func:`columns_config`)."""
    render_interface(result, task_context(columns_config(cfg), data, media, key_prefix=key_prefix, disabled=True))
