"""Checking a submitted result against the labeling config before it is stored.

A result is Label Studio's list of items. Each item must come from a control of the config (its
``from_name``), point at an object that control may label (``to_name``), carry that control's ``type``,
and hold a ``value`` object; relations link two region ids present in the same result; label values must
be among the control's labels (unless the options are dynamic, read from the task). A page bug or a
hand-made API call therefore cannot store an annotation the exports and metrics would choke on.
"""
from __future__ import annotations

from typing import Any

from core.config import LabelingConfig, chat_limit, chat_roles, resolve_value
from core.config.visibility import hidden_controls
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
        source = cfg.objects.get(str(item.get("from_name")))
        if source is not None and source.tag == "Chat" and str(item.get("from_name")) not in cfg.controls:
            _check_chat_item(cfg, item, where)  # a message the labeler added to a Chat
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


def _check_chat_item(cfg: LabelingConfig, item: dict[str, Any], where: str) -> None:
    """A ``chatmessage`` item: from_name and to_name the Chat's name, ``value.chatmessage`` a
    ``{"role", "content"}`` with a role of the Chat's ``messageroles`` and text content."""
    chat = cfg.objects[str(item["from_name"])]
    if item.get("to_name") != chat.name:
        raise InvalidResultError(f"{where}: a chat message of {chat.name!r} must have to_name {chat.name!r}, "
                                 f"not {item.get('to_name')!r}")
    if item.get("type") != "chatmessage":
        raise InvalidResultError(f"{where}: type {item.get('type')!r}, but Chat {chat.name!r} makes 'chatmessage'")
    if (chat.get("editable") or "false").strip().lower() != "true":
        raise InvalidResultError(f"{where}: Chat {chat.name!r} is not editable (editable=\"true\"); "
                                 "messages cannot be added to it")
    value = item.get("value")
    message = value.get("chatmessage") if isinstance(value, dict) else None
    if not isinstance(message, dict):
        raise InvalidResultError(f"{where}: value must be {{\"chatmessage\": {{\"role\", \"content\"}}}}")
    roles = chat_roles(chat)
    if message.get("role") not in roles:
        raise InvalidResultError(f"{where}: role {message.get('role')!r} is not one of Chat {chat.name!r}'s "
                                 f"roles ({', '.join(roles)})")
    if not isinstance(message.get("content"), str) or not message["content"].strip():
        raise InvalidResultError(f"{where}: a chat message needs text content")


