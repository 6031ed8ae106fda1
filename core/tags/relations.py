"""Relations: labelled links between two regions of the same annotation.

A relation item names its regions by id (``{"type": "relation", "from_id", "to_id", "direction",
"labels"}``); ids differ between annotators, so relations are compared through the regions they link.
:func:`resolved_relations` turns each relation into the value ``{"from", "to", "labels", "direction"}``
holding the two region items and their controls. Agreement: F1 over (from, to, labels) triples, two
endpoints being the same region when their control's own agreement scores them at least 0.5
(:func:`metrics.agreement_kinds.relation_agreement`; relation extraction's strict triple match, e.g.
the ACE/SemEval-2010 task 8 scoring, over matched entities). Consensus: each endpoint is mapped to the
consensus region it matches best; a (from, to, labels) triple at least half the annotators gave is kept
(:func:`metrics.consensus.vote_relations`). Relations are built after every region control.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.config import ControlTag, LabelingConfig
from core.tags.spec import (
    ControlInput,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    drawn_regions,
    plain_attrs,
    scored_by,
)
from metrics.agreement_kinds import relation_agreement
from metrics.consensus import vote_relations

SAME_REGION = 0.5
DIRECTIONS = ("right", "left", "bi")


def is_relation(item: Mapping[str, Any]) -> bool:
    return item.get("type") == "relation"


def resolved_relations(cfg: LabelingConfig, result: Sequence[Mapping[str, Any]]) -> list[ResultItem]:
    """The relation items of ``result``, each with a ``value`` holding the regions it links (an end that
    names no region of the result leaves the relation out: check_result refuses such results)."""
    regions: dict[Any, tuple[Mapping[str, Any], ControlTag]] = {}
    for item, control in drawn_regions(cfg, result):
        regions.setdefault(item["id"], (item, control))
    out: list[ResultItem] = []
    for item in result:
        if not is_relation(item) or item.get("from_id") not in regions or item.get("to_id") not in regions:
            continue
        (source, source_control), (target, target_control) = regions[item["from_id"]], regions[item["to_id"]]
        out.append({**item, "value": {"from": source, "from_control": source_control, "to": target,
                                      "to_control": target_control,
                                      "labels": sorted(map(str, item.get("labels") or [])),
                                      "direction": item.get("direction", "right")}})
    return out


def same_region(a: Mapping[str, Any], a_control: ControlTag, b: Mapping[str, Any], b_control: ControlTag) -> float:
    """How well two region items are the same region: their control's agreement, 0 across controls."""
    from core.tags import behaviour_of  # the registry imports this module

    if a_control.name != b_control.name:
        return 0.0
    behaviour = behaviour_of(a_control.tag)
    if behaviour is None or behaviour.agreement is None:
        return float(a.get("value") == b.get("value"))
    return behaviour.agreement(a_control, [a.get("value", {})], [b.get("value", {})])


def relations_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    def match(x: Value, y: Value) -> bool:
        return same_region(x["item"], x["control"], y["item"], y["control"]) >= SAME_REGION

    def ends(values: Values) -> list[dict[str, Any]]:
        return [{"from": {"item": v["from"], "control": v["from_control"]},
                 "to": {"item": v["to"], "control": v["to_control"]},
                 "labels": v["labels"], "direction": v["direction"]} for v in values]

    return relation_agreement(ends(a), ends(b), endpoint_match=match)


def validate_relation(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    item = ctx.item
    problems = []
    if item.get("direction", "right") not in DIRECTIONS:
        problems.append(f"direction: {item.get('direction')!r} must be one of {', '.join(DIRECTIONS)}")
    labels = item.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        problems.append("labels: must be a list of relation names")
    return problems


def relation_vote(inp: ControlInput) -> list[ResultItem] | None:
    """Relations at least half the annotators drew between the same consensus regions."""
    regions = drawn_regions(inp.cfg, inp.built)

    def consensus_index(end: Mapping[str, Any], control: ControlTag) -> int | None:
        scored = [(same_region(end, control, region, region_control), i)
                  for i, (region, region_control) in enumerate(regions)]
        best = max(scored, default=(0.0, -1))
        return best[1] if best[0] >= SAME_REGION else None

    per_annotator: list[list[tuple[int, int, tuple[str, ...], str]]] = []
    for items in inp.per_annotation:
        triples = []
        for item in items:
            value = item["value"]
            i, j = consensus_index(value["from"], value["from_control"]), consensus_index(value["to"], value["to_control"])
            if i is not None and j is not None:
                triples.append((i, j, tuple(value["labels"]), str(value["direction"])))
        per_annotator.append(triples)
    return [{"type": "relation", "from_id": regions[i][0]["id"], "to_id": regions[j][0]["id"],
             "direction": direction, "labels": list(labels)}
            for i, j, labels, direction in vote_relations(per_annotator)]


BEHAVIOURS = {
    "Relations": TagBehaviour(family="relations", attrs=plain_attrs, validate=validate_relation,
                              agreement=relations_pairwise, consensus=relation_vote,
                              gold=scored_by("f1", "relation_match", relations_pairwise)),
}
