"""The quality engine: agreement and consensus of a task that reached its overlap, and where it goes next.

When a task has as many annotations as its overlap asks (``submit_annotation`` reports
``task_completed``, or an import brought them), :func:`recompute_task` runs in the same unit of work:

1. the task's *counted* annotations (submitted, not rejected by a reviewer) are compared:
   :func:`metrics.agreement.task_agreement`, the mean pairwise score per control, averaged over controls
   (Label Studio's rule);
2. a consensus is built per control by the function its tag kind names in the registry
   (``TagKind.consensus``), see :data:`CONSENSUS_BUILDERS`, and stored in ``consensus`` as Label Studio
   result items together with the method, the agreement and the number of annotations;
3. the task is routed:

   * agreement >= the project's ``agreement_threshold`` and a consensus for every control someone
     answered: state ``done``;
   * otherwise, with ``escalation_order == "annotators_first"``, while the task has fewer counted slots
     than ``maximum_annotations`` and some project annotator has not yet seen it: its overlap grows by one
     and it goes back to ``open``, so the hand-out gives it to one more annotator;
   * otherwise (``review_first``, at the maximum, or nobody left to ask): state ``review``, the queue of
     :mod:`core.review`.

Decisions, each documented where it is made:

* a task with a single counted annotation (overlap 1) has no agreement to measure; its annotation is the
  consensus (method ``single_annotation``) and the task is ``done``;
* two or more annotations that are all empty agree (score 1, empty consensus);
* an annotator who left a whole-task control unanswered votes for "no answer"; if that wins, the consensus
  has no item for the control; a tie (any tie) is no consensus;
* controls without a consensus function in :data:`CONSENSUS_BUILDERS` (relations, polygons, key points,
  rankers, per-region attributes, Chat messages) have no consensus when answered, so such tasks go to a
  reviewer at once (more annotators cannot help) rather than be marked done on a partial consensus; a
  value a builder cannot read (rotated boxes, XPath spans) is no consensus for that control;
* only tasks in state ``completed`` are routed; recomputing a task in another state refreshes its stored
  consensus only (a reviewer's ground truth is never undone by a recompute).
"""
from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from core.config import ControlTag, LabelingConfig, parse_config, resolve_value
from core import webhook_events
from core.errors import NotFoundError
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo
from metrics.agreement import AGREEMENT_FUNCTIONS, tag_agreements, task_agreement
from metrics.consensus import fuse_boxes, median_numbers, medoid_texts, vote_spans
from storage.models import TASK_COMPLETED, TASK_DONE, TASK_OPEN, TASK_REVIEW, Project, utcnow
from storage.repositories import quality as quality_repo

ResultItem = dict[str, Any]

ANNOTATORS_FIRST = "annotators_first"
REVIEW_FIRST = "review_first"
SINGLE_ANNOTATION = "single_annotation"
#: Scores this close below the threshold count as reaching it (2/3 stored as 0.6666... vs a typed 0.6667
#: would otherwise differ by float noise only; 1e-9 is far below any meaningful agreement difference).
THRESHOLD_TOLERANCE = 1e-9
RECOMPUTE_BATCH = 200


METHOD_WORDS = {SINGLE_ANNOTATION: "the only annotation", "none": "no method", "empty": "agreeing on no answer"}


def method_label(method: str | None) -> str:
    """A stored consensus method ("majority_vote+span_vote") in words for reviewers and managers
    ("majority vote, span vote")."""
    parts = [p for p in (method or "").split("+") if p]
    return ", ".join(METHOD_WORDS.get(p, p.replace("_", " ")) for p in parts) or "no method"


@lru_cache(maxsize=64)
def project_config(config_xml: str) -> LabelingConfig:
    """Parsed configs, cached by their text: every submit and every scoring reads the project's config.
    (core.labeling uses this cache too; it lives here because core.labeling imports this module.)"""
    return parse_config(config_xml)


# --- consensus per control ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlInput:
    """What a consensus builder gets: one control and its items in each counted annotation."""

    control: ControlTag
    per_annotation: list[list[ResultItem]]  # one list per annotation (empty: not answered)
    data: dict[str, Any]  # the task's data (span builders copy the covered text)
    cfg: LabelingConfig


