"""What a tag family registers for each of its kinds: the shape of the slots in :class:`TagBehaviour`.

The tag registry (``core.config.registry.TAG_KINDS``) says what a tag *is* (its category, result type,
value key, which objects it labels). What a tag *does* -- how its attributes read, which answers are
valid, how two answers agree, how several become one, how an answer scores against a ground truth and
where it can be exported -- lives in one module per tag family under ``core/tags/`` and is reached only
through :func:`core.tags.behaviour_of`. Adding a tag kind means one family module (or one entry in an
existing one) and nothing else; ``tests/core/test_tag_behaviours.py`` walks every labelable kind and
fails on an empty slot that does not say what happens instead (:class:`Fallback`).
"""
from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeGuard, TypeVar, cast

from core.config import ControlTag, LabelingConfig

ResultItem = dict[str, Any]
Value = Mapping[str, Any]
Values = Sequence[Value]


# --- attributes ----------------------------------------------------------------------------------------


def number_attr(control: ControlTag, attr: str, default: float | None = None) -> float | None:
    """A numeric attribute, or ``default`` when absent or not a finite number (``$var`` included)."""
    raw = control.get(attr)
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return default
    return value if value is not None and math.isfinite(value) else default


@dataclass(frozen=True)
class ControlAttrs:
    """Attributes every control shares, read once (``perRegion``, ``required``)."""

    per_region: bool = False
    required: bool = False


A = TypeVar("A", bound="ControlAttrs")


def per_control(parse: Callable[[ControlTag], A]) -> Callable[[ControlTag], A]:
    """Cache an attribute parser's answer on the control itself: validators and agreement functions ask
    for the attributes once per value, and a config (with its controls) is parsed once and kept, so each
    control's attributes are read once. (A dict lookup; hashing a control with all its options would not be.)"""
    slot = f"_attrs_{parse.__module__}.{parse.__qualname__}"

    @functools.wraps(parse)
    def cached(control: ControlTag) -> A:
        found = control.__dict__.get(slot)
        if found is None:
            found = control.__dict__[slot] = parse(control)  # frozen dataclass: its __dict__ is still a dict
        return cast(A, found)

    return cached


def common_attrs(control: ControlTag) -> dict[str, bool]:
    """The :class:`ControlAttrs` fields of ``control``, for family parsers that extend them."""
    return {"per_region": control.per_region, "required": control.flag("required")}


@per_control
def plain_attrs(control: ControlTag) -> ControlAttrs:
    """Attribute parser of families with no attributes of their own."""
    return ControlAttrs(**common_attrs(control))


# --- values --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueContext:
    """What a value validator may look at besides the value: the config, the item, the task's data
    (None when unknown, e.g. a prediction checked before its task exists)."""

    cfg: LabelingConfig
    item: Mapping[str, Any]
    data: Mapping[str, Any] | None = None


#: ``validate(control, value, context)`` -> problems, each ``"field: what is wrong"`` (empty: valid).
Validator = Callable[[ControlTag, Value, ValueContext], list[str]]

#: ``agreement(control, a, b)`` -> score in [0, 1]: two annotations' values of one control.
Agreement = Callable[[ControlTag, Values, Values], float]


@dataclass(frozen=True)
class ControlInput:
    """What a consensus builder gets: one control and its items in each counted annotation.

    ``built``: the consensus items of the other controls made so far (Relations, built last, link the
    consensus regions).

    ``weights``: how much each annotation's vote counts, in ``per_annotation``'s order (its author's consensus
    weight in the project, 0 < w <= 1; :mod:`core.quality` fills it); empty when every vote counts 1. A builder
    that counts votes -- a majority vote, a median, a Borda count -- counts each annotation by
    :meth:`vote_weights`; the rule and the builders that ignore it are listed in :mod:`core.quality`.
    """

    control: ControlTag
    per_annotation: list[list[ResultItem]]  # one list per annotation (empty: not answered)
    data: Mapping[str, Any]
    cfg: LabelingConfig
    built: tuple[ResultItem, ...] = ()
    weights: tuple[float, ...] = ()

    def vote_weights(self) -> list[float]:
        """One weight per annotation, in ``per_annotation``'s order (1.0 each when none were given)."""
        return list(self.weights) if self.weights else [1.0] * len(self.per_annotation)


#: A builder returns the consensus items of its control ([] = "consensus: nothing"), or None: no consensus.
ConsensusBuilder = Callable[[ControlInput], list[ResultItem] | None]


