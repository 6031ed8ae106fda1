"""Label Studio tasks -> one record per annotation, the common input of every converter format.

This is ``Converter.annotation_result_from_task`` of label-studio-sdk 2.1.2, kept rule for rule because the
outputs must match Label Studio's: a task without an ``annotations`` key yields nothing; a task with an empty
list yields one record without outputs; cancelled (skipped) annotations are dropped; the rest come newest
first (by ``created_at``); each record groups the result values by ``from_name``, with the control's tag
type under ``"type"`` and ``original_width/height`` copied in.

Writers meet region values as the export holds them, typed or not (the readers check shapes, not a box's
``x``). A value a writer cannot use (text where it computes with a number, an object where it needs a label
name or a region id) leaves that region out of the export, as Label Studio's converter leaves out regions it
cannot read, and the writer says so: :func:`skip_region` logs a warning (logger ``core.formats``) naming the
format, task, annotation, region and field. Valid but odd values (a span past the text, a label missing from
the config) are written as Label Studio writes them.
"""
from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.formats.json_stream import json_type
from core.formats.schema import ExportSchema

_MISSING: Any = object()


@dataclass(frozen=True)
class AnnotationRecord:
    """One annotation of one task, flattened for export.

    ``outputs`` maps ``from_name`` to the list of result values (copies: writers may not mutate tasks).
    ``agreement`` is the task's ``agreement`` or None when the task has none (``has_agreement`` tells which).
    ``result`` is the annotation's result as exported (not copied; only :func:`region_name` reads it).
    """

    task_id: Any
    data: dict[str, Any]
    outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    completed_by: Any = None
    annotation_id: Any = None
    created_at: Any = None
    updated_at: Any = None
    lead_time: Any = None
    history: Any = None
    was_cancelled: Any = None
    agreement: Any = None
    has_agreement: bool = False
    result: list[Any] = field(default_factory=list)


def annotator_of(record: AnnotationRecord, default: Any = None, *, int_id: bool = False) -> Any:
    """Who made the annotation, as the converter writes it: a user dict gives its email; an int stays an
    int only with ``int_id`` (JSON_MIN), else becomes a string (CSV, VOC); None becomes "None"."""
    annotator = record.completed_by
    if isinstance(annotator, dict):
        return annotator.get("email", default)
    if isinstance(annotator, int) and not isinstance(annotator, bool) and int_id:
        return annotator
    return str(annotator)


def iter_annotation_records(
    tasks: Iterable[dict[str, Any]],
    schema: ExportSchema,
    *,
    keep_region_ids: bool = False,
    extra_keys: tuple[str, ...] = (),
) -> Iterator[AnnotationRecord]:
    """Yield one :class:`AnnotationRecord` per kept annotation of each task, lazily.

    ``keep_region_ids`` copies each result's ``id`` and ``parentID`` into its value (YOLO keypoints link a
    keypoint to its box through them); ``extra_keys`` copies more result-level keys when present (the ASR
    manifest reads ``original_length``).
    """
    for task in tasks:
        yield from records_of_task(task, schema, keep_region_ids=keep_region_ids, extra_keys=extra_keys)


def records_of_task(
    task: dict[str, Any],
    schema: ExportSchema,
    *,
    keep_region_ids: bool = False,
    extra_keys: tuple[str, ...] = (),
) -> Iterator[AnnotationRecord]:
    """The records of one task (see the module docstring for the rules)."""
    if "annotations" in task:
        annotations = task["annotations"]
    elif "completions" in task:
        annotations = task["completions"]
    else:
        return
    task_id = task.get("id")
    data = task.get("data") or {}
    if not annotations:
        yield AnnotationRecord(task_id=task_id, data=data, completed_by={})
        return
    kept = [a for a in annotations if not (a.get("skipped") or a.get("was_cancelled"))]
    # Newest first, as the converter does; a stable sort keeps file order among equal timestamps.
    kept.sort(key=lambda a: a.get("created_at") or "", reverse=True)
    agreement = task.get("agreement", _MISSING)
    for annotation in kept:
        result = annotation.get("result") or []
        yield AnnotationRecord(
            task_id=task_id,
            data=data,
            outputs=_outputs(result, schema, keep_region_ids, extra_keys),
            result=result,
            completed_by=annotation.get("completed_by", {}),
            annotation_id=annotation.get("id"),
            created_at=annotation.get("created_at"),
            updated_at=annotation.get("updated_at"),
            lead_time=annotation.get("lead_time"),
            history=annotation.get("history"),
            was_cancelled=annotation.get("was_cancelled"),
            agreement=None if agreement is _MISSING else agreement,
            has_agreement=agreement is not _MISSING,
        )


def _copy_json(value: Any) -> Any:
    """A deep copy of decoded JSON, where dicts and lists are the only mutable values: ~3x cheaper than
    ``copy.deepcopy`` (its memo and dispatch), which was a third of a COCO export of 10,000 images x 10 boxes
    (bench/bench_s3.py)."""
    kind = type(value)
    if kind is dict:
        return {key: _copy_json(item) if type(item) in _CONTAINERS else item for key, item in value.items()}
    if kind is list:
        return [_copy_json(item) if type(item) in _CONTAINERS else item for item in value]
    return copy.deepcopy(value) if kind not in _IMMUTABLE else value


