"""The review queue and its resolutions, for reviewers and managers (``Action.REVIEW``, checked here).

Tasks the quality engine (:mod:`core.quality`) could not settle wait in state ``review``. A reviewer opens
one, sees every annotation with its author, the consensus and agreement and where the annotators disagree,
and resolves it in one of three ways:

* **accept** one annotation: it becomes the task's ground truth (``ground_truth``, source ``review``) and
  gets a Review row ``accepted``; the task is ``done``;
* **fix**: the reviewer's own result (checked against the config like any submit) becomes the ground
  truth; a Review row ``fixed`` keeps it, linked to the annotation the reviewer started from (if any);
  the task is ``done``;
* **accept the consensus**: the proposed consensus (every answered control has one) becomes the ground
  truth; a Review row ``consensus`` keeps it;
* **return to the authors** with a comment: the chosen annotations (one annotator's, or everyone's) get a
  Review row ``returned``; each author gets the task back (a lock, handed to them first), may change their
  answer and resubmit; until then the annotation does not count, and once every returned answer is back
  the task is scored and routed again (:func:`core.labeling.submit_annotation`);
* **send back** with a comment: the chosen annotations (default: all counted ones) get a Review row
  ``rejected`` with the comment and the task returns to ``open`` with its overlap raised by as many
  slots, so the same number of *new* annotators label it.

An imported ground-truth annotation (``ground_truth`` on the annotation) is shown as the ground truth,
apart from the annotators, and is not part of their agreement or consensus here. Every decision is
audited (``review.*`` events: who, when, the task's state and ground truth before and after) and the
annotators see decisions on their own work (:func:`my_reviews`, with :func:`unseen_review_count` for a
badge until they look).

Rejected annotations are kept (history, annotator statistics) but no longer count: agreement and
consensus ignore them, and they do not use up ``maximum_annotations`` when the task escalates. Their
authors cannot edit them (any Review row freezes an annotation in :mod:`core.labeling`) and never get the
task again (the hand-out skips tasks a person annotated). The comment is shown to whoever gets the task
next through :func:`send_back_notes` (a labeler holding the task may read it; no author or verdict is
revealed). Labelers see reviews of their own annotations only (:func:`my_reviews`).

Every resolution runs in the caller's unit of work (the caller commits), with the task row locked on
PostgreSQL (BEGIN IMMEDIATE on SQLite), so two reviewers cannot both resolve one task: the second gets a
ConflictError unless they explicitly override a ground truth.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from core import webhook_events
from core.config import LabelingConfig
from core.errors import ConflictError, NotFoundError, PermissionDeniedError, QuorumError
from core.permissions import Action, can, require
from core.quality import ControlOutcome, compute_consensus, consensus_weights_of, project_config
from core.review_queue import (
    annotator_names,
    release_review_lock,
    review_lock_holder,
    review_started_at,
    shown_position,
)
from core.results import (
    InvalidResultError,
    check_result,
    has_spans,
    missing_required,
    missing_required_message,
    with_span_texts,
)
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import TASK_COMPLETED, TASK_DONE, TASK_OPEN, TASK_REVIEW, Annotation, Task, utcnow
from storage.models import LOCK_TASK
from storage.repositories import audit as audit_repo
from storage.repositories import quality as quality_repo
from storage.repositories import quality_checks as checks_repo
from storage.repositories import tasks as tasks_repo
from storage.repositories.quality import (
    VERDICT_ACCEPTED,
    VERDICT_CONSENSUS,
    VERDICT_FIXED,
    VERDICT_REJECTED,
    VERDICT_RETURNED,
)

GROUND_TRUTH_SOURCE = "review"
RESOLVABLE_STATES = (TASK_REVIEW, TASK_COMPLETED, TASK_DONE)
MAX_COMMENT_LENGTH = 4000
#: How long a returned task stays reserved for its author (they may not label every day); after that its slot
#: is free again and the hand-out may give it to someone else, while the author can still correct theirs.
RETURN_HOLD = dt.timedelta(days=7)
AUDIT_PREFIX = "review."


# --- one task ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnotationView:
    annotation_id: int
    annotator_id: int
    annotator: str  # display name, else user name
    result: list[dict[str, Any]]
    created_at: dt.datetime
    updated_at: dt.datetime
    lead_time_s: float | None
    is_rejected: bool
    flagged: bool = False  # the annotator was not sure ("I'm not sure" on the Label page)
    flag_note: str | None = None  # what made them unsure, in their words


@dataclass(frozen=True)
class ReviewRecord:
    review_id: int
    reviewer: str
    verdict: str
    annotation_id: int | None
    comment: str
    created_at: dt.datetime


@dataclass(frozen=True)
class ReviewView:
    """Everything a reviewer needs to settle one task."""

    task_id: int
    project_id: int
    state: str
    data: dict[str, Any]
    annotations: tuple[AnnotationView, ...]  # the counted ones, oldest first (anonymised: by their number)
    rejected: tuple[AnnotationView, ...]  # sent back earlier; shown for context only
    consensus: list[dict[str, Any]]  # Label Studio items of the controls that have a consensus
    consensus_method: str
    agreement: float | None
    controls: tuple[ControlOutcome, ...]  # per answered control: agreement, consensus?, answers with counts
    missing: tuple[str, ...]  # answered controls without a consensus (ties, unsupported kinds)
    ground_truth: list[dict[str, Any]] | None
    history: tuple[ReviewRecord, ...]
    review_reason: str | None = None  # why it waits: disagreement, flagged, verification, returned

    @property
    def is_resolvable(self) -> bool:
        return self.state in RESOLVABLE_STATES

    @property
    def has_full_consensus(self) -> bool:
        """Whether :func:`accept_consensus` can take it: answers, and a consensus for every answered control."""
        return bool(self.consensus) and not self.missing and bool(self.annotations)


def _name(display_name: str, username: str) -> str:
    return display_name or username


def _task(uow: UnitOfWork, task_id: int, *, for_update: bool = False) -> Task:
    task = quality_repo.locked_task(uow.session, task_id) if for_update else uow.session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}")
    return task


def review_task(uow: UnitOfWork, user: UserInfo, *, task_id: int) -> ReviewView:
    """A task's annotations with their authors, consensus, agreement and per-control disagreement."""
    session = uow.session
    task = _task(uow, task_id)
    project = require(uow, user, task.project_id, Action.REVIEW)
    rows = quality_repo.submitted_with_authors(session, task_id)
    # Real names, or "Annotator 1, 2 ..." when the project anonymises reviews (numbered as the queue does).
    shown = annotator_names(uow, user, task_id=task_id)
    views = [
        AnnotationView(a.id, a.completed_by_id, shown.get(a.completed_by_id, _name(display, username)), a.result,
                       a.created_at, a.updated_at,
                       a.lead_time_s, bool(rejected), bool(a.flagged), a.flag_note)
        for a, display, username, rejected in rows
    ]
    gold_ids = {a.id for a, *_ in rows if a.ground_truth}  # imported ground truth: shown as such, not compared
    counted = tuple(v for v in views if not v.is_rejected and v.annotation_id not in gold_ids)
    outcome = compute_consensus(project_config(project.config_xml), task.data, [v.result for v in counted],
                                weights=consensus_weights_of(uow, project.id, [v.annotator_id for v in counted]))
    if project.anonymize_reviews:  # shown as "Annotator 1, 2 ...", in that order: not the order they submitted
        counted = tuple(sorted(counted, key=lambda v: shown_position(task_id, v.annotator_id)))
    truth = quality_repo.ground_truth_of(session, task_id)
    history = tuple(
        ReviewRecord(r.id, _name(display, username), r.verdict, r.annotation_id, r.comment, r.created_at)
        for r, display, username in quality_repo.reviews_of_task(session, task_id)
    )
    return ReviewView(
        task_id=task.id,
        project_id=task.project_id,
        state=task.state,
        data=task.data,
        annotations=counted,
        rejected=tuple(v for v in views if v.is_rejected),
        consensus=outcome.result,
        consensus_method=outcome.method,
        agreement=outcome.agreement,
        controls=outcome.controls,
        missing=outcome.missing,
        ground_truth=truth.result if truth else None,
        history=history,
        review_reason=task.review_reason,
    )


