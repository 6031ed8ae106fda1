"""The typed tree of a labeling config: frozen dataclasses built by :func:`core.config.parse_config`.

Attribute names are stored lower-cased (``toname``, ``showinline``, ``valuelist``) because Label Studio
reads them case-insensitively (its tag models declare them in lower case); use ``.get("toName")``,
which folds the case for you, rather than indexing ``attrs`` with a camel-case key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.config.registry import TagKind
from core.config.values import variables_in


def _get(attrs: dict[str, str], attr: str, default: str | None) -> str | None:
    return attrs.get(attr.lower(), default)


@dataclass(frozen=True)
class LabelOption:
    """One option of a control: a Choice, Label, Relation or Bucket (Taxonomy options nest).

    ``value`` is the ``value`` attribute (for a Bucket its ``name``); ``alias``, when set, is what
    Label Studio writes into results instead of ``value`` -- see :attr:`result_value`.
    """

    value: str
    alias: str | None
    hotkey: str | None
    background: str | None
    children: tuple[LabelOption, ...] = ()
    attrs: dict[str, str] = field(default_factory=dict, hash=False)
    line: int = 0

    @property
    def result_value(self) -> str:
        """The string stored in a result for this option (``alias`` wins over ``value``)."""
        return self.alias or self.value

    def get(self, attr: str, default: str | None = None) -> str | None:
        """Attribute by name in any case (``get("selected")``)."""
        return _get(self.attrs, attr, default)

    def walk(self) -> tuple[LabelOption, ...]:
        """This option and all nested ones, depth first in config order."""
        out: list[LabelOption] = [self]
        for child in self.children:
            out.extend(child.walk())
        return tuple(out)


@dataclass(frozen=True)
class TagNode:
    """One tag of the config tree, in config order: layout (View), decoration (Header) and all.

    Pages walk this tree to lay out the interface; :class:`ObjectTag` and :class:`ControlTag` are the
    flat, name-indexed views of the same tags.
    """

    tag: str                    # canonical name ("RectangleLabels")
    attrs: dict[str, str] = field(hash=False)
    line: int
    kind: TagKind
    children: tuple[TagNode, ...] = ()
    text: str = ""              # character data directly inside the tag (CSS of <Style>)
    written: str = ""           # the tag as written in the XML, when its case differs

    def get(self, attr: str, default: str | None = None) -> str | None:
        """Attribute by name in any case (``get("toName")``)."""
        return _get(self.attrs, attr, default)

    @property
    def name(self) -> str | None:
        return self.attrs.get("name")

    def walk(self) -> tuple[TagNode, ...]:
        """This node and all descendants, depth first in config order."""
        out: list[TagNode] = [self]
        for child in self.children:
            out.extend(child.walk())
        return tuple(out)


@dataclass(frozen=True)
class ObjectTag:
    """A tag that shows task data (Image, Text ...).

    ``value`` is the value template (``"$image"``; for a multi-page Image the ``valueList``);
    ``variables`` the task-data keys it reads (``"a"`` for ``"$a.b"``).
    """

    name: str
    tag: str
    value: str
    variables: tuple[str, ...]
    attrs: dict[str, str] = field(hash=False)
    line: int

    def get(self, attr: str, default: str | None = None) -> str | None:
        """Attribute by name in any case (``get("valueType")``)."""
        return _get(self.attrs, attr, default)


@dataclass(frozen=True)
class ControlTag:
    """A tag that produces results (Choices, RectangleLabels, TextArea ...).

    ``options`` are its Choice/Label/Relation/Bucket children in config order (Taxonomy as a tree);
    empty for dynamic options (``value="$field"``), which come from each task's data.
    """

    name: str
    tag: str
    to_names: tuple[str, ...]
    options: tuple[LabelOption, ...]
    attrs: dict[str, str] = field(hash=False)
    line: int
    kind: TagKind

    def get(self, attr: str, default: str | None = None) -> str | None:
        """Attribute by name in any case (``get("choice")``)."""
        return _get(self.attrs, attr, default)

    def flag(self, attr: str, default: bool = False) -> bool:
        """A boolean attribute as Label Studio reads it: ``"true"`` in any case and spacing is true."""
        raw = self.get(attr)
        return default if raw is None else raw.strip().lower() == "true"

    @property
    def per_region(self) -> bool:
        """Whether the control answers per region (``perRegion="true"``) rather than per task; the one
        reading of the attribute (``core.tags`` attribute parsers and visibility rules use it)."""
        return self.flag("perRegion")

    @property
    def dynamic_options_variable(self) -> str | None:
        """The task-data key holding this control's options (``value="$opts"``), or None."""
        value = self.attrs.get("value", "")
        if self.kind.option_kinds and value.startswith("$"):
            found = variables_in(value)
            return found[0] if found else None
        return None

    @property
    def is_dynamic(self) -> bool:
        """Whether the options come from each task's data (Label Studio's dynamic labels/choices)."""
        return self.dynamic_options_variable is not None

    def all_options(self) -> tuple[LabelOption, ...]:
        """Every option, nested ones included, depth first in config order."""
        out: list[LabelOption] = []
        for option in self.options:
            out.extend(option.walk())
        return tuple(out)


