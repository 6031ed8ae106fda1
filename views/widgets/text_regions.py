"""Text spans: Labels on Text, HyperTextLabels on HyperText, ParagraphLabels on Paragraphs.

How a labeler uses it: pick a label (buttons, with the label hotkeys), then select text with the
mouse -- the span appears at once, coloured, with a chip; spans may overlap (each adds an underline).
Clicking a span (or its chip) selects it: the panel below changes its label, answers per-region
questions and the region list deletes it. "Undo last change" undoes any change.

Offsets follow Label Studio: character offsets of the raw text with an exclusive ``end``
(``text[start:end]``; ``\\r\\n`` counts 2). Paragraphs store paragraph indices ``start``/``end`` plus
``startOffset``/``endOffset`` inside those paragraphs. HyperText is sanitised (``core.sanitize``) before it
is shown; its spans store Label Studio's XPath ends plus ``globalOffsets`` over the text content, which
is what this widget draws from. The ``text`` a span carries is recomputed from these offsets on submit
(``core.results.with_span_texts``).
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.config import ControlTag, ObjectTag, resolve_value
from core.results import from_paragraph, paragraph_texts, to_paragraph
from core.sanitize import sanitize_html
from views.widgets.base import ResultItem, WidgetContext, region_widget
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
from views.widgets.components.span_annotator import pending_event, span_annotator


# --- pure offset helpers --------------------------------------------------------------------------

def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_'-"


def snap_span(text: str, start: int, end: int, *, words: bool) -> tuple[int, int]:
    """Clamp ``[start, end)`` to ``text``, trim surrounding whitespace and, for ``words``, widen the
    span to whole words (Label Studio's ``granularity="word"``). May return an empty span."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if words and start < end:
        while start > 0 and _is_word(text[start - 1]) and _is_word(text[start]):
            start -= 1
        while end < len(text) and _is_word(text[end]) and _is_word(text[end - 1]):
            end += 1
    return start, end


# --- object content -------------------------------------------------------------------------------

def _blocks(obj: ObjectTag, content: Any) -> tuple[list[dict[str, Any]], str | None, list[int]]:
    """Component blocks, the plain text (None for HTML, whose text content the browser measures) and
    paragraph lengths."""
    if obj.tag == "Paragraphs":
        name_key = obj.get("nameKey") or "author"
        paragraphs = content if isinstance(content, list) else []
        texts = paragraph_texts(obj, content)  # the texts core.results checks span offsets against
        blocks = [{"prefix": f"{p.get(name_key, '')}:" if isinstance(p, dict) and p.get(name_key) else None,
                   "text": text} for p, text in zip(paragraphs, texts, strict=True)]
        return blocks, "".join(texts), [len(text) for text in texts]
    if obj.tag == "HyperText":  # sanitised as core.sanitize.hypertext_text reads it, so offsets agree
        return [{"html": sanitize_html(content)}], None, []
    text = "" if content is None else str(content)
    return [{"text": text}], text, [len(text)]


def _global_span(obj: ObjectTag, value: dict[str, Any], lengths: list[int]) -> tuple[int, int] | None:
    try:
        if obj.tag == "Paragraphs":
            return (from_paragraph(lengths, int(value["start"]), int(value.get("startOffset", 0))),
                    from_paragraph(lengths, int(value["end"]), int(value.get("endOffset", 0))))
        if obj.tag == "HyperText":
            offsets = value.get("globalOffsets") or {}
            return int(offsets["start"]), int(offsets["end"])
        return int(value["start"]), int(value["end"])
    except (KeyError, TypeError, ValueError):
        return None


def _span_value(obj: ObjectTag, event: dict[str, Any], plain: str | None, lengths: list[int],
                words: bool) -> dict[str, Any] | None:
    start, end = int(event.get("start", 0)), int(event.get("end", 0))
    if plain is not None:
        start, end = snap_span(plain, start, end, words=words)
    if end <= start:
        return None
    if obj.tag == "Paragraphs":
        (first, start_offset), (last, end_offset) = (to_paragraph(lengths, start, is_end=False),
                                                     to_paragraph(lengths, end, is_end=True))
        return {"start": first, "end": last, "startOffset": start_offset, "endOffset": end_offset,
                "text": plain[start:end] if plain is not None else ""}
    if obj.tag == "HyperText":
        return {"start": event.get("start_xpath", ""), "end": event.get("end_xpath", ""),
                "startOffset": int(event.get("start_offset", 0)), "endOffset": int(event.get("end_offset", 0)),
                "globalOffsets": {"start": start, "end": end}, "text": str(event.get("text", ""))}
    return {"start": start, "end": end, "text": plain[start:end] if plain is not None else ""}


def _handle_event(obj: ObjectTag, state: RegionState, event: dict[str, Any], target: Target | None,
                  plain: str | None, lengths: list[int], ctx: WidgetContext) -> None:
    if event.get("type") == "click":
        region_id = event.get("id")
        if any(i.get("id") == region_id for i in state.items):
            state.selected = None if state.selected == region_id else region_id
            state.changed_by_python()
        return
    if event.get("type") != "select" or ctx.disabled or target is None:
        return
    words = (target.control.get("granularity") or obj.get("granularity") or "").lower() == "word"
    value = _span_value(obj, event, plain, lengths, words)
    if value is None:
        return
    if target.control.kind.value_key:
        value[target.control.kind.value_key] = target.result_labels
    state.snapshot()
    region_id = new_region_id()
    state.items.append({"id": region_id, "from_name": target.control.name, "to_name": obj.name,
                        "type": target.control.kind.result_type, "value": value, "origin": "manual"})
    state.selected = region_id
    state.changed_by_python()


def _characters(start: Any, end: Any) -> str:
    """``characters 12-22`` (1-based, inclusive) for Label Studio's 0-based, end-exclusive offsets."""
    if isinstance(start, int) and isinstance(end, int) and end > start:
        return f"characters {start + 1}-{end}"
    return f"offsets {start}-{end}"


def _describe_with(obj: ObjectTag) -> Any:
    def describe(item: ResultItem) -> str:
        value = item.get("value", {})
        text = str(value.get("text", ""))
        short = text if len(text) <= 48 else text[:45] + "..."
        # Words a labeler reads; offsets are Label Studio's (end exclusive), shown as the characters covered.
        if obj.tag == "Paragraphs":
            where = f"paragraph {value.get('start')}" + (
                f" to {value.get('end')}" if value.get("end") != value.get("start") else "")
        elif obj.tag == "HyperText":
            offsets = value.get("globalOffsets") or {}
            where = _characters(offsets.get("start"), offsets.get("end"))
        else:
            where = _characters(value.get("start"), value.get("end"))
        return f'"{short}" · {where}'
    return describe


@region_widget("Text", "HyperText", "Paragraphs")
def render_text_regions(obj: ObjectTag, controls: list[ControlTag], items: list[ResultItem],
                        ctx: WidgetContext) -> list[ResultItem]:
    """Show ``obj``'s text and edit the spans of ``controls`` on it."""
    region_controls, per_region_controls = split_controls(controls)
    state_key, state = load_state(ctx, obj, region_controls + per_region_controls, items)
    content = resolve_value(obj.value, ctx.data)
    blocks, plain, lengths = _blocks(obj, content)
    colors = label_colors(region_controls)
    target = pick_target(obj, region_controls, ctx, colors)
    if not ctx.disabled and region_controls:
        st.caption("Select text with the mouse to label it; click a span to select it.")

    component_key = ctx.key(obj.name, "spans")
    event = pending_event(component_key)
    seq = event.get("seq") if event else None
    if "seq" not in state.extra:
        state.extra["seq"] = seq  # an event from before this state started is not replayed
    elif event is not None and seq != state.extra["seq"]:
        state.extra["seq"] = seq
        _handle_event(obj, state, event, target, plain, lengths, ctx)

    by_name = {c.name: c for c in region_controls}
    spans, undrawable = [], 0
    for region_id in state.region_ids(set(by_name)):
        item = state.shape_item(region_id, set(by_name))
        if item is None:
            continue
        where = _global_span(obj, item.get("value", {}), lengths)
        if where is None:
            undrawable += 1
            continue
        color = region_color(item, by_name, colors)
        spans.append({"id": region_id, "start": where[0], "end": where[1], "color": color,
                      "fill": with_alpha(color, 0.45 if region_id == state.selected else 0.25),
                      "label": ", ".join(item_labels(item, by_name[item["from_name"]])) or item["from_name"],
                      "selected": region_id == state.selected})
    span_annotator(blocks=blocks, spans=spans, key=component_key, readonly=ctx.disabled)
    if undrawable:
        st.caption(f"{undrawable} span(s) have no offsets this view can draw (listed below).")
    version = state.version
    region_list(obj, state_key, state, region_controls, ctx, colors, _describe_with(obj))
    selected_region_panel(obj, state_key, state, region_controls, per_region_controls, ctx)
    if state.version != version:
        st.rerun()  # relabelled in the panel: redraw the spans in the new colour
    return finish(state)