# --- resolutions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    task_id: int
    verdict: str
    state: str


@dataclass(frozen=True)
class SentBack:
    task_id: int
    n_rejected: int
    overlap: int  # the task's overlap afterwards
    n_possible_annotators: int  # annotators of the project who have not seen the task (0: nobody can take it)


def _resolvable(uow: UnitOfWork, task: Task, *, override: bool) -> None:
    if task.state not in RESOLVABLE_STATES:
        raise ConflictError(f"task {task.id} is still being labeled (state {task.state}); it cannot be resolved now")
    truth = quality_repo.ground_truth_of(uow.session, task.id)
    if truth is not None and not override:
        raise ConflictError(f"task {task.id} was resolved already; pass override to replace its ground truth")


def _comment(comment: str) -> str:
    return comment.strip()[:MAX_COMMENT_LENGTH]


def _take_decision(uow: UnitOfWork, user: UserInfo, task: Task, now: dt.datetime) -> float | None:
    """Before a decision: refused (ConflictError) while another reviewer holds the task (core.review_queue's
    review locks, so two reviewers never settle one task at once); the seconds this reviewer spent on it
    (from taking its lock; None when they decide without one, e.g. through the API); their lock released."""
    other = review_lock_holder(uow, task.id, now=now, other_than=user.id)
    if other is not None:
        raise ConflictError(f"task {task.id} is being reviewed by {other.name} until {other.expires_at:%H:%M} UTC; "
                            "open the next task instead")
    started = review_started_at(uow, user, task_id=task.id, now=now)
    release_review_lock(uow, user, task_id=task.id)
    return max((now - started).total_seconds(), 0.0) if started is not None else None


