"""Parse a labeling config (untrusted XML) into a :class:`~core.config.model.LabelingConfig`.

Configs come from users and from Label Studio exports, so the XML is parsed with defusedxml and any
DTD (the door to billion-laughs entity expansion and external entities) is refused before anything
is expanded. Tag names are case-insensitive in Label Studio; they are normalised to the canonical
case of the tag registry.

The analysis runs once and collects *every* problem it finds. :func:`parse_config` raises only for
problems that leave no usable tree (bad XML, unknown tags, missing or duplicate names); the semantic
checks (``toName``, target kinds, options, unsupported tags) are raised by
:func:`core.config.validation.validate_config`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

import defusedxml.sax
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from core.config.colors import css_color
from core.config.model import ControlTag, LabelingConfig, LabelOption, ObjectTag, TagNode, VariableUse
from core.config.registry import TAG_KINDS, TagKind, canonical_tag, supported_tags_text
from core.config.values import variables_in
from core.errors import ConfigError

MAX_CONFIG_CHARS = 5_000_000
"""Refuse configs above this size: real ones (even large taxonomies) are far smaller."""

MAX_DEPTH = 200
"""Refuse deeper nesting: no real config comes close, and it bounds the recursion below."""

# Attributes that may read task data. Option values (Choice/Label) are literals and are not scanned.
_VARIABLE_ATTRS = ("value", "valuelist", "audiourl", "framerate")


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config. ``fatal`` problems leave no usable tree."""

    message: str
    line: int = 0
    tag: str | None = None
    fatal: bool = False

    def __str__(self) -> str:
        return self.message


class ConfigValidationError(ConfigError):
    """A config has one or more problems; ``problems`` lists them all, in line order."""

    def __init__(self, problems: list[ConfigProblem] | tuple[ConfigProblem, ...]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line))
        if len(self.problems) == 1:
            message = self.problems[0].message
        else:
            lines = "\n".join(f"- {p.message}" for p in self.problems)
            message = f"the labeling config has {len(self.problems)} problems:\n{lines}"
        super().__init__(message)


# --- raw XML -------------------------------------------------------------------------------------
@dataclass
class _RawNode:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_RawNode] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


class _TreeBuilder(ContentHandler):
    """SAX handler that keeps each element's line (ElementTree drops it)."""

    def __init__(self) -> None:
        super().__init__()
        self.root: _RawNode | None = None
        self._stack: list[_RawNode] = []
        self._locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 - SAX API name
        self._locator = locator

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802 - SAX API name
        line = self._locator.getLineNumber() if self._locator else 0
        if len(self._stack) >= MAX_DEPTH:
            raise ConfigError(f"XML nested deeper than {MAX_DEPTH} levels at line {line}")
        node = _RawNode(name, {key.lower(): value for key, value in attrs.items()}, line)
        if self._stack:
            self._stack[-1].children.append(node)
        else:
            self.root = node
        self._stack.append(node)

    def endElement(self, name: str) -> None:  # noqa: N802 - SAX API name
        self._stack.pop()

    def characters(self, content: str) -> None:
        if self._stack:
            self._stack[-1].text.append(content)


_ENCODING_DECL_RE = re.compile(r"""^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*(["'])[^"']*\2""")


