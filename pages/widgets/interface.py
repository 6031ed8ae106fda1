"""Renders a whole labeling interface: walks the config's tag tree and calls the registered widgets.

Whole-task controls (Choices, TextArea ...) get the result items whose ``from_name`` is theirs; region
controls (and per-region attributes) are handed, together, to the region widget of the object they
point at, which draws the object and its regions. Objects that make results themselves (Chat) always
get their region widget. Views with ``visibleWhen="region-selected"``/``"no-region-selected"`` follow
the selection region widgets publish (``pages/widgets/selection.py``). The function returns the new
result: the union of what every widget returned, in config order.
"""
from __future__ import annotations

import streamlit as st

from core.config import ControlTag, TagNode
from core.config.registry import TagCategory
from core.sanitize import escape_text
# Each widget module registers its renderers on import (pages/widgets/base.py).
from pages.widgets import audio_regions as _audio  # noqa: F401
from pages.widgets import chat_regions as _chat  # noqa: F401
from pages.widgets import controls as _controls  # noqa: F401
from pages.widgets import image_regions as _image  # noqa: F401
from pages.widgets import objects as _objects  # noqa: F401
from pages.widgets import text_regions as _text  # noqa: F401
from pages.widgets import timeseries_regions as _timeseries  # noqa: F401
from pages.widgets.base import CONTROL_WIDGETS, OBJECT_VIEWS, REGION_WIDGETS, ResultItem, WidgetContext
from pages.widgets.selection import walker_shows

RELATION_TYPE = "relation"


def is_per_region(control: ControlTag) -> bool:
    return (control.get("perRegion") or "false").lower() == "true"


def drawn_on_object(control: ControlTag) -> bool:
    """Region controls and per-region attributes are drawn by their object's region widget."""
    return control.kind.is_region or is_per_region(control)


def controls_by_object(controls: dict[str, ControlTag]) -> dict[str, list[ControlTag]]:
    out: dict[str, list[ControlTag]] = {}
    for control in controls.values():
        if drawn_on_object(control):
            for name in control.to_names:
                out.setdefault(name, []).append(control)
    return out


def items_of(control: ControlTag, result: list[ResultItem]) -> list[ResultItem]:
    if control.tag == "Relations":
        return [item for item in result if item.get("type") == RELATION_TYPE]
    return [item for item in result if item.get("from_name") == control.name]


def render_interface(result: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    """Show the task through the config's interface; return the labeler's result as it stands now."""
    cfg = ctx.cfg
    on_object = controls_by_object(cfg.controls)
    new_items: list[ResultItem] = []
    relations: list[ResultItem] = []

    def render(node: TagNode) -> None:
        tag = node.tag
        kind = node.kind
        if tag == "View":
            if not walker_shows(node, ctx):  # visibleWhen="region-selected" / "no-region-selected"
                return
            for child in node.children:
                render(child)
        elif tag == "Collapse":
            for panel in node.children:
                with st.expander(escape_text(panel.get("value") or "Details"), expanded=bool(panel.get("open"))):
                    for child in panel.children:
                        render(child)
        elif tag == "Markdown":
            st.markdown(node.get("value") or node.text)
        elif tag == "Header":
            OBJECT_VIEWS["Header"](node, ctx)  # type: ignore[arg-type]
        elif kind.category is TagCategory.OBJECT:
            obj = cfg.objects.get(node.name or "")
            if obj is None:
                return
            region_controls = on_object.get(obj.name, [])
            # Objects that make results themselves (Chat: added messages, from_name = its own name)
            # always go to their region widget, with their own items.
            makes_results = kind.result_type is not None
            if (region_controls or makes_results) and obj.tag in REGION_WIDGETS:
                items = [i for c in region_controls for i in items_of(c, result)]
                if makes_results:
                    items += [i for i in result if i.get("from_name") == obj.name and obj.name not in cfg.controls]
                new_items.extend(REGION_WIDGETS[obj.tag](obj, region_controls, items, ctx))
            elif obj.tag in OBJECT_VIEWS:
                OBJECT_VIEWS[obj.tag](obj, ctx)
                for control in region_controls:
                    st.error(f"Quorum has no widget for {control.tag} on {obj.tag} yet.")
        elif kind.category is TagCategory.CONTROL:
            control = cfg.controls.get(node.name or "") or (
                next((c for c in cfg.controls.values() if c.tag == "Relations"), None) if tag == "Relations" else None
            )
            if control is None or drawn_on_object(control):
                return
            if control.tag == "Relations":
                relations.append(control)  # type: ignore[arg-type]
                return
            renderer = CONTROL_WIDGETS.get(control.tag)
            if renderer is None:
                st.error(f"Quorum has no widget for {control.tag} yet.")
                return
            new_items.extend(renderer(control, items_of(control, result), ctx))
        # Style, Filter and child tags render nothing on their own.

    render(cfg.root)
    for control in relations:  # relations link regions, so they come after every region is known
        link_ctx = WidgetContext(
            cfg=ctx.cfg, data=ctx.data, key_prefix=ctx.key_prefix, hotkeys=ctx.hotkeys,
            resolve_media=ctx.resolve_media, disabled=ctx.disabled, all_items=new_items,
        )
        new_items.extend(CONTROL_WIDGETS["Relations"](control, items_of(control, result), link_ctx))  # type: ignore[arg-type]
    return new_items