def _chosen_answers(uow: UnitOfWork, task_id: int, annotation_ids: list[int] | None, verb: str) -> dict[int, Annotation]:
    """The counted annotations (an imported ground truth is none) a reviewer chose, by id (None: all);
    QuorumError when none is chosen, NotFoundError naming ids that are not counted answers of the task."""
    counted = {a.id: a for a in quality_repo.counted_annotations(uow.session, task_id) if not a.ground_truth}
    chosen = set(counted) if annotation_ids is None else set(annotation_ids)
    if not chosen:
        raise QuorumError(f"task {task_id}: choose at least one annotation to {verb}")
    stray = sorted(i for i in chosen if i not in counted)
    if stray:
        raise NotFoundError(f"task {task_id} has no counted annotation {', '.join(map(str, stray))}")
    return {i: counted[i] for i in chosen}


def _before(uow: UnitOfWork, task: Task) -> dict[str, Any]:
    """The task as a decision finds it, for the audit trail."""
    truth = quality_repo.ground_truth_of(uow.session, task.id)
    return {"state": task.state, "ground_truth": truth.result if truth else None}


def _audit(uow: UnitOfWork, user: UserInfo, task: Task, verdict: str, before: dict[str, Any], *,
           now: dt.datetime, **detail: Any) -> None:
    """One ``review.<verdict>`` event: who decided what on which task, with the task before and after."""
    truth = quality_repo.ground_truth_of(uow.session, task.id)
    audit_repo.record(uow.session, actor_id=user.id, project_id=task.project_id, action=AUDIT_PREFIX + verdict, now=now,
                      detail={"task_id": task.id, "before": before,
                              "after": {"state": task.state, "ground_truth": truth.result if truth else None},
                              **detail})


def _settle(uow: UnitOfWork, task: Task, *, result: list[dict[str, Any]], reviewer: UserInfo, now: dt.datetime) -> None:
    quality_repo.save_ground_truth(uow.session, task.id, result=result, source=GROUND_TRUTH_SOURCE,
                                   created_by_id=reviewer.id, now=now)
    task.state = TASK_DONE
    task.updated_at = now
    uow.session.flush()


