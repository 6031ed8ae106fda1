"""What every region widget shares: the region list, the label picker, per-region controls and undo.

A region widget (image boxes, text spans, audio segments ...) keeps one :class:`RegionState` per
object in ``st.session_state``. Its ``items`` are Label Studio result items: the *shape* item of each
region (``rectanglelabels``, ``labels`` ...) plus the items of per-region controls
(``perRegion="true"`` Choices/TextArea/Rating/Number/DateTime), which share the region's ``id`` and
repeat its geometry in their ``value``, as Label Studio writes them (``label-studio-formats.md`` section
b). A per-region answer is edited with its family's own input (``views/widgets/controls.py``, registered
in ``base.REGION_ANSWER_INPUTS``) in its compact mode: one implementation per control family.

Python-side changes (delete, relabel, undo) bump ``version``; widgets use it to know when their
drawing surface must be redrawn from ``items`` and to key per-region inputs, so an undo is not
overwritten by a stale input value.
"""
from __future__ import annotations

import copy
import html
import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.elements.lib.shortcut_utils import normalize_shortcut
from streamlit.errors import StreamlitAPIException

from core.config import ControlTag, LabelOption, ObjectTag, css_color
from core.results import control_question
from core.sanitize import escape_markdown
from core.tags.choices import choices_attrs
from views.widgets import controls as _controls  # noqa: F401 - registers the per-region answer inputs
from views.widgets.base import REGION_ANSWER_INPUTS, ResultItem, WidgetContext, answers_per_region
from views.widgets.selection import region_control_shown

REGION_ID_ALPHABET = string.ascii_letters + string.digits + "_-"
REGION_ID_LENGTH = 10
UNDO_DEPTH = 30
# Label Studio's default label colours are random; a fixed palette keeps colours stable across reruns.
PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
           "#fabed4", "#469990", "#9a6324", "#800000", "#808000", "#000075", "#a9a9a9")
SEP = "\x1f"


def new_region_id() -> str:
    """A fresh Label Studio region id: 10 characters of ``[A-Za-z0-9_-]``."""
    return "".join(secrets.choice(REGION_ID_ALPHABET) for _ in range(REGION_ID_LENGTH))


def split_controls(controls: list[ControlTag]) -> tuple[list[ControlTag], list[ControlTag]]:
    """``(region controls, per-region controls)`` among the controls pointed at one object."""
    regions = [c for c in controls if c.kind.is_region]
    per_region = [c for c in controls if answers_per_region(c)]
    return regions, per_region


def label_colors(controls: list[ControlTag]) -> dict[tuple[str, str], str]:
    """``{(control, label value): css colour}``: the Label's ``background`` or the next palette colour.

    Both config colours are plain colours or unset (``core.config.colors``), so they are safe in CSS."""
    colors: dict[tuple[str, str], str] = {}
    index = 0
    for control in controls:
        for option in control.all_options():
            colors[(control.name, option.value)] = option.background or PALETTE[index % len(PALETTE)]
            index += 1
        if not control.options:  # unlabelled tools (Rectangle, Polygon ...) get one colour each
            colors[(control.name, "")] = css_color(control.get("fillColor")) or PALETTE[index % len(PALETTE)]
            index += 1
    return colors


def with_alpha(color: str, alpha: float) -> str:
    """``rgba()`` of a ``#rgb``/``#rrggbb`` colour; other CSS colours are returned unchanged."""
    value = color.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6 or any(c not in string.hexdigits for c in value):
        return color
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def streamlit_shortcut(hotkey: str | None) -> str | None:
    """A Label Studio hotkey (``"1"``, ``"shift+a"``) as an ``st.button`` shortcut, or None if unusable.

    Streamlit reserves C and R and rejects punctuation; such hotkeys are shown but not bound.
    """
    if not hotkey or "," in hotkey:
        return None
    try:
        normalize_shortcut(hotkey.replace(" ", ""))
    except StreamlitAPIException:
        return None
    return "+".join(part[:1].upper() + part[1:] for part in hotkey.replace(" ", "").split("+"))


def option_by_result(control: ControlTag, result_value: str) -> LabelOption | None:
    for option in control.all_options():
        if option.result_value == result_value or option.value == result_value:
            return option
    return None


def item_labels(item: ResultItem, control: ControlTag | None) -> list[str]:
    key = control.kind.value_key if control else None
    value = item.get("value", {}).get(key, []) if key else []
    return [str(v) for v in value] if isinstance(value, list) else []


