"""The review queue and its resolutions, for reviewers and managers (``Action.REVIEW``, checked here).

Tasks the quality engine (:mod:`core.quality`) could not settle wait in state ``review``. A reviewer opens
one, sees every annotation with its author, the consensus and agreement and where the annotators disagree,
and resolves it in one of three ways:

* **accept** one annotation: it becomes the task's ground truth (``ground_truth``, source ``review``) and
  gets a Review row ``accepted``; the task is ``done``;
* **fix**: the reviewer's own result (checked against the config like any submit) becomes the ground
  truth; a Review row ``fixed`` keeps it, linked to the annotation the reviewer started from (if any);
  the task is ``done``;
* **send back** with a comment: the chosen annotations (default: all counted ones) get a Review row
  ``rejected`` with the comment and the task returns to ``open`` with its overlap raised by as many
  slots, so the same number of *new* annotators label it.

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
from core.errors import ConflictError, NotFoundError, PermissionDeniedError, QuorumError
from core.permissions import Action, can, require
from core.quality import ControlOutcome, compute_consensus, project_config
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
from storage.repositories import quality as quality_repo
from storage.repositories import tasks as tasks_repo
from storage.repositories.quality import VERDICT_ACCEPTED, VERDICT_FIXED, VERDICT_REJECTED

GROUND_TRUTH_SOURCE = "review"
RESOLVABLE_STATES = (TASK_REVIEW, TASK_COMPLETED, TASK_DONE)
MAX_COMMENT_LENGTH = 4000
QUEUE_PAGE_SIZE = 25


# --- the queue ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    task_id: int
    n_annotations: int
    agreement: float | None
    waiting_since: dt.datetime


@dataclass(frozen=True)
class ReviewQueue:
    """One page of a project's review queue (oldest task first) and the project's task counts by state."""

    project_id: int
    items: tuple[QueueItem, ...]
    state_counts: dict[str, int]
    next_after_id: int | None  # pass as ``after_id`` for the next page; None on the last page

    @property
    def n_waiting(self) -> int:
        return self.state_counts.get(TASK_REVIEW, 0)


def review_queue(
    uow: UnitOfWork, user: UserInfo, *, project_id: int, limit: int = QUEUE_PAGE_SIZE, after_id: int | None = None
) -> ReviewQueue:
    """Tasks of the project in state ``review``, by id (oldest first), ``limit`` per page after ``after_id``."""
    require(uow, user, project_id, Action.REVIEW)
    if limit < 1:
        raise QuorumError(f"a queue page holds at least one task (got limit={limit})")
    rows = quality_repo.queue_page(uow.session, project_id, TASK_REVIEW, limit=limit + 1, after_id=after_id)
    items = tuple(QueueItem(task.id, task.n_annotations, agreement, task.updated_at) for task, agreement in rows[:limit])
    return ReviewQueue(
        project_id,
        items,
        quality_repo.state_counts(uow.session, project_id),
        items[-1].task_id if len(rows) > limit else None,
    )


def next_for_review(uow: UnitOfWork, user: UserInfo, *, project_id: int, after_id: int | None = None) -> int | None:
    """The oldest task waiting for review (after ``after_id``, to pass over one), or None."""
    page = review_queue(uow, user, project_id=project_id, limit=1, after_id=after_id)
    return page.items[0].task_id if page.items else None


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
    annotations: tuple[AnnotationView, ...]  # the counted ones, oldest first
    rejected: tuple[AnnotationView, ...]  # sent back earlier; shown for context only
    consensus: list[dict[str, Any]]  # Label Studio items of the controls that have a consensus
    consensus_method: str
    agreement: float | None
    controls: tuple[ControlOutcome, ...]  # per answered control: agreement, consensus?, answers with counts
    missing: tuple[str, ...]  # answered controls without a consensus (ties, unsupported kinds)
    ground_truth: list[dict[str, Any]] | None
    history: tuple[ReviewRecord, ...]

    @property
    def is_resolvable(self) -> bool:
        return self.state in RESOLVABLE_STATES


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
    views = [
        AnnotationView(a.id, a.completed_by_id, _name(display, username), a.result, a.created_at, a.updated_at,
                       a.lead_time_s, bool(rejected))
        for a, display, username, rejected in quality_repo.submitted_with_authors(session, task_id)
    ]
    counted = tuple(v for v in views if not v.is_rejected)
    outcome = compute_consensus(project_config(project.config_xml), task.data, [v.result for v in counted])
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
    quality_repo.add_review(uow.session, task_id=task.id, annotation_id=annotation_id, reviewer_id=user.id,
                            verdict=VERDICT_ACCEPTED, comment=_comment(comment), now=now)
    _settle(uow, task, result=annotation.result, reviewer=user, now=now)
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
    quality_repo.add_review(uow.session, task_id=task_id, annotation_id=based_on_annotation_id, reviewer_id=user.id,
                            verdict=VERDICT_FIXED, comment=_comment(comment), fixed_result=result, now=now)
    _settle(uow, task, result=result, reviewer=user, now=now)
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
    counted = {a.id for a in quality_repo.counted_annotations(uow.session, task_id)}
    chosen = sorted(counted if annotation_ids is None else set(annotation_ids))
    if not chosen:
        raise QuorumError(f"task {task_id}: choose at least one annotation to send back")
    stray = [i for i in chosen if i not in counted]
    if stray:
        raise NotFoundError(f"task {task_id} has no counted annotation {', '.join(map(str, stray))}")
    now = utcnow()
    for annotation_id in chosen:
        quality_repo.add_review(uow.session, task_id=task_id, annotation_id=annotation_id, reviewer_id=user.id,
                                verdict=VERDICT_REJECTED, comment=text, now=now)
    task.overlap += len(chosen)
    task.state = TASK_OPEN
    task.updated_at = now
    uow.session.flush()
    webhook_events.review_done(uow, project_id=task.project_id, task_id=task_id, verdict=VERDICT_REJECTED,
                               reviewer_id=user.id, state=task.state, annotation_ids=chosen, comment=text)
    return SentBack(task_id, len(chosen), task.overlap,
                    quality_repo.n_possible_annotators(uow.session, task.project_id, task_id))


# --- what labelers may see ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MyReview:
    task_id: int
    annotation_id: int
    verdict: str
    comment: str
    created_at: dt.datetime


def my_reviews(uow: UnitOfWork, user: UserInfo, *, project_id: int, limit: int = 50) -> list[MyReview]:
    """Reviews of the user's own annotations in the project, newest first; never anybody else's."""
    require(uow, user, project_id, Action.VIEW_PROJECT)
    return [
        MyReview(r.task_id, r.annotation_id, r.verdict, r.comment, r.created_at)  # type: ignore[arg-type]
        for r in quality_repo.reviews_of_author(uow.session, project_id, user.id, limit=limit)
    ]


def send_back_notes(uow: UnitOfWork, user: UserInfo, *, task_id: int) -> list[str]:
    """The comments reviewers gave when sending this task back, for the labeler who holds it now (or has
    annotated it) and for reviewers; only the comment text, no authors or verdicts."""
    session = uow.session
    task = _task(uow, task_id)
    if not can(uow, user, task.project_id, Action.REVIEW):
        require(uow, user, task.project_id, Action.LABEL)
        if tasks_repo.lock_of(session, task_id, user.id) is None and tasks_repo.my_annotation(session, task_id, user.id) is None:
            raise PermissionDeniedError(f"task {task_id} is not yours to open")
    return quality_repo.send_back_comments(session, task_id)