def chat_messages(chat_name: str, result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``chatmessage`` items of one Chat in ``result``, in result order."""
    return [item for item in result if isinstance(item, dict) and item.get("from_name") == chat_name
            and item.get("type") == "chatmessage"]


def check_chat_rules(cfg: LabelingConfig, result: list[dict[str, Any]],
                     data: dict[str, Any] | None = None) -> list[str]:
    """Why ``result`` may not be submitted for a config's Chat tags (empty: it may).

    ``minMessages``/``maxMessages`` count the conversation as the labeler leaves it: the task's
    messages (``data``, when given) plus the ``chatmessage`` items the labeler added. ``$var`` limits
    are read from ``data``; a limit that cannot be read is not enforced. With ``data``, per-message
    answers (items with an ``id`` and ``to_name`` the Chat) must name a message of the conversation:
    ``msg-<index>`` of the task's list, or the ``id`` of an added ``chatmessage`` item.
    """
    messages: list[str] = []
    for chat in cfg.objects.values():
        if chat.tag != "Chat":
            continue
        shown = resolve_value(chat.value, data) if data is not None else []
        count = (len(shown) if isinstance(shown, list) else 0) + len(chat_messages(chat.name, result))
        known = {item.get("id") for item in chat_messages(chat.name, result)}
        if data is not None:
            known |= {f"msg-{index}" for index in range(len(shown) if isinstance(shown, list) else 0)}
            for item in result:
                control = cfg.controls.get(str(item.get("from_name"))) if isinstance(item, dict) else None
                per_region = control is not None and (control.get("perRegion") or "").strip().lower() == "true"
                if per_region and item.get("to_name") == chat.name and item.get("id") not in known:
                    messages.append(f"{item.get('from_name')!r} answers message {item.get('id')!r}, which is not in "
                                    f"the conversation {chat.name!r}")
        low, high = chat_limit(chat, "minMessages", data), chat_limit(chat, "maxMessages", data)
        if low is not None and count < low:
            messages.append(f"the conversation {chat.name!r} needs at least {low} messages; it has {count}")
        if high is not None and count > high:
            messages.append(f"the conversation {chat.name!r} may have at most {high} messages; it has {count}")
    return messages


def missing_required(cfg: LabelingConfig, result: list[dict[str, Any]]) -> list[str]:
    """Names of whole-task controls marked ``required="true"`` that have no item in ``result``.

    Per-region required controls are checked by the region widget (they depend on which region).
    A control hidden by ``visibleWhen`` is not required (Label Studio validates visible tags only);
    it is judged as at submission, with no region selected (``core.config.visibility``).
    """
    answered = {item.get("from_name") for item in result if isinstance(item, dict)}
    hidden = hidden_controls(cfg, result, ())
    return [
        control.name
        for control in cfg.controls.values()
        if (control.get("required") or "false").lower() == "true"
        and (control.get("perRegion") or "false").lower() != "true"
        and control.name not in answered
        and control.name not in hidden
    ]


def control_question(cfg: LabelingConfig, control_name: str) -> str:
    """What the labeler sees as the question a control answers, for messages about it.

    The control's own ``label``/``title`` when it has one, else the text of the nearest fixed ``<Header>``
    above it in the config (the usual way Label Studio templates ask: ``<Header value="Is it spam?"/>`` then
    ``<Choices>``), else its name. A header that reads task data (``$var``) says nothing fixed and is passed
    over (and ends the previous header's reach).
    """
    control = cfg.controls.get(control_name)
    if control is None:
        return control_name
    own = control.get("label") or control.get("title")
    if own:
        return own
    header = None
    for node in cfg.root.walk():
        if node.name == control_name and node.tag == control.tag:
            break
        if node.tag == "Header":
            text = (node.get("value") or node.text or "").strip()
            header = text if text and "$" not in text else None
    return header or control_name


def missing_required_message(cfg: LabelingConfig, missing: list[str], action: str) -> str:
    """``Please answer “Is it spam?” before submitting: it is required.``: the question as the labeler sees
    it (the control's name only when the config gives no question)."""
    named = [f"“{control_question(cfg, name)}”" for name in missing]
    return f"Please answer {', '.join(named)} before {action}: {'it is' if len(named) == 1 else 'they are'} required."


def _comparable(item: dict[str, Any]) -> str:
    """An item reduced to what it says (who labels what, with which value), ignoring region ids, model
    scores and provenance, as a canonical string."""
    import json

    keep = {k: item.get(k) for k in ("from_name", "to_name", "type", "value", "from_id", "to_id", "labels")}
    if isinstance(keep.get("value"), dict):
        keep["value"] = {k: v for k, v in keep["value"].items() if k != "score"}
    return json.dumps(keep, sort_keys=True, default=str)


def with_origins(result: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``result`` with Label Studio's ``origin`` on the items that came from a pre-label: ``prediction`` when
    the item is as the model gave it, ``prediction-changed`` when the labeler changed it (items are matched by
    region ``id`` and control). Items of the labeler's own keep their origin (``manual`` when drawn)."""
    by_key = {(item.get("id"), item.get("from_name")): item for item in predicted
              if isinstance(item, dict) and item.get("id")}
    out = []
    for item in result:
        source = by_key.get((item.get("id"), item.get("from_name"))) if isinstance(item, dict) else None
        if source is None:
            out.append(item)
            continue
        out.append({**item, "origin": "prediction" if _comparable(item) == _comparable(source)
                    else "prediction-changed"})
    return out


def same_answers(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> bool:
    """Whether two results say the same thing (used to tell an accepted pre-label from a changed one)."""
    return sorted(map(_comparable, first)) == sorted(map(_comparable, second))