_CONTAINERS = (dict, list)
_IMMUTABLE = (str, int, float, bool, type(None))


def _outputs(
    result: list[dict[str, Any]], schema: ExportSchema, keep_region_ids: bool, extra_keys: tuple[str, ...]
) -> dict[str, list[dict[str, Any]]]:
    outputs: dict[str, list[dict[str, Any]]] = {}
    geometry = _tool_geometry(result)
    for region in result:
        from_name = region.get("from_name")
        if not from_name:
            continue  # relations have no from_name
        if not isinstance(from_name, str):
            continue  # names no control (and could not key a record's outputs), as one that names none
        control = schema.control_for(from_name)
        if control is not None:
            tag_type = control.tag
        elif region.get("type") == "chatmessage":
            tag_type = "chatmessage"
        elif not schema.controls:
            # An empty config (custom interfaces) matches no control; keep the data, as the converter does.
            tag_type = region.get("type") or "unknown"
        else:
            continue
        value = _copy_json(region.get("value") or {})
        if tag_type == "Labels" and geometry and not any(key in value for key in _GEOMETRY_KEYS):
            # A separate Labels control names the region a Rectangle/Polygon/KeyPoint tool drew (same region
            # id); Label Studio writes the geometry into both results, an export that lacks it gets it here.
            tool = geometry.get(_hashable(region.get("id")))
            if tool is not None:
                value = {**_copy_json(tool["value"]), **value}
                region = {**{k: tool[k] for k in ("original_width", "original_height") if k in tool}, **region}
        value["type"] = tag_type
        if control is not None or tag_type != "chatmessage":
            for key in ("original_width", "original_height", *extra_keys):
                if key in region:
                    value[key] = region[key]
        if keep_region_ids and control is not None:
            value["id"] = region.get("id")
            value["parentID"] = region.get("parentID")
        outputs.setdefault(from_name, []).append(value)
    return outputs


_GEOMETRY_KEYS = ("x", "y", "points")
_TOOL_TYPES = ("rectangle", "polygon", "keypoint")


def _hashable(region_id: Any) -> Any:
    return region_id if isinstance(region_id, (str, int)) and not isinstance(region_id, bool) else None