def region_color(item: ResultItem, controls_by_name: dict[str, ControlTag],
                 colors: dict[tuple[str, str], str]) -> str:
    control = controls_by_name.get(item.get("from_name", ""))
    if control is None:
        return PALETTE[0]
    for label in item_labels(item, control):
        option = option_by_result(control, label)
        if option is not None:
            return colors.get((control.name, option.value), PALETTE[0])
    return colors.get((control.name, ""), PALETTE[0])


def items_signature(items: list[ResultItem]) -> str:
    return json.dumps(items, sort_keys=True, default=str)


@dataclass
class RegionState:
    """The editing state of one object's regions (UI state, reset when the task changes)."""

    items: list[ResultItem]
    source_sig: str
    returned_sig: str = ""
    version: int = 0
    selected: str | None = None
    undo: list[list[ResultItem]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # widget-specific (canvas snapshot ...)

    def snapshot(self) -> None:
        """Remember the items before a change, for the server-side undo."""
        self.undo.append(copy.deepcopy(self.items))
        del self.undo[:-UNDO_DEPTH]

    def changed_by_python(self) -> None:
        self.version += 1

    def region_ids(self, region_names: set[str]) -> list[str]:
        seen: dict[str, None] = {}
        for item in self.items:
            if item.get("from_name") in region_names and item.get("id"):
                seen.setdefault(item["id"], None)
        return list(seen)

    def shape_item(self, region_id: str, region_names: set[str]) -> ResultItem | None:
        for item in self.items:
            if item.get("id") == region_id and item.get("from_name") in region_names:
                return item
        return None

    def set_geometry(self, region_id: str, geometry: dict[str, Any]) -> None:
        """Write new geometry into every item of the region (shape and per-region items)."""
        for item in self.items:
            if item.get("id") == region_id:
                item["value"].update(copy.deepcopy(geometry))

    def remove(self, region_id: str) -> None:
        self.items = [item for item in self.items if item.get("id") != region_id]
        if self.selected == region_id:
            self.selected = None


def load_state(ctx: WidgetContext, obj: ObjectTag, controls: list[ControlTag],
               items: list[ResultItem]) -> tuple[str, RegionState]:
    """The session state key and :class:`RegionState` of ``obj``, (re)started from ``items``.

    The state restarts when ``items`` differ both from what it started from and from what the widget
    returned last (the page loaded another draft or a prediction); otherwise edits survive reruns
    whether the page passes back our last result or keeps passing the original items.
    """
    return load_state_for_names(ctx, obj, {c.name for c in controls}, items)


def load_state_for_names(
    ctx: WidgetContext, obj: ObjectTag, names: set[str], items: list[ResultItem]
) -> tuple[str, RegionState]:
    """:func:`load_state` for the items whose ``from_name`` is in ``names`` (the chat widget's own
    messages plus its per-message answers)."""
    key = ctx.key(obj.name, "regions")
    mine = [copy.deepcopy(i) for i in items if i.get("from_name") in names]
    sig = items_signature(mine)
    state: RegionState | None = st.session_state.get(key)
    if state is None or sig not in (state.source_sig, state.returned_sig):
        for item in mine:
            item.setdefault("id", new_region_id())
            item.setdefault("to_name", obj.name)
            item.setdefault("value", {})
        version = state.version + 1 if state else 0
        state = RegionState(items=mine, source_sig=sig, version=version)
        st.session_state[key] = state
    return key, state


def finish(state: RegionState) -> list[ResultItem]:
    """The items to hand back to the page (a copy), remembered to recognise them next run."""
    out = copy.deepcopy(state.items)
    state.returned_sig = items_signature(out)
    return out


# --- label picker ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """What a new region is drawn with: a control and, for ``*Labels`` controls, one of its labels."""

    control: ControlTag
    option: LabelOption | None

    @property
    def label_value(self) -> str:
        return self.option.value if self.option else ""

    @property
    def result_labels(self) -> list[str]:
        return [self.option.result_value] if self.option else []


def _targets(region_controls: list[ControlTag]) -> list[Target]:
    out: list[Target] = []
    for control in region_controls:
        options = control.all_options()
        if options:
            out.extend(Target(control, option) for option in options)
        else:
            out.append(Target(control, None))
    return out


def _set_target(key: str, value: str) -> None:
    st.session_state[key] = value


def pick_target(obj: ObjectTag, region_controls: list[ControlTag], ctx: WidgetContext,
                colors: dict[tuple[str, str], str], *, caption: str = "Label") -> Target | None:
    """Buttons for every label (with its hotkey) of every region control; returns the active one.

    The active button is primary; a coloured left border shows each label's colour. Dynamic labels
    (``value="$labels"``) are not read here yet: such a control draws unlabelled regions.
    """
    targets = _targets(region_controls)
    if not targets:
        return None
    active_key = ctx.key(obj.name, "target")
    ids = [f"{t.control.name}{SEP}{t.label_value}" for t in targets]
    if st.session_state.get(active_key) not in ids:
        st.session_state[active_key] = ids[0]
    active = targets[ids.index(st.session_state[active_key])]
    if ctx.disabled:
        return active
    css = []
    with st.container(horizontal=True, gap="small"):
        st.markdown(f"**{caption}:**")
        for target, target_id in zip(targets, ids, strict=True):
            button_key = ctx.key(obj.name, "target", target.control.name, target.label_value or "_tool")
            color = colors.get((target.control.name, target.label_value), PALETTE[0])
            hotkey = ctx.hotkeys.get((target.control.name, target.label_value)) or (
                target.option.hotkey if target.option else None)
            shortcut = streamlit_shortcut(hotkey)
            text = target.option.value if target.option else target.control.name
            hint = target.option.get("hint") if target.option else None
            st.button(text, key=button_key, type="primary" if target is active else "secondary",
                      shortcut=shortcut, help=hint or None, on_click=_set_target,
                      args=(active_key, target_id))
            css_class = "st-key-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in button_key)
            css.append(f".{css_class} button {{ border-left: 0.45rem solid {html.escape(color)}; }}")
    st.html("<style>" + "\n".join(css) + "</style>")
    return active


# --- region list, selected region, undo ----------------------------------------------------------

def _select(state_key: str, region_id: str | None) -> None:
    state: RegionState = st.session_state[state_key]
    state.selected = None if state.selected == region_id else region_id
    state.changed_by_python()


def _delete(state_key: str, region_id: str) -> None:
    state: RegionState = st.session_state[state_key]
    state.snapshot()
    state.remove(region_id)
    state.changed_by_python()


def _undo(state_key: str) -> None:
    state: RegionState = st.session_state[state_key]
    if state.undo:
        state.items = state.undo.pop()
        if state.selected and not any(i.get("id") == state.selected for i in state.items):
            state.selected = None
        state.changed_by_python()


def _first_region_object(ctx: WidgetContext) -> str | None:
    """The object whose Undo button gets Ctrl+Z: one key can serve one button, and a config with regions on
    several objects (two images) gives it to the first of them."""
    for name, obj in ctx.cfg.objects.items():
        if any(name in control.to_names and (control.kind.is_region or answers_per_region(control))
               for control in ctx.cfg.controls.values()):
            return name
    return None


def region_list(obj: ObjectTag, state_key: str, state: RegionState, region_controls: list[ControlTag],
                ctx: WidgetContext, colors: dict[tuple[str, str], str],
                describe: Callable[[ResultItem], str]) -> None:
    """One row per region: colour, labels and ``describe(item)``, with Select and Delete buttons."""
    names = {c.name for c in region_controls}
    by_name = {c.name: c for c in region_controls}
    ids = state.region_ids(names)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"**Regions ({len(ids)})**")
        if not ctx.disabled:
            st.button("Undo last change", key=ctx.key(obj.name, "undo"), icon=":material/undo:",
                      disabled=not state.undo, on_click=_undo, args=(state_key,),
                      shortcut="Ctrl+Z" if obj.name == _first_region_object(ctx) else None,
                      help="Server-side undo of the last change (drawing, move, delete, label, answer)")
    if not ids:
        st.caption("No regions yet.")
        return
    for number, region_id in enumerate(ids, start=1):
        item = state.shape_item(region_id, names)
        if item is None:
            continue
        control = by_name.get(item.get("from_name", ""))
        color = region_color(item, by_name, colors)
        labels = ", ".join(item_labels(item, control)) or (control.name if control else "")
        selected = region_id == state.selected
        with st.container(horizontal=True, vertical_alignment="center",
                          key=ctx.key(obj.name, "row", region_id)):
            swatch = (f'<span style="display:inline-block;width:0.8rem;height:0.8rem;border-radius:3px;'
                      f'margin-right:0.4rem;background:{html.escape(color)}"></span>')
            # Labels and the span text come from the task: Markdown-escaped, they stay text (no link, no image
            # fetched) even in this HTML-enabled Markdown.
            st.markdown(f"{swatch}{'**' if selected else ''}#{number} {escape_markdown(labels)}"
                        f"{'**' if selected else ''} <small>{escape_markdown(describe(item))}</small>",
                        unsafe_allow_html=True, width="stretch")
            st.button("Selected" if selected else "Select", key=ctx.key(obj.name, "sel", region_id),
                      type="primary" if selected else "secondary", on_click=_select,
                      args=(state_key, region_id))
            if not ctx.disabled:
                st.button("Delete", key=ctx.key(obj.name, "del", region_id), icon=":material/delete:",
                          on_click=_delete, args=(state_key, region_id))


