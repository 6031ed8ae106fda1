"""The quality engine: agreement and consensus of a task that reached its overlap, and where it goes next.

When a task has as many annotations as its overlap asks (``submit_annotation`` reports
``task_completed``, or an import brought them), :func:`recompute_task` runs in the same unit of work (for
an import's tasks :func:`recompute_tasks`, the same rules with reads and writes in batches):

1. the task's *counted* annotations (submitted, not rejected by a reviewer) are compared by each
   control's tag family (:func:`core.tags.behaviour_of`, slot ``agreement``): the mean pairwise score per
   control, averaged over controls (Label Studio's rule, :func:`control_agreements`);
2. a consensus is built per control by its family's ``consensus`` builder and stored in ``consensus`` as
   Label Studio result items together with the method, the agreement and the number of annotations;
3. the task is routed:

   * agreement >= the project's ``agreement_threshold`` and a consensus for every control someone
     answered: state ``done``;
   * otherwise, with ``escalation_order == "annotators_first"``, while the task has fewer counted slots
     than ``maximum_annotations`` and some project annotator has not yet seen it: its overlap grows by one
     and it goes back to ``open``, so the hand-out gives it to one more annotator;
   * otherwise (``review_first``, at the maximum, or nobody left to ask): state ``review``, the queue of
     :mod:`core.review`.

   Whatever the agreement, a task with a counted annotation its labeler flagged "I'm not sure" goes to
   review; a task that would be ``done`` goes to review instead for a share ``verify_rate`` of tasks
   (:func:`sampled_for_verification`). Why a task waits is stored in ``tasks.review_reason``: "flagged",
   "verification", "disagreement", or "returned" when the newest review of the task returned it to its
   authors (they corrected it and it is still unsettled); routing elsewhere clears it.

Decisions, each documented where it is made:

* a task with a single counted annotation (overlap 1) has no agreement to measure; its annotation is the
  consensus (method ``single_annotation``) and the task is ``done``;
* an imported ground-truth annotation (``annotations.ground_truth``) is not counted (it is the task's truth,
  not a vote); a task completed by such annotations alone is ``done``;
* two or more annotations that are all empty agree (score 1, empty consensus);
* an annotator who left a whole-task control unanswered votes for "no answer"; if that wins, the consensus
  has no item for the control; a tie (any tie) is no consensus;
* an answered control whose family has no consensus (Chat messages) or that answers per region gets the
  :class:`core.tags.Fallback` its family names: the task goes to a reviewer at once (more annotators
  cannot help) rather than be marked done on a partial consensus;
* only tasks in state ``completed`` are routed; recomputing a task in another state refreshes its stored
  consensus only (a reviewer's ground truth is never undone by a recompute).

Consensus weights (issue 14; set by :func:`core.annotator_actions.set_consensus_weight`). A manager may
down-weight an annotator in a project (``memberships.consensus_weight``, 0 < w <= 1; 1 is normal). The one
rule: *an annotation's vote counts its author's weight*. The weights are read with the counted annotations
(:func:`storage.repositories.quality.task_with_results`, the completing submit's own statement), handed to
:func:`compute_consensus` in the same order, and reach every builder as ``ControlInput.weights``:

* votes use them: the whole-task majority vote (Choices, Taxonomy, Pairwise, DateTime: a weighted
  plurality, :func:`metrics.consensus.vote_leaders`), the median (Number, Rating: the weighted median) and
  the Ranker's Borda count (weighted bucket votes and mean positions);
* the builders that merge or pick regions and texts ignore them for now -- box fusion, polygon, keypoint,
  span, interval and relation votes count annotators by heads against their quorum, and a TextArea's
  medoid is the text closest to all others, where a weight has no clear meaning;
* the agreement is never weighted: it measures how much the annotators agree, whoever they are; a weight
  changes which answer the consensus is (and so whether a tie remains), not the agreement routing compares
  with the threshold;
* an author without an annotator membership (removed from the project, or an imported author) counts 1.
"""
from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from core.config import ControlTag, LabelingConfig, parse_config
from core import webhook_events
from core.errors import NotFoundError
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo
from core.tags import Fallback, TagBehaviour, behaviour_of
from core.tags.choices import answer_of
from core.tags.relations import resolved_relations, same_region
from core.tags.spec import ConsensusBuilder, ControlInput, ResultItem, drawn_regions
from storage.models import TASK_COMPLETED, TASK_DONE, TASK_OPEN, TASK_REVIEW, Project, utcnow
from core.vocabulary import REASON_DISAGREEMENT, REASON_FLAGGED, REASON_RETURNED, REASON_VERIFICATION
from storage.repositories import quality as quality_repo
from storage.repositories import review_queue as review_queue_repo
from storage.repositories import scoring as scoring_repo
from storage.repositories.quality import VERDICT_RETURNED