# A builder returns the consensus items of its control ([] = "consensus: nothing"), or None: no consensus.
ConsensusBuilder = Callable[[ControlInput], list[ResultItem] | None]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _answer(item: ResultItem, value_key: str) -> Any:
    """The answer an item gives, normalised so that equal answers compare equal (choice order ignored)."""
    answer = item.get("value", {}).get(value_key)
    if isinstance(answer, list):
        return sorted(answer, key=_canonical)
    return answer


def _item(control: ControlTag, template: ResultItem | None, value: dict[str, Any], **extra: Any) -> ResultItem:
    to_name = (template or {}).get("to_name") or (control.to_names[0] if control.to_names else "")
    return {"from_name": control.name, "to_name": to_name, "type": control.kind.result_type, "value": value, **extra}


def majority_vote_items(inp: ControlInput) -> list[ResultItem] | None:
    """Whole-task answers (Choices, DateTime, Pairwise, Taxonomy as a whole selection): the answer most
    annotations give wins, "no answer" included; a tie is no consensus.

    The rule of :class:`metrics.consensus.MajorityVote` (ties are NaN, never a coin flip), counted here
    with a Counter: this runs inside every completing submit, under the database write lock, where
    building the class's pandas frame for one task would cost ~10 ms.
    """
    value_key = inp.control.kind.value_key
    if value_key is None:
        return None
    votes: Counter[str] = Counter()
    first_with: dict[str, tuple[ResultItem, Any]] = {}
    for items in inp.per_annotation:
        answers = [_answer(item, value_key) for item in items]
        answer = answers[0] if len(answers) == 1 else answers
        key = "" if not answers else _canonical(answer)
        votes[key] += 1
        if key and key not in first_with:
            first_with[key] = (items[0], answer)
    ranked = votes.most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    winner = ranked[0][0]
    if winner == "":
        return []
    template, answer = first_with[winner]
    return [_item(inp.control, template, {value_key: answer})]


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _first_label(item: ResultItem, value_key: str | None) -> str:
    labels = item.get("value", {}).get(value_key) if value_key else None
    return str(labels[0]) if isinstance(labels, list) and labels else ""


def span_vote_items(inp: ControlInput) -> list[ResultItem] | None:
    """Labelled spans by character vote (:func:`vote_spans`, a share quorum of one half). Offsets are
    characters (Text) or seconds (Audio, voted on a millisecond grid); spans given any other way
    (HyperText XPath offsets ...) have no consensus here."""
    control, value_key = inp.control, inp.control.kind.value_key
    rows: list[dict[str, Any]] = []
    for annotator, items in enumerate(inp.per_annotation):
        if not items:
            rows.append({"task": 0, "annotator": annotator, "label": "", "start": np.nan, "end": np.nan})
        for item in items:
            value = item.get("value", {})
            if not (_numeric(value.get("start")) and _numeric(value.get("end"))):
                return None
            rows.append({"task": 0, "annotator": annotator, "label": _first_label(item, value_key),
                         "start": value["start"], "end": value["end"]})
    is_chars = all(float(r["start"]).is_integer() and float(r["end"]).is_integer() for r in rows if r["start"] == r["start"])
    scale = 1 if is_chars else 1000  # seconds -> integer milliseconds; vote_spans works on integer offsets
    frame = pd.DataFrame(rows)
    frame["start"] = (frame["start"] * scale).round()
    frame["end"] = (frame["end"] * scale).round()
    voted = vote_spans(frame)
    text = None
    target = inp.cfg.objects.get(control.to_names[0]) if control.to_names else None
    if is_chars and target is not None and target.tag == "Text":
        resolved = resolve_value(target.value, inp.data)
        text = resolved if isinstance(resolved, str) else None
    out: list[ResultItem] = []
    for i, row in enumerate(voted.itertuples(index=False)):
        start, end = (int(row.start), int(row.end)) if is_chars else (row.start / scale, row.end / scale)
        value: dict[str, Any] = {"start": start, "end": end}
        if value_key:
            value[value_key] = [row.label]
        if text is not None:
            value["text"] = text[start:end]
        out.append(_item(control, None, value, id=f"consensus-{control.name}-{i}"))
    return out