def _geometry(item: ResultItem, control: ControlTag | None) -> dict[str, Any]:
    label_key = control.kind.value_key if control else None
    return {k: v for k, v in item.get("value", {}).items() if k != label_key}


def selected_region_panel(obj: ObjectTag, state_key: str, state: RegionState,
                          region_controls: list[ControlTag], per_region_controls: list[ControlTag],
                          ctx: WidgetContext, *, extra_fields: dict[str, Any] | None = None) -> None:
    """Labels and per-region answers of the selected region; writes changes into ``state.items``.

    Per-region results share the region ``id`` and carry its geometry in ``value`` plus
    ``extra_fields`` (``original_width`` ... for images, ``original_length`` for audio).
    """
    names = {c.name for c in region_controls}
    by_name = {c.name: c for c in region_controls}
    if state.selected is None:
        if per_region_controls:
            st.caption("Select a region to answer " + ", ".join(
                f"“{escape_markdown(control_question(ctx.cfg, c.name))}”" for c in per_region_controls) + " for it.")
        return
    item = state.shape_item(state.selected, names)
    if item is None:
        state.selected = None
        return
    control = by_name.get(item.get("from_name", ""))
    version = state.version
    with st.container(border=True, key=ctx.key(obj.name, "panel")):
        if control is not None and control.options:
            options = [o.result_value for o in control.all_options()]
            current = item_labels(item, control)
            key = ctx.key(obj.name, "relabel", state.selected, version)
            if choices_attrs(control).multiple:  # a Labels tag's choice="multiple", read as Choices read it
                picked = st.multiselect("Labels of the selected region", options,
                                        default=[c for c in current if c in options], key=key,
                                        disabled=ctx.disabled)
            else:
                one = st.selectbox("Label of the selected region", options,
                                   index=options.index(current[0]) if current and current[0] in options
                                   else None, key=key, disabled=ctx.disabled)
                picked = [one] if one else []
            if picked and picked != current and not ctx.disabled and control.kind.value_key:
                state.snapshot()
                item["value"][control.kind.value_key] = picked
                state.changed_by_python()
        geometry = _geometry(item, control)
        for per in per_region_controls:
            # --- visibleWhen (whenTagName/whenLabelValue, nested choice-selected) for this region ---
            if not region_control_shown(ctx, per.name, state.items, state.selected):
                continue
            # --- end visibleWhen ---
            edit_region_answer(
                state, ctx, obj, per, state.selected, version=version,
                value_base=geometry, extra=extra_fields or {},
            )