def _tool_geometry(result: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Region id -> the value of a Rectangle, Polygon or KeyPoint tool result (the geometry a separate Labels
    control's result of the same region may lack)."""
    shapes: dict[Any, dict[str, Any]] = {}
    for region in result:
        if not isinstance(region, dict) or region.get("type") not in _TOOL_TYPES:
            continue
        value, region_id = region.get("value"), _hashable(region.get("id"))
        if region_id is not None and isinstance(value, dict) and any(key in value for key in _GEOMETRY_KEYS):
            shapes.setdefault(region_id, region)
    return shapes


def prettify(values: list[dict[str, Any]]) -> Any:
    """A from_name's values as JSON_MIN/CSV show them (``prettify_result``).

    A single Choices result with one choice becomes that string, a single TextArea result with one text
    becomes that string; otherwise the list of values without their ``type``. A ``choices`` or ``text`` that
    is not a list (an object, a number) is not unwrapped: its value is written whole. (A one-character string
    unwraps to itself, as in Label Studio.)
    """
    out: list[Any] = []
    tag_type = None
    for value in values:
        item = dict(value)
        tag_type = item.pop("type", None)
        if tag_type == "Choices" and _single(item.get("choices")):
            out.append(item["choices"][0])
        elif tag_type == "TextArea" and _single(item.get("text")):
            out.append(item["text"][0])
        else:
            out.append(item)
    return out[0] if tag_type in ("Choices", "TextArea") and len(out) == 1 else out


def _single(items: Any) -> bool:
    return isinstance(items, (list, str)) and len(items) == 1


# --- region values a writer cannot use -------------------------------------------------------------------
log = logging.getLogger("core.formats")
INT64 = 2**63  # orjson (COCO) and the databases hold integers of 64 bits


class UnusableRegion(Exception):
    """A region's ``field`` holds a value the writer cannot use (``reason`` says why); the writer leaves the
    region out and reports it with :func:`skip_region`. Never leaves a writer."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


def number_of(value: dict[str, Any], key: str, *, positive: bool = False) -> int | float:
    """``value[key]`` when it is a finite number (kept as is: an int stays an int), else UnusableRegion.

    Booleans are not numbers here, and neither is an integer beyond 64 bits (COCO's JSON encoder refuses it,
    and no coordinate or size is that large). ``positive`` also refuses zero and less (a size divided by).
    """
    raw = value.get(key)
    if _is_number(raw) and not (positive and raw <= 0):
        return raw  # type: ignore[no-any-return]
    return as_number(raw, key, positive=positive)


def numbers_of(value: dict[str, Any], keys: tuple[str, ...]) -> list[int | float]:
    """:func:`number_of` for each of ``keys``, in order (the writers' hot path: one call per region)."""
    numbers = []
    for key in keys:
        raw = value.get(key)
        kind = type(raw)  # _is_number, inlined
        if not ((kind is float and raw - raw == 0.0) or (kind is int and -INT64 <= raw < INT64)):
            as_number(raw, key)
        numbers.append(raw)
    return numbers


def _is_number(raw: Any) -> bool:
    # Exact types (bool is an int subclass); ``raw - raw`` is NaN for an infinite or NaN float.
    kind = type(raw)
    return (kind is float and raw - raw == 0.0) or (kind is int and -INT64 <= raw < INT64)


def as_number(raw: Any, field: str, *, positive: bool = False) -> int | float:
    """``raw`` when it is a finite number (see :func:`number_of`), else UnusableRegion naming ``field``."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise UnusableRegion(field, f"must be a number, found {json_type(raw)}")
    if not (math.isfinite(raw) if isinstance(raw, float) else -INT64 <= raw < INT64):
        raise UnusableRegion(field, "is out of range")
    if positive and raw <= 0:
        raise UnusableRegion(field, f"must be positive, found {_shown(raw)}")
    return raw


def finite(fields: str, *numbers: float, bound: float = math.inf) -> None:
    """UnusableRegion naming ``fields`` when a number computed from them overflowed (to infinity), or reached
    ``bound`` in size (:data:`INT64` for numbers that are written rounded to integers)."""
    for number in numbers:
        if not -bound < number < bound:  # NaN fails too
            raise UnusableRegion(fields, "give coordinates out of range")


def label_names(value: dict[str, Any], key: str) -> list[str]:
    """``value[key]`` as a list of label names: [] when absent or empty, UnusableRegion unless a list of text."""
    names = value.get(key)
    if not names:
        return []
    if not isinstance(names, list):
        raise UnusableRegion(key, f"must be a list of label names, found {json_type(names)}")
    for name in names:
        if not isinstance(name, str):
            raise UnusableRegion(key, f"must hold label names (text), found {json_type(name)}")
    return names


def polygon_points(points: Any) -> list[list[int | float]]:
    """A polygon's ``points`` (``[[x, y], ...]`` in percent) when they are a list of number pairs, else
    UnusableRegion naming the first bad point."""
    if not isinstance(points, list):
        raise UnusableRegion("points", f"must be a list of [x, y] points, found {json_type(points)}")
    for index, point in enumerate(points):
        if not isinstance(point, list) or len(point) != 2:
            found = f"{len(point)} numbers" if isinstance(point, list) else json_type(point)
            raise UnusableRegion(f"points[{index}]", f"must be an [x, y] pair, found {found}")
        as_number(point[0], f"points[{index}][0]")
        as_number(point[1], f"points[{index}][1]")
    return points


def region_id_of(value: dict[str, Any], key: str) -> Any:
    """A region id (``id``, ``parentID``) usable as a dict key: text, a number or null; UnusableRegion else."""
    raw = value.get(key)
    if isinstance(raw, (dict, list)):
        raise UnusableRegion(key, f"must be a region id, found {json_type(raw)}")
    return raw


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def region_name(record: AnnotationRecord, value: dict[str, Any]) -> str:
    """Where ``value`` (one of ``record.outputs``' values) sits: ``result[3] ('box', id 'r1')``, 1-based.

    Found when needed rather than carried with every value: the n-th value of a from_name is the n-th region
    of the result with that from_name (a control's regions are all kept or all dropped)."""
    for from_name, values in record.outputs.items():
        index = next((i for i, candidate in enumerate(values) if candidate is value), None)
        if index is None:
            continue
        same = [(n, region) for n, region in enumerate(record.result, start=1)
                if isinstance(region, dict) and region.get("from_name") == from_name]
        if index >= len(same):
            return f"region {index + 1} of {_shown(from_name)}"
        position, region = same[index]
        region_id = region.get("id")
        detail = _shown(from_name) if region_id is None else f"{_shown(from_name)}, id {_shown(region_id)}"
        return f"result[{position}] ({detail})"
    return "a region"


def skip_region(fmt: str, record: AnnotationRecord, value: dict[str, Any], problem: UnusableRegion) -> None:
    """Report that ``fmt``'s writer left ``value`` out of the export, and why (a warning on ``core.formats``)."""
    log.warning(
        "%s export: task %s, annotation %s, %s left out: %s",
        fmt, _shown(record.task_id), _shown(record.annotation_id), region_name(record, value), problem,
    )


def skip_annotation(fmt: str, record: AnnotationRecord, value: dict[str, Any], problem: UnusableRegion) -> None:
    """Report that ``fmt``'s writer left the whole annotation out because ``value``, which it takes the image's
    size from, is not usable (a warning on ``core.formats``)."""
    log.warning(
        "%s export: task %s, annotation %s left out: its image size comes from %s, whose %s",
        fmt, _shown(record.task_id), _shown(record.annotation_id), region_name(record, value), problem,
    )