_IMAGE_KEYS = ("original_width", "original_height", "image_rotation")


def box_fusion_items(inp: ControlInput) -> list[ResultItem] | None:
    """Boxes of the same label clustered by IoU >= 0.5 across annotators; a cluster at least half the
    annotators drew becomes its mean box (:func:`fuse_boxes`). Rotated boxes have no consensus here."""
    control, value_key = inp.control, inp.control.kind.value_key
    rows: list[dict[str, Any]] = []
    template: ResultItem | None = None
    for annotator, items in enumerate(inp.per_annotation):
        if not items:
            rows.append({"task": 0, "annotator": annotator, "label": "", "x": np.nan, "y": np.nan,
                         "width": np.nan, "height": np.nan})
        for item in items:
            value = item.get("value", {})
            if value.get("rotation") or not all(_numeric(value.get(k)) for k in ("x", "y", "width", "height")):
                return None
            template = template or item
            rows.append({"task": 0, "annotator": annotator, "label": _first_label(item, value_key),
                         **{k: float(value[k]) for k in ("x", "y", "width", "height")}})
    fused = fuse_boxes(pd.DataFrame(rows))
    extra = {k: template[k] for k in _IMAGE_KEYS if template and k in template}
    out: list[ResultItem] = []
    for i, row in enumerate(fused.itertuples(index=False)):
        value: dict[str, Any] = {k: round(float(getattr(row, k)), 4) for k in ("x", "y", "width", "height")}
        value["rotation"] = 0
        if value_key:
            value[value_key] = [row.label]
        out.append(_item(control, template, value, id=f"consensus-{control.name}-{i}", **extra))
    return out


def medoid_text_items(inp: ControlInput) -> list[ResultItem] | None:
    """The answered text closest (Levenshtein) to the others (:func:`medoid_texts`): always a real
    annotator's text. Nobody answered: no item."""
    answered = [(i, items[0]) for i, items in enumerate(inp.per_annotation) if items]
    if not answered:
        return []
    joined = {i: "\n".join(map(str, item.get("value", {}).get("text", []))) for i, item in answered}
    frame = pd.DataFrame({"task": 0, "annotator": list(joined), "text": list(joined.values())})
    medoid = medoid_texts(frame).iloc[0]
    chosen = next(item for i, item in answered if joined[i] == medoid)
    return [_item(inp.control, chosen, {"text": list(chosen.get("value", {}).get("text", []))})]


def median_items(inp: ControlInput) -> list[ResultItem] | None:
    """Median of the numbers given (:func:`median_numbers`); a Rating is rounded half up to a star."""
    value_key = inp.control.kind.value_key or "number"
    given = [(items[0], items[0].get("value", {}).get(value_key)) for items in inp.per_annotation if items]
    given = [(item, v) for item, v in given if _numeric(v)]
    if not given:
        return [] if not any(inp.per_annotation) else None
    frame = pd.DataFrame({"task": 0, "annotator": range(len(given)), "label": [float(v) for _, v in given]})
    median = float(median_numbers(frame).iloc[0])
    answer: float | int = median
    if inp.control.tag == "Rating":
        answer = int(math.floor(median + 0.5))
    elif all(isinstance(v, int) for _, v in given) and median.is_integer():
        answer = int(median)
    return [_item(inp.control, given[0][0], {value_key: answer})]


#: Consensus builder per consensus name of the tag registry (``TagKind.consensus``). A kind whose name is
#: missing here has no consensus, and a task where it was answered goes to review.
CONSENSUS_BUILDERS: dict[str, ConsensusBuilder] = {
    "majority_vote": majority_vote_items,
    "path_vote": majority_vote_items,  # Taxonomy: the whole selection of paths votes as one answer
    "span_vote": span_vote_items,
    "box_fusion": box_fusion_items,
    "medoid_text": medoid_text_items,
    "median": median_items,
}


def _is_per_region(control: ControlTag) -> bool:
    return (control.get("perRegion") or "false").lower() == "true"


# --- agreement and consensus of one task ----------------------------------------------------------------