ANNOTATORS_FIRST = "annotators_first"
REVIEW_FIRST = "review_first"
SINGLE_ANNOTATION = "single_annotation"
#: Scores this close below the threshold count as reaching it (2/3 stored as 0.6666... vs a typed 0.6667
#: would otherwise differ by float noise only; 1e-9 is far below any meaningful agreement difference).
THRESHOLD_TOLERANCE = 1e-9
RECOMPUTE_BATCH = 500  # tasks scored per batch of reads and writes (recompute_tasks)


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


# --- consensus per control: the tag families' builders (core/tags) ---------------------------------------


def control_items(cfg: LabelingConfig, control: ControlTag, result: Sequence[ResultItem]) -> list[ResultItem]:
    """The items of ``result`` that answer ``control``; relations come with the regions they link
    resolved (:func:`core.tags.relations.resolved_relations`), since their ids differ between annotators."""
    if control.kind.result_type == "relation":
        return resolved_relations(cfg, result)
    return [item for item in result if item.get("from_name") == control.name]


def _why_none(behaviour: TagBehaviour | None) -> Fallback | None:
    """The fallback that applies to an answered control instead of a consensus (None: it has one)."""
    if behaviour is not None and behaviour.consensus is not None:
        return None
    return (behaviour.fallback if behaviour is not None else None) or Fallback.REVIEW


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


def control_agreements(cfg: LabelingConfig, results: Sequence[Sequence[ResultItem]]) -> dict[str, float]:
    """Mean pairwise agreement per control over all pairs of annotations (Label Studio's rule), by the
    agreement function of the control's tag family; a control someone answered and another did not
    counts as that one's empty answer. Controls without an agreement function are left out."""
    out: dict[str, float] = {}
    if len(results) < 2:
        return out
    for control in cfg.controls.values():
        behaviour = behaviour_of(control.tag)
        if behaviour is None or behaviour.agreement is None:
            continue
        values = [[item.get("value", {}) for item in control_items(cfg, control, r)] for r in results]
        if not any(values):
            continue
        scores = [behaviour.agreement(control, a, b) for a, b in itertools.combinations(values, 2)]
        out[control.name] = float(sum(scores) / len(scores))
    return out


