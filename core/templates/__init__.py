"""Quorum's template gallery: ready-made labeling configs a project can start from.

Each template is one Label Studio labeling-config XML file in ``xml/<group_key>__<slug>.xml``, ending
with a ``<!-- {"data": {...}} -->`` comment holding a sample task (Label Studio's convention). The
title, description, group and data type come from the index in :mod:`core.templates.catalog`, not from
the XML.

The "simple editor" helpers :func:`label_names` and :func:`set_label_names` read and replace the
options (``<Choice>``, ``<Label>``, ``<Relation>``) of one control so a user can rename the classes of a
template without touching XML. They change only the text of that control; everything else in the
config (layout, other attributes, comments, the sample task) is kept byte for byte.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import xml.parsers.expat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from core.errors import ConfigError, NotFoundError
from core.templates.catalog import GROUP_KEYS, INDEX

__all__ = [
    "GROUPS",
    "Template",
    "get_template",
    "label_names",
    "list_templates",
    "sample_task",
    "set_label_names",
]

XML_DIR = Path(__file__).with_name("xml")

GROUPS: tuple[str, ...] = tuple(title for _, title in GROUP_KEYS)
_GROUP_TITLES: dict[str, str] = dict(GROUP_KEYS)

# Controls whose options the simple editor can edit, and the tag of their options. Taxonomy is left
# out on purpose: its options nest, and a flat list of names cannot express the tree.
EDITABLE_CONTROLS: dict[str, str] = {
    "choices": "choice",
    "labels": "label",
    "rectanglelabels": "label",
    "polygonlabels": "label",
    "keypointlabels": "label",
    "hypertextlabels": "label",
    "paragraphlabels": "label",
    "timeserieslabels": "label",
    "relations": "relation",
}

# Label Studio's order for automatic hotkeys (stores/Annotation/Annotation.js setupHotKeys)
_AUTO_HOTKEYS = "1234567890qwetasdfgzxcvbyiopjklnm"

_SAMPLE_RE = re.compile(r"<!--(?P<body>(?:(?!-->).)*)-->\s*\Z", re.S)


@dataclass(frozen=True)
class Template:
    """One gallery entry. ``xml`` is the whole file, sample-task comment included."""

    slug: str
    group: str
    title: str
    description: str
    xml: str
    data_type: str  # text, image, audio, video, html, dialogue, table, timeseries

    @property
    def filename(self) -> str:
        key = next(k for k, title in GROUP_KEYS if title == self.group)
        return f"{key}__{self.slug}.xml"

    def sample_task(self) -> dict[str, Any]:
        """The sample task of the trailing comment, as ``{"data": {...}}``."""
        return sample_task(self.xml)


@lru_cache(maxsize=1)
def _load() -> tuple[Template, ...]:
    templates = []
    for key, slug, title, description, data_type in INDEX:
        path = XML_DIR / f"{key}__{slug}.xml"
        templates.append(Template(slug=slug, group=_GROUP_TITLES[key], title=title,
                                  description=description, xml=path.read_text(encoding="utf-8"),
                                  data_type=data_type))
    order = {group: i for i, group in enumerate(GROUPS)}
    templates.sort(key=lambda t: (order[t.group], t.title.casefold()))
    return tuple(templates)


def list_templates() -> list[Template]:
    """Every template in gallery order: by :data:`GROUPS`, then by title."""
    return list(_load())


def get_template(slug: str) -> Template:
    """The template called ``slug``; raises :class:`~core.errors.NotFoundError` listing valid slugs."""
    for template in _load():
        if template.slug == slug:
            return template
    valid = ", ".join(sorted(t.slug for t in _load()))
    raise NotFoundError(f'no template "{slug}"; valid templates: {valid}')


def sample_task(xml: str) -> dict[str, Any]:
    """The task in the config's trailing ``<!-- {...} -->`` comment; ``{}`` when there is none.

    Raises :class:`~core.errors.ConfigError` when the comment is there but is not a JSON object.
    """
    match = _SAMPLE_RE.search(xml)
    if not match or not match.group("body").strip().startswith("{"):
        return {}
    try:
        task = json.loads(match.group("body"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the sample task comment is not valid JSON: {exc}") from exc
    if not isinstance(task, dict):
        raise ConfigError("the sample task comment must hold a JSON object")
    return task


# -- simple editor -----------------------------------------------------------------------------------

def _parse(xml: str) -> ET.Element:
    """Parse safely (no DTDs, entities or external references); the root must be ``<View>``."""
    if not isinstance(xml, str) or not xml.strip():
        raise ConfigError("the labeling config is empty")
    try:
        root = DET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ConfigError(f"the labeling config uses a forbidden XML feature: {exc}") from exc
    except ET.ParseError as exc:
        raise ConfigError(f"the labeling config is not well-formed XML: {exc}") from exc
    if root.tag.lower() != "view":
        raise ConfigError(f"the labeling config's root must be <View>, not <{root.tag}>")
    return root


def _is_dynamic(control: ET.Element) -> bool:
    return (control.get("value") or "").strip().startswith("$")


def _editable(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if isinstance(el.tag, str)
            and el.tag.lower() in EDITABLE_CONTROLS and el.get("name") and not _is_dynamic(el)]


def _options(control: ET.Element) -> list[ET.Element]:
    option_tag = EDITABLE_CONTROLS[control.tag.lower()]
    return [child for child in control if isinstance(child.tag, str) and child.tag.lower() == option_tag]


def label_names(xml: str) -> dict[str, list[str]]:
    """The option names of every control the simple editor can edit, in document order.

    ``{"entities": ["Person", "Organization"], "intent": ["Greeting", ...]}``. Controls whose options
    come from the task (``value="$field"``) and Taxonomy (nested options) are left out.
    """
    root = _parse(xml)
    return {control.get("name"): [opt.get("value", "") for opt in _options(control)]
            for control in _editable(root)}


def _clean_names(names: list[str]) -> list[str]:
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise ConfigError("label names must be a list of strings")
    cleaned: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise ConfigError(f"label names must be strings, got {name!r}")
        name = name.strip()
        if not name:
            raise ConfigError("label names cannot be empty")
        bad = [ch for ch in name if ord(ch) < 0x20 or 0xFFFE <= ord(ch) <= 0xFFFF
               or 0xD800 <= ord(ch) <= 0xDFFF]
        if bad:
            raise ConfigError(f"label name {name!r} contains a character XML cannot hold")
        if name in cleaned:
            raise ConfigError(f'label name "{name}" appears twice')
        cleaned.append(name)
    if not cleaned:
        raise ConfigError("give at least one label name")
    return cleaned


def _element_span(data: bytes, target_index: int) -> tuple[int, int, int, bool]:
    """Byte offsets of the ``target_index``-th element (document order) in ``data``.

    Returns ``(start, start_tag_end, end, self_closing)``: the element is ``data[start:end]`` and its
    start tag is ``data[start:start_tag_end]``. The text was already checked by defusedxml, so plain
    expat only reports positions here.
    """
    parser = xml.parsers.expat.ParserCreate(encoding="utf-8")
    state: dict[str, Any] = {"count": -1, "depth": 0, "start": None, "end": None}

    def on_start(_name: str, _attrs: Any) -> None:
        state["count"] += 1
        if state["start"] is not None:
            state["depth"] += 1
        elif state["count"] == target_index:
            state["start"] = parser.CurrentByteIndex

    def on_end(_name: str) -> None:
        if state["start"] is None or state["end"] is not None:
            return
        if state["depth"]:
            state["depth"] -= 1
        else:
            state["end"] = parser.CurrentByteIndex

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.Parse(data, True)
    start = state["start"]
    # end of the start tag: the first '>' outside a quoted attribute value
    quote = None
    pos = start
    while True:
        ch = data[pos:pos + 1]
        if quote:
            if ch == quote:
                quote = None
        elif ch in (b'"', b"'"):
            quote = ch
        elif ch == b">":
            break
        pos += 1
    start_tag_end = pos + 1
    if data[pos - 1:pos] == b"/":
        return start, start_tag_end, start_tag_end, True
    end = data.index(b">", state["end"]) + 1
    return start, start_tag_end, end, False


def _indent_before(data: bytes, pos: int) -> str:
    line_start = data.rfind(b"\n", 0, pos) + 1
    prefix = data[line_start:pos].decode("utf-8")
    return prefix if not prefix.strip() else ""


def set_label_names(xml: str, control_name: str, names: list[str]) -> str:
    """``xml`` with the options of control ``control_name`` replaced by ``names``, in that order.

    An option whose name already exists is kept exactly as written (hotkey, background, alias, hint,
    nested options); a new name gets a plain ``<Choice value="..."/>`` (or ``<Label>``, ``<Relation>``),
    plus the next free hotkey when every option of the control had an explicit one. Other children
    of the control (not options) are kept after the options. The control's own start tag and the rest
    of the config are not changed. Names are stripped and XML
    escaped; empty or duplicate names raise :class:`~core.errors.ConfigError`, as does an unknown or
    non-editable control.
    """
    root = _parse(xml)
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    controls = {c.get("name"): c for c in _editable(root)}
    control = controls.get(control_name)
    if control is None:
        named = next((el for el in elements if el.get("name") == control_name), None)
        if named is not None and named.tag.lower() == "taxonomy":
            reason = "its options are nested; edit the Taxonomy in the XML editor"
        elif named is not None and named.tag.lower() in EDITABLE_CONTROLS and _is_dynamic(named):
            reason = f'its options come from the task ({named.get("value")})'
        elif named is not None:
            reason = f"<{named.tag}> has no Choice/Label options"
        else:
            reason = "there is no control with that name"
        editable = ", ".join(controls) or "none"
        raise ConfigError(f'cannot edit the labels of "{control_name}": {reason} '
                          f"(editable controls: {editable})")
    cleaned = _clean_names(names)

    option_tag_lower = EDITABLE_CONTROLS[control.tag.lower()]
    existing = _options(control)
    option_tag = existing[0].tag if existing else option_tag_lower.capitalize()
    by_value = {opt.get("value", ""): opt for opt in existing}
    kept = [by_value[name] for name in cleaned if name in by_value]
    others = [child for child in control if isinstance(child.tag, str) and child not in existing]

    # When every option of the control has an explicit hotkey, new options get one too: the next key
    # free in the whole config, in the order Label Studio assigns automatic hotkeys.
    give_hotkeys = bool(existing) and all(opt.get("hotkey") for opt in existing)
    removed = [opt for opt in existing if opt not in kept]
    used = {el.get("hotkey").lower() for el in elements
            if el.get("hotkey") and not any(el is r for r in removed)}
    free_keys = [k for k in _AUTO_HOTKEYS if k not in used]

    data = xml.encode("utf-8")
    start, start_tag_end, end, self_closing = _element_span(data, elements.index(control))
    outer_indent = _indent_before(data, start)
    inner_indent = outer_indent + "  "
    if existing:
        first = data.find(b"<", start_tag_end)
        inner_indent = _indent_before(data, first) or inner_indent

    def original(el: ET.Element) -> str:  # an element exactly as written
        s, _, e, _ = _element_span(data, elements.index(el))
        return data[s:e].decode("utf-8")

    pieces: list[str] = []
    for name in cleaned:
        old = by_value.get(name)
        if old is not None:
            pieces.append(original(old))
        elif give_hotkeys and free_keys:
            pieces.append(f'<{option_tag} value={quoteattr(name)} hotkey="{free_keys.pop(0)}"/>')
        else:
            pieces.append(f"<{option_tag} value={quoteattr(name)}/>")
    pieces.extend(original(other) for other in others)

    start_tag = data[start:start_tag_end].decode("utf-8")
    if self_closing:
        start_tag = start_tag[:-2].rstrip() + ">"
    body = "".join(f"\n{inner_indent}{piece}" for piece in pieces)
    new_element = f"{start_tag}{body}\n{outer_indent}</{control.tag}>"
    result = data[:start].decode("utf-8") + new_element + data[end:].decode("utf-8")
    _parse(result)  # still a well-formed config
    return result