def accept_annotation(
    uow: UnitOfWork, user: UserInfo, *, annotation_id: int, comment: str = "", override: bool = False
) -> Resolution:
    """Make one counted annotation the task's ground truth; the task is ``done``."""
    uow.begin_write()
    annotation = uow.session.get(Annotation, annotation_id)
    if annotation is None or annotation.was_cancelled:
        raise NotFoundError(f"no submitted annotation with id {annotation_id}")
    require(uow, user, annotation.project_id, Action.REVIEW)
    task = _task(uow, annotation.task_id, for_update=True)
    _resolvable(uow, task, override=override)
    if annotation_id not in {a.id for a in quality_repo.counted_annotations(uow.session, task.id)}:
        raise ConflictError(f"annotation {annotation_id} was sent back earlier and cannot be accepted")
    now = utcnow()
    spent = _take_decision(uow, user, task, now)
    before = _before(uow, task)
    quality_repo.add_review(uow.session, task_id=task.id, annotation_id=annotation_id, reviewer_id=user.id,
                            verdict=VERDICT_ACCEPTED, comment=_comment(comment), time_s=spent, now=now)
    _settle(uow, task, result=annotation.result, reviewer=user, now=now)
    _audit(uow, user, task, VERDICT_ACCEPTED, before, now=now, annotation_ids=[annotation_id], comment=_comment(comment))
    webhook_events.review_done(uow, project_id=task.project_id, task_id=task.id, verdict=VERDICT_ACCEPTED,
                               reviewer_id=user.id, state=task.state, annotation_ids=[annotation_id],
                               result=annotation.result, comment=_comment(comment))
    return Resolution(task.id, VERDICT_ACCEPTED, task.state)


def fix_task(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    task_id: int,
    result: list[dict[str, Any]],
    based_on_annotation_id: int | None = None,
    comment: str = "",
    override: bool = False,
) -> Resolution:
    """Make the reviewer's own result the task's ground truth (checked like a submit); the task is ``done``.

    ``based_on_annotation_id``: the annotation the reviewer corrected, if they started from one (it is
    linked to the ``fixed`` review, which also freezes it); None when they started from the consensus.
    """
    uow.begin_write()
    task = _task(uow, task_id, for_update=True)
    project = require(uow, user, task.project_id, Action.REVIEW)
    cfg = project_config(project.config_xml)
    check_result(cfg, result)
    if has_spans(cfg, result):  # as on a submit: a span's text is what the document holds at its offsets
        result = with_span_texts(cfg, result, task.data or {}, task_id=task_id)
    missing = missing_required(cfg, result)
    if missing:
        raise InvalidResultError(missing_required_message(cfg, missing, "accepting"))
    if based_on_annotation_id is not None:
        base = uow.session.get(Annotation, based_on_annotation_id)
        if base is None or base.task_id != task_id or base.was_cancelled:
            raise NotFoundError(f"task {task_id} has no submitted annotation {based_on_annotation_id}")
    _resolvable(uow, task, override=override)
    now = utcnow()
    spent = _take_decision(uow, user, task, now)
    before = _before(uow, task)
    quality_repo.add_review(uow.session, task_id=task_id, annotation_id=based_on_annotation_id, reviewer_id=user.id,
                            verdict=VERDICT_FIXED, comment=_comment(comment), fixed_result=result, time_s=spent, now=now)
    _settle(uow, task, result=result, reviewer=user, now=now)
    _audit(uow, user, task, VERDICT_FIXED, before, now=now, comment=_comment(comment),
           annotation_ids=[] if based_on_annotation_id is None else [based_on_annotation_id])
    webhook_events.review_done(uow, project_id=task.project_id, task_id=task.id, verdict=VERDICT_FIXED,
                               reviewer_id=user.id, state=task.state, result=result, comment=_comment(comment),
                               annotation_ids=[] if based_on_annotation_id is None else [based_on_annotation_id])
    return Resolution(task.id, VERDICT_FIXED, task.state)


def send_back(
    uow: UnitOfWork, user: UserInfo, *, task_id: int, comment: str, annotation_ids: list[int] | None = None
) -> SentBack:
    """Reject annotations of a task in review and return it to the annotators with ``comment`` (required).

    ``annotation_ids``: which counted annotations to reject (default: all). The task goes back to
    ``open`` with its overlap raised by the number rejected, so as many new annotators label it.
    """
    uow.begin_write()
    text = _comment(comment)
    if not text:
        raise QuorumError("say why the task goes back: a comment is required")
    task = _task(uow, task_id, for_update=True)
    require(uow, user, task.project_id, Action.REVIEW)
    if task.state != TASK_REVIEW:
        raise ConflictError(f"task {task_id} is not in the review queue (state {task.state})")
    chosen = sorted(_chosen_answers(uow, task_id, annotation_ids, "send back"))
    now = utcnow()
    spent = _take_decision(uow, user, task, now)
    before = _before(uow, task)
    for annotation_id in chosen:
        quality_repo.add_review(uow.session, task_id=task_id, annotation_id=annotation_id, reviewer_id=user.id,
                                verdict=VERDICT_REJECTED, comment=text, time_s=spent, now=now)
    task.overlap += len(chosen)
    task.state = TASK_OPEN
    task.updated_at = now
    uow.session.flush()
    _audit(uow, user, task, VERDICT_REJECTED, before, now=now, annotation_ids=chosen, comment=text)
    webhook_events.review_done(uow, project_id=task.project_id, task_id=task_id, verdict=VERDICT_REJECTED,
                               reviewer_id=user.id, state=task.state, annotation_ids=chosen, comment=text)
    return SentBack(task_id, len(chosen), task.overlap,
                    quality_repo.n_possible_annotators(uow.session, task.project_id, task_id))