def per_region_consensus(cfg: LabelingConfig, control: ControlTag, build: ConsensusBuilder,
                         results: Sequence[Sequence[ResultItem]], data: dict[str, Any],
                         built: Sequence[ResultItem], weights: Sequence[float] = ()) -> list[ResultItem] | None:
    """The consensus of a ``perRegion`` control: its answers follow the regions they answer.

    Each annotator's answer sits on one of their own regions (same ``id``); that region is matched to the
    consensus region it is most like (its control's own agreement, at least 0.5,
    :func:`core.tags.relations.same_region`), and the answers landing on one consensus region -- from the
    annotators whose region matched it -- go through the control's own builder (a vote, a median, a
    medoid text), the result taking the consensus region's id. An answer on a region nobody draws (a
    Chat's message ``msg-3``, the same id for everyone) is grouped by that id, everyone voting. A
    consensus region some annotator's answers cannot be settled on makes no consensus (None).
    ``weights``: one per result (empty: 1 each); each voter keeps their own.
    """
    regions = drawn_regions(cfg, built)
    groups: dict[str, list[list[ResultItem]]] = {}
    best_match: dict[tuple[str, int], float] = {}  # one answer per annotator and consensus region: the closest
    for index, result in enumerate(results):
        own = {item["id"]: (item, region_control) for item, region_control in drawn_regions(cfg, result)}
        for answer in (item for item in result if item.get("from_name") == control.name):
            region = own.get(answer.get("id"))
            if region is None:
                key = f"raw:{answer.get('id')}"  # no drawn region: the same id for every annotator
                groups.setdefault(key, [[] for _ in results])[index].append(answer)
                continue
            scored = [(same_region(region[0], region[1], c, c_control), str(c["id"])) for c, c_control in regions]
            best = max(scored, default=(0.0, ""))
            if best[0] >= 0.5 and best[0] > best_match.get((best[1], index), 0.0):
                best_match[(best[1], index)] = best[0]
                groups.setdefault(best[1], [[] for _ in results])[index] = [answer]
    out: list[ResultItem] = []
    for key, per_annotation in groups.items():
        if key.startswith("raw:"):
            voters, voter_weights = per_annotation, tuple(weights)
        else:
            kept = [i for i, items in enumerate(per_annotation) if items]
            voters = [per_annotation[i] for i in kept]
            voter_weights = tuple(weights[i] for i in kept) if weights else ()
        items = build(ControlInput(control, voters, data, cfg, tuple(built), voter_weights))
        if items is None:
            return None
        region_id = key[4:] if key.startswith("raw:") else key
        target = next(((c, c_control) for c, c_control in regions if str(c["id"]) == region_id), None)
        for item in items:
            placed = {**item, "id": region_id}
            if target is not None:  # Label Studio repeats the region's geometry in a per-region answer
                region, region_control = target
                geometry = {k: v for k, v in region["value"].items() if k != region_control.kind.value_key}
                placed.update(to_name=region.get("to_name", placed.get("to_name")),
                              value={**geometry, **item["value"]})
            out.append(placed)
    return out


def _answer_summary(control: ControlTag, per_annotation: list[list[ResultItem]]) -> tuple[tuple[str, int], ...]:
    """Each distinct answer and how many annotations gave it, most first. A region control's answer is
    what its regions are labelled ("2 PER + LOC": two PER regions and one LOC; "MISC"), so a reviewer sees
    what differs, not only how many regions each drew (unlabelled regions: "2 regions"; relations by
    their labels). The review page shows each as "<answer> ×<annotations>"."""
    counts: Counter[str] = Counter()
    value_key = control.kind.value_key
    is_relation = control.kind.result_type == "relation"
    for items in per_annotation:
        if not items:
            counts["(no answer)"] += 1
        elif control.kind.is_region or value_key is None or is_relation:
            labels: Counter[str] = Counter()
            bare = 0
            for item in items:
                found = item.get("labels") if is_relation else (item.get("value") or {}).get(value_key or "")
                names = [str(x) for x in found] if isinstance(found, list) else []
                labels.update(names[:1])  # a region is read by its first label, as agreement matches it
                bare += not names
            parts = [f"{n} {label}" if n > 1 else label
                     for label, n in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0]))]
            noun = "relation" if is_relation else "region"
            parts += [f"{bare} {noun}{'s' if bare != 1 else ''}"] if bare else []
            counts[" + ".join(parts)] += 1
        else:
            answers = [answer_of(item, value_key) for item in items]
            flat = answers[0] if len(answers) == 1 else answers
            counts[", ".join(map(str, flat)) if isinstance(flat, list) else str(flat)] += 1
    return tuple(counts.most_common())


