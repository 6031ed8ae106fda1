"""TextArea: typed answers (transcripts, comments, corrections).

Agreement: the mean normalised Levenshtein similarity of the texts aligned by position, an item one side
lacks scoring 0 (Label Studio's TextArea rule, :func:`metrics.agreement.textarea_agreement`). Consensus:
the medoid, the answered text closest to the others, always a text a person typed
(:func:`metrics.consensus.medoid_texts`). Gold: ``1 - CER`` over the whole project, so a one-word clip
with a typo weighs less than a long call (:func:`metrics.annotators.character_accuracy`).
"""
from __future__ import annotations

import pandas as pd

from core.config import ControlTag
from core.tags.spec import (
    ControlInput,
    GoldScorer,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    consensus_item,
    plain_attrs,
)
from metrics.agreement import textarea_agreement
from metrics.annotators import character_accuracy
from metrics.consensus import medoid_texts


def text_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return textarea_agreement(a, b)


def joined_text(values: Values) -> str:
    """Every text of an answer, one per line."""
    return "\n".join(str(t) for v in values for t in v.get("text", []))


def validate_text(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    texts = value.get("text")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return ["text: must be a list of texts"]
    return []


def medoid_text(inp: ControlInput) -> list[ResultItem] | None:
    """The answered text closest (Levenshtein) to the others; nobody answered: no item."""
    answered = [(i, items[0]) for i, items in enumerate(inp.per_annotation) if items]
    if not answered:
        return []
    joined = {i: "\n".join(map(str, item.get("value", {}).get("text", []))) for i, item in answered}
    frame = pd.DataFrame({"task": 0, "annotator": list(joined), "text": list(joined.values())})
    medoid = medoid_texts(frame).iloc[0]
    chosen = next(item for i, item in answered if joined[i] == medoid)
    return [consensus_item(inp.control, chosen, {"text": list(chosen.get("value", {}).get("text", []))})]


def _text_evidence(control: ControlTag, mine: Values, truth: Values) -> tuple[str, str]:
    return joined_text(truth), joined_text(mine)


def _text_summary(pieces: list[tuple[str, str]]) -> dict[str, float]:
    return {"char_accuracy": character_accuracy([r for r, _ in pieces], [h for _, h in pieces])}


BEHAVIOURS = {
    "TextArea": TagBehaviour(family="text_answers", attrs=plain_attrs, validate=validate_text,
                             agreement=text_pairwise, consensus=medoid_text,
                             gold=GoldScorer("character_accuracy", _text_evidence, _text_summary),
                             exports=("ASR_MANIFEST",)),
}
