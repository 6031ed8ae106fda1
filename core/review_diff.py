"""Where the annotators of one task differ, per control, in a shape a reviewer's page can draw (pure: no
database, no Streamlit).

:func:`compare_task` turns the counted annotations of a task (each with its author's name) and the proposed
consensus into one :class:`ControlComparison` per answered control. What is compared depends on the
control's tag family (:func:`core.tags.behaviour_of`), looked up in :data:`COMPARERS`, never by tag name:

* regions (``shapes``, ``keypoints``, ``spans``, ``time_ranges``): every annotator's regions, each matched
  to the consensus region it is most like -- the family's own agreement on the single pair, at least
  :data:`core.tags.relations.SAME_REGION` (0.5), as :func:`core.tags.relations.same_region` does for
  relations and per-region answers; one region per annotator and consensus region. A region that matches
  no consensus region says who else drew it (the same test against the other annotators' regions) and who
  drew the same place with another label: "only alice drew it", "bob drew it as LOC here".
  :class:`RegionComparison`;
* whole-task answers (``choices``, Pairwise, DateTime): the votes per option, the config's options with no
  vote included (:class:`Votes`);
* typed text (``text_answers``): a word-level diff of each answer against the consensus text
  (:class:`TextComparison`, :mod:`difflib`);
* numbers and ratings (``scalars``): the spread, min / median / max and each annotator's value
  (:class:`Spread`);
* anything else (Ranker, Relations, Chat, per-region answers): each annotator's answer read as a short
  text (:class:`Listing`).

:func:`difference_summary` names what differs in one line ("alice: PER ×2, LOC ×1 · bob: PER ×2";
"Positive ×2 · Negative ×1").
"""
from __future__ import annotations

import difflib
import re
import statistics
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from core.config import ControlTag, LabelingConfig, resolve_value
from core.results import control_question
from core.tags import behaviour_of
from core.tags.choices import answer_of
from core.tags.relations import SAME_REGION, same_region
from core.tags.spec import canonical, first_label, is_number

ResultItem = dict[str, Any]
Named = tuple[str, Sequence[ResultItem]]  # (annotator's name, their whole result)

NO_ANSWER = "(no answer)"
NOTHING = "nothing"
SUMMARY_ANSWER_CHARS = 80  # a long transcript is cut in the one-line summary (the diff shows it whole)


# --- what a comparison holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawnRegion:
    """One region an annotator drew, and how it relates to the others."""

    annotator: str
    item: ResultItem
    label: str  # its first label ("" for an unlabelled tool)
    consensus_index: int | None  # the consensus region it matches; None: none
    drawn_also_by: tuple[str, ...]  # other annotators with a region at least SAME_REGION alike (same label)
    other_labels: tuple[tuple[str, str], ...]  # (annotator, label): the same place drawn with another label

    @property
    def matched(self) -> bool:
        return self.consensus_index is not None

    @property
    def only_one(self) -> bool:
        """Nobody else drew this region (with this label)."""
        return not self.matched and not self.drawn_also_by

    @property
    def note(self) -> str:
        """Why the region stands out, in words ("" when it is part of the consensus and others drew it too)."""
        if self.matched and not self.drawn_also_by:
            return f"only {self.annotator} drew it (in the consensus: half the annotators is enough)"
        if self.matched:
            return ""
        if self.drawn_also_by:
            text = f"{_names((self.annotator, *self.drawn_also_by))} drew it; not in the consensus"
        else:
            text = f"only {self.annotator} drew it"
        by_label: dict[str, list[str]] = {}
        for who, label in self.other_labels:
            by_label.setdefault(label or "unlabelled", []).append(who)
        for label, others in by_label.items():
            text += f"; {_names(others)} drew it as {label}"
        return text


@dataclass(frozen=True)
class ConsensusRegion:
    """One region of the proposed consensus and whose regions match it."""

    item: ResultItem
    label: str
    drawn_by: tuple[str, ...]
    missed_by: tuple[str, ...]


