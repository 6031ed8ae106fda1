"""What the writers need to know of a labeling config, as plain frozen data.

Label Studio's converter works on a flat schema ``{control name: {type, to_name, inputs, labels,
labels_attrs}}`` (``label_studio_sdk/converter/utils.py: parse_config``). :class:`ExportSchema` is that
schema, typed. It is built from Quorum's parsed config (:func:`schema_from_config`), so the writers depend on
six attributes of ``core.config`` and nothing else, and tests can build one by hand without XML.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class ControlSpec:
    """A control tag: its ``name`` (the results' ``from_name``), tag type, object tags and label names.

    ``labels`` are in config order, each the ``alias`` if set, else the ``value`` (as Label Studio's
    converter does); ``label_attrs`` maps a label to its XML attributes (``category``, ``model_index`` ...).
    """

    name: str
    tag: str
    to_names: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    label_attrs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectSpec:
    """An object tag: ``name``, tag type (Image, Text, Audio ...), ``value`` = the data key without '$'.

    ``is_list`` marks ``valueList`` objects (a list of images), which lose COCO/YOLO/VOC in Label Studio.
    """

    name: str
    tag: str
    value: str
    is_list: bool = False


@dataclass(frozen=True)
class ExportSchema:
    """Controls and objects of one labeling config, in config order."""

    controls: tuple[ControlSpec, ...] = ()
    objects: tuple[ObjectSpec, ...] = ()

    @cached_property
    def control_by_name(self) -> dict[str, ControlSpec]:
        return {control.name: control for control in self.controls}

    @cached_property
    def _patterns(self) -> tuple[tuple[re.Pattern[str], ControlSpec], ...]:
        # Repeater names such as "label_{{idx}}" match results from "label_0", "label_1" ...
        found = []
        for control in self.controls:
            if "{{" in control.name:
                pattern = re.sub(r"\\\{\\\{[^}]*\\\}\\\}", r"\\d+", re.escape(control.name))
                found.append((re.compile(pattern + r"\Z"), control))
        found.sort(key=lambda pair: -len(pair[0].pattern))
        return tuple(found)

    def control_for(self, from_name: str) -> ControlSpec | None:
        """The control a result's ``from_name`` belongs to (exact name, else a Repeater pattern)."""
        control = self.control_by_name.get(from_name)
        if control is not None:
            return control
        for pattern, candidate in self._patterns:
            if pattern.match(from_name):
                return candidate
        return None

    @cached_property
    def data_keys(self) -> tuple[str, ...]:
        """Data keys of the objects that some control labels, in config order (the converter's data keys)."""
        targets = {name for control in self.controls for name in control.to_names}
        keys: list[str] = []
        for obj in self.objects:
            if obj.name in targets and obj.value and obj.value not in keys:
                keys.append(obj.value)
        return tuple(keys)

    @property
    def control_tags(self) -> frozenset[str]:
        return frozenset(control.tag for control in self.controls)

    @cached_property
    def object_tags(self) -> frozenset[str]:
        """Tags of the objects that some control labels."""
        targets = {name for control in self.controls for name in control.to_names}
        return frozenset(obj.tag for obj in self.objects if obj.name in targets)

    @property
    def has_value_list(self) -> bool:
        return any(obj.is_list for obj in self.objects)

    def labels_of(self, tag: str) -> list[str]:
        """Label names of every control of type ``tag``, in config order, without duplicates."""
        return list(dict.fromkeys(label for c in self.controls if c.tag == tag for label in c.labels))


def schema_from_config(config: Any) -> ExportSchema:
    """Build an :class:`ExportSchema` from ``core.config``'s parsed config.

    Reads ``config.controls`` (``name``, ``tag``, ``to_names``, ``options`` of ``value``/``alias``/``attrs``,
    nested ``children`` included) and ``config.objects`` (``name``, ``tag``, ``value``, ``attrs``).
    """
    controls = []
    for control in _values(config.controls):
        labels: list[str] = []
        attrs: dict[str, dict[str, str]] = {}
        for option in _walk_options(getattr(control, "options", ()) or ()):
            label = getattr(option, "alias", None) or getattr(option, "value", None)
            if label:
                if label not in attrs:
                    labels.append(label)
                option_attrs = dict(getattr(option, "attrs", None) or {})
                option_attrs.setdefault("value", getattr(option, "value", label))
                attrs[label] = option_attrs
        controls.append(
            ControlSpec(
                name=control.name,
                tag=control.tag,
                to_names=tuple(control.to_names or ()),
                labels=tuple(labels),
                label_attrs=attrs,
            )
        )
    objects = []
    for obj in _values(config.objects):
        value_list = _attr(obj, "valueList")
        objects.append(
            ObjectSpec(
                name=obj.name,
                tag=obj.tag,
                value=_data_key(obj.value or value_list or "", tuple(getattr(obj, "variables", ()) or ())),
                is_list=bool(value_list) and not _attr(obj, "value"),
            )
        )
    return ExportSchema(controls=tuple(controls), objects=tuple(objects))


def _attr(tag: Any, name: str) -> str | None:
    """An XML attribute in any case (``core.config`` stores attribute names lower-cased)."""
    getter = getattr(tag, "get", None)
    if callable(getter):
        found = getter(name)
        return None if found is None else str(found)
    attrs = getattr(tag, "attrs", None) or {}
    return attrs.get(name, attrs.get(name.lower()))


def _data_key(template: str, variables: tuple[str, ...]) -> str:
    """``"$image"`` -> ``"image"``; a richer template (``"$a.b"``, ``"Task $t"``) -> its first variable."""
    bare = template[1:] if template.startswith("$") else template
    if bare.isidentifier() or not variables:
        return bare
    return variables[0]


def _values(mapping_or_items: Any) -> Iterable[Any]:
    return mapping_or_items.values() if isinstance(mapping_or_items, Mapping) else mapping_or_items


def _walk_options(options: Iterable[Any]) -> Iterable[Any]:
    """Options depth-first, so Taxonomy's nested choices count like Label Studio's flat label list."""
    for option in options:
        yield option
        yield from _walk_options(getattr(option, "children", ()) or ())
