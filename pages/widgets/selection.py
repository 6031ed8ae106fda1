"""Which region is selected, as region widgets publish it for the interface walker (``visibleWhen``).

Label Studio shows a ``<View visibleWhen="region-selected" whenRole="assistant">`` block only while a
region (for a Chat: a message of that role) is selected, and ``visibleWhen="no-region-selected"``
only while none is. The walker lays blocks out in config order, so a region widget *publishes* its
selection in session state (under ``ctx.key(object name, "selection")``) each time it renders and
whenever a click changes it; the walker reads it back with :func:`published_selection`.

A widget that never publishes leaves those blocks as they were before ``visibleWhen`` was read: shown.

Region widgets listed in :data:`PANEL_BLOCK_OBJECTS` show the ``region-selected`` blocks that hold
their per-region controls *inside* their selected-region panel (headers, nested views and the
per-region inputs together, next to the selected message); the walker skips those blocks.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import LabelingConfig, TagNode
from pages.widgets.base import WidgetContext

PANEL_BLOCK_OBJECTS: set[str] = set()
"""Object tags whose region widget renders the ``visibleWhen="region-selected"`` blocks it owns."""

REGION_WHEN = ("region-selected", "no-region-selected")

Selection = dict[str, Any]  # {"id": region id, "role": message role or None, "labels": [...]}


def selection_key(ctx: WidgetContext, object_name: str) -> str:
    return ctx.key(object_name, "selection")


def publish_selection(key: str, selection: Selection | None) -> None:
    """Record the selected region (None: nothing selected) under ``selection_key(...)``."""
    st.session_state[key] = selection


def published_selection(ctx: WidgetContext, object_name: str) -> tuple[bool, Selection | None]:
    """``(whether the object's widget publishes a selection, the selection or None)``."""
    key = selection_key(ctx, object_name)
    if key not in st.session_state:
        return False, None
    return True, st.session_state[key]


def visible_when(node: TagNode) -> str:
    return (node.get("visibleWhen") or "").strip().lower()


def when_roles(node: TagNode) -> list[str]:
    return [r.strip() for r in (node.get("whenRole") or "").split(",") if r.strip()]


def role_matches(node: TagNode, selection: Selection | None) -> bool:
    roles = when_roles(node)
    return selection is not None and (not roles or selection.get("role") in roles)


def per_region_targets(cfg: LabelingConfig, node: TagNode) -> list[str]:
    """Objects that the per-region controls inside ``node`` answer for, in config order."""
    out: dict[str, None] = {}
    for child in node.walk():
        control = cfg.controls.get(child.name or "") if child.kind.is_control else None
        if control is not None and (control.get("perRegion") or "").strip().lower() == "true":
            for name in control.to_names:
                out.setdefault(name, None)
    return list(out)


def block_owner(cfg: LabelingConfig, node: TagNode) -> str | None:
    """The object whose region widget shows this ``region-selected`` block in its own panel, if any."""
    if visible_when(node) != "region-selected":
        return None
    for name in per_region_targets(cfg, node):
        obj = cfg.objects.get(name)
        if obj is not None and obj.tag in PANEL_BLOCK_OBJECTS:
            return name
    return None


def walker_shows(node: TagNode, ctx: WidgetContext) -> bool:
    """Whether the interface walker renders a View with ``visibleWhen`` region-(un)selected."""
    when = visible_when(node)
    if when not in REGION_WHEN:
        return True  # choice-selected etc.: not read by the walker (shown, as before)
    if block_owner(ctx.cfg, node) is not None:
        return False  # shown by its region widget, next to the selected region
    names = per_region_targets(ctx.cfg, node) or list(ctx.cfg.objects)
    published = [sel for name in names for known, sel in [published_selection(ctx, name)] if known]
    if not published:
        return True  # no widget tells us: keep the block visible
    selected = [sel for sel in published if sel]
    if when == "no-region-selected":
        return not selected
    return any(role_matches(node, sel) for sel in selected)
