"""What the quality engine will do with each control of a config, in words and callable names.

``python cli.py config check FILE --format json`` prints it, and the config editor shows the controls
whose answers cannot be compared or merged, so a manager learns before labeling starts that, say, a
Chat's added messages always go to a reviewer. The names are those of the callables the registry
resolves (:func:`core.tags.behaviour_of`), never hopes.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.config import LabelingConfig, kind_of
from core.tags import behaviour_of
from core.tags.spec import Fallback


@dataclass(frozen=True)
class ControlPlan:
    name: str
    tag: str
    agreement: str | None
    consensus: str | None
    gold: str | None
    exports: tuple[str, ...]
    fallback: str | None  # what happens instead when agreement or consensus is None
    per_region: bool = False  # answered per region (each answer follows its region into the consensus)

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "tag": self.tag, "agreement": self.agreement, "consensus": self.consensus,
                "gold": self.gold, "exports": list(self.exports), "fallback": self.fallback,
                "per_region": self.per_region}


#: Formats every config exports to (every control's answers are in them).
UNIVERSAL_FORMATS = ("JSON", "JSON_MIN", "CSV", "TSV")


def _exports(cfg: LabelingConfig, family_formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats this control's answers go to in this config: the universal ones, and those of its
    family that apply to the config as a whole (an ASR manifest needs an Audio, COCO one image per task)."""
    from core.formats.registry import FORMATS
    from core.formats.schema import schema_from_config

    schema = schema_from_config(cfg)
    return UNIVERSAL_FORMATS + tuple(f for f in family_formats if f in FORMATS and FORMATS[f].applies_to(schema))


def quality_plan(cfg: LabelingConfig) -> list[ControlPlan]:
    """One :class:`ControlPlan` per control, and per result-making object (an editable Chat), in config order."""
    plans: list[ControlPlan] = []
    for control in cfg.controls.values():
        behaviour = behaviour_of(control.tag)
        if behaviour is None:  # every labelable kind has one; tests/core/test_tag_behaviours.py guards it
            plans.append(ControlPlan(control.name, control.tag, None, None, None, (), Fallback.REVIEW.value))
            continue
        agreement = behaviour.agreement.__name__ if behaviour.agreement else None
        consensus = behaviour.consensus.__name__ if behaviour.consensus else None
        fallback = behaviour.fallback if agreement is None or consensus is None else None
        plans.append(ControlPlan(control.name, control.tag, agreement, consensus,
                                 behaviour.gold.name if behaviour.gold else None, _exports(cfg, behaviour.exports),
                                 fallback.value if fallback else None, control.per_region))
    for obj in cfg.objects.values():
        behaviour, kind = behaviour_of(obj.tag), kind_of(obj.tag)
        makes_results = kind is not None and kind.result_type is not None and (obj.get("editable") or "").strip().lower() == "true"
        if behaviour is None or not makes_results:
            continue
        plans.append(ControlPlan(obj.name, obj.tag, None, None, None, _exports(cfg, behaviour.exports),
                                 (behaviour.fallback or Fallback.REVIEW).value))
    return plans


def fallback_notes(cfg: LabelingConfig) -> list[str]:
    """The config's controls whose answers are not compared or merged, and what happens instead."""
    return [f"{plan.tag} {plan.name!r}: {plan.fallback}" for plan in quality_plan(cfg) if plan.fallback]