@dataclass(frozen=True)
class RegionComparison:
    """Every annotator's regions of one control against the consensus regions.

    ``layout``: how the regions are best drawn -- ``"image"`` (percent boxes, polygons, points),
    ``"text"`` (character offsets into a Text), ``"time"`` (seconds, frames or time-series ranges) or
    ``"list"`` (offsets hung on document nodes: HyperText, Paragraphs).
    """

    layout: str
    regions: tuple[DrawnRegion, ...]
    consensus: tuple[ConsensusRegion, ...]
    has_consensus: bool
    annotators: tuple[str, ...]
    text: str | None = None  # the Text the spans are on (layout "text")

    @property
    def unmatched(self) -> tuple[DrawnRegion, ...]:
        """The regions that stand out: matching no consensus region, or drawn by one annotator alone (with
        two annotators a consensus keeps a region one of them drew, but the reviewer must see it is alone)."""
        return tuple(r for r in self.regions if self.stands_out(r))

    def stands_out(self, region: DrawnRegion) -> bool:
        return not region.matched or (len(self.annotators) > 1 and not region.drawn_also_by)

    def of(self, annotator: str) -> tuple[DrawnRegion, ...]:
        return tuple(r for r in self.regions if r.annotator == annotator)


@dataclass(frozen=True)
class OptionVotes:
    option: str
    voters: tuple[str, ...]
    in_consensus: bool


@dataclass(frozen=True)
class Votes:
    """Votes per option of a whole-task answer; options nobody chose are listed with no voters."""

    options: tuple[OptionVotes, ...]
    no_answer: tuple[str, ...]  # annotators who left the control unanswered
    n_annotators: int


@dataclass(frozen=True)
class WordDiff:
    """One annotator's text against the consensus: ``ops`` are ("equal"|"insert"|"delete", words), where
    ``insert`` is what the annotator has and the consensus lacks, ``delete`` the other way round."""

    annotator: str
    text: str
    ops: tuple[tuple[str, str], ...]
    similarity: float  # difflib's word ratio, 1.0 = the same words

    @property
    def is_consensus(self) -> bool:
        return self.similarity == 1.0 and all(op == "equal" for op, _ in self.ops)


@dataclass(frozen=True)
class TextComparison:
    consensus: str | None  # None: no consensus text (each diff is then against the first answer)
    diffs: tuple[WordDiff, ...]


@dataclass(frozen=True)
class Spread:
    """The numbers the annotators gave: each one's value, and min / median / max."""

    values: tuple[tuple[str, float], ...]
    unanswered: tuple[str, ...]
    consensus: float | None
    low: float | None
    median: float | None
    high: float | None
    scale: tuple[float, float] | None  # the control's own range (Rating 1..max, Number min..max), if any

    @property
    def range(self) -> float | None:
        return None if self.low is None or self.high is None else self.high - self.low


@dataclass(frozen=True)
class Listing:
    """Each annotator's answer read as a short text, and the consensus's (None: no consensus)."""

    answers: tuple[tuple[str, str], ...]
    consensus: str | None


Detail = Union[RegionComparison, Votes, TextComparison, Spread, Listing]


@dataclass(frozen=True)
class ControlComparison:
    control: ControlTag
    family: str
    question: str
    summary: str  # :func:`difference_summary`
    agree: bool  # every annotator gave the same answer (same readings; for regions also all matched)
    detail: Detail


# --- helpers -------------------------------------------------------------------------------------------


def _names(names: Sequence[str]) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _number(value: float) -> str:
    return f"{value:g}" if not float(value).is_integer() else str(int(value))


def control_items(control: ControlTag, result: Sequence[Mapping[str, Any]]) -> list[ResultItem]:
    """The items of ``result`` answering ``control`` (a Relations control: every relation item)."""
    if control.kind.result_type == "relation":
        return [dict(i) for i in result if isinstance(i, Mapping) and i.get("type") == "relation"]
    return [dict(i) for i in result if isinstance(i, Mapping) and i.get("from_name") == control.name]


def _region_labels(control: ControlTag, item: Mapping[str, Any]) -> list[str]:
    if control.kind.result_type == "relation":
        return [str(x) for x in item.get("labels") or []]
    labels = (item.get("value") or {}).get(control.kind.value_key) if control.kind.value_key else None
    return [str(x) for x in labels] if isinstance(labels, list) else []


