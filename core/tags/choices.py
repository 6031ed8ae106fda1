"""Choices and Taxonomy: whole-task answers picked from the config's options.

Agreement: exact match of the chosen sets (Label Studio's default for Choices; Jaccard of the sets for
multi-choice when asked), Taxonomy by the Jaccard of the selected paths' prefixes
(:func:`metrics.agreement.taxonomy_agreement`). Consensus: the answer most annotations give wins, "no
answer" included, and a tie is no consensus -- the rule of :class:`metrics.consensus.MajorityVote`
(``tests/core/test_tag_behaviours.py`` checks the two agree on random votes), counted here by
:func:`metrics.consensus.vote_leaders` on plain lists because it runs inside every completing submit.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.config import ControlTag
from core.tags.spec import (
    ControlAttrs,
    ControlInput,
    GoldScorer,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    canonical,
    common_attrs,
    per_control,
    consensus_item,
    mean_of,
    scored_by,
)
from metrics.agreement import choices_agreement, taxonomy_agreement
from metrics.consensus import vote_leaders


@dataclass(frozen=True)
class ChoicesAttrs(ControlAttrs):
    """``choice="multiple"`` (any case): several options may be chosen; ``maxUsages`` is not a limit here."""

    multiple: bool = False


@per_control
def choices_attrs(control: ControlTag) -> ChoicesAttrs:
    return ChoicesAttrs(**common_attrs(control),
                        multiple=(control.get("choice") or "single").strip().lower() == "multiple")


def answer_of(item: ResultItem, value_key: str) -> Any:
    """The answer an item gives, normalised so that equal answers compare equal (choice order ignored)."""
    answer = item.get("value", {}).get(value_key)
    if isinstance(answer, list):
        return sorted(answer, key=canonical)
    return answer


def majority_vote(inp: ControlInput) -> list[ResultItem] | None:
    """Whole-task answers: the answer most annotations give wins, "no answer" included; a tie is no
    consensus (never a coin flip). Used by every family whose answer is one value compared whole.

    With consensus weights (``inp.weights``) each annotation counts its weight
    (:func:`metrics.consensus.vote_leaders`, the rule of :class:`metrics.consensus.WeightedVote`): two
    annotators at 0.3 (0.6 together) lose to one at 1."""
    value_key = inp.control.kind.value_key
    if value_key is None:
        return None
    keys: list[str] = []
    first_with: dict[str, tuple[ResultItem, Any]] = {}
    for items in inp.per_annotation:
        answers = [answer_of(item, value_key) for item in items]
        answer = answers[0] if len(answers) == 1 else answers
        key = "" if not answers else canonical(answer)
        keys.append(key)
        if key and key not in first_with:
            first_with[key] = (items[0], answer)
    leaders = vote_leaders(keys, inp.weights or None)
    if len(leaders) != 1:
        return None
    winner = leaders[0]
    if winner == "":
        return []
    template, answer = first_with[winner]
    return [consensus_item(inp.control, template, {value_key: answer})]


def chosen_key(values: Values | None) -> tuple[str, ...] | None:
    """The chosen set as a sorted tuple (None: not answered); exact match is equality of keys."""
    if values is None:
        return None
    if len(values) == 1:  # the common case: one item, usually one choice
        chosen: Sequence[Any] = values[0].get("choices") or ()
        if len(chosen) == 1:
            return (str(chosen[0]),)
    return tuple(sorted({str(c) for v in values for c in v.get("choices", [])}))


def choices_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    """Exact match of the chosen sets (:func:`metrics.agreement.choices_agreement`)."""
    return choices_agreement(a, b)


def _exact_hit(control: ControlTag, mine: Values, truth: Values) -> float:
    return float(chosen_key(mine) == chosen_key(truth))


def validate_choices(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    chosen = value.get("choices")
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        return ["choices: must be a list of option names"]
    attrs = choices_attrs(control)
    if len(chosen) > 1 and not attrs.multiple and not attrs.per_region:
        return [f"choices: {len(chosen)} options chosen, but {control.name!r} takes one (choice=\"single\")"]
    return []


def validate_taxonomy(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    paths = value.get("taxonomy")
    if not isinstance(paths, list) or not all(
        isinstance(p, list) and p and all(isinstance(x, str) for x in p) for p in paths
    ):
        return ["taxonomy: must be a list of paths, each a non-empty list of option names"]
    return []


def taxonomy_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    """Jaccard of the selected paths' prefix sets (:func:`metrics.agreement.taxonomy_agreement`)."""
    return taxonomy_agreement(a, b)


BEHAVIOURS = {
    "Choices": TagBehaviour(
        family="choices", attrs=choices_attrs, validate=validate_choices, agreement=choices_pairwise,
        consensus=majority_vote, gold=GoldScorer("exact_match", _exact_hit, lambda p: {"accuracy": mean_of(p)}),
        level="nominal",
    ),
    "Taxonomy": TagBehaviour(
        family="choices", attrs=choices_attrs, validate=validate_taxonomy, agreement=taxonomy_pairwise,
        consensus=majority_vote,  # the whole selection of paths votes as one answer
        gold=scored_by("score", "taxonomy_overlap", taxonomy_pairwise),
    ),
}
