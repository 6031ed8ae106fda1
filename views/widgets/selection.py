"""Which region is selected and which tags ``visibleWhen`` shows, for the interface walker.

Label Studio hides a tag (a ``View`` block or a control) until its ``visibleWhen`` holds:
``choice-selected``/``choice-unselected`` read the current answers, ``region-selected``/
``no-region-selected`` the selected region (the pure rules: ``core/config/visibility.py``). The walker
(``views/widgets/interface.py``) asks :func:`node_shown` for every tag, with the answers as they stand
in this run, and :func:`current_selection` gathers the selected region of every region widget:

- a widget may *publish* its selection in session state (under ``selection_key(ctx, object name)``),
  as the Chat does (a message's ``role`` feeds ``whenRole``); :func:`published_selection` reads it back;
- otherwise the widget's :class:`~views.widgets.components.region_tools.RegionState` (``selected``
  and the selected region's shape item) is read.

Selection changes come from button callbacks, which run before the script, so the walker sees them
even for blocks laid out above the object; what changes during a run is caught by the walker's
end-of-run check.

Region widgets listed in :data:`PANEL_BLOCK_OBJECTS` show the ``region-selected`` blocks that hold
their per-region controls *inside* their selected-region panel (headers, nested views and the
per-region inputs together, next to the selected message); the walker skips those blocks. Other
region widgets ask :func:`region_control_shown` before showing a per-region control for a region.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import LabelingConfig, TagNode
from core.config.visibility import SelectedRegion, condition_holds, condition_of, region_labels, shown_for_region
from views.widgets.base import ResultItem, WidgetContext, answers_per_region

PANEL_BLOCK_OBJECTS: set[str] = set()
"""Object tags whose region widget renders the ``visibleWhen="region-selected"`` blocks it owns."""

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
        if control is not None and answers_per_region(control):
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


def _region_state_selection(ctx: WidgetContext, object_name: str) -> SelectedRegion | None:
    """The selected region of a widget that keeps a ``RegionState`` (duck-typed: no import cycle)."""
    state = st.session_state.get(ctx.key(object_name, "regions"))
    region_id = getattr(state, "selected", None)
    if not region_id:
        return None
    items: list[ResultItem] = list(getattr(state, "items", []))
    shape = next((i for i in items if i.get("id") == region_id and (c := ctx.cfg.controls.get(str(i.get("from_name"))))
                  is not None and c.kind.is_region), None)
    return SelectedRegion(
        id=str(region_id),
        from_name=str(shape.get("from_name")) if shape else "",
        to_name=object_name,
        labels=region_labels(ctx.cfg, items, str(region_id)),
    )


def current_selection(ctx: WidgetContext) -> list[SelectedRegion]:
    """The selected regions of every object's widget (normally none or one), in config order."""
    out: list[SelectedRegion] = []
    for name in ctx.cfg.objects:
        known, published = published_selection(ctx, name)
        if known:
            if published:
                out.append(SelectedRegion(id=str(published.get("id")), from_name=name, to_name=name,
                                          labels=tuple(published.get("labels") or ()), role=published.get("role")))
            continue
        found = _region_state_selection(ctx, name)
        if found is not None:
            out.append(found)
    return out


def node_shown(node: TagNode, ctx: WidgetContext, answers: list[ResultItem],
               selection: list[SelectedRegion]) -> bool:
    """Whether the tag's own ``visibleWhen`` holds for ``answers`` and ``selection`` (its ancestors are
    the walker's business: it does not descend into a hidden tag)."""
    return condition_holds(ctx.cfg, condition_of(node), answers, selection)


LIVE_ANSWERS = "visibility_answers"
"""``ctx.key(LIVE_ANSWERS)``: the answers as the walker last knew them (for per-region panels)."""


def region_control_shown(ctx: WidgetContext, control_name: str, items: list[ResultItem], region_id: str) -> bool:
    """Whether a per-region control is shown for region ``region_id`` of a region widget.

    ``items``: the widget's own items (the freshest answers of its regions); the other answers are the
    walker's (:data:`LIVE_ANSWERS`).
    """
    own = {i.get("from_name") for i in items}
    answers = [i for i in st.session_state.get(ctx.key(LIVE_ANSWERS), []) if i.get("from_name") not in own]
    answers += items
    shape = next((i for i in items if i.get("id") == region_id and (c := ctx.cfg.controls.get(str(i.get("from_name"))))
                  is not None and c.kind.is_region), None)
    region = SelectedRegion(id=region_id, from_name=str(shape.get("from_name")) if shape else "",
                            to_name=str(shape.get("to_name")) if shape else "",
                            labels=region_labels(ctx.cfg, items, region_id))
    return shown_for_region(ctx.cfg, control_name, answers, region)
