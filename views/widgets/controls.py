"""Whole-task control widgets: Choices, TextArea, Rating, Number, DateTime, Taxonomy, Pairwise, Ranker.

Each renderer takes the control's current result items and returns its new ones (see ``base.py``).
Choices are buttons with keyboard shortcuts (the config's ``hotkey`` or Label Studio's automatic keys),
so a labeler can classify item after item without the mouse.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from core.config import ControlTag, LabelOption, resolve_value
from core.config.visibility import controls_read_by_conditions
from core.sanitize import escape_markdown  # the one rule; pages import it from here too
from views.widgets.base import ResultItem, WidgetContext, control_widget, first_value, result_item
from views.widgets.components.browser_answers import choice_buttons

# Streamlit reserves these single keys for its own menu (streamlit-notes.md section 6).
RESERVED_KEYS = frozenset({"c", "r"})
MAX_BUTTON_CHOICES = 12


def _shortcut(ctx: WidgetContext, control: ControlTag, option: LabelOption) -> str | None:
    key = ctx.hotkeys.get((control.name, option.value)) or option.hotkey
    if not key or key.lower() in RESERVED_KEYS or len(key) != 1 or not key.isalnum():
        return None
    return key


def _label(control: ControlTag, option: LabelOption) -> str:
    return option.value if not option.get("hint") else f"{option.value}"


def _state(ctx: WidgetContext, control: ControlTag, initial: Any) -> str:
    """The session-state key holding this control's value, seeded from the stored result once."""
    key = ctx.key("ctl", control.name)
    if key not in st.session_state:
        st.session_state[key] = initial
    return key


def _choice_options(control: ControlTag, ctx: WidgetContext) -> list[LabelOption]:
    """Static options, or dynamic ones read from the task (``<Choices value="$options">``)."""
    if not control.is_dynamic:
        return list(control.options)
    raw = resolve_value(control.get("value", "") or "", ctx.data)
    options = []
    for entry in raw if isinstance(raw, list) else []:
        value = entry.get("value") if isinstance(entry, dict) else entry
        if value is not None:
            options.append(LabelOption(value=str(value), alias=None, hotkey=None, background=None))
    return options


def _title(control: ControlTag) -> None:
    caption = control.get("label") or control.get("title")
    if caption:
        st.markdown(f"**{caption}**")