@dataclass(frozen=True)
class ControlOutcome:
    name: str
    tag: str
    method: str | None  # the consensus builder used; None when the control has none
    agreement: float | None  # mean pairwise score; None without an agreement function or < 2 annotations
    items: list[ResultItem] | None  # consensus items; None: no consensus (a tie, or no builder)
    answers: tuple[tuple[str, int], ...]  # distinct answers and how many annotations gave each

    @property
    def has_consensus(self) -> bool:
        return self.items is not None


@dataclass(frozen=True)
class TaskConsensus:
    """Agreement and consensus of one task's annotations (pure: no database)."""

    result: list[ResultItem]
    method: str
    agreement: float | None
    n_annotations: int
    controls: tuple[ControlOutcome, ...] = field(default=())
    missing: tuple[str, ...] = ()  # answered controls (or result-making objects) without a consensus
    unsupported: tuple[str, ...] = ()  # the part of ``missing`` no consensus function covers at all

    @property
    def is_complete(self) -> bool:
        return not self.missing


def agreement_options(cfg: LabelingConfig) -> dict[str, dict[str, Any]]:
    """Per-control options of the pairwise functions read from the config: a Rating's scale
    (``maxRating``, default 5) and a Number's range (``max - min``) when both are given."""
    options: dict[str, dict[str, Any]] = {}
    for control in cfg.controls.values():
        if control.tag == "Rating":
            options[control.name] = {"max_rating": int(control.get("maxRating") or 5)}
        elif control.tag == "Number":
            low, high = control.get("min"), control.get("max")
            try:
                if low is not None and high is not None and float(high) > float(low):
                    options[control.name] = {"scale": float(high) - float(low)}
            except ValueError:
                pass
    return options


def _answer_summary(control: ControlTag, per_annotation: list[list[ResultItem]]) -> tuple[tuple[str, int], ...]:
    counts: Counter[str] = Counter()
    value_key = control.kind.value_key
    for items in per_annotation:
        if not items:
            counts["(no answer)"] += 1
        elif control.kind.is_region or value_key is None:
            counts[f"{len(items)} region{'s' if len(items) != 1 else ''}"] += 1
        else:
            answers = [_answer(item, value_key) for item in items]
            flat = answers[0] if len(answers) == 1 else answers
            counts[", ".join(map(str, flat)) if isinstance(flat, list) else str(flat)] += 1
    return tuple(counts.most_common())


def compute_consensus(cfg: LabelingConfig, data: dict[str, Any], annotations: Sequence[Sequence[ResultItem]]) -> TaskConsensus:
    """Agreement and per-control consensus of one task.

    Parameters
    ----------
    cfg : the project's parsed labeling config.
    data : the task's data (for the text of consensus spans).
    annotations : one Label Studio result (list of items) per counted annotation.

    Returns
    -------
    TaskConsensus. ``agreement`` is None with fewer than two annotations; with two or more that are all
    empty it is 1.0. ``missing`` names every answered control that got no consensus.
    """
    results = [list(a) for a in annotations]
    n = len(results)
    if n == 0:
        return TaskConsensus([], "none", None, 0)
    if n == 1:
        return TaskConsensus([dict(item) for item in results[0]], SINGLE_ANNOTATION, None, 1)
    scored = {c.name for c in cfg.controls.values() if (c.kind.result_type or "") in AGREEMENT_FUNCTIONS}
    comparable = [[i for i in r if i.get("from_name") in scored and i.get("type") in AGREEMENT_FUNCTIONS] for r in results]
    options = agreement_options(cfg)
    try:
        per_tag = tag_agreements(comparable, options=options)
        overall = task_agreement(comparable, options=options)
    except (ValueError, KeyError, TypeError):  # a malformed value: no score, so a reviewer looks at it
        per_tag, overall = {}, float("nan")
    answered = {str(i.get("from_name")) for r in results for i in r if i.get("type") != "relation"}
    has_relations = any(i.get("type") == "relation" for r in results for i in r)
    controls: list[ControlOutcome] = []
    consensus: list[ResultItem] = []
    methods: set[str] = set()
    missing: list[str] = []
    unsupported: list[str] = []
    for control in cfg.controls.values():
        if control.tag == "Relations":
            if has_relations:
                missing.append(control.name)
                unsupported.append(control.name)
            continue
        if control.name not in answered:
            continue
        per_annotation = [[i for i in r if i.get("from_name") == control.name] for r in results]
        name = control.kind.consensus
        builder = None if _is_per_region(control) else CONSENSUS_BUILDERS.get(name or "")
        items: list[ResultItem] | None = None
        if builder is None:
            unsupported.append(control.name)
        else:
            try:
                items = builder(ControlInput(control, per_annotation, data, cfg))
            except (ValueError, KeyError, TypeError):  # a malformed value: no consensus, a reviewer decides
                items = None
        if items is None:
            missing.append(control.name)
        else:
            consensus.extend(items)
            methods.add(str(name))
        controls.append(
            ControlOutcome(control.name, control.tag, name if builder else None, per_tag.get(control.name), items,
                           _answer_summary(control, per_annotation))
        )
    # Result-making objects (Chat messages) or a control the config no longer has: no consensus here.
    others = sorted(answered - set(cfg.controls))
    missing.extend(others)
    unsupported.extend(others)
    if not math.isnan(overall):
        agreement: float | None = float(overall)
    else:
        agreement = 1.0 if not any(results) else None  # all empty: they agree on "nothing"
    method = "+".join(sorted(methods)) or ("empty" if not any(results) else "none")
    return TaskConsensus(consensus, method[:40], agreement, n, tuple(controls), tuple(missing), tuple(unsupported))


