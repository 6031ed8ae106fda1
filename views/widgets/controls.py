"""Whole-task control widgets: Choices, TextArea, Rating, Number, DateTime, Taxonomy, Pairwise, Ranker.

Each renderer takes the control's current result items and returns its new ones (see ``base.py``).
Choices are buttons with keyboard shortcuts (the config's ``hotkey`` or Label Studio's automatic keys),
so a labeler can classify item after item without the mouse.
"""
from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

import streamlit as st

from core.config import ControlTag, LabelingConfig, LabelOption, TagNode, resolve_value
from core.config.visibility import controls_read_by_conditions
from core.results import control_question
from core.sanitize import escape_markdown  # the one rule; pages import it from here too
from core.tags import ControlAttrs, attrs_of
from core.tags.choices import ChoicesAttrs
from core.tags.scalars import DateTimeAttrs, NumberAttrs, RatingAttrs
from views.widgets.base import (
    ResultItem,
    WidgetContext,
    control_widget,
    first_value,
    region_answer_input,
    result_item,
)
from views.widgets.components.browser_answers import choice_buttons
from views.widgets.selection import block_owner

# Streamlit reserves these single keys for its own menu (streamlit-notes.md section 6).
RESERVED_KEYS = frozenset({"c", "r"})
MAX_BUTTON_CHOICES = 12
LabelVisibility = Literal["visible", "collapsed"]


def _shortcut(ctx: WidgetContext, control: ControlTag, option: LabelOption) -> str | None:
    key = ctx.hotkeys.get((control.name, option.value)) or option.hotkey
    if not key or key.lower() in RESERVED_KEYS or len(key) != 1 or not key.isalnum():
        return None
    return key


def _label(control: ControlTag, option: LabelOption) -> str:
    return option.value if not option.get("hint") else f"{option.value}"


def _state(ctx: WidgetContext, control: ControlTag, initial: Any) -> str:
    """The session-state key holding this control's value, seeded from the stored result once."""
    return _seed(ctx.key("ctl", control.name), initial)


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


def _seed(key: str, initial: Any) -> str:
    """Seed the widget state under ``key`` from the stored answer, once."""
    if key not in st.session_state:
        st.session_state[key] = initial
    return key


_A = TypeVar("_A", bound=ControlAttrs)


def _attrs(control: ControlTag, kind: type[_A]) -> _A:
    """The control's attributes as its family parsed them (``core.tags.attrs_of``), typed for the renderer."""
    attrs = attrs_of(control)
    return attrs if isinstance(attrs, kind) else kind(per_region=attrs.per_region, required=attrs.required)


def _asking_header(cfg: LabelingConfig, control: ControlTag) -> tuple[str, bool] | None:
    """The fixed ``<Header>`` that asks ``control``'s question (the one right before it, as
    :func:`core.results.control_question` reads it) and whether a region widget draws that header in the same
    selected-region panel as the control (a ``region-selected`` block it owns, as the Chat does); None when
    no header asks it."""
    found: tuple[str, tuple[TagNode, ...]] | None = None

    def walk(node: TagNode, trail: tuple[TagNode, ...]) -> bool:
        nonlocal found
        if node.name == control.name and node.tag == control.tag:
            return True
        if node.tag == "Header":
            text = (node.get("value") or node.text or "").strip()
            found = (text, trail) if text and "$" not in text else None
        elif node.kind.is_control:
            found = None  # a header asks the first control after it only
        return any(walk(child, (*trail, node)) for child in node.children)

    if not walk(cfg.root, ()) or found is None:
        return None
    text, trail = found
    in_panel = any(block_owner(cfg, node) is not None and any(
        n.name == control.name and n.tag == control.tag for n in node.walk()) for node in trail)
    return text, in_panel