def compute_consensus(cfg: LabelingConfig, data: dict[str, Any], annotations: Sequence[Sequence[ResultItem]],
                      *, weights: Sequence[float] | None = None) -> TaskConsensus:
    """Agreement and per-control consensus of one task.

    Parameters
    ----------
    cfg : the project's parsed labeling config.
    data : the task's data (for the text of consensus spans).
    annotations : one Label Studio result (list of items) per counted annotation; their values were
        checked when they were stored (:func:`core.results.check_result`).
    weights : how much each annotation's vote counts, in ``annotations``' order (the module's "Consensus
        weights"); None or all 1: plain votes. A length that does not match is a ValueError.

    Returns
    -------
    TaskConsensus. ``agreement`` is None with fewer than two annotations; with two or more that are all
    empty it is 1.0. ``missing`` names every answered control that got no consensus; ``unsupported``
    those that cannot get one (a :class:`core.tags.Fallback` applies), so asking more annotators is useless.
    """
    results = [list(a) for a in annotations]
    n = len(results)
    if weights is not None and len(weights) != n:
        raise ValueError(f"compute_consensus: {n} annotations but {len(weights)} weights")
    # All 1 (the common case): no weights at all, so every builder takes its plain, fastest path.
    voting = tuple(float(w) for w in weights) if weights is not None and any(w != 1.0 for w in weights) else ()
    if n == 0:
        return TaskConsensus([], "none", None, 0)
    if n == 1:
        return TaskConsensus([dict(item) for item in results[0]], SINGLE_ANNOTATION, None, 1)
    per_tag = control_agreements(cfg, results)
    answered = {str(i.get("from_name")) for r in results for i in r if i.get("type") != "relation"}
    has_relations = any(i.get("type") == "relation" for r in results for i in r)
    controls: list[ControlOutcome] = []
    consensus: list[ResultItem] = []
    methods: set[str] = set()
    missing: list[str] = []
    unsupported: list[str] = []
    # Per-region answers and relations hang on regions: they are built once every region control has its
    # consensus, relations last.
    ordered = sorted(cfg.controls.values(),
                     key=lambda c: (c.kind.result_type == "relation", c.per_region))
    for control in ordered:
        is_relation = control.kind.result_type == "relation"
        if not (has_relations if is_relation else control.name in answered):
            continue
        behaviour = behaviour_of(control.tag)
        per_annotation = [control_items(cfg, control, r) for r in results]
        fallback = _why_none(behaviour)
        items: list[ResultItem] | None = None
        method: str | None = None
        if fallback is not None or behaviour is None or behaviour.consensus is None:
            unsupported.append(control.name)
        elif control.per_region:
            method = behaviour.consensus.__name__
            items = per_region_consensus(cfg, control, behaviour.consensus, results, data, consensus, voting)
        else:
            method = behaviour.consensus.__name__
            items = behaviour.consensus(ControlInput(control, per_annotation, data, cfg, tuple(consensus), voting))
        if items is None:
            missing.append(control.name)
        else:
            consensus.extend(items)
            methods.add(str(method))
        controls.append(ControlOutcome(control.name, control.tag, method, per_tag.get(control.name), items,
                                       _answer_summary(control, per_annotation)))
    # Result-making objects (Chat messages: their family's fallback) or a control the config no longer has.
    others = sorted(answered - set(cfg.controls))
    missing.extend(others)
    unsupported.extend(others)
    if per_tag:
        agreement: float | None = float(sum(per_tag.values()) / len(per_tag))
    else:
        agreement = 1.0 if not any(results) else None  # all empty: they agree on "nothing"
    method_text = "+".join(sorted(methods)) or ("empty" if not any(results) else "none")
    controls.sort(key=lambda outcome: list(cfg.controls).index(outcome.name))
    return TaskConsensus(consensus, method_text[:40], agreement, n, tuple(controls), tuple(missing), tuple(unsupported))


def consensus_weights_of(uow: UnitOfWork, project_id: int, author_ids: Sequence[int]) -> list[float]:
    """The weights of annotations by ``author_ids`` (in that order) for :func:`compute_consensus`, for a
    caller that computes a task's consensus from annotations it read itself (a review page): the same weights
    :func:`recompute_task` reads with the annotations (1 for an author without an annotator membership)."""
    found = quality_repo.author_weights(uow.session, project_id, list(author_ids))
    return [found.get(author, 1.0) for author in author_ids]


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
    uow: UnitOfWork, task_id: int, *, known: tuple[Any, list[list[ResultItem]], list[float]] | None = None
) -> QualityOutcome:
    """Compute and store the task's agreement and consensus; route it when it is ``completed``.

    Runs inside the caller's unit of work (the submit or import that completed the task); the caller
    commits. The task row is read fresh (the labeling loop updates counters with raw SQL) and locked on
    PostgreSQL; on SQLite the caller's write transaction holds the lock. Raises NotFoundError for an
    unknown task. Few, Core-level statements: in a submit this runs under the database write lock.
    """
    session = uow.session
    session.flush()  # the Core statements below bypass autoflush; make the caller's ORM changes visible
    # ``known``: the task row, counted results and their weights the caller read already (a PostgreSQL submit).
    task, results, weights = known if known is not None else quality_repo.task_with_results(session, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}")
    project = session.get(Project, task.project_id)  # in the identity map already after `require`
    assert project is not None  # tasks cascade with their project
    outcome = compute_consensus(project_config(project.config_xml), task.data, results, weights=weights)
    now = utcnow()
    hints = review_queue_repo.routing_hints(session, task_id) if task.state == TASK_COMPLETED else (False, None)
    state, overlap, escalated, reason = _route(uow, project, task, outcome, bool(results), *hints)
    if results:
        quality_repo.save_and_route(
            session, task_id, result=outcome.result, method=outcome.method, agreement=outcome.agreement,
            n_annotations=outcome.n_annotations, state=state, overlap=overlap, now=now, review_reason=reason,
        )
    elif state != task.state or overlap != task.overlap:
        quality_repo.route_task(session, task_id, state=state, overlap=overlap, now=now, review_reason=reason)
    if task.state == TASK_COMPLETED and state == TASK_DONE and results:
        webhook_events.consensus_reached(uow, project_id=task.project_id, task_id=task_id, result=outcome.result,
                                         method=outcome.method, agreement=outcome.agreement,
                                         n_annotations=outcome.n_annotations)
    return QualityOutcome(task_id, state, outcome.agreement, outcome.is_complete, escalated, outcome.n_annotations)