# --- routing a task ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityOutcome:
    task_id: int
    state: str  # the task's state afterwards
    agreement: float | None
    has_consensus: bool  # a consensus for every answered control
    escalated: bool  # the overlap grew by one and the task went back to the annotators
    n_annotations: int  # counted annotations


def _reaches(agreement: float | None, threshold: float) -> bool:
    return agreement is not None and agreement >= threshold - THRESHOLD_TOLERANCE


def recompute_task(
    uow: UnitOfWork, task_id: int, *, known: tuple[Any, list[list[ResultItem]]] | None = None
) -> QualityOutcome:
    """Compute and store the task's agreement and consensus; route it when it is ``completed``.

    Runs inside the caller's unit of work (the submit or import that completed the task); the caller
    commits. The task row is read fresh (the labeling loop updates counters with raw SQL) and locked on
    PostgreSQL; on SQLite the caller's write transaction holds the lock. Raises NotFoundError for an
    unknown task. Few, Core-level statements: in a submit this runs under the database write lock.
    """
    session = uow.session
    session.flush()  # the Core statements below bypass autoflush; make the caller's ORM changes visible
    # ``known``: the task row and counted results the caller read already (a PostgreSQL submit does).
    task, results = known if known is not None else quality_repo.task_with_results(session, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}")
    project = session.get(Project, task.project_id)  # in the identity map already after `require`
    assert project is not None  # tasks cascade with their project
    outcome = compute_consensus(project_config(project.config_xml), task.data, results)
    now = utcnow()
    state, overlap, escalated = task.state, task.overlap, False
    if task.state == TASK_COMPLETED:
        single = outcome.n_annotations == 1
        if single or (_reaches(outcome.agreement, project.agreement_threshold) and outcome.is_complete):
            state = TASK_DONE
        elif (
            project.escalation_order == ANNOTATORS_FIRST
            and not outcome.unsupported  # more annotators cannot make a consensus no function computes
            and _may_ask_one_more(uow, project, task_id, outcome.n_annotations)
        ):
            # One slot more than the task holds now (an import may bring more annotations than the overlap).
            state, overlap, escalated = TASK_OPEN, max(task.overlap, task.n_annotations) + 1, True
        else:
            state = TASK_REVIEW
    if results:
        quality_repo.save_and_route(
            session, task_id, result=outcome.result, method=outcome.method, agreement=outcome.agreement,
            n_annotations=outcome.n_annotations, state=state, overlap=overlap, now=now,
        )
    elif state != task.state or overlap != task.overlap:
        quality_repo.route_task(session, task_id, state=state, overlap=overlap, now=now)
    if task.state == TASK_COMPLETED and state == TASK_DONE:
        webhook_events.consensus_reached(uow, project_id=task.project_id, task_id=task_id, result=outcome.result,
                                         method=outcome.method, agreement=outcome.agreement,
                                         n_annotations=outcome.n_annotations)
    return QualityOutcome(task_id, state, outcome.agreement, outcome.is_complete, escalated, outcome.n_annotations)


