"""Checking a submitted result against the labeling config before it is stored.

A result is Label Studio's list of items. Each item must come from a control of the config (its
``from_name``), point at an object that control may label (``to_name``), carry that control's ``type``,
and hold a ``value`` object; relations link two region ids present in the same result; label values must
be among the control's labels (unless the options are dynamic, read from the task). A page bug or a
hand-made API call therefore cannot store an annotation the exports and metrics would choke on.

A span's ``text`` is not taken on trust: :func:`with_span_texts` recomputes it from the task's document
and the span's offsets, the way the labeling page measures them.
"""
from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Mapping
from typing import Any

from core.config import ControlTag, LabelingConfig, ObjectTag, chat_limit, chat_roles, resolve_value
from core.config.visibility import SelectedRegion, hidden_controls, region_labels, shown_for_region
from core.errors import QuorumError
from core.sanitize import hypertext_text
from core.tags import attrs_of, behaviour_of
from core.tags.spec import ValueContext

MAX_RESULT_ITEMS = 10_000
SPAN_OBJECTS = ("Text", "HyperText", "Paragraphs")  # objects whose spans carry the text they cover


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


def value_problems(cfg: LabelingConfig, control: ControlTag, item: Mapping[str, Any],
                   data: Mapping[str, Any] | None = None) -> list[str]:
    """Problems of one item's value by its control's tag family (``"x: 120 is outside 0-100"``); the
    value's shape is checked once, here at the boundary, so agreement, consensus, analytics and the
    exporters can trust it. ``data``: the task's data, when known (a span must lie within its text)."""
    behaviour = behaviour_of(control.tag)
    if behaviour is None:
        return []
    value = item.get("value") if isinstance(item.get("value"), dict) else {}
    return behaviour.validate(control, value, ValueContext(cfg, item, data))


def check_result(cfg: LabelingConfig, result: Any, data: Mapping[str, Any] | None = None) -> None:
    """Raise InvalidResultError naming the first problem of ``result``; return None when it fits.

    ``data``: the task's data, when the caller has it (imports), for checks against the document."""
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
            relations = next((c for c in cfg.controls.values() if c.kind.result_type == "relation"), None)
            problems = value_problems(cfg, relations, item, data) if relations is not None else []
            if problems:
                raise InvalidResultError(f"{where}: relation: {'; '.join(problems)}")
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
        problems = value_problems(cfg, control, item, data)
        if problems:
            raise InvalidResultError(f"{where}: {control.tag} {control.name!r}: {'; '.join(problems)}")
        if control.is_dynamic:
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
                per_region = control is not None and attrs_of(control).per_region
                if per_region and item.get("to_name") == chat.name and item.get("id") not in known:
                    messages.append(f"{item.get('from_name')!r} answers message {item.get('id')!r}, which is not in "
                                    f"the conversation {chat.name!r}")
        low, high = chat_limit(chat, "minMessages", data), chat_limit(chat, "maxMessages", data)
        if low is not None and count < low:
            messages.append(f"the conversation {chat.name!r} needs at least {low} messages; it has {count}")
        if high is not None and count > high:
            messages.append(f"the conversation {chat.name!r} may have at most {high} messages; it has {count}")
    return messages


class MissingAnswer(str):
    """The name of a required control left unanswered -- a plain ``str``, so callers compare names -- and,
    for a per-region control, the region it lacks an answer for: ``region_id`` and ``region`` (how the
    labeler finds it in the region list: ``"box 2 (Car)"``)."""

    region_id: str | None
    region: str | None

    def __new__(cls, name: str, *, region_id: str | None = None, region: str | None = None) -> MissingAnswer:
        missing = super().__new__(cls, name)
        missing.region_id = region_id
        missing.region = region
        return missing


def _region_noun(cfg: LabelingConfig, control: ControlTag, object_name: str) -> str:
    """What the region list calls one of the control's regions ("box 2"): its tag family's word; a span on
    something that is not text (an Audio) is a segment."""
    behaviour = behaviour_of(control.tag)
    noun = behaviour.region_noun if behaviour is not None else "region"
    obj = cfg.objects.get(object_name)
    return "segment" if noun == "span" and obj is not None and obj.tag not in SPAN_OBJECTS else noun