def accept_consensus(
    uow: UnitOfWork, user: UserInfo, *, task_id: int, comment: str = "", override: bool = False
) -> Resolution:
    """Make the proposed consensus of the counted annotations the task's ground truth; the task is ``done``.

    ConflictError when some answered control has no consensus (a tie, or nothing merges it): the reviewer
    accepts one answer or fixes one instead."""
    uow.begin_write()
    task = _task(uow, task_id, for_update=True)
    project = require(uow, user, task.project_id, Action.REVIEW)
    _resolvable(uow, task, override=override)
    cfg = project_config(project.config_xml)
    rows = [a for a in quality_repo.counted_annotations(uow.session, task_id) if not a.ground_truth]
    counted = [a.result for a in rows]
    # weighted as the system scored the task, so what the reviewer accepts is the consensus they were shown
    outcome = compute_consensus(cfg, task.data, counted,
                                weights=consensus_weights_of(uow, project.id, [a.completed_by_id for a in rows]))
    if not counted or not outcome.is_complete:
        missing = ", ".join(outcome.missing) or "every control"
        raise ConflictError(f"task {task_id} has no consensus for {missing}; accept one answer or fix one instead")
    result = _checked_consensus(cfg, outcome.result, task, task_id)
    now = utcnow()
    spent = _take_decision(uow, user, task, now)
    before = _before(uow, task)
    quality_repo.add_review(uow.session, task_id=task_id, annotation_id=None, reviewer_id=user.id,
                            verdict=VERDICT_CONSENSUS, comment=_comment(comment), fixed_result=result, time_s=spent, now=now)
    _settle(uow, task, result=result, reviewer=user, now=now)
    _audit(uow, user, task, VERDICT_CONSENSUS, before, now=now, method=outcome.method, agreement=outcome.agreement,
           comment=_comment(comment))
    webhook_events.review_done(uow, project_id=task.project_id, task_id=task_id, verdict=VERDICT_CONSENSUS,
                               reviewer_id=user.id, state=task.state, annotation_ids=[], result=result,
                               comment=_comment(comment))
    return Resolution(task_id, VERDICT_CONSENSUS, task.state)


def _checked_consensus(cfg: LabelingConfig, result: list[dict[str, Any]], task: Task, task_id: int) -> list[dict[str, Any]]:
    """The consensus as a ground truth is stored: checked like a submit (it is built from checked answers,
    so a failure here is a bug worth a clear message, not a silent bad truth)."""
    check_result(cfg, result, task.data)
    if has_spans(cfg, result):
        result = with_span_texts(cfg, result, task.data or {}, task_id=task_id)
    return result


@dataclass(frozen=True)
class Returned:
    task_id: int
    n_returned: int
    authors: tuple[int, ...]  # user ids the task went back to