def _compact_caption(control: ControlTag, ctx: WidgetContext) -> tuple[str, bool]:
    """``(the question of a per-region input, whether to show it)``: the question as
    :func:`core.results.control_question` reads it (the control's own ``label``/``title``, else the Header
    asking it, else its name in words), shown -- except a header's question when the panel draws that header
    right above the input (the Chat's region-selected blocks). A header standing elsewhere in the layout (below
    an image) is repeated in the panel. Never the raw name under a header."""
    question = control_question(ctx.cfg, control.name)
    if control.get("label") or control.get("title"):
        return question, True
    header = _asking_header(ctx.cfg, control)
    return question, header is None or not header[1]


def _input_label(control: ControlTag, ctx: WidgetContext, compact: bool) -> tuple[str, LabelVisibility]:
    """Whole-task inputs are titled by :func:`_title` (the field label is the name, for screen readers);
    a compact per-region input carries its question as its own label (:func:`_compact_caption`)."""
    if not compact:
        return control.name, "collapsed"
    text, shown = _compact_caption(control, ctx)
    return text, "visible" if shown else "collapsed"


# --- one family, one implementation -------------------------------------------------------------------
# Each family draws its answer with one ``_*_answer(control, ctx, key, stored, compact=...)``: the
# whole-task renderer (``@control_widget``) calls it under the control's title and wraps the answer in a
# result item; the per-region panel of a region widget (``@region_answer_input``, used by
# ``components/region_tools.edit_region_answer``) calls it with ``compact=True`` for the selected region,
# under a key of that region. Options, hotkeys, attributes and the value written are therefore the same.


def _choices_answer(control: ControlTag, ctx: WidgetContext, key: str, stored: Any, *,
                    compact: bool) -> list[str]:
    """Choices as buttons with the options' hotkeys (a select box beyond ``MAX_BUTTON_CHOICES``)."""
    options = _choice_options(control, ctx)
    attrs = _attrs(control, ChoicesAttrs)
    _seed(key, [str(c) for c in stored] if isinstance(stored, list) else [])
    if compact:
        caption, shown = _compact_caption(control, ctx)
        if shown:
            st.markdown(f"<small>{escape_markdown(caption)}</small>", unsafe_allow_html=True)
    if ctx.disabled:  # read-only (review, preview): the answer as text, readable in a narrow column
        _choices_read_only(options, list(st.session_state[key]))
        return list(st.session_state[key])
    values = [o.result_value for o in options]
    label, visibility = _input_label(control, ctx, compact=False)
    if len(options) > MAX_BUTTON_CHOICES:
        if attrs.multiple:
            st.multiselect(label, values, key=key, label_visibility=visibility)
        else:
            current = st.session_state[key][0] if st.session_state[key] else None
            picked = st.selectbox(
                label, values, index=values.index(current) if current in values else None,
                key=key + "_select", label_visibility=visibility, placeholder="Choose ...",
            )
            st.session_state[key] = [picked] if picked else []
    else:
        inline = compact or (control.get("showInline") or "true").lower() != "false" or (
            control.get("layout") == "inline")
        _choice_buttons(control, options, ctx, key, multiple=attrs.multiple, required=attrs.required,
                        inline=inline, compact=compact)
    return list(st.session_state[key])


def _choices_read_only(options: list[LabelOption], chosen: list[str]) -> None:
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


def _toggle(key: str, value: str, multiple: bool, required: bool) -> None:
    """One press of an option: the rule of every choices input (a required single choice is changed, never
    emptied, by its key)."""
    if key not in st.session_state:  # a click that arrives after the task was left
        return
    current = list(st.session_state[key])
    if value in current:
        if not multiple and required:
            return
        current.remove(value)
    elif multiple:
        current.append(value)
    else:
        current = [value]
    st.session_state[key] = current


def _choice_buttons(control: ControlTag, options: list[LabelOption], ctx: WidgetContext, key: str, *,
                    multiple: bool, required: bool, inline: bool, compact: bool) -> None:
    """A button per option, with its hotkey; compact: small buttons in a row (the per-region panel)."""
    if compact:
        row = st.container(horizontal=True, gap="small")
        columns = [row for _ in options]
    else:
        columns = list(st.columns(len(options))) if inline and options else [st.container() for _ in options]
    for column, option in zip(columns, options, strict=True):
        value = option.result_value
        chosen = value in st.session_state[key]
        column.button(
            _label(control, option),
            key=f"{key}_opt_{value}" if compact else ctx.key("choice", control.name, value),
            type="primary" if chosen else "secondary",
            icon=":material/check:" if chosen else None,
            shortcut=_shortcut(ctx, control, option),
            on_click=_toggle, args=(key, value, multiple, required),
            help=option.get("hint"),
            width="content" if compact else "stretch",
        )