def label_counts(control: ControlTag, items: Sequence[Mapping[str, Any]]) -> str:
    """The labels of an annotator's regions with their counts, most first: "PER ×2, LOC ×1"; regions
    without a label count as "region"; nothing drawn reads "nothing"."""
    counts: Counter[str] = Counter()
    for item in items:
        labels = _region_labels(control, item)
        counts.update(labels or ["relation" if control.kind.result_type == "relation" else "region"])
    if not counts:
        return NOTHING
    return ", ".join(f"{label} ×{n}" for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def answer_text(control: ControlTag, items: Sequence[Mapping[str, Any]]) -> str:
    """A whole-task answer as text ("Positive", "Street, Night", "4"); no items: "(no answer)"."""
    value_key = control.kind.value_key
    if not items:
        return NO_ANSWER
    if value_key is None:
        return f"{len(items)} item{'s' if len(items) != 1 else ''}"
    answers = [answer_of(dict(item), value_key) for item in items]
    flat: Any = answers[0] if len(answers) == 1 else answers
    if isinstance(flat, Mapping):  # a Ranker: bucket -> items
        return "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in flat.items())
    if isinstance(flat, list):
        return ", ".join(" / ".join(map(str, x)) if isinstance(x, list) else str(x) for x in flat)
    if isinstance(flat, float) and flat.is_integer():
        return str(int(flat))
    return canonical(flat) if flat is None else str(flat)


def _is_region_control(control: ControlTag) -> bool:
    return control.kind.is_region or control.kind.result_type == "relation"


def difference_summary(control: ControlTag, per_annotation: Sequence[Named]) -> str:
    """What differs between the annotators of one control, in one line.

    Region controls (and relations): each annotator's labels with counts, "alice: PER ×2, LOC ×1 · bob:
    PER ×2" ("everyone: Coin ×5" when all read alike -- where they drew them may still differ). Whole-task
    answers: each distinct answer with how many gave it, most first: "Positive ×2 · Negative ×1".
    ``per_annotation``: (annotator, that annotator's items of ``control``) pairs.
    """
    if not per_annotation:
        return ""
    if _is_region_control(control) or control.per_region:
        readings = [(name, label_counts(control, items) if _is_region_control(control)
                     else answer_text(control, items)) for name, items in per_annotation]
        if len(per_annotation) > 1 and len({r for _, r in readings}) == 1:
            return f"everyone: {readings[0][1]}"
        return " · ".join(f"{name}: {reading}" for name, reading in readings)
    counts = Counter(_short(answer_text(control, items)) for _, items in per_annotation)
    return " · ".join(f"{answer} ×{n}" for answer, n in counts.most_common())


def _short(text: str, limit: int = SUMMARY_ANSWER_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def question_of(cfg: LabelingConfig, control_name: str) -> str:
    """The question a control answers (:func:`core.results.control_question`, the one rule for it)."""
    return control_question(cfg, control_name)


# --- regions -------------------------------------------------------------------------------------------


def _unlabelled(control: ControlTag, item: Mapping[str, Any]) -> dict[str, Any]:
    value = dict(item.get("value") or {})
    if control.kind.value_key:
        value.pop(control.kind.value_key, None)
    return {**item, "value": value}


def _layout(control: ControlTag, cfg: LabelingConfig, values: Sequence[Mapping[str, Any]], family: str) -> str:
    if family in ("shapes", "keypoints"):
        return "image"
    if family == "time_ranges":
        return "time"
    if any("x" in v or "points" in v for v in values):  # Labels naming image regions of a Rectangle tool
        return "image"
    if any("startOffset" in v or not (is_number(v.get("start")) and is_number(v.get("end"))) for v in values):
        return "list"
    target = cfg.objects.get(control.to_names[0]) if control.to_names else None
    if target is not None and target.tag == "Text" and all(
            float(v["start"]).is_integer() and float(v["end"]).is_integer() for v in values):
        return "text"
    return "time"


def compare_regions(control: ControlTag, per_annotation: Sequence[Named], consensus: Sequence[ResultItem] | None,
                    cfg: LabelingConfig, data: Mapping[str, Any], family: str) -> RegionComparison:
    """Every annotator's regions of ``control`` matched to the consensus regions (see the module doc)."""
    built = list(consensus or [])

    def alike(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
        return same_region(a, control, b, control)

    drawn: list[DrawnRegion] = []
    supporters: dict[int, list[str]] = {i: [] for i in range(len(built))}
    for index, (name, items) in enumerate(per_annotation):
        # One region per annotator and consensus region: the closest pairs first.
        pairs = sorted(((alike(item, c), r, ci) for r, item in enumerate(items) for ci, c in enumerate(built)),
                       key=lambda p: -p[0])
        taken_regions: dict[int, int] = {}
        taken_consensus: set[int] = set()
        for score, r, ci in pairs:
            if score >= SAME_REGION and r not in taken_regions and ci not in taken_consensus:
                taken_regions[r] = ci
                taken_consensus.add(ci)
        for r, item in enumerate(items):
            also: list[str] = []
            relabelled: list[tuple[str, str]] = []
            for other_index, (other, other_items) in enumerate(per_annotation):
                if other_index == index:
                    continue
                if any(alike(item, o) >= SAME_REGION for o in other_items):
                    also.append(other)
                elif r not in taken_regions:
                    bare = _unlabelled(control, item)
                    moved = [o for o in other_items if alike(bare, _unlabelled(control, o)) >= SAME_REGION]
                    relabelled.extend((other, first_label(o, control.kind.value_key)) for o in moved[:1])
            matched = taken_regions.get(r)
            if matched is not None:
                supporters[matched].append(name)
            drawn.append(DrawnRegion(name, dict(item), first_label(item, control.kind.value_key), matched,
                                     tuple(also), tuple(relabelled)))
    names = tuple(name for name, _ in per_annotation)
    regions = tuple(
        ConsensusRegion(dict(c), first_label(c, control.kind.value_key), tuple(supporters[i]),
                        tuple(n for n in names if n not in supporters[i]))
        for i, c in enumerate(built))
    values = [item.get("value") or {} for _, items in per_annotation for item in items]
    values += [c.get("value") or {} for c in built]
    layout = _layout(control, cfg, values, family) if values else "list"
    text = None
    if layout == "text":
        target = cfg.objects[control.to_names[0]]
        resolved = resolve_value(target.value, dict(data))
        text = resolved if isinstance(resolved, str) else None
        layout = "text" if text is not None else "list"
    return RegionComparison(layout, tuple(drawn), regions, consensus is not None, names, text)


# --- whole-task answers -------------------------------------------------------------------------------


def _option_names(control: ControlTag) -> list[str]:
    def walk(options: Sequence[Any]) -> list[str]:
        out: list[str] = []
        for option in options:
            out.append(option.result_value)
            out.extend(walk(option.children))
        return out

    return walk(control.options) if control.kind.value_key == "choices" else []


def compare_votes(control: ControlTag, per_annotation: Sequence[Named],
                  consensus: Sequence[ResultItem] | None) -> Votes:
    """Votes per option: a multiple choice gives a vote to each option chosen; other answers (a Taxonomy's
    paths, a Pairwise side, a date) vote as one answer."""
    value_key = control.kind.value_key
    voters: dict[str, list[str]] = {option: [] for option in _option_names(control)}
    no_answer: list[str] = []
    for name, items in per_annotation:
        if not items:
            no_answer.append(name)
            continue
        chosen = items[0].get("value", {}).get(value_key) if value_key == "choices" else None
        options = ([str(c) for item in items for c in item.get("value", {}).get("choices") or []]
                   if isinstance(chosen, list) else [answer_text(control, items)])
        for option in dict.fromkeys(options):
            voters.setdefault(option, []).append(name)
    agreed: set[str] = set()
    if consensus:
        if value_key == "choices":
            agreed = {str(c) for item in consensus for c in item.get("value", {}).get("choices") or []}
        else:
            agreed = {answer_text(control, list(consensus))}
    ordered = sorted(voters.items(), key=lambda kv: -len(kv[1])) if not _option_names(control) else voters.items()
    return Votes(tuple(OptionVotes(option, tuple(names), option in agreed) for option, names in ordered),
                 tuple(no_answer), len(per_annotation))


_WORD = re.compile(r"\S+")


def word_diff(reference: str, text: str) -> tuple[tuple[tuple[str, str], ...], float]:
    """``text`` against ``reference`` word by word: ("equal"|"insert"|"delete", words) runs, where
    ``insert`` is in ``text`` only and ``delete`` in ``reference`` only (a replaced run gives a delete then
    an insert), and difflib's similarity ratio of the two word lists."""
    ref, own = _WORD.findall(reference), _WORD.findall(text)
    matcher = difflib.SequenceMatcher(a=ref, b=own, autojunk=False)
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", " ".join(own[j1:j2])))
            continue
        if i2 > i1:
            ops.append(("delete", " ".join(ref[i1:i2])))
        if j2 > j1:
            ops.append(("insert", " ".join(own[j1:j2])))
    return tuple(ops), (matcher.ratio() if ref or own else 1.0)


def _joined(items: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(str(t) for item in items for t in (item.get("value") or {}).get("text") or [])


def compare_texts(control: ControlTag, per_annotation: Sequence[Named],
                  consensus: Sequence[ResultItem] | None) -> TextComparison:
    """Each answered text against the consensus text, word by word (against the first answer when there
    is no consensus text)."""
    reference = _joined(consensus) if consensus else None
    answered = [(name, _joined(items)) for name, items in per_annotation if items]
    base = reference if reference is not None else (answered[0][1] if answered else "")
    diffs = []
    for name, text in answered:
        ops, similarity = word_diff(base, text)
        diffs.append(WordDiff(name, text, ops, similarity))
    return TextComparison(reference, tuple(diffs))


def compare_numbers(control: ControlTag, per_annotation: Sequence[Named],
                    consensus: Sequence[ResultItem] | None) -> Spread:
    value_key = control.kind.value_key or "number"
    values: list[tuple[str, float]] = []
    unanswered: list[str] = []
    for name, items in per_annotation:
        number = items[0].get("value", {}).get(value_key) if items else None
        if is_number(number):
            values.append((name, float(number)))
        else:
            unanswered.append(name)
    agreed = consensus[0].get("value", {}).get(value_key) if consensus else None
    numbers = [v for _, v in values]
    scale: tuple[float, float] | None = None
    if value_key == "rating":
        raw = control.get("maxRating")
        scale = (1.0, float(raw)) if raw and raw.isdigit() else (1.0, 5.0)
    else:
        low, high = control.get("min"), control.get("max")
        try:
            scale = (float(low), float(high)) if low is not None and high is not None else None
        except ValueError:
            scale = None
    return Spread(tuple(values), tuple(unanswered), float(agreed) if is_number(agreed) else None,
                  min(numbers) if numbers else None, statistics.median(numbers) if numbers else None,
                  max(numbers) if numbers else None, scale)


def compare_listing(control: ControlTag, per_annotation: Sequence[Named],
                    consensus: Sequence[ResultItem] | None) -> Listing:
    read = label_counts if _is_region_control(control) else answer_text
    return Listing(tuple((name, read(control, items)) for name, items in per_annotation),
                   None if consensus is None else read(control, list(consensus)))


# --- the registry and the task ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareInput:
    control: ControlTag
    family: str
    per_annotation: Sequence[Named]  # (annotator, their items of the control)
    consensus: Sequence[ResultItem] | None  # the consensus items of the control; None: no consensus
    cfg: LabelingConfig
    data: Mapping[str, Any]


Comparer = Callable[[CompareInput], Detail]


def _regions(inp: CompareInput) -> Detail:
    return compare_regions(inp.control, inp.per_annotation, inp.consensus, inp.cfg, inp.data, inp.family)


def _votes(inp: CompareInput) -> Detail:
    return compare_votes(inp.control, inp.per_annotation, inp.consensus)


def _texts(inp: CompareInput) -> Detail:
    return compare_texts(inp.control, inp.per_annotation, inp.consensus)


def _listing(inp: CompareInput) -> Detail:
    return compare_listing(inp.control, inp.per_annotation, inp.consensus)


def _scalars(inp: CompareInput) -> Detail:
    """Numbers and ratings by their spread; dates (compared whole, settled by a vote) by their votes."""
    if inp.control.kind.value_key in ("number", "rating"):
        return compare_numbers(inp.control, inp.per_annotation, inp.consensus)
    return _votes(inp)


def _ordering(inp: CompareInput) -> Detail:
    """A Pairwise side is a vote; a Ranker's order is listed per annotator."""
    return _votes(inp) if inp.control.kind.value_key == "selected" else _listing(inp)


COMPARERS: dict[str, Comparer] = {
    "shapes": _regions,
    "keypoints": _regions,
    "spans": _regions,
    "time_ranges": _regions,
    "choices": _votes,
    "text_answers": _texts,
    "scalars": _scalars,
    "ordering": _ordering,
    "relations": _listing,
    "chat": _listing,
}
"""How each tag family's answers are compared (:func:`compare_task` falls back to a listing)."""


def _agree(detail: Detail, readings: Sequence[str]) -> bool:
    if isinstance(detail, RegionComparison):
        return len(set(readings)) <= 1 and (not detail.has_consensus or not detail.unmatched) and all(
            not c.missed_by for c in detail.consensus)
    return len(set(readings)) <= 1


def compare_control(cfg: LabelingConfig, control: ControlTag, data: Mapping[str, Any], annotations: Sequence[Named],
                    consensus: Sequence[ResultItem] | None) -> ControlComparison:
    """The comparison of one control (``consensus``: the whole consensus result, None: no consensus)."""
    behaviour = behaviour_of(control.tag)
    family = behaviour.family if behaviour is not None else ""
    per_annotation = [(name, control_items(control, result)) for name, result in annotations]
    own = None if consensus is None else control_items(control, consensus)
    inp = CompareInput(control, family, per_annotation, own, cfg, data)
    per_region = control.per_region and not control.kind.is_region
    comparer = _listing if per_region else COMPARERS.get(family, _listing)
    detail = comparer(inp)
    readings = [label_counts(control, items) if _is_region_control(control) else answer_text(control, items)
                for _, items in per_annotation]
    return ControlComparison(control, family, question_of(cfg, control.name),
                             difference_summary(control, per_annotation), _agree(detail, readings), detail)


def compare_task(cfg: LabelingConfig, data: Mapping[str, Any], annotations: Sequence[Named],
                 consensus: Sequence[ResultItem] | None, *, no_consensus: Collection[str] = ()) -> list[ControlComparison]:
    """One comparison per control that an annotator answered (or the consensus holds), in config order.

    ``annotations``: (annotator's name, result) per counted annotation; ``consensus``: the proposed
    consensus result (None: none at all); ``no_consensus``: controls that got no consensus (a tie, or no
    way to combine them: ``ReviewView.missing``), so that their missing consensus items are not read as
    "the consensus is: nothing".
    """
    answered = {str(i.get("from_name")) for _, result in annotations for i in result if isinstance(i, Mapping)}
    answered |= {str(i.get("from_name")) for i in consensus or [] if isinstance(i, Mapping)}
    has_relations = any(isinstance(i, Mapping) and i.get("type") == "relation"
                        for _, result in annotations for i in result)
    out: list[ControlComparison] = []
    for control in cfg.controls.values():
        is_relation = control.kind.result_type == "relation"
        if not (has_relations if is_relation else control.name in answered):
            continue
        own = None if consensus is None or control.name in no_consensus else consensus
        out.append(compare_control(cfg, control, data, annotations, own))
    return out


__all__ = [
    "COMPARERS", "CompareInput", "ConsensusRegion", "ControlComparison", "DrawnRegion", "Listing",
    "OptionVotes", "RegionComparison", "Spread", "TextComparison", "Votes", "WordDiff",
    "answer_text", "compare_control", "compare_task", "control_items", "difference_summary", "label_counts",
    "question_of", "word_diff",
]