@dataclass(frozen=True)
class GoldScorer:
    """How one annotator's answers of a control score against the ground truth.

    ``evidence(control, mine, truth)`` turns one gold task into a piece of evidence (a hit, a count of
    matched boxes, a pair of texts); ``summarise(pieces)`` turns an annotator's evidence into the columns
    the Quality page shows (``accuracy``, ``f1``, ``precision``/``recall``/``mean_iou``, ``char_accuracy``
    or ``score``).
    """

    name: str
    evidence: Callable[[ControlTag, Values, Values], Any]
    summarise: Callable[[list[Any]], dict[str, float]]


class Fallback(str, Enum):
    """What happens to an answered control that has no agreement or consensus function."""

    REVIEW = "always to review: a reviewer settles the answers, since no function can merge them"


@dataclass(frozen=True)
class TagBehaviour:
    """Everything one tag kind does, as callables.

    ``agreement``/``consensus``/``gold`` may be None only with a ``fallback`` saying what happens
    instead; ``exports`` are the converter formats (beyond JSON/CSV/TSV) its results go to.
    ``level``: Krippendorff's level of measurement of a whole-task answer ("nominal", "ordinal",
    "interval"), None when chance-corrected coefficients do not apply to it.
    """

    family: str
    attrs: Callable[[ControlTag], ControlAttrs]
    validate: Validator
    agreement: Agreement | None
    consensus: ConsensusBuilder | None
    gold: GoldScorer | None
    exports: tuple[str, ...] = ()
    fallback: Fallback | None = None
    level: str | None = None
    options: Callable[[ControlTag], dict[str, Any]] = field(default=lambda control: {})
    region_noun: str = "region"  # what the region list calls one of its regions in messages ("box 2")


# --- helpers the families share -------------------------------------------------------------------------


def drawn_regions(cfg: LabelingConfig, items: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], ControlTag]]:
    """The regions among ``items`` with their controls: items of a region control (a box, a span ...) that
    carry an ``id``, in order; not relations, not per-region answers (which share their region's id).
    What relations link and per-region answers hang on."""
    out = []
    for item in items:
        control = cfg.controls.get(str(item.get("from_name")))
        if (control is not None and control.kind.is_region and not control.per_region and item.get("id") is not None
                and item.get("type") != "relation"):
            out.append((item, control))
    return out


def canonical(value: Any) -> str:
    """A JSON text equal for equal answers (keys sorted): what votes count."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def consensus_item(control: ControlTag, template: Mapping[str, Any] | None, value: dict[str, Any],
                   **extra: Any) -> ResultItem:
    """A consensus result item of ``control`` (``to_name`` from the template item or the control)."""
    to_name = (template or {}).get("to_name") or (control.to_names[0] if control.to_names else "")
    return {"from_name": control.name, "to_name": to_name, "type": control.kind.result_type, "value": value, **extra}


def first_label(item: Mapping[str, Any], value_key: str | None) -> str:
    """The first label of a region item (``""`` when it has none)."""
    labels = item.get("value", {}).get(value_key) if value_key else None
    return str(labels[0]) if isinstance(labels, list) and labels else ""


def mean_of(pieces: list[Any]) -> float:
    """Mean of the numbers among ``pieces`` that are not NaN (NaN when there are none)."""
    numbers = [float(p) for p in pieces if p is not None and not math.isnan(float(p))]
    return sum(numbers) / len(numbers) if numbers else float("nan")


def scored_by(column: str, name: str, agreement: Agreement) -> GoldScorer:
    """A gold scorer that scores each gold task with ``agreement`` and shows the mean in ``column``."""
    return GoldScorer(name, agreement, lambda pieces: {column: mean_of(pieces)})


def check_number(value: Value, key: str, *, low: float | None = None, high: float | None = None,
                 positive: bool = False) -> list[str]:
    """Problems of ``value[key]`` as a finite number within [low, high] (> 0 when ``positive``)."""
    x = value.get(key)
    if not is_number(x):
        return [f"{key}: {x!r} is not a number"]
    if (low is not None and x < low - 1e-9) or (high is not None and x > high + 1e-9):
        return [f"{key}: {x} is outside {low:g}-{high:g}" if low is not None and high is not None
                else f"{key}: {x} is out of range"]
    if positive and x <= 0:
        return [f"{key}: {x} must be greater than 0"]
    return []


def check_labels(value: Value, key: str | None) -> list[str]:
    """Problems of a region's label list (``value[key]``): a list of strings when present."""
    if key is None or key not in value:
        return []
    labels = value[key]
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return [f"{key}: must be a list of label names"]
    return []