def edit_region_answer(
    state: RegionState,
    ctx: WidgetContext,
    obj: ObjectTag,
    control: ControlTag,
    region_id: str,
    *,
    version: int,
    value_base: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    """Show one per-region control for the region ``region_id`` and apply its answer to ``state``.

    A new answer becomes a result item sharing the region's id (how Label Studio links per-region
    attributes to their region), with ``value_base`` (the region's geometry, for boxes) and ``extra`` keys.
    """
    answer_input = REGION_ANSWER_INPUTS.get(control.tag)
    if answer_input is None:
        st.warning(f"Quorum cannot answer {control.tag} {control.name!r} per region yet.")
        return
    value_key = control.kind.value_key or "value"
    existing = next((i for i in state.items if i.get("id") == region_id and i.get("from_name") == control.name), None)
    current = existing["value"].get(value_key) if existing else None
    answer = answer_input(control, current, ctx.key(obj.name, "pr", control.name, region_id, version), ctx)
    if ctx.disabled or answer == current:
        return
    state.snapshot()
    if answer is None:
        state.items = [i for i in state.items if i is not existing]
    elif existing is not None:
        existing["value"][value_key] = answer
    else:
        state.items.append(
            {"id": region_id, "from_name": control.name, "to_name": obj.name, "type": control.kind.result_type,
             "value": {**copy.deepcopy(value_base), value_key: answer}, "origin": "manual", **extra}
        )