def _may_ask_one_more(uow: UnitOfWork, project: Project, task_id: int, n_counted: int) -> bool:
    """Whether escalation may add an annotator: the counted annotations (rejected ones do not use up the
    maximum; their slots were given back when the task was sent back) are below ``maximum_annotations``,
    and someone is left to hand the task to."""
    if n_counted >= project.maximum_annotations:
        return False
    return quality_repo.n_possible_annotators(uow.session, project.id, task_id) > 0


def on_task_completed(
    uow: UnitOfWork,
    task_id: int,
    *,
    project_id: int | None = None,
    sole_result: list[ResultItem] | None = None,
    known: tuple[Any, list[list[ResultItem]]] | None = None,
) -> QualityOutcome:
    """The labeling loop's hook: a submit just brought the task to its overlap (same unit of work).

    ``sole_result``: the submit knows this annotation is the task's only counted one (its counter says 1),
    so the consensus is the annotation itself and the task is done, as recompute_task would decide,
    without reading the task and its annotations back (the common case of overlap 1). ``known``: the task
    row and counted results, when the submit read them already (see recompute_task).
    """
    if sole_result is None or project_id is None:
        return recompute_task(uow, task_id, known=known)
    result = [dict(item) for item in sole_result]
    quality_repo.save_and_route(uow.session, task_id, result=result, method=SINGLE_ANNOTATION, agreement=None,
                                n_annotations=1, state=TASK_DONE, overlap=None, now=utcnow())
    webhook_events.consensus_reached(uow, project_id=project_id, task_id=task_id, result=result,
                                     method=SINGLE_ANNOTATION, agreement=None, n_annotations=1)
    return QualityOutcome(task_id, TASK_DONE, None, True, False, 1)


def on_annotation_edited(uow: UnitOfWork, task_id: int) -> QualityOutcome | None:
    """The labeling loop's hook: an annotator changed an annotation of a task past its overlap.

    The stored agreement and consensus are stale, so they are recomputed. A task settled by consensus
    alone (no ground truth) is routed again as if it had just completed: an edit that breaks the agreement
    sends it on to more annotators or to review, one that restores it settles it. A task with ground truth
    keeps its state (the truth did not change). Open tasks have nothing to recompute yet: None.
    """
    session = uow.session
    session.flush()
    task = quality_repo.task_for_routing(session, task_id)
    if task is None or task.state == TASK_OPEN:
        return None
    if task.state in (TASK_DONE, TASK_REVIEW) and quality_repo.ground_truth_of(session, task_id) is None:
        quality_repo.route_task(session, task_id, state=TASK_COMPLETED, overlap=task.overlap, now=utcnow())
    return recompute_task(uow, task_id)


@dataclass(frozen=True)
class ProjectRecompute:
    n_tasks: int
    n_done: int
    n_review: int
    n_reopened: int


def recompute_project(uow: UnitOfWork, actor: UserInfo, project_id: int) -> ProjectRecompute:
    """Route every task of the project waiting in state ``completed`` (e.g. completed by an import),
    in batches of RECOMPUTE_BATCH by id. Needs the review right (reviewers, managers); the caller commits."""
    require(uow, actor, project_id, Action.REVIEW)
    counts: Counter[str] = Counter()
    n_tasks = 0
    after: int | None = None
    while True:
        ids = quality_repo.completed_task_ids(uow.session, project_id, limit=RECOMPUTE_BATCH, after_id=after)
        if not ids:
            break
        for task_id in ids:
            counts[recompute_task(uow, task_id).state] += 1
        n_tasks += len(ids)
        after = ids[-1]
    return ProjectRecompute(n_tasks, counts[TASK_DONE], counts[TASK_REVIEW], counts[TASK_OPEN])


def waiting_count(uow: UnitOfWork, actor: UserInfo, project_id: int) -> int:
    """Tasks of the project that reached their overlap but were not routed yet (imports)."""
    require(uow, actor, project_id, Action.REVIEW)
    return quality_repo.state_counts(uow.session, project_id).get(TASK_COMPLETED, 0)
