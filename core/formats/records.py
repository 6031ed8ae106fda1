"""Label Studio tasks -> one record per annotation, the common input of every converter format.

This is ``Converter.annotation_result_from_task`` of label-studio-sdk 2.1.2, kept rule for rule because the
outputs must match Label Studio's: a task without an ``annotations`` key yields nothing; a task with an empty
list yields one record without outputs; cancelled (skipped) annotations are dropped; the rest come newest
first (by ``created_at``); each record groups the result values by ``from_name``, with the control's tag
type under ``"type"`` and ``original_width/height`` copied in.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from core.formats.schema import ExportSchema

_MISSING: Any = object()


@dataclass(frozen=True)
class AnnotationRecord:
    """One annotation of one task, flattened for export.

    ``outputs`` maps ``from_name`` to the list of result values (copies: writers may not mutate tasks).
    ``agreement`` is the task's ``agreement`` or None when the task has none (``has_agreement`` tells which).
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
        yield AnnotationRecord(
            task_id=task_id,
            data=data,
            outputs=_outputs(annotation.get("result") or [], schema, keep_region_ids, extra_keys),
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
    for region in result:
        from_name = region.get("from_name")
        if not from_name:
            continue  # relations have no from_name
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


def prettify(values: list[dict[str, Any]]) -> Any:
    """A from_name's values as JSON_MIN/CSV show them (``prettify_result``).

    A single Choices result with one choice becomes that string, a single TextArea result with one text
    becomes that string; otherwise the list of values without their ``type``.
    """
    out: list[Any] = []
    tag_type = None
    for value in values:
        item = dict(value)
        tag_type = item.pop("type", None)
        if tag_type == "Choices" and len(item.get("choices") or []) == 1:
            out.append(item["choices"][0])
        elif tag_type == "TextArea" and len(item.get("text") or []) == 1:
            out.append(item["text"][0])
        else:
            out.append(item)
    return out[0] if tag_type in ("Choices", "TextArea") and len(out) == 1 else out