@control_widget("Choices")
def render_choices(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    key = ctx.key("ctl", control.name)
    stored = first_value(items, "choices", []) or []
    _title(control)
    options = _choice_options(control, ctx)
    if not ctx.disabled and ctx.task_id is not None and len(options) <= MAX_BUTTON_CHOICES:
        attrs = _attrs(control, ChoicesAttrs)
        _seed(key, list(stored))
        inline = (control.get("showInline") or "true").lower() != "false" or (control.get("layout") == "inline")
        return _choices_in_browser(control, options, ctx, key, multiple=attrs.multiple, required=attrs.required,
                                   inline=inline)
    chosen = _choices_answer(control, ctx, key, stored, compact=False)
    return [result_item(control, {"choices": chosen})] if chosen else []


@region_answer_input("Choices")
def choices_for_region(control: ControlTag, stored: Any, key: str, ctx: WidgetContext) -> list[str] | None:
    return _choices_answer(control, ctx, key, stored, compact=True) or None


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


def _text_answer(control: ControlTag, ctx: WidgetContext, key: str, stored: Any, *, compact: bool) -> str | None:
    """A text box (one line when ``rows`` is 1); the placeholder is an example inside the box, as in Label
    Studio, and never shown a second time above it."""
    _seed(key, "\n".join(map(str, stored)) if isinstance(stored, list) else str(stored or ""))
    rows = int(control.get("rows") or 3)
    placeholder = control.get("placeholder") or ""
    label, visibility = _input_label(control, ctx, compact)
    if rows <= 1:
        st.text_input(label, key=key, disabled=ctx.disabled, placeholder=placeholder, label_visibility=visibility)
    else:
        st.text_area(label, key=key, disabled=ctx.disabled, height=max(68, 28 * rows), placeholder=placeholder,
                     label_visibility=visibility)
    return str(st.session_state[key]).strip() or None


@control_widget("TextArea")
def render_textarea(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    stored = first_value(items, "text", []) or []
    if not items and control.get("value"):
        stored = str(resolve_value(control.get("value") or "", ctx.data) or "")
    # As the other controls: the question is the config's own label/title (or a Header before it), drawn by
    # _title; the field's label is the control's name, for screen readers only.
    _title(control)
    text = _text_answer(control, ctx, ctx.key("ctl", control.name), stored, compact=False)
    return [result_item(control, {"text": [text]})] if text else []


@region_answer_input("TextArea")
def text_for_region(control: ControlTag, stored: Any, key: str, ctx: WidgetContext) -> list[str] | None:
    text = _text_answer(control, ctx, key, stored, compact=True)
    return [text] if text else None


def _rating_answer(control: ControlTag, ctx: WidgetContext, key: str, stored: Any, *, compact: bool) -> int | None:
    """Stars up to ``maxRating`` (numbers beyond five)."""
    maximum = _attrs(control, RatingAttrs).max_rating
    whole = isinstance(stored, (int, float)) and not isinstance(stored, bool) and 1 <= stored <= maximum
    _seed(key, int(stored) if whole else None)
    label, visibility = _input_label(control, ctx, compact)
    st.segmented_control(
        label, list(range(1, maximum + 1)), key=key, disabled=ctx.disabled,
        format_func=lambda n: "★" * n if maximum <= 5 else str(n), label_visibility=visibility,
    )
    _solid_selection(key)
    rating = st.session_state[key]
    return int(rating) if rating else None


def _solid_selection(key: str) -> None:
    """The chosen option of the segmented control under ``key`` filled with the theme's primary colour, as a
    chosen choice button is (Streamlit only outlines it faintly)."""
    primary = str(st.get_option("theme.primaryColor") or "#ff4b4b")
    if not all(c.isalnum() or c in "#(),. %" for c in primary):  # a plain colour, nothing else reaches the CSS
        primary = "#ff4b4b"
    css_class = "st-key-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in key)
    chosen = f'.{css_class} button[aria-checked="true"]'
    st.html(f"<style>{chosen} {{ background: {html.escape(primary)} !important; "
            f"border-color: {html.escape(primary)} !important; }} {chosen}, {chosen} * {{ color: #fff !important; "
            f"font-weight: 600; }}</style>")


@control_widget("Rating")
def render_rating(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    stored = first_value(items, "rating")
    if stored is None and control.get("defaultValue"):
        stored = _float_or_none(control.get("defaultValue"))
    _title(control)
    rating = _rating_answer(control, ctx, ctx.key("ctl", control.name), stored, compact=False)
    return [result_item(control, {"rating": rating})] if rating else []


@region_answer_input("Rating")
def rating_for_region(control: ControlTag, stored: Any, key: str, ctx: WidgetContext) -> int | None:
    return _rating_answer(control, ctx, key, stored, compact=True)


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _decimals(*numbers: float | None) -> int:
    """Decimal places enough to show each of ``numbers`` as written (1 to 6)."""
    places = 1
    for number in numbers:
        if number is None:
            continue
        try:
            exponent = Decimal(str(number)).normalize().as_tuple().exponent
        except InvalidOperation:
            continue
        places = max(places, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return min(places, 6)


def _number_answer(control: ControlTag, ctx: WidgetContext, key: str, stored: Any, *,
                   compact: bool) -> float | int | None:
    """A number within ``min``..``max``. With a whole ``step`` (the default, 1) and whole bounds the input
    takes and shows whole numbers only ("4", not "4.00"); decimals when the config's step (or a bound) has
    them, shown to the step's precision. A stored fraction (an import) is shown as it is."""
    attrs = _attrs(control, NumberAttrs)
    step = _float_or_none(control.get("step"))
    step = step if step is not None and step > 0 else 1.0
    numeric = isinstance(stored, (int, float)) and not isinstance(stored, bool)
    _seed(key, (int(stored) if float(stored).is_integer() else float(stored)) if numeric else None)
    current = st.session_state[key]
    whole = step.is_integer() and all(b is None or float(b).is_integer() for b in (attrs.low, attrs.high)) and (
        current is None or float(current).is_integer())
    if whole and isinstance(current, float):
        st.session_state[key] = int(current)
    elif not whole and isinstance(current, int):
        st.session_state[key] = float(current)
    label, visibility = _input_label(control, ctx, compact)

    def bound(value: float | None) -> float | int | None:
        return None if value is None else (int(value) if whole else float(value))

    st.number_input(  # labelled as TextArea: the name for screen readers, the placeholder inside the box
        label, min_value=bound(attrs.low), max_value=bound(attrs.high), step=int(step) if whole else step,
        format=None if whole else f"%.{_decimals(step, attrs.low, attrs.high, current)}f",
        key=key, disabled=ctx.disabled, placeholder=control.get("placeholder") or None, label_visibility=visibility,
    )
    number = st.session_state[key]
    if number is None:
        return None
    return int(number) if float(number).is_integer() and step.is_integer() else float(number)


@control_widget("Number")
def render_number(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    stored = first_value(items, "number")
    if stored is None:
        stored = _float_or_none(control.get("defaultValue"))
    _title(control)
    number = _number_answer(control, ctx, ctx.key("ctl", control.name), stored, compact=False)
    return [] if number is None else [result_item(control, {"number": number})]


@region_answer_input("Number")
def number_for_region(control: ControlTag, stored: Any, key: str, ctx: WidgetContext) -> float | int | None:
    return _number_answer(control, ctx, key, stored, compact=True)


DATE_WINDOW = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))  # the date picker's range when the config gives none


def _date_bound(text: str | None, *, end: bool) -> dt.date | None:
    """A DateTime ``min``/``max``: an ISO date (or date and time), or a year (its first or last day)."""
    text = (text or "").strip()
    if text.isdigit() and len(text) == 4:
        return dt.date(int(text), 12, 31) if end else dt.date(int(text), 1, 1)
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _date_window(control: ControlTag, stored: dt.date | None) -> tuple[dt.date, dt.date, str | None]:
    """``(earliest, latest, note)`` of the date picker: the DateTime's ``min``/``max`` when given, else
    :data:`DATE_WINDOW` (Streamlit's own default is ten years either side of today). A stored date outside
    is let in, with a note saying so, so an imported answer is shown, not refused."""
    low = _date_bound(control.get("min"), end=False) or DATE_WINDOW[0]
    high = _date_bound(control.get("max"), end=True) or DATE_WINDOW[1]
    if stored is None or low <= stored <= high:
        return low, high, None
    note = f"The stored date {stored.isoformat()} lies outside {low.isoformat()} – {high.isoformat()}."
    return min(low, stored), max(high, stored), note


def _datetime_answer(control: ControlTag, ctx: WidgetContext, key: str, stored: Any, *,
                     compact: bool) -> str | None:
    """A date (and time), a time, or a year, as ``only`` asks; written as Label Studio writes them."""
    only = {p.strip() for p in _attrs(control, DateTimeAttrs).only.split(",") if p.strip()}
    parsed: dt.datetime | None = None
    if isinstance(stored, str):
        try:
            parsed = dt.datetime.fromisoformat(stored)
        except ValueError:
            parsed = dt.datetime(int(stored), 1, 1) if stored.isdigit() and 1 <= int(stored) <= 9999 else None
    label, visibility = _input_label(control, ctx, compact)
    if only == {"time"}:
        _seed(key, parsed.time() if parsed else None)
        st.time_input(label, key=key, disabled=ctx.disabled, label_visibility=visibility)
        picked = st.session_state[key]
        return picked.strftime("%H:%M") if picked else None
    if only & {"year", "month"} and "date" not in only:
        _seed(key, parsed.year if parsed else None)
        low = _date_bound(control.get("min"), end=False)
        high = _date_bound(control.get("max"), end=True)
        year = st.session_state[key]
        st.number_input(f"{label} (year)", min_value=min(low.year if low else 1, year or 9999),
                        max_value=max(high.year if high else 9999, year or 1), step=1, key=key,
                        disabled=ctx.disabled, label_visibility=visibility)
        return str(st.session_state[key]) if st.session_state[key] else None
    _seed(key, parsed.date() if parsed else None)
    low, high, note = _date_window(control, st.session_state[key])
    # Compact: date and time side by side, so the panel of the selected region stays short.
    date_column, time_column = st.columns(2) if compact and "date" not in only else (st.container(), st.container())
    date_column.date_input(label, key=key, disabled=ctx.disabled, value=st.session_state[key], min_value=low,
                           max_value=high, label_visibility=visibility)
    if note:
        date_column.caption(note)
    date = st.session_state[key]
    if not date:
        return None
    if "date" in only and "time" not in only:
        return str(date.isoformat())
    time_key = _seed(key + "_time", parsed.time() if parsed else dt.time(0, 0))
    time_column.time_input(f"{label} (time)", key=time_key, disabled=ctx.disabled, label_visibility=visibility)
    return dt.datetime.combine(date, st.session_state[time_key]).isoformat(timespec="minutes")


@control_widget("DateTime")
def render_datetime(control: ControlTag, items: list[ResultItem], ctx: WidgetContext) -> list[ResultItem]:
    _title(control)
    value = _datetime_answer(control, ctx, ctx.key("ctl", control.name), first_value(items, "datetime"),
                             compact=False)
    return [result_item(control, {"datetime": value})] if value else []


@region_answer_input("DateTime")
def datetime_for_region(control: ControlTag, stored: Any, key: str, ctx: WidgetContext) -> str | None:
    return _datetime_answer(control, ctx, key, stored, compact=True)


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
