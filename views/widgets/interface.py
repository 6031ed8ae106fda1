"""Renders a whole labeling interface: walks the config's tag tree and calls the registered widgets.

Whole-task controls (Choices, TextArea ...) get the result items whose ``from_name`` is theirs; region
controls (and per-region attributes) are handed, together, to the region widget of the object they
point at, which draws the object and its regions. Objects that make results themselves (Chat) always
get their region widget. The function returns the new result: the union of what every widget
returned, in config order.

``visibleWhen`` on any tag (``core/config/visibility.py``) is evaluated live: each tag is checked when
the walk reaches it, against the answers of the controls drawn so far in this run (later ones: as the
last run left them) and the selected region (``views/widgets/selection.py``). A hidden tag is not drawn.
Answers of controls hidden by a choice condition are dropped from the result (Label Studio does not
submit them); those hidden only because of the region selection are carried over unchanged. When the
answers drawn later in the run change what an earlier tag should show, the walker reruns once.
"""
from __future__ import annotations

import dataclasses
import json

import streamlit as st

from core.config import ControlTag, TagNode
from core.config.visibility import NodePath, hidden_paths, submittable
from core.config.registry import TagCategory
from core.sanitize import escape_text
# Each widget module registers its renderers on import (views/widgets/base.py).
from views.widgets import audio_regions as _audio  # noqa: F401
from views.widgets import chat_regions as _chat  # noqa: F401
from views.widgets import controls as _controls  # noqa: F401
from views.widgets import image_regions as _image  # noqa: F401
from views.widgets import objects as _objects  # noqa: F401
from views.widgets import text_regions as _text  # noqa: F401
from views.widgets import timeseries_regions as _timeseries  # noqa: F401
from views.widgets import video_regions as _video  # noqa: F401
from views.widgets.base import (
    CONTROL_WIDGETS,
    OBJECT_VIEWS,
    REGION_WIDGETS,
    ResultItem,
    WidgetContext,
    answers_per_region,
)
from views.widgets.selection import LIVE_ANSWERS, block_owner, current_selection, node_shown

RELATION_TYPE = "relation"


def drawn_on_object(control: ControlTag) -> bool:
    """Region controls and per-region attributes are drawn by their object's region widget."""
    return control.kind.is_region or answers_per_region(control)


def links_regions(control: ControlTag) -> bool:
    """Relations: their items link two regions of the annotation (``type: relation``), drawn last."""
    return control.kind.result_type == RELATION_TYPE


def controls_by_object(controls: dict[str, ControlTag]) -> dict[str, list[ControlTag]]:
    out: dict[str, list[ControlTag]] = {}
    for control in controls.values():
        if drawn_on_object(control):
            for name in control.to_names:
                out.setdefault(name, []).append(control)
    return out


def items_of(control: ControlTag, result: list[ResultItem]) -> list[ResultItem]:
    if links_regions(control):
        return [item for item in result if item.get("type") == RELATION_TYPE]
    return [item for item in result if item.get("from_name") == control.name]


def _signature(items: object) -> str:
    return json.dumps(items, sort_keys=True, default=str)


def _starting_answers(ctx: WidgetContext, result: list[ResultItem]) -> list[ResultItem]:
    """The answers to read conditions from before a control is drawn in this run.

    The last run's result when the page passes back what it passed then, or that result (a page that
    saves the draft after the walk sees it a run late); a different ``result`` (another draft, an
    accepted pre-label) wins.
    """
    stored = st.session_state.get(ctx.key("visibility_last"))
    if stored is not None and _signature(result) in (stored[0], stored[2]):
        return list(stored[1])
    return list(result)


def _names_under(node: TagNode) -> set[str]:
    return {n.name for n in node.walk() if n.kind.is_control and n.name}