def return_to_authors(
    uow: UnitOfWork, user: UserInfo, *, task_id: int, comment: str, annotation_ids: list[int] | None = None
) -> Returned:
    """Return annotations of a task in review to their authors to correct, with ``comment`` (required).

    ``annotation_ids``: whose answers go back (default: everyone's). Each author gets the task back first
    when they next label (a lock kept RETURN_HOLD), sees the comment and their own answer, and may change
    it; the annotation does not count meanwhile, so the task waits ``open`` until every returned answer is
    back, then is scored and routed again."""
    uow.begin_write()
    text = _comment(comment)
    if not text:
        raise QuorumError("say what to correct: a comment is required")
    task = _task(uow, task_id, for_update=True)
    project = require(uow, user, task.project_id, Action.REVIEW)
    if task.state != TASK_REVIEW:
        raise ConflictError(f"task {task_id} is not in the review queue (state {task.state})")
    counted = _chosen_answers(uow, task_id, annotation_ids, "return")
    chosen = sorted(counted)
    now = utcnow()
    spent = _take_decision(uow, user, task, now)
    before = _before(uow, task)
    hold = max(dt.timedelta(seconds=project.lock_ttl_s), RETURN_HOLD)
    n_locked = task.n_locked
    for annotation_id in chosen:
        quality_repo.add_review(uow.session, task_id=task_id, annotation_id=annotation_id, reviewer_id=user.id,
                                verdict=VERDICT_RETURNED, comment=text, time_s=spent, now=now)
        if checks_repo.add_lock(uow.session, project_id=task.project_id, task_id=task_id,
                                user_id=counted[annotation_id].completed_by_id, kind=LOCK_TASK,
                                expires_at=now + hold, now=now):
            n_locked += 1  # the author's slot, kept for them
    n_annotations = max(task.n_annotations - len(chosen), 0)
    # A task can hold more answers than its overlap (a reviewer's or manager's answer, an import): the overlap
    # grows to hold the authors' kept slots too, so the task completes when every returned answer is back.
    overlap = max(task.overlap, n_annotations + n_locked)
    tasks_repo.write_counters(uow.session, task_id, n_annotations=n_annotations,
                              n_locked=n_locked, overlap=overlap, state=TASK_OPEN, now=now)
    uow.session.expire(task)
    authors = tuple(counted[i].completed_by_id for i in chosen)
    _audit(uow, user, task, VERDICT_RETURNED, before, now=now, annotation_ids=chosen, comment=text)
    webhook_events.review_done(uow, project_id=task.project_id, task_id=task_id, verdict=VERDICT_RETURNED,
                               reviewer_id=user.id, state=TASK_OPEN, annotation_ids=chosen, comment=text)
    return Returned(task_id, len(chosen), authors)


# --- what labelers may see ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MyReview:
    task_id: int
    annotation_id: int
    verdict: str
    comment: str
    created_at: dt.datetime
    is_new: bool = False  # the annotator has not seen it yet (see mark_reviews_seen)
    corrected: bool = False  # a returned answer its author changed since


def my_reviews(uow: UnitOfWork, user: UserInfo, *, project_id: int, limit: int = 50) -> list[MyReview]:
    """Reviews of the user's own annotations in the project, newest first; never anybody else's."""
    require(uow, user, project_id, Action.VIEW_PROJECT)
    return [
        # A decision on the whole task (the consensus accepted, a fix from it) is news of their work too, but
        # not a badge of their own: that review row is shared by every annotator of the task.
        MyReview(r.task_id, mine, r.verdict, r.comment, r.created_at,
                 r.seen_at is None and r.annotation_id is not None,
                 r.verdict == VERDICT_RETURNED and updated_at > r.created_at)
        for r, updated_at, mine in quality_repo.reviews_of_author(uow.session, project_id, user.id, limit=limit)
    ]


def unseen_review_count(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> int:
    """Reviews of the user's own work in the project they have not looked at: the Label page's badge."""
    require(uow, user, project_id, Action.VIEW_PROJECT)
    return quality_repo.unseen_reviews_of_author(uow.session, project_id, user.id)


def mark_reviews_seen(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> int:
    """The user looked at the reviews of their work in the project (the caller commits); how many were new."""
    require(uow, user, project_id, Action.VIEW_PROJECT)
    return quality_repo.mark_reviews_seen(uow.session, project_id, user.id, utcnow())


def send_back_notes(uow: UnitOfWork, user: UserInfo, *, task_id: int) -> list[str]:
    """The comments reviewers gave when sending this task back, for the labeler who holds it now (or has
    annotated it) and for reviewers; only the comment text, no authors or verdicts."""
    session = uow.session
    task = _task(uow, task_id)
    if not can(uow, user, task.project_id, Action.REVIEW):
        require(uow, user, task.project_id, Action.LABEL)
        if not tasks_repo.is_theirs(session, task_id, user.id):  # the rule of core.labeling.is_users_task
            raise PermissionDeniedError(f"task {task_id} is not yours to open")
    return quality_repo.send_back_comments(session, task_id)

