"""Checking a submitted result against the labeling config before it is stored.

A result is Label Studio's list of items. Each item must come from a control of the config (its
``from_name``), point at an object that control may label (``to_name``), carry that control's ``type``,
and hold a ``value`` object; relations link two region ids present in the same result; label values must
be among the control's labels (unless the options are dynamic, read from the task). A page bug or a
hand-made API call therefore cannot store an annotation the exports and metrics would choke on.
"""
from __future__ import annotations

from typing import Any

from core.config import LabelingConfig
from core.errors import QuorumError

MAX_RESULT_ITEMS = 10_000


class InvalidResultError(QuorumError):
    """A result does not fit the project's labeling config; the message names the item and the field."""


def _label_values(item: dict[str, Any], value_key: str | None) -> list[Any]:
    if value_key is None:
        return []
    values = item["value"].get(value_key)
    if values is None:
        return []
    if not isinstance(values, list):
        return [values]
    return values


def check_result(cfg: LabelingConfig, result: Any) -> None:
    """Raise InvalidResultError naming the first problem of ``result``; return None when it fits."""
    if not isinstance(result, list):
        raise InvalidResultError("a result must be a list of items")
    if len(result) > MAX_RESULT_ITEMS:
        raise InvalidResultError(f"a result may hold at most {MAX_RESULT_ITEMS} items")
    region_ids = {item.get("id") for item in result if isinstance(item, dict) and item.get("id")}
    for index, item in enumerate(result, start=1):
        where = f"result item {index}"
        if not isinstance(item, dict):
            raise InvalidResultError(f"{where} is not an object")
        if item.get("type") == "relation":
            for end in ("from_id", "to_id"):
                if item.get(end) not in region_ids:
                    raise InvalidResultError(f"{where}: relation {end} {item.get(end)!r} names no region of this result")
            continue
        control = cfg.controls.get(str(item.get("from_name")))
        if control is None:
            known = ", ".join(cfg.controls) or "none"
            raise InvalidResultError(f"{where}: from_name {item.get('from_name')!r} is no control of the config (controls: {known})")
        to_names = [n for n in str(item.get("to_name", "")).split(",") if n]
        if not to_names or any(name not in control.to_names for name in to_names):
            raise InvalidResultError(
                f"{where}: to_name {item.get('to_name')!r} is not what {control.tag} {control.name!r} labels "
                f"({', '.join(control.to_names)})"
            )
        expected = control.kind.result_type
        # Label Studio writes a region's label item with the *Labels* type and geometry tools with theirs.
        if item.get("type") != expected:
            raise InvalidResultError(f"{where}: type {item.get('type')!r}, but {control.tag} {control.name!r} makes {expected!r}")
        if not isinstance(item.get("value"), dict):
            raise InvalidResultError(f"{where}: value must be an object")
        if control.is_dynamic or control.tag in ("Ranker", "Taxonomy", "TextArea"):
            continue
        allowed = set(cfg.label_names(control.name))
        if allowed:
            for label in _label_values(item, control.kind.value_key):
                if isinstance(label, str) and label not in allowed:
                    raise InvalidResultError(f"{where}: {label!r} is not a label of {control.tag} {control.name!r}")


def missing_required(cfg: LabelingConfig, result: list[dict[str, Any]]) -> list[str]:
    """Names of whole-task controls marked ``required="true"`` that have no item in ``result``.

    Per-region required controls are checked by the region widget (they depend on which region).
    """
    answered = {item.get("from_name") for item in result if isinstance(item, dict)}
    return [
        control.name
        for control in cfg.controls.values()
        if (control.get("required") or "false").lower() == "true"
        and (control.get("perRegion") or "false").lower() != "true"
        and control.name not in answered
    ]


def _comparable(item: dict[str, Any]) -> str:
    """An item reduced to what it says (who labels what, with which value), ignoring region ids, model
    scores and provenance, as a canonical string."""
    import json

    keep = {k: item.get(k) for k in ("from_name", "to_name", "type", "value", "from_id", "to_id", "labels")}
    if isinstance(keep.get("value"), dict):
        keep["value"] = {k: v for k, v in keep["value"].items() if k != "score"}
    return json.dumps(keep, sort_keys=True, default=str)


def same_answers(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> bool:
    """Whether two results say the same thing (used to tell an accepted pre-label from a changed one)."""
    return sorted(map(_comparable, first)) == sorted(map(_comparable, second))