def render_interface(result: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    """Show the task through the config's interface; return the labeler's result as it stands now."""
    cfg = ctx.cfg
    on_object = controls_by_object(cfg.controls)
    new_items: list[ResultItem] = []
    relations: list[ControlTag] = []
    before = _starting_answers(ctx, result)
    selection = current_selection(ctx)
    drawn: set[str] = set()     # controls whose widget ran in this run (their answers are in new_items)
    hidden: set[str] = set()    # controls under a hidden tag
    decisions: dict[NodePath, bool] = {}  # conditioned tags reached by the walk -> shown?
    owned: set[NodePath] = set()          # region-selected blocks a region widget draws itself (Chat)

    def answers_now() -> list[ResultItem]:
        later = [i for i in before if i.get("from_name") not in drawn and i.get("from_name") not in hidden]
        return new_items + later

    def shown(node: TagNode, path: NodePath) -> bool:
        if block_owner(cfg, node) is not None:
            owned.add(path)
            return False  # shown by its region widget, next to the selected region
        if node.get("visibleWhen") is None and node.get("whenChoiceValue") is None:
            return True
        visible = node_shown(node, ctx, answers_now(), selection)
        decisions[path] = visible
        if not visible:
            hidden.update(_names_under(node))
        return visible

    def render(node: TagNode, path: NodePath = ()) -> None:
        tag = node.tag
        kind = node.kind
        if not shown(node, path):
            return
        if tag == "View":
            for index, child in enumerate(node.children):
                render(child, (*path, index))
        elif tag == "Collapse":
            for index, panel in enumerate(node.children):
                if not shown(panel, (*path, index)):
                    continue
                with st.expander(escape_text(panel.get("value") or "Details"), expanded=bool(panel.get("open"))):
                    for child_index, child in enumerate(panel.children):
                        render(child, (*path, index, child_index))
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
                st.session_state[ctx.key(LIVE_ANSWERS)] = answers_now()  # for its per-region panel
                new_items.extend(REGION_WIDGETS[obj.tag](obj, region_controls, items, ctx))
                drawn.update(c.name for c in region_controls)
            elif obj.tag in OBJECT_VIEWS:
                OBJECT_VIEWS[obj.tag](obj, ctx)
                for control in region_controls:
                    st.error(f"Quorum has no widget for {control.tag} on {obj.tag} yet.")
        elif kind.category is TagCategory.CONTROL:
            control = cfg.controls.get(node.name or "") or (
                next((c for c in cfg.controls.values() if links_regions(c)), None)
                if kind.result_type == RELATION_TYPE else None
            )
            if control is None or drawn_on_object(control):
                return
            if links_regions(control):
                relations.append(control)
                return
            renderer = CONTROL_WIDGETS.get(control.tag)
            if renderer is None:
                st.error(f"Quorum has no widget for {control.tag} yet.")
                return
            new_items.extend(renderer(control, items_of(control, result), ctx))
            drawn.add(control.name)
        # Style, Filter and child tags render nothing on their own.

    render(cfg.root)
    for control in relations:  # relations link regions, so they come after every region is known
        link_ctx = dataclasses.replace(ctx, all_items=new_items)
        new_items.extend(CONTROL_WIDGETS[control.tag](control, items_of(control, result), link_ctx))
    return _settle_visibility(ctx, result, before, new_items, hidden - drawn, decisions, owned)


def _settle_visibility(ctx: WidgetContext, result: list[ResultItem], before: list[ResultItem],
                       new_items: list[ResultItem], hidden: set[str], decisions: dict[NodePath, bool],
                       owned: set[NodePath]) -> list[ResultItem]:
    """The result to hand back: hidden controls' answers carried over, then what Label Studio would not
    submit dropped; one rerun when the tags shown no longer match the answers as they now stand."""
    cfg = ctx.cfg
    carried = [i for i in before if i.get("from_name") in hidden
               and (c := cfg.controls.get(str(i.get("from_name")))) is not None and not drawn_on_object(c)]
    final = submittable(cfg, new_items + carried)
    selection = current_selection(ctx)
    expected = {p for p in hidden_paths(cfg, final, selection)
                if not any(p[:len(o)] == o for o in owned)}
    walked = {p for p, visible in decisions.items() if not visible}
    guard = ctx.key("visibility_rerun")
    st.session_state[ctx.key("visibility_last")] = (_signature(result), final, _signature(final))
    st.session_state[ctx.key(LIVE_ANSWERS)] = final
    if expected != walked:
        signature = _signature([final, [vars(s) for s in selection]])
        if st.session_state.get(guard) != signature:  # once per state: a cyclic config cannot loop
            st.session_state[guard] = signature
            st.rerun()
    else:
        st.session_state.pop(guard, None)
    return final
