"""Pairwise and Ranker: which of two items is better, and the order of a list in buckets.

Pairwise (``{"selected": "left"|"right"}``) agrees exactly (:func:`metrics.agreement_kinds.exact_agreement`)
and its consensus is the majority. Ranker (``{"ranker": {bucket: [item ids]}}``) agrees by Kendall's
tau-b of the two orders mapped to [0, 1] (Kendall 1938, :func:`metrics.agreement_kinds.ranking_agreement`);
its consensus places each item in the bucket most annotators chose and orders a bucket by mean position
(a Borda count, Dwork et al. 2001: :func:`metrics.consensus.borda_ranking`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.config import ControlTag
from core.tags.choices import majority_vote
from core.tags.spec import (
    ControlInput,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    consensus_item,
    plain_attrs,
    scored_by,
)
from metrics.agreement_kinds import exact_agreement, ranking_agreement
from metrics.consensus import borda_ranking

PAIRWISE_SIDES = ("left", "right")


def pairwise_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return exact_agreement(a, b, key="selected")


def bucket_order(control: ControlTag, ranker: Mapping[str, Any]) -> dict[str, list[str]]:
    """``ranker`` with its buckets in the config's ``<Bucket>`` order (then any others by name).

    A stored answer's key order is not the ranking: PostgreSQL's JSONB sorts object keys, so the buckets'
    order must come from the config, as Label Studio lays them out."""
    configured = [option.value for option in control.options]
    order = configured + sorted(k for k in ranker if k not in configured)
    return {bucket: [str(x) for x in ranker[bucket]] for bucket in order if bucket in ranker}


def _in_config_order(control: ControlTag, values: Values) -> list[dict[str, Any]]:
    return [{**v, "ranker": bucket_order(control, v.get("ranker") or {})} for v in values]


def ranker_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return ranking_agreement(_in_config_order(control, a), _in_config_order(control, b))


def validate_pairwise(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    if value.get("selected") not in PAIRWISE_SIDES:
        return [f"selected: {value.get('selected')!r} must be 'left' or 'right'"]
    return []


def validate_ranker(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    ranker = value.get("ranker")
    if not isinstance(ranker, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, (str, int)) for x in v)
        for k, v in ranker.items()
    ):
        return ["ranker: must map each bucket name to a list of item ids"]
    placed = [str(x) for v in ranker.values() for x in v]
    if len(placed) != len(set(placed)):
        return ["ranker: an item is placed twice"]
    return []


def ranking_consensus(inp: ControlInput) -> list[ResultItem] | None:
    """Each item in its majority bucket, buckets ordered by mean position; a tie is no consensus. With
    consensus weights (``inp.weights``) the votes and mean positions are weighted."""
    answered = [(bucket_order(inp.control, items[0].get("value", {}).get("ranker", {})), weight)
                for items, weight in zip(inp.per_annotation, inp.vote_weights()) if items]
    if not answered:
        return []
    merged = borda_ranking([ranking for ranking, _ in answered],
                           weights=[weight for _, weight in answered] if inp.weights else None)
    if merged is None:
        return None
    template = next(items[0] for items in inp.per_annotation if items)
    return [consensus_item(inp.control, template, {"ranker": bucket_order(inp.control, merged)})]


BEHAVIOURS = {
    "Pairwise": TagBehaviour(family="ordering", attrs=plain_attrs, validate=validate_pairwise,
                             agreement=pairwise_pairwise, consensus=majority_vote,
                             gold=scored_by("accuracy", "exact_match", pairwise_pairwise)),
    "Ranker": TagBehaviour(family="ordering", attrs=plain_attrs, validate=validate_ranker,
                           agreement=ranker_pairwise, consensus=ranking_consensus,
                           gold=scored_by("score", "rank_correlation", ranker_pairwise)),
}