@dataclass(frozen=True)
class VariableUse:
    """One place the config reads task data: ``$image`` in ``<Image name="img" value="$image">``."""

    variable: str     # top-level data key ("a" for "$a.b")
    template: str     # the attribute text it came from ("$a.b", "Task: $title")
    tag: str          # canonical tag name
    name: str | None  # the tag's name attribute, if any
    attr: str         # attribute read (lower-case)
    line: int

    def describe(self) -> str:
        named = f' name="{self.name}"' if self.name else ""
        return f'<{self.tag}{named}> {self.attr}="{self.template}" at line {self.line}'


@dataclass(frozen=True, eq=False)
class LabelingConfig:
    """A parsed labeling config. Build it with :func:`core.config.parse_config`.

    ``objects`` and ``controls`` keep config order. ``sample_task`` is the task from the config's
    trailing ``<!-- {...} -->`` comment, normalised to ``{"data": {...}}`` plus ``annotations`` /
    ``predictions`` when the comment has them; None when there is no readable comment.
    ``warnings`` are things Label Studio accepts that Quorum reads in a documented way (a control
    without ``toName`` labelling the config's only object), as ``core.config.ConfigProblem``; they
    never stop a config. :func:`core.config.config_warnings` adds the attribute-level ones.
    """

    xml: str
    root: TagNode
    objects: dict[str, ObjectTag]
    controls: dict[str, ControlTag]
    sample_task: dict[str, Any] | None = None
    variable_uses: tuple[VariableUse, ...] = ()
    warnings: tuple[Any, ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        """Every task-data key the config reads, in config order, each once."""
        return tuple(dict.fromkeys(use.variable for use in self.variable_uses))

    def control(self, control_name: str) -> ControlTag:
        """The control named ``control_name``; KeyError names the known controls."""
        try:
            return self.controls[control_name]
        except KeyError:
            known = ", ".join(self.controls) or "none"
            raise KeyError(f"no control named {control_name!r}; controls: {known}") from None

    def result_type(self, control_name: str) -> str:
        """The ``type`` of this control's results (``"choices"``)."""
        kind = self.control(control_name).kind
        if kind.result_type is None:  # every control kind declares one; a test guards this
            raise ValueError(f"tag kind {kind.name} declares no result type")
        return kind.result_type

    def label_names(self, control_name: str) -> list[str]:
        """The values this control's results can hold, flat and in config order.

        Uses each option's :attr:`LabelOption.result_value` (alias if set). Taxonomy nodes are
        flattened depth first. Empty for dynamic options, which live in each task's data.
        """
        return [option.result_value for option in self.control(control_name).all_options()]

    def unsupported_tags(self) -> list[tuple[str, int]]:
        """Known tags Quorum has no widget for, as ``(tag, line)`` in config order."""
        return [(node.tag, node.line) for node in self.root.walk() if not node.kind.has_widget]

    def find(self, name: str) -> TagNode | None:
        """The tree node whose ``name`` attribute is ``name`` (objects, controls, buckets ...)."""
        for node in self.root.walk():
            if node.attrs.get("name") == name and not node.kind.is_child:
                return node
        return None