def _route(uow: UnitOfWork, project: Project, task: Any, outcome: TaskConsensus, has_results: bool,
           flagged: bool, newest_verdict: str | None) -> tuple[str, int, bool, Any]:
    """Where a scored task goes: (state, overlap, escalated?, ``tasks.review_reason`` or KEEP_REASON), by the
    rules of the module; only a ``completed`` task is routed (any other keeps its state and reason).
    ``flagged``, ``newest_verdict``: :func:`storage.repositories.review_queue.routing_hints` of the task."""
    if task.state != TASK_COMPLETED:
        return task.state, task.overlap, False, quality_repo.KEEP_REASON
    state, overlap, escalated = task.state, task.overlap, False
    reason: str | None = None
    if flagged:  # a labeler asked for a reviewer: agreement or not
        state, reason = TASK_REVIEW, REASON_FLAGGED
    elif not has_results:  # completed by imported ground-truth annotations alone (no vote): the truth settles it
        state = TASK_DONE
    elif outcome.n_annotations == 1 or (_reaches(outcome.agreement, project.agreement_threshold)
                                        and outcome.is_complete):
        state = TASK_DONE
        if sampled_for_verification(project.id, task.id, project.verify_rate):
            state, reason = TASK_REVIEW, REASON_VERIFICATION
    elif (
        project.escalation_order == ANNOTATORS_FIRST
        and not outcome.unsupported  # more annotators cannot make a consensus no function computes
        and _may_ask_one_more(uow, project, task.id, outcome.n_annotations)
    ):
        # One slot more than the task holds now (an import may bring more annotations than the overlap).
        state, overlap, escalated = TASK_OPEN, max(task.overlap, task.n_annotations) + 1, True
    else:
        state, reason = TASK_REVIEW, REASON_DISAGREEMENT
    if state == TASK_REVIEW and newest_verdict == VERDICT_RETURNED:
        reason = REASON_RETURNED  # corrected by the authors a reviewer returned it to, and still unsettled
    return state, overlap, escalated, reason