def _parse_xml(text: str) -> _RawNode:
    """Parse XML safely; raise ConfigError saying "XML" for anything hostile or malformed."""
    # We hand expat UTF-8 bytes, so a declared encoding would be a lie; drop it.
    try:
        data = _ENCODING_DECL_RE.sub(r"\1", text, count=1).encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone UTF-16 surrogate: a str that is not text
        raise ConfigError(f"unreadable XML: character {exc.start + 1} is an unpaired surrogate "
                          f"(\\u{ord(exc.object[exc.start]):04x}), not text") from None
    builder = _TreeBuilder()
    try:
        defusedxml.sax.parseString(data, builder, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except DTDForbidden:
        raise ConfigError("unsafe XML refused: a labeling config may not contain a DTD "
                          "(<!DOCTYPE ...>), which could define expanding or external entities") from None
    except EntitiesForbidden:
        raise ConfigError("unsafe XML refused: entity declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise ConfigError("unsafe XML refused: external references are not allowed") from None
    except DefusedXmlException as exc:
        raise ConfigError(f"unsafe XML refused: {exc}") from None
    except SAXParseException as exc:
        raise ConfigError(f"malformed XML at line {exc.getLineNumber()}, column "
                          f"{(exc.getColumnNumber() or 0) + 1}: {exc.getMessage()}") from None
    except UnicodeError as exc:
        raise ConfigError(f"unreadable XML: {exc}") from None
    if builder.root is None:  # pragma: no cover - expat reports "no element found" first
        raise ConfigError("malformed XML: no root element")
    return builder.root


# --- the sample-task comment --------------------------------------------------------------------
def split_sample_comment(xml: str) -> tuple[str, Any]:
    """Split ``xml`` into the XML proper and the body of its trailing ``<!-- {json} -->`` comment.

    Label Studio templates end with such a comment holding a sample task (``{"data": ...}``, a flat
    data dict, or a list of tasks). Only comments after the root element are considered; of those,
    the last one that reads as JSON wins. JSON with trailing commas or ``//`` line comments is
    accepted; anything unreadable is ignored (returns None), never an error. The comments are cut
    off before XML parsing because their JSON may legally contain ``--``, which XML comments may not.
    """
    rest = xml.rstrip()
    bodies: list[str] = []
    while rest.endswith("-->"):
        start = rest.rfind("<!--")
        if start < 0:
            break
        bodies.append(rest[start + 4:-3])
        rest = rest[:start].rstrip()
    for body in bodies:  # nearest the end first
        stripped = body.strip()
        if stripped[:1] in ("{", "["):
            parsed = _lenient_json(stripped)
            if parsed is not None:
                return rest, parsed
    return rest, None


_TRAILING_COMMA_RE = re.compile(r",(\s*[}\]])")
_LINE_COMMENT_RE = re.compile(r"^\s*//.*$", re.MULTILINE)


def _lenient_json(text: str) -> Any:
    """The comment's JSON, or None. Unreadable includes nesting deeper than the decoder recurses
    (RecursionError) and integers of more digits than Python converts (a ValueError)."""
    for candidate in (text, _TRAILING_COMMA_RE.sub(r"\1", _LINE_COMMENT_RE.sub("", text))):
        try:
            return json.loads(candidate, strict=False)  # strict=False: raw tabs/newlines in strings
        except (ValueError, RecursionError):
            continue
    return None


def _normalise_sample(body: Any, variables: tuple[str, ...]) -> dict[str, Any] | None:
    """Turn a comment body into ``{"data": {...}, "annotations"?: [...], "predictions"?: [...]}``."""
    if isinstance(body, list):
        body = next((item for item in body if isinstance(item, dict)), None)
    if not isinstance(body, dict):
        return None
    has_results = "annotations" in body or "predictions" in body
    # {"data": {...}} wraps the data unless the config itself reads a key called "data".
    wraps = isinstance(body.get("data"), dict) and (has_results or "data" not in variables)
    if wraps:
        task: dict[str, Any] = {"data": body["data"]}
    elif has_results:
        task = {"data": {k: v for k, v in body.items() if k not in ("annotations", "predictions")}}
    else:
        task = {"data": body}
    for key in ("annotations", "predictions"):
        if isinstance(body.get(key), list):
            task[key] = body[key]
    return task


# --- building the typed tree --------------------------------------------------------------------
def _tag_label(node: TagNode) -> str:
    name = node.attrs.get("name")
    return f'<{node.tag} name="{name}">' if name else f"<{node.tag}>"


class _Analyser:
    """Walks the raw tree once, building typed nodes and collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []
        self.objects: dict[str, ObjectTag] = {}
        self.controls: dict[str, ControlTag] = {}
        self.uses: list[VariableUse] = []
        self.names: dict[str, TagNode] = {}
        self.warnings: list[ConfigProblem] = []

    def problem(self, message: str, line: int, tag: str | None, *, fatal: bool = False) -> None:
        self.problems.append(ConfigProblem(message, line, tag, fatal))

    # Pass 1: typed nodes (unknown tags dropped, reported).
    def build(self, raw: _RawNode, depth: int = 0) -> TagNode | None:
        canonical = canonical_tag(raw.tag)
        children = [built for child in raw.children if (built := self.build(child, depth + 1))]
        if canonical is None:
            self.problem(f"unknown tag <{raw.tag}> at line {raw.line}; supported tags: "
                         f"{supported_tags_text()}", raw.line, raw.tag, fatal=True)
            return None
        return TagNode(tag=canonical, attrs=raw.attrs, line=raw.line, kind=TAG_KINDS[canonical],
                       children=tuple(children), text="".join(raw.text).strip(),
                       written=raw.tag if raw.tag != canonical else "")

    # Pass 2: index objects and controls, check structure.
    def index(self, node: TagNode, parent: TagNode | None = None) -> None:
        kind = node.kind
        if kind.is_child:
            self._check_parent(node, parent)
        self._check_required(node)
        self._collect_variables(node)
        if kind.is_object or kind.is_control:
            name = node.attrs.get("name")
            if kind.is_control and not name and not kind.required_attrs:
                name = self._synthetic_name(node)  # Relations: no name needed in Label Studio
            if name:
                self._claim_name(name, node)
                if kind.is_object:
                    self._add_object(name, node)
                else:
                    self._add_control(name, node)
        # View is a transparent wrapper: <Choices><View><Choice/></View></Choices> is fine.
        next_parent = parent if node.tag == "View" else node
        for child in node.children:
            self.index(child, next_parent)

    def _synthetic_name(self, node: TagNode) -> str:
        base = node.tag.lower()
        return base if base not in self.names else f"{base}_{node.line}"

    def _claim_name(self, name: str, node: TagNode) -> None:
        first = self.names.get(name)
        if first is not None:
            self.problem(f'duplicate name "{name}": <{node.tag}> at line {node.line} and '
                         f"<{first.tag}> at line {first.line}", node.line, node.tag, fatal=True)
        else:
            self.names[name] = node

    def _check_parent(self, node: TagNode, parent: TagNode | None) -> None:
        allowed = node.kind.parent_kinds
        if parent is None or parent.tag not in allowed:
            where = f"<{parent.tag}> at line {parent.line}" if parent else "the root"
            self.problem(f"<{node.tag}> at line {node.line} must be inside "
                         f"{' or '.join(f'<{p}>' for p in sorted(allowed))}, not {where}",
                         node.line, node.tag)

    def _check_required(self, node: TagNode) -> None:
        for required in node.kind.required_attrs:
            if required == "toname" and node.kind.is_control and node.attrs.get("name", "").strip():
                continue  # a named control without toName: resolve_missing_targets decides
            alternatives = required.split("|")
            if any(node.attrs.get(attr, "").strip() for attr in alternatives):
                continue
            shown = " or ".join(f"`{_camel(a)}`" for a in alternatives)
            # Without a name an object or control cannot be referenced or stored: fatal.
            fatal = required == "name" and (node.kind.is_object or node.kind.is_control)
            self.problem(f"{_tag_label(node)} at line {node.line} has no {shown} attribute",
                         node.line, node.tag, fatal=fatal)

    def _collect_variables(self, node: TagNode) -> None:
        if node.kind.is_child:
            return
        for attr in _VARIABLE_ATTRS:
            template = node.attrs.get(attr)
            if not template or "$" not in template:
                continue
            for variable in variables_in(template):
                self.uses.append(VariableUse(variable, template, node.tag, node.attrs.get("name"),
                                             attr, node.line))

    def _add_object(self, name: str, node: TagNode) -> None:
        value = node.attrs.get("value") or node.attrs.get("valuelist") or ""
        variables = tuple(dict.fromkeys(
            v for attr in _VARIABLE_ATTRS for v in variables_in(node.attrs.get(attr, ""))))
        self.objects.setdefault(name, ObjectTag(name=name, tag=node.tag, value=value,
                                                variables=variables, attrs=node.attrs, line=node.line))

    def _add_control(self, name: str, node: TagNode) -> None:
        to_names = tuple(part.strip() for part in node.attrs.get("toname", "").split(",") if part.strip())
        options = tuple(self._options(node, node.kind))
        self.controls.setdefault(name, ControlTag(name=name, tag=node.tag, to_names=to_names,
                                                  options=options, attrs=node.attrs, line=node.line,
                                                  kind=node.kind))

    def _options(self, node: TagNode, kind: TagKind) -> list[LabelOption]:
        """Option children of a control, looking through View wrappers, not into other controls."""
        out: list[LabelOption] = []
        for child in node.children:
            if child.tag in kind.option_kinds:
                nested = tuple(self._options(child, kind)) if child.tag == "Choice" else ()
                out.append(self._option(child, nested))
            elif child.kind.is_visual:
                out.extend(self._options(child, kind))
        return out

    def resolve_missing_targets(self) -> None:
        """Controls without ``toName``: label the config's only object they may label, with a warning.

        Label Studio accepts e.g. ``<Rating name="likert_scale" maxRating="7"/>`` next to a single
        object. With exactly one object tag of a kind the control may label, that object becomes its
        target (results carry it as ``to_name``) and a warning says so; with none or several, the
        missing ``toName`` is an error naming the tag, its line and the candidates.
        """
        for name, control in list(self.controls.items()):
            if control.to_names or "toname" not in control.kind.required_attrs:
                continue
            label = f'<{control.tag} name="{name}">'
            candidates = [o for o in self.objects.values() if o.tag in control.kind.to_kinds]
            if len(candidates) == 1:
                (obj,) = candidates
                self.controls[name] = replace(control, to_names=(obj.name,))
                self.warnings.append(ConfigProblem(
                    f'{label} at line {control.line} has no `toName`; it labels <{obj.tag} '
                    f'name="{obj.name}"> (line {obj.line}), the only object tag it can label '
                    f'(add toName="{obj.name}" to make this explicit)', control.line, control.tag))
                continue
            message = f"{label} at line {control.line} has no `toName` attribute"
            if candidates:
                shown = ", ".join(f'"{o.name}" (<{o.tag}> line {o.line})' for o in candidates)
                message += f"; several object tags could be meant, name one of: {shown}"
            self.problem(message, control.line, control.tag)

    @staticmethod
    def _option(node: TagNode, children: tuple[LabelOption, ...]) -> LabelOption:
        key = "name" if node.tag == "Bucket" else "value"
        return LabelOption(value=node.attrs.get(key, ""), alias=node.attrs.get("alias") or None,
                           hotkey=node.attrs.get("hotkey") or None,
                           background=css_color(node.attrs.get("background")),  # else the palette's
                           children=children, attrs=node.attrs, line=node.line)


_CAMEL = {"toname": "toName", "valuelist": "valueList", "audiourl": "audioUrl"}


def _camel(attr: str) -> str:
    return _CAMEL.get(attr, attr)


@dataclass(frozen=True)
class Analysis:
    """The result of one pass over a config: the tree (if any) and every problem found so far."""

    config: LabelingConfig | None
    problems: tuple[ConfigProblem, ...]

    @property
    def fatal(self) -> tuple[ConfigProblem, ...]:
        return tuple(p for p in self.problems if p.fatal)


def analyse(xml_text: str) -> Analysis:
    """Parse and index ``xml_text``, collecting structural problems. Raises ConfigError only when
    the text is not usable XML at all (empty, too big, unsafe, malformed)."""
    if not isinstance(xml_text, str):
        raise ConfigError(f"a labeling config must be text, not {type(xml_text).__name__}")
    text = xml_text.lstrip("\ufeff")
    if not text.strip():
        raise ConfigError("the labeling config is empty: expected XML starting with <View>")
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigError(f"the labeling config is {len(text)} characters long; the limit is "
                          f"{MAX_CONFIG_CHARS}")
    xml_part, comment = split_sample_comment(text)
    raw = _parse_xml(xml_part)
    analyser = _Analyser()
    if canonical_tag(raw.tag) != "View":
        analyser.problem(f"the root tag must be <View>, not <{raw.tag}> (line {raw.line})",
                         raw.line, raw.tag, fatal=True)
    if canonical_tag(raw.tag) is None:  # unknown root: report it, keep checking its children
        analyser.build(_RawNode(raw.tag, {}, raw.line))
        root = TagNode("View", {}, raw.line, TAG_KINDS["View"],
                       tuple(b for c in raw.children if (b := analyser.build(c))))
    else:
        built = analyser.build(raw)
        if built is None:  # pragma: no cover - the root's tag is known here
            raise ConfigError(f"cannot read the root tag <{raw.tag}>")
        root = built
    analyser.index(root)
    analyser.resolve_missing_targets()
    uses = tuple(analyser.uses)
    variables = tuple(dict.fromkeys(use.variable for use in uses))
    config = LabelingConfig(xml=xml_text, root=root, objects=analyser.objects,
                            controls=analyser.controls,
                            sample_task=_normalise_sample(comment, variables), variable_uses=uses,
                            warnings=tuple(analyser.warnings))
    return Analysis(config, tuple(analyser.problems))


def parse_config(xml_text: str) -> LabelingConfig:
    """Parse a labeling config into a typed tree.

    Raises :class:`~core.errors.ConfigError` (a :class:`ConfigValidationError` listing every
    problem, when there are several) for: empty text, hostile XML (DTD, entities, external
    references -- the message says "XML"), malformed XML ("malformed XML at line L, column C: ..."),
    a root other than ``<View>``, unknown tags, objects or controls without a ``name``, and duplicate
    names. Known tags Quorum cannot label are accepted here (see
    :meth:`LabelingConfig.unsupported_tags`); :func:`core.config.validate_config` refuses them.
    """
    analysis = analyse(xml_text)
    if analysis.fatal:
        raise ConfigValidationError(analysis.fatal)
    if analysis.config is None:  # pragma: no cover - analyse() always builds one
        raise ConfigError("the labeling config could not be read")
    return analysis.config