@control_widget("Choices")
def render_choices(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    options = _choice_options(control, ctx)
    multiple = (control.get("choice") or "single") == "multiple"
    required = (control.get("required") or "false").lower() == "true"
    selected: list[str] = list(first_value(items, "choices", []) or [])
    key = _state(ctx, control, selected)
    _title(control)
    if ctx.disabled:  # read-only (review, preview): the answer as text, readable in a narrow column
        chosen = list(st.session_state[key])
        known = {o.result_value for o in options}
        # An answer made under an earlier config version may use a choice since removed: shown, and said so.
        gone = [f":orange-background[**{escape_markdown(str(value))}** (not in the current config)]"
                for value in chosen if value not in known]
        st.markdown(
            " ".join(
                [f":blue-background[**{escape_markdown(o.result_value)}**]" if o.result_value in chosen
                 else f":gray[{escape_markdown(o.result_value)}]" for o in options] + gone
            )
            or ":gray[(no options)]"
        )
        return [result_item(control, {"choices": list(st.session_state[key])})] if st.session_state[key] else []
    inline = (control.get("showInline") or "true").lower() != "false" or (control.get("layout") == "inline")
    if ctx.task_id is not None and len(options) <= MAX_BUTTON_CHOICES:
        return _choices_in_browser(control, options, ctx, key, multiple=multiple, required=required, inline=inline)
    if len(options) > MAX_BUTTON_CHOICES:
        values = [o.result_value for o in options]
        if multiple:
            st.multiselect(control.name, values, key=key, disabled=ctx.disabled, label_visibility="collapsed")
        else:
            current = st.session_state[key][0] if st.session_state[key] else None
            picked = st.selectbox(
                control.name, values, index=values.index(current) if current in values else None,
                key=key + "_select", disabled=ctx.disabled, label_visibility="collapsed", placeholder="Choose ...",
            )
            st.session_state[key] = [picked] if picked else []
    else:
        columns = st.columns(len(options)) if inline and options else [st.container() for _ in options]
        for column, option in zip(columns, options, strict=True):
            value = option.result_value
            chosen = value in st.session_state[key]
            shortcut = _shortcut(ctx, control, option)

            def toggle(value: str = value) -> None:
                if key not in st.session_state:  # a click that arrives after the task was left
                    return
                current = list(st.session_state[key])
                if value in current:
                    if not multiple and required:
                        return  # a required single choice is changed, never emptied, by its key
                    current.remove(value)
                elif multiple:
                    current.append(value)
                else:
                    current = [value]
                st.session_state[key] = current

            column.button(
                _label(control, option),
                key=ctx.key("choice", control.name, value),
                type="primary" if chosen else "secondary",
                icon=":material/check:" if chosen else None,
                shortcut=shortcut,
                on_click=toggle,
                disabled=ctx.disabled,
                help=option.get("hint"),
                width="stretch",
            )
    chosen_values = list(st.session_state[key])
    if not chosen_values:
        return []
    return [result_item(control, {"choices": chosen_values})]


def _choices_in_browser(control: ControlTag, options: list[LabelOption], ctx: WidgetContext, key: str, *,
                        multiple: bool, required: bool, inline: bool) -> list[ResultItem]:
    """The labeling page's choices: buttons and keys answered in the browser, no rerun per press.

    Live (a visibleWhen reads this control): the browser's selection comes back on each press and the
    page reruns. Otherwise the page learns the answer with the submit, so the items returned here are
    what the task started with, and the control is named in ``ctx.in_browser``.
    """
    live = control.name in controls_read_by_conditions(ctx.cfg)
    template = {k: v for k, v in result_item(control, {}).items() if k != "value"}
    chosen = choice_buttons(
        key=ctx.key("qc", control.name), task=ctx.key_prefix, task_id=int(ctx.task_id or 0), control=control.name,
        template=template,
        options=[{"value": o.result_value, "label": _label(control, o), "hotkey": _shortcut(ctx, control, o),
                  "hint": o.get("hint") or ""} for o in options],
        selected=list(st.session_state[key]), multiple=multiple, required=required, inline=inline, live=live,
    )
    if not live:
        ctx.in_browser.add(control.name)
    elif chosen is not None:
        st.session_state[key] = chosen
    return [result_item(control, {"choices": list(st.session_state[key])})] if st.session_state[key] else []


@control_widget("TextArea")
def render_textarea(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    texts = first_value(items, "text", []) or []
    initial = "\n".join(texts) if isinstance(texts, list) else str(texts)
    if not items and control.get("value"):
        initial = str(resolve_value(control.get("value") or "", ctx.data) or "")
    key = _state(ctx, control, initial)
    rows = int(control.get("rows") or 3)
    placeholder = control.get("placeholder") or ""
    # As the other controls: the question is the config's own label/title (or a Header before it), drawn by
    # _title; the field's label is the control's name, for screen readers only. The placeholder is an
    # example inside the box, as in Label Studio, and never shown a second time above it.
    _title(control)
    if rows <= 1:
        st.text_input(control.name, key=key, disabled=ctx.disabled, placeholder=placeholder,
                      label_visibility="collapsed")
    else:
        st.text_area(
            control.name, key=key, disabled=ctx.disabled, height=max(68, 28 * rows),
            placeholder=placeholder, label_visibility="collapsed",
        )
    text = str(st.session_state[key]).strip()
    return [result_item(control, {"text": [text]})] if text else []


@control_widget("Rating")
def render_rating(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    maximum = int(control.get("maxRating") or 5)
    initial = first_value(items, "rating")
    if initial is None and control.get("defaultValue"):
        initial = int(control.get("defaultValue") or 0) or None
    key = _state(ctx, control, initial)
    _title(control)
    st.segmented_control(
        control.name, list(range(1, maximum + 1)), key=key, disabled=ctx.disabled,
        format_func=lambda n: "★" * n if maximum <= 5 else str(n), label_visibility="collapsed",
    )
    rating = st.session_state[key]
    return [result_item(control, {"rating": int(rating)})] if rating else []


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


@control_widget("Number")
def render_number(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    initial = first_value(items, "number")
    if initial is None:
        initial = _float_or_none(control.get("defaultValue"))
    key = _state(ctx, control, initial)
    _title(control)
    step = _float_or_none(control.get("step")) or 1.0
    st.number_input(  # labelled as TextArea: the name for screen readers, the placeholder inside the box
        control.name,
        min_value=_float_or_none(control.get("min")),
        max_value=_float_or_none(control.get("max")),
        step=step,
        key=key,
        disabled=ctx.disabled,
        placeholder=control.get("placeholder") or None,
        label_visibility="collapsed",
    )
    number = st.session_state[key]
    if number is None:
        return []
    value: float | int = int(number) if float(number).is_integer() and step.is_integer() else float(number)
    return [result_item(control, {"number": value})]


@control_widget("DateTime")
def render_datetime(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    only = {p.strip() for p in (control.get("only") or "").split(",") if p.strip()}
    stored = first_value(items, "datetime")
    parsed: dt.datetime | None = None
    if isinstance(stored, str):
        try:
            parsed = dt.datetime.fromisoformat(stored)
        except ValueError:
            parsed = None
    _title(control)
    value: str | None = None
    if only == {"time"}:
        key = _state(ctx, control, parsed.time() if parsed else None)
        st.time_input(control.name, key=key, disabled=ctx.disabled)
        picked = st.session_state[key]
        value = picked.strftime("%H:%M") if picked else None
    elif only & {"year", "month"} and "date" not in only:
        key = _state(ctx, control, parsed.year if parsed else None)
        st.number_input(f"{control.name} (year)", min_value=1, max_value=9999, step=1, key=key, disabled=ctx.disabled)
        value = str(st.session_state[key]) if st.session_state[key] else None
    else:
        key = _state(ctx, control, parsed.date() if parsed else None)
        st.date_input(control.name, key=key, disabled=ctx.disabled, value=st.session_state[key])
        date = st.session_state[key]
        if date and "date" in only and "time" not in only:
            value = date.isoformat()
        elif date:
            time_key = _state(ctx, control, parsed.time() if parsed else dt.time(0, 0)) + "_time"
            if time_key not in st.session_state:
                st.session_state[time_key] = parsed.time() if parsed else dt.time(0, 0)
            st.time_input(f"{control.name} (time)", key=time_key, disabled=ctx.disabled)
            value = dt.datetime.combine(date, st.session_state[time_key]).isoformat(timespec="minutes")
    return [result_item(control, {"datetime": value})] if value else []


def _paths(options: tuple[LabelOption, ...], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], bool]]:
    out: list[tuple[tuple[str, ...], bool]] = []
    for option in options:
        path = (*prefix, option.result_value)
        out.append((path, not option.children))
        out.extend(_paths(option.children, path))
    return out


@control_widget("Taxonomy")
def render_taxonomy(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    separator = control.get("pathSeparator") or " / "
    leafs_only = (control.get("leafsOnly") or "false").lower() == "true"
    paths = [p for p, is_leaf in _paths(control.options) if is_leaf or not leafs_only]
    labels = {separator.join(p): list(p) for p in paths}
    stored = first_value(items, "taxonomy", []) or []
    initial = [separator.join(p) for p in stored if separator.join(p) in labels]
    key = _state(ctx, control, initial)
    _title(control)
    st.multiselect(  # labelled as TextArea: the name for screen readers, the placeholder inside the box
        control.name, list(labels), key=key, disabled=ctx.disabled, label_visibility="collapsed",
        placeholder=control.get("placeholder") or None,
        max_selections=int(control.get("maxUsages")) if (control.get("maxUsages") or "").isdigit() else None,
    )
    chosen = [labels[label] for label in st.session_state[key] if label in labels]
    return [result_item(control, {"taxonomy": chosen})] if chosen else []


@control_widget("Pairwise")
def render_pairwise(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    left_name, right_name = (list(control.to_names) + ["left", "right"])[:2]
    key = _state(ctx, control, first_value(items, "selected"))
    _title(control)
    st.segmented_control(
        "Which is better?",
        ["left", "right"],
        key=key,
        disabled=ctx.disabled,
        format_func=lambda side: f"◀ {left_name} is better" if side == "left" else f"{right_name} is better ▶",
    )
    selected = st.session_state[key]
    if not selected:
        return []
    return [result_item(control, {"selected": selected}, to_name=f"{left_name},{right_name}")]


@control_widget("Ranker")
def render_ranker(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    list_name = control.to_names[0] if control.to_names else ""
    list_obj = ctx.cfg.objects.get(list_name)
    entries = resolve_value(list_obj.value, ctx.data) if list_obj else []
    entries = entries if isinstance(entries, list) else []
    titles = {str(e.get("id")): str(e.get("title") or e.get("id")) for e in entries if isinstance(e, dict)}
    stored = first_value(items, "ranker", {}) or {}
    buckets = [(o.get("name") or o.value, o.get("title") or o.value) for o in control.options]
    _title(control)
    ranking: dict[str, list[str]] = {}
    if not buckets:
        key = _state(ctx, control, [i for i in stored.get("rank", []) if i in titles])
        st.multiselect(
            "Pick the items from best to worst", list(titles), key=key, format_func=titles.get, disabled=ctx.disabled
        )
        if st.session_state[key]:
            ranking["rank"] = list(st.session_state[key])
    else:
        for name, title in buckets:
            key = ctx.key("bucket", control.name, name)
            if key not in st.session_state:
                st.session_state[key] = [i for i in stored.get(name, []) if i in titles]
            taken = {i for other, _ in buckets if other != name for i in st.session_state.get(ctx.key("bucket", control.name, other), [])}
            st.multiselect(
                title, [i for i in titles if i not in taken or i in st.session_state[key]], key=key,
                format_func=titles.get, disabled=ctx.disabled,
            )
            if st.session_state[key]:
                ranking[name] = list(st.session_state[key])
    return [result_item(control, {"ranker": ranking})] if ranking else []


@control_widget("Relations")
def render_relations(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    """Link two regions of this annotation with a relation label (Label Studio's ``relation`` items)."""
    regions: dict[str, str] = {}
    for item in ctx.all_items:
        if item.get("id") and item.get("type") not in ("relation",) and isinstance(item.get("value"), dict):
            value = item["value"]
            names = next((v for k, v in value.items() if isinstance(v, list) and k.endswith("labels")), [])
            shown = value.get("text") or ", ".join(map(str, names)) or item.get("type")
            regions[item["id"]] = f"{shown} ({item['id'][:4]})"
    relations = [i for i in items if i.get("type") == "relation"]
    key = _state(ctx, control, relations)
    st.markdown("**Relations**")
    if len(regions) < 2:
        st.caption("Mark at least two regions to relate them.")
    else:
        labels = [o.value for o in control.options]
        a, b, c, d = st.columns([3, 3, 3, 1], vertical_alignment="bottom")
        source = a.selectbox("From", list(regions), format_func=regions.get, key=ctx.key("rel_from"), disabled=ctx.disabled)
        target = b.selectbox("To", list(regions), format_func=regions.get, key=ctx.key("rel_to"), disabled=ctx.disabled)
        chosen = c.multiselect("Relation", labels, key=ctx.key("rel_labels"), disabled=ctx.disabled) if labels else []
        if d.button("Add", key=ctx.key("rel_add"), disabled=ctx.disabled or source == target):
            st.session_state[key] = [
                *st.session_state[key],
                {"from_id": source, "to_id": target, "type": "relation", "direction": "right", "labels": chosen},
            ]
    for index, relation in enumerate(list(st.session_state[key])):
        left, right = st.columns([5, 1])
        left.write(
            f"{regions.get(relation['from_id'], relation['from_id'])} → {regions.get(relation['to_id'], relation['to_id'])}"
            f" {', '.join(relation.get('labels') or [])}"
        )
        if right.button("Remove", key=ctx.key("rel_rm", index), disabled=ctx.disabled):
            st.session_state[key] = [r for i, r in enumerate(st.session_state[key]) if i != index]
            st.rerun()
    # relations whose regions were deleted are dropped
    return [r for r in st.session_state[key] if r["from_id"] in regions and r["to_id"] in regions]