def _regions(cfg: LabelingConfig, result: list[dict[str, Any]]) -> dict[str, list[tuple[str, ControlTag]]]:
    """``{object name: [(region id, its region control)]}``, each object's regions in result order -- the
    order (and so the numbers, from 1) of the region list the labeler sees."""
    out: dict[str, list[tuple[str, ControlTag]]] = {}
    seen: set[tuple[str, str]] = set()
    for item in result:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        control = cfg.controls.get(str(item.get("from_name")))
        if control is None or not control.kind.is_region:
            continue
        object_name, region_id = str(item.get("to_name")), str(item["id"])
        if (object_name, region_id) not in seen:
            seen.add((object_name, region_id))
            out.setdefault(object_name, []).append((region_id, control))
    return out


def _missing_per_region(cfg: LabelingConfig, control: ControlTag, result: list[dict[str, Any]],
                        regions: dict[str, list[tuple[str, ControlTag]]]) -> list[MissingAnswer]:
    """The regions a required per-region ``control`` is shown for but has no answer for (Label Studio asks
    for an answer per region): regions of its objects, with one of its ``whenLabelValue`` labels when it
    has any, whose selection would show it (``visibleWhen`` of the control and its blocks, read for that
    region: ``core.config.visibility.shown_for_region``)."""
    answered = {str(item.get("id")) for item in result
                if isinstance(item, dict) and item.get("from_name") == control.name and item.get("id")}
    wanted = [v.strip() for v in (control.get("whenLabelValue") or "").split(",") if v.strip()]
    missing: list[MissingAnswer] = []
    for object_name in control.to_names:
        for number, (region_id, region_control) in enumerate(regions.get(object_name, []), start=1):
            if region_id in answered:
                continue
            labels = region_labels(cfg, result, region_id)
            if wanted and not any(v in labels or any(v in (o.value, o.alias) and o.result_value in labels
                                                     for o in region_control.all_options()) for v in wanted):
                continue
            region = SelectedRegion(id=region_id, from_name=region_control.name, to_name=object_name,
                                    labels=labels)
            if not shown_for_region(cfg, control.name, result, region):
                continue
            shown = f"{_region_noun(cfg, region_control, object_name)} {number}"
            missing.append(MissingAnswer(control.name, region_id=region_id,
                                         region=f"{shown} ({', '.join(labels)})" if labels else shown))
    return missing


def missing_required(cfg: LabelingConfig, result: list[dict[str, Any]]) -> list[str]:
    """Names of the controls marked ``required="true"`` left unanswered in ``result``, as
    :class:`MissingAnswer` (a ``str``).

    A whole-task control must have an item. A per-region control (``perRegion="true"``) must have one for
    each region it is shown for (an item with that region's ``id``; see :func:`_missing_per_region`): one
    entry per such region, naming it. (A Chat's messages are regions of the task's data, not of the result:
    answers per message are not required here.)
    A control hidden by ``visibleWhen`` is not required (Label Studio validates visible tags only);
    a whole-task control is judged as at submission, with no region selected (``core.config.visibility``).
    """
    answered = {item.get("from_name") for item in result if isinstance(item, dict)}
    hidden = hidden_controls(cfg, result, ())
    regions: dict[str, list[tuple[str, ControlTag]]] | None = None
    missing: list[str] = []
    for control in cfg.controls.values():
        if not attrs_of(control).required:
            continue
        if attrs_of(control).per_region:
            regions = _regions(cfg, result) if regions is None else regions
            missing.extend(_missing_per_region(cfg, control, result, regions))
        elif control.name not in answered and control.name not in hidden:
            missing.append(MissingAnswer(control.name))
    return missing


