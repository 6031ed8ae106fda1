"""TimeSeriesLabels and TimelineLabels: labelled ranges of a time series or of a video's frames.

A TimeSeriesLabels value is ``{"start", "end", "instant", "timeserieslabels"}`` (numbers, or ISO times
for a time axis); a TimelineLabels value ``{"ranges": [{"start", "end"}], "timelinelabels"}`` in frames.
Agreement: interval IoU with one-to-one Hungarian matching of same-label ranges, pairs below 0.5
unmatched, soft F1 (:func:`metrics.agreement_kinds.interval_agreement`; the temporal IoU of action
detection, e.g. ActivityNet's tIoU). Consensus: ranges clustered by that IoU across annotators; a
cluster at least half of them marked becomes (label, median start, median end)
(:func:`metrics.consensus.vote_intervals`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from core.config import ControlTag
from core.tags.spec import (
    ControlInput,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    check_labels,
    consensus_item,
    first_label,
    is_number,
    plain_attrs,
    scored_by,
)
from metrics.agreement_kinds import interval_agreement
from metrics.consensus import vote_intervals


def range_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return interval_agreement(a, b)


def _position(x: Any) -> float | None:
    """A range end as a number: a number, or an ISO time as seconds since the epoch."""
    if is_number(x):
        return float(x)
    if isinstance(x, str):
        try:
            return datetime.fromisoformat(x).timestamp()
        except ValueError:
            return None
    return None


def _ranges(value: Value) -> list[tuple[Any, Any]]:
    if "ranges" in value:
        ranges = value["ranges"]
        return [(r.get("start"), r.get("end")) for r in ranges] if isinstance(ranges, list) and all(
            isinstance(r, dict) for r in ranges) else [(None, None)]
    return [(value.get("start"), value.get("end"))]


def validate_range(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    problems = check_labels(value, control.kind.value_key)
    for start, end in _ranges(value):
        s, e = _position(start), _position(end)
        if s is None or e is None:
            problems.append(f"start/end: {start!r}, {end!r} must be numbers or ISO times")
        elif e < s:
            problems.append(f"start/end: {start}..{end} ends before it starts")
    return problems


def range_vote(inp: ControlInput) -> list[ResultItem] | None:
    """(label, median start, median end) of each cluster of ranges at least half the annotators marked."""
    value_key = inp.control.kind.value_key
    timeline = any("ranges" in item.get("value", {}) for items in inp.per_annotation for item in items)
    as_iso = any(isinstance(item.get("value", {}).get("start"), str) for items in inp.per_annotation for item in items)
    template: ResultItem | None = None
    per_annotator: list[list[tuple[str, float, float]]] = []
    for items in inp.per_annotation:
        ranges = []
        for item in items:
            template = template or item
            label = first_label(item, value_key)
            for start, end in _ranges(item.get("value", {})):
                s, e = _position(start), _position(end)
                if s is None or e is None:
                    return None
                ranges.append((label, s, e))
        per_annotator.append(ranges)
    out: list[ResultItem] = []
    for i, (label, start, end) in enumerate(vote_intervals(per_annotator)):
        value: dict[str, Any]
        if timeline:
            value = {"ranges": [{"start": int(round(start)), "end": int(round(end))}]}
        elif as_iso:
            value = {"start": datetime.fromtimestamp(start).isoformat(), "end": datetime.fromtimestamp(end).isoformat(),
                     "instant": start == end}
        else:
            value = {"start": start, "end": end, "instant": start == end}
        if value_key:
            value[value_key] = [label]
        out.append(consensus_item(inp.control, template, value, id=f"consensus-{inp.control.name}-{i}"))
    return out


_RANGES = TagBehaviour(family="time_ranges", attrs=plain_attrs, validate=validate_range, agreement=range_pairwise,
                       consensus=range_vote, gold=scored_by("f1", "interval_iou", range_pairwise),
                       region_noun="segment")

BEHAVIOURS = {"TimeSeriesLabels": _RANGES, "TimelineLabels": _RANGES}
