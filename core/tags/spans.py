"""Labels, HyperTextLabels and ParagraphLabels: labelled spans of a text, a web page, a dialogue or a clip.

A span's offsets depend on what it marks: characters of a Text (``start``/``end`` integers, ``end``
exclusive), seconds of an Audio (floats), an XPath and character offsets in a HyperText
(``start``/``end`` XPaths, ``startOffset``/``endOffset``, optional ``globalOffsets``), a paragraph index
and offsets in Paragraphs.

Agreement: character-overlap F1 per label over the spans' characters
(:func:`metrics.agreement.span_agreement`; HyperText and Paragraphs on their offsets,
:func:`metrics.agreement_kinds.hypertext_span_agreement`); spans in seconds by interval IoU with
one-to-one matching (:func:`metrics.agreement_kinds.interval_agreement`). Consensus: a character vote for
text and audio (a character, or millisecond, belongs to the consensus when at least half the annotators
covered it with that label: :func:`metrics.consensus.vote_spans`); HyperText and Paragraph spans, whose
offsets hang on document nodes, by an exact-span majority (a span marked identically by at least half
the annotators is kept), the rule of span-level adjudication in NER corpora (e.g. Tjong Kim Sang &
De Meulder 2003's exact-match spans).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from core.config import ControlTag, resolve_value
from core.tags.spec import (
    ControlInput,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    canonical,
    check_labels,
    consensus_item,
    first_label,
    is_number,
    plain_attrs,
    scored_by,
)
from core.tags.keypoints import keypoint_pairwise, mean_points, validate_keypoint
from core.tags.shapes import box_fusion, box_pairwise, polygon_pairwise, shape_medoids, validate_box, validate_polygon
from metrics.agreement import span_agreement
from metrics.agreement_kinds import hypertext_span_agreement, interval_agreement
from metrics.consensus import vote_spans
from metrics.consensus.boxes import required_votes

NODE_SPAN_KEYS = ("start", "end", "startOffset", "endOffset")


def _shape(value: Value) -> str | None:
    """Labels next to a Rectangle, Polygon or KeyPoint tag label image regions: which geometry, if any."""
    if "points" in value:
        return "polygon"
    if "x" in value:
        return "box" if "height" in value else "point"
    return None


def _shapes(values: Values) -> set[str]:
    """The geometries among ``values`` (empty: text or time spans)."""
    return {shape for v in values if (shape := _shape(v)) is not None}


def _is_node_span(value: Value) -> bool:
    """Offsets hung on document nodes (HyperText XPaths, Paragraph indices) rather than plain numbers."""
    return "startOffset" in value or not (is_number(value.get("start")) and is_number(value.get("end")))


def _is_chars(values: Values) -> bool:
    return all(float(v["start"]).is_integer() and float(v["end"]).is_integer() for v in values)


def span_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    """Character-overlap F1 per label; seconds by interval IoU; node offsets on their offsets."""
    both = [*a, *b]
    shapes = _shapes(both)
    if shapes:  # image regions labelled by a separate Labels tag
        pairwise = {"polygon": polygon_pairwise, "box": box_pairwise, "point": keypoint_pairwise}
        return pairwise[sorted(shapes)[0]](control, a, b) if len(shapes) == 1 else 0.0
    if any(_is_node_span(v) for v in both):
        return hypertext_span_agreement(a, b)
    if _is_chars(both):
        return span_agreement(a, b)
    return interval_agreement(a, b)


def _object_tag(ctx: ValueContext) -> str | None:
    target = ctx.cfg.objects.get(str(ctx.item.get("to_name", "")).split(",")[0])
    return target.tag if target is not None else None


def validate_span(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    shape = _shape(value)
    if shape is not None:
        validate = {"polygon": validate_polygon, "box": validate_box, "point": validate_keypoint}[shape]
        return validate(control, value, ctx)
    problems = check_labels(value, control.kind.value_key)
    tag = _object_tag(ctx)
    if tag in ("HyperText", "Paragraphs") or "startOffset" in value:
        for key in ("startOffset", "endOffset"):
            offset = value.get(key)
            if not (isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0):
                problems.append(f"{key}: {offset!r} must be a whole number >= 0")
        for key in ("start", "end"):
            if not isinstance(value.get(key), (str, int)) or isinstance(value.get(key), bool):
                problems.append(f"{key}: {value.get(key)!r} must name a node (an XPath or paragraph index)")
        return problems
    start, end = value.get("start"), value.get("end")
    if not (is_number(start) and is_number(end)):
        return [*problems, f"start/end: {start!r}, {end!r} must be numbers"]
    if start < 0 or end <= start:
        return [*problems, f"start/end: {start}..{end} is not a span (0 <= start < end)"]
    if tag == "Text" and ctx.data is not None:
        if not (float(start).is_integer() and float(end).is_integer()):
            problems.append(f"start/end: {start}..{end} must be whole character offsets")
        target = ctx.cfg.objects[str(ctx.item.get("to_name", "")).split(",")[0]]
        text = resolve_value(target.value, dict(ctx.data))
        if isinstance(text, str) and end > len(text):
            problems.append(f"end: {end} is past the end of the text ({len(text)} characters)")
    return problems


def span_vote(inp: ControlInput) -> list[ResultItem] | None:
    """Character vote on characters (Text) or milliseconds (Audio); node spans by exact-span majority."""
    flat = [item.get("value", {}) for items in inp.per_annotation for item in items]
    shapes = _shapes(flat)
    if len(shapes) > 1:
        return None
    if shapes:  # image regions labelled by a separate Labels tag
        return {"polygon": shape_medoids, "box": box_fusion, "point": mean_points}[shapes.pop()](inp)
    if any(_is_node_span(v) for v in flat):
        return _exact_span_majority(inp)
    return _character_vote(inp)


def _character_vote(inp: ControlInput) -> list[ResultItem] | None:
    control, value_key = inp.control, inp.control.kind.value_key
    rows: list[dict[str, Any]] = []
    for annotator, items in enumerate(inp.per_annotation):
        if not items:
            rows.append({"task": 0, "annotator": annotator, "label": "", "start": np.nan, "end": np.nan})
        for item in items:
            value = item.get("value", {})
            rows.append({"task": 0, "annotator": annotator, "label": first_label(item, value_key),
                         "start": value["start"], "end": value["end"]})
    is_chars = all(float(r["start"]).is_integer() and float(r["end"]).is_integer()
                   for r in rows if r["start"] == r["start"])
    scale = 1 if is_chars else 1000  # seconds -> integer milliseconds; vote_spans works on integer offsets
    frame = pd.DataFrame(rows)
    frame["start"] = (frame["start"] * scale).round()
    frame["end"] = (frame["end"] * scale).round()
    voted = vote_spans(frame)
    text = None
    target = inp.cfg.objects.get(control.to_names[0]) if control.to_names else None
    if is_chars and target is not None and target.tag == "Text":
        resolved = resolve_value(target.value, dict(inp.data))
        text = resolved if isinstance(resolved, str) else None
    out: list[ResultItem] = []
    for i, row in enumerate(voted.itertuples(index=False)):
        start, end = (int(row.start), int(row.end)) if is_chars else (row.start / scale, row.end / scale)
        span: dict[str, Any] = {"start": start, "end": end}
        if value_key:
            span[value_key] = [row.label]
        if text is not None:
            span["text"] = text[start:end]
        out.append(consensus_item(control, None, span, id=f"consensus-{control.name}-{i}"))
    return out


def _exact_span_majority(inp: ControlInput) -> list[ResultItem] | None:
    value_key = inp.control.kind.value_key
    need = required_votes(0.5, len(inp.per_annotation))
    votes: Counter[str] = Counter()
    first: dict[str, ResultItem] = {}
    for items in inp.per_annotation:
        seen: set[str] = set()
        for item in items:
            value = item.get("value", {})
            key = canonical([value.get(k) for k in NODE_SPAN_KEYS] + [first_label(item, value_key)])
            if key not in seen:
                seen.add(key)
                votes[key] += 1
                first.setdefault(key, item)
    out: list[ResultItem] = []
    for i, (key, count) in enumerate(sorted(votes.items())):
        if count >= need:
            template = first[key]
            value = dict(template.get("value", {}))
            out.append(consensus_item(inp.control, template, value, id=f"consensus-{inp.control.name}-{i}"))
    return out


_SPAN = TagBehaviour(family="spans", attrs=plain_attrs, validate=validate_span, agreement=span_pairwise,
                     consensus=span_vote, gold=scored_by("f1", "span_overlap", span_pairwise), region_noun="span")

BEHAVIOURS = {
    "Labels": TagBehaviour(family="spans", attrs=plain_attrs, validate=validate_span, agreement=span_pairwise,
                           consensus=span_vote, gold=scored_by("f1", "span_overlap", span_pairwise),
                           exports=("CONLL2003",), region_noun="span"),
    "HyperTextLabels": _SPAN,
    "ParagraphLabels": _SPAN,
}