def control_question(cfg: LabelingConfig, control_name: str) -> str:
    """What the labeler sees as the question a control answers, for messages about it.

    The control's own ``label``/``title`` when it has one, else the text of the nearest fixed ``<Header>``
    above it in the config (the usual way Label Studio templates ask: ``<Header value="Is it spam?"/>`` then
    ``<Choices>``), else its name. A header that reads task data (``$var``) says nothing fixed and is passed
    over (and ends the previous header's reach); so does the first control after a header, which the header
    asks about (the audio project's "Type exactly what the caller says" is the transcript's question, not
    also the quality rating's below it). Without either, the name in words ("call_quality" -> "Call quality").
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
        elif node.kind.is_control:
            header = None  # a header asks the question of the first control after it, not of every later one
    return header or control_name.replace("_", " ").strip().capitalize() or control_name


def missing_required_message(cfg: LabelingConfig, missing: list[str], action: str) -> str:
    """``Please answer “Is it spam?” before submitting: it is required.``: the question as the labeler sees
    it (the control's name only when the config gives no question), and for a per-region answer the region
    (``“Condition” for box 2 (Car)``, from :class:`MissingAnswer`)."""
    named = []
    for name in missing:
        region = name.region if isinstance(name, MissingAnswer) else None
        named.append(f"“{control_question(cfg, name)}”" + (f" for {region}" if region else ""))
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


# --- span texts -------------------------------------------------------------------------------------------

def paragraph_texts(obj: ObjectTag, content: Any) -> list[str]:
    """The texts of a Paragraphs object's paragraphs (its ``textKey``), the units its offsets count in."""
    text_key = obj.get("textKey") or "text"
    paragraphs = content if isinstance(content, list) else []
    return [str(p.get(text_key, "")) if isinstance(p, dict) else str(p) for p in paragraphs]


def paragraph_bases(lengths: list[int]) -> list[int]:
    """Global offset of each paragraph's first character when the paragraphs are laid end to end."""
    bases, total = [], 0
    for length in lengths:
        bases.append(total)
        total += length
    return bases


def from_paragraph(lengths: list[int], index: int, offset: int) -> int:
    """The global offset of ``offset`` inside paragraph ``index``; ValueError when it lies outside."""
    if not 0 <= index < len(lengths):
        raise ValueError(f"paragraph {index} out of range 0..{len(lengths) - 1}")
    if not 0 <= offset <= lengths[index]:
        raise ValueError(f"offset {offset} is outside paragraph {index} ({lengths[index]} characters)")
    return paragraph_bases(lengths)[index] + offset


def to_paragraph(lengths: list[int], offset: int, *, is_end: bool) -> tuple[int, int]:
    """``(paragraph index, offset inside it)`` of a global offset; an end at a paragraph boundary
    belongs to the paragraph before it, a start to the one after."""
    if not lengths:
        return 0, 0
    bases = paragraph_bases(lengths)
    index = bisect.bisect_left(bases, offset) - 1 if is_end else bisect.bisect_right(bases, offset) - 1
    index = max(0, min(index, len(lengths) - 1))
    return index, offset - bases[index]


def span_target(cfg: LabelingConfig, item: Any) -> tuple[ControlTag, ObjectTag] | None:
    """The control and the Text/HyperText/Paragraphs object of a span item, or None for any other item.

    A span is a region item of such an object, or a per-region answer that repeats the region's offsets.
    TextArea items are not spans: their ``text`` is the typed answer, not a piece of the document.
    """
    if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
        return None
    control = cfg.controls.get(str(item.get("from_name")))
    obj = cfg.objects.get(str(item.get("to_name")))
    if control is None or obj is None or obj.tag not in SPAN_OBJECTS or control.kind.value_key == "text":
        return None
    located = any(key in item["value"] for key in ("start", "end", "globalOffsets"))
    return (control, obj) if control.kind.is_region or located else None


def _offset(value: dict[str, Any], key: str, default: int | None = None) -> int:
    """A whole-number offset of a span value (Label Studio writes paragraph indices as strings)."""
    raw = value.get(key, default)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"{key} {raw!r} is not a whole number" if raw is not None else f"no {key} offset")
    return raw


def _slice(document: str, start: int, end: int) -> str:
    if not 0 <= start <= end <= len(document):
        raise ValueError(f"offsets {start}-{end} do not lie in the document ({len(document)} characters)")
    return document[start:end]


def _document(obj: ObjectTag, data: dict[str, Any]) -> str | list[str]:
    """What a span's offsets count in: the text, the HyperText's text nodes, or the paragraph texts."""
    content = resolve_value(obj.value, data)
    if obj.tag == "Paragraphs":
        return paragraph_texts(obj, content)
    if obj.tag == "HyperText":
        return hypertext_text(content)
    return "" if content is None else str(content)