def recompute_tasks(uow: UnitOfWork, task_ids: Sequence[int], *, keep_task_times: bool = False) -> list[QualityOutcome]:
    """:func:`recompute_task` for many tasks, with the same outcome, in batches of RECOMPUTE_BATCH: each
    batch is read in three statements and written in two (:mod:`storage.repositories.scoring`), so scoring the
    tasks of a large import costs a fraction of a task-by-task loop. Unknown ids are skipped. Runs in the
    caller's unit of work (the caller commits); task rows are locked on PostgreSQL as one task's are.
    ``keep_task_times``: a routed task keeps its ``updated_at`` (an import scoring the tasks it brought keeps the
    time their file gave them: the task did not change here)."""
    session = uow.session
    session.flush()
    out: list[QualityOutcome] = []
    projects: dict[int, Project] = {}  # held here: the identity map keeps objects only while referenced
    for start in range(0, len(task_ids), RECOMPUTE_BATCH):
        batch = task_ids[start:start + RECOMPUTE_BATCH]
        read = scoring_repo.tasks_with_results(session, batch)
        hints = scoring_repo.routing_hints(session, [task.id for task, _, _ in read if task.state == TASK_COMPLETED])
        now = utcnow()
        consensus: list[dict[str, Any]] = []
        routes: list[dict[str, Any]] = []
        settled: list[tuple[Any, TaskConsensus]] = []
        for task, results, weights in read:
            project = projects.get(task.project_id) or session.get(Project, task.project_id)
            assert project is not None  # tasks cascade with their project
            projects[task.project_id] = project
            outcome = compute_consensus(project_config(project.config_xml), task.data, results, weights=weights)
            state, overlap, escalated, reason = _route(uow, project, task, outcome, bool(results),
                                                       *hints.get(task.id, (False, None)))
            if results:
                consensus.append({"task_id": task.id, "result": outcome.result, "method": outcome.method,
                                  "agreement": outcome.agreement, "n_annotations": outcome.n_annotations,
                                  "updated_at": now})
            if reason is not quality_repo.KEEP_REASON:  # a routed (completed) task
                routes.append({"task_id": task.id, "new_state": state, "new_overlap": overlap,
                               "review_reason": reason, "now": task.updated_at if keep_task_times else now})
            if task.state == TASK_COMPLETED and state == TASK_DONE and results:
                settled.append((task, outcome))
            out.append(QualityOutcome(task.id, state, outcome.agreement, outcome.is_complete, escalated,
                                      outcome.n_annotations))
        scoring_repo.save_and_route_many(session, consensus, routes)
        for task, outcome in settled:
            webhook_events.consensus_reached(uow, project_id=task.project_id, task_id=task.id, result=outcome.result,
                                             method=outcome.method, agreement=outcome.agreement,
                                             n_annotations=outcome.n_annotations)
    return out


def sampled_for_verification(project_id: int, task_id: int, rate: float) -> bool:
    """Whether an agreed task is in the share ``rate`` of agreed tasks sent to review for verification.

    Deterministic per (project, task): a hash of both read as a number in [0, 1) is compared with the rate,
    so recomputing a task never flips its draw, and raising the rate only adds tasks to the sample."""
    if rate <= 0:
        return False
    digest = hashlib.blake2b(f"{project_id}:{task_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


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
    known: tuple[Any, list[list[ResultItem]], list[float]] | None = None,
) -> QualityOutcome:
    """The labeling loop's hook: a submit just brought the task to its overlap (same unit of work).

    ``sole_result``: the submit knows this annotation is the task's only counted one (its counter says 1),
    so the consensus is the annotation itself and the task is done, as recompute_task would decide,
    without reading the task and its annotations back (the common case of overlap 1). ``known``: the task
    row, counted results and their weights, when the submit read them already (see recompute_task).
    """
    if sole_result is None or project_id is None or _verifies(uow, project_id):
        return recompute_task(uow, task_id, known=known)  # (verification sampling: recompute_task decides)
    result = [dict(item) for item in sole_result]
    quality_repo.save_and_route(uow.session, task_id, result=result, method=SINGLE_ANNOTATION, agreement=None,
                                n_annotations=1, state=TASK_DONE, overlap=None, now=utcnow())
    webhook_events.consensus_reached(uow, project_id=project_id, task_id=task_id, result=result,
                                     method=SINGLE_ANNOTATION, agreement=None, n_annotations=1)
    return QualityOutcome(task_id, TASK_DONE, None, True, False, 1)


def _verifies(uow: UnitOfWork, project_id: int) -> bool:
    """Whether the project samples agreed tasks for verification (its row is in the identity map already:
    the submit checked the user's right on it)."""
    project = uow.session.get(Project, project_id)
    return project is not None and (project.verify_rate or 0.0) > 0


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
        counts.update(outcome.state for outcome in recompute_tasks(uow, ids))
        n_tasks += len(ids)
        after = ids[-1]
    return ProjectRecompute(n_tasks, counts[TASK_DONE], counts[TASK_REVIEW], counts[TASK_OPEN])


def waiting_count(uow: UnitOfWork, actor: UserInfo, project_id: int) -> int:
    """Tasks of the project that reached their overlap but were not routed yet (imports)."""
    require(uow, actor, project_id, Action.REVIEW)
    return quality_repo.state_counts(uow.session, project_id).get(TASK_COMPLETED, 0)