def span_text(obj: ObjectTag, value: dict[str, Any], document: str | list[str]) -> str:
    """The text ``document`` holds at the offsets of span ``value``; ValueError saying why there is none.

    Text: ``start``/``end`` into the text. HyperText: ``globalOffsets`` into its text nodes (its XPath ends
    name the same points, in the browser's DOM). Paragraphs: paragraph ``start``/``end`` with
    ``startOffset``/``endOffset`` inside them, the paragraphs laid end to end.
    """
    if isinstance(document, list):
        lengths = [len(text) for text in document]
        start = from_paragraph(lengths, _offset(value, "start"), _offset(value, "startOffset", 0))
        end = from_paragraph(lengths, _offset(value, "end"), _offset(value, "endOffset", 0))
        return _slice("".join(document), start, end)
    if obj.tag == "HyperText":
        offsets = value.get("globalOffsets")
        if not isinstance(offsets, dict):
            raise ValueError("no globalOffsets, so its text cannot be checked against the document")
        return _slice(document, _offset(offsets, "start"), _offset(offsets, "end"))
    return _slice(document, _offset(value, "start"), _offset(value, "end"))


def has_spans(cfg: LabelingConfig, result: list[Any]) -> bool:
    """Whether ``result`` holds a span item (then :func:`with_span_texts` needs the task's data)."""
    return any(span_target(cfg, item) is not None for item in result)


def with_span_texts(cfg: LabelingConfig, result: list[dict[str, Any]], data: dict[str, Any], *,
                    task_id: int) -> list[dict[str, Any]]:
    """``result`` with each span's ``text`` set to what the task's document holds at the span's offsets.

    The browser (or an API client) sends a span's text along with its offsets; stored as sent, a text
    that the document does not hold there would reach exports and consensus as if a labeler had marked
    it. The offsets are what the page draws and the metrics compare, so the text is derived from them.
    A span whose offsets are missing or lie outside the document is refused (InvalidResultError naming
    the task, the control, the object and the region).
    """
    documents: dict[str, str | list[str]] = {}
    out = []
    for item in result:
        target = span_target(cfg, item)
        if target is None:
            out.append(item)
            continue
        control, obj = target
        if obj.name not in documents:
            documents[obj.name] = _document(obj, data)
        try:
            text = span_text(obj, item["value"], documents[obj.name])
        except ValueError as exc:
            raise InvalidResultError(
                f"task {task_id}: region {item.get('id')!r} of {control.tag} {control.name!r} on {obj.tag} "
                f"{obj.name!r}: {exc}") from None
        out.append(item if item["value"].get("text") == text else {**item, "value": {**item["value"], "text": text}})
    return out


SUMMARY_CHARS = 60


def answer_summary(cfg: LabelingConfig, result: list[Any] | None, *, max_chars: int = SUMMARY_CHARS) -> str:
    """A short reading of an answer for its author's history ("Positive", "Car ×2, Person", "3 regions"), so
    a labeler recognises what they answered without opening the task. Each control's kind says where its
    answer is (``value_key``) and whether its items are regions (counted per label)."""
    parts: list[str] = []
    by_control: dict[str, list[dict[str, Any]]] = {}
    for item in result or []:
        if isinstance(item, dict) and item.get("from_name") in cfg.controls:
            by_control.setdefault(str(item["from_name"]), []).append(item)
    for name, items in by_control.items():
        kind = cfg.controls[name].kind
        values = [(item.get("value") or {}).get(kind.value_key) if kind.value_key else None for item in items]
        if kind.is_region:
            labels = Counter(str(v) for value in values if isinstance(value, list) for v in value)
            unlabeled = sum(1 for value in values if not value)
            shown = [f"{label} ×{n}" if n > 1 else label for label, n in labels.most_common()]
            parts.append(", ".join(shown + ([f"{unlabeled} region{'s' if unlabeled != 1 else ''}"] if unlabeled else [])))
        else:
            flat = [str(v) for value in values for v in (value if isinstance(value, list) else [value])
                    if v is not None and v != ""]
            if flat:
                parts.append(", ".join(flat))
    text = " · ".join(p for p in parts if p)
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
