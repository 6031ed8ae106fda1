"""What a manager can do about one annotator of a project (issue 14, "act on it"): remove them, send their
work to review, pause and resume them, discard their annotations from a date range, down-weight them in
the consensus.

Every action needs ``Action.MANAGE`` in the project (:func:`core.permissions.require`), acts on the person's
*annotator* membership (their other roles and projects are untouched), writes one audit event
(:func:`storage.repositories.audit.record`) with what changed, and leaves the commit to the caller, so one
unit of work is the whole action: all or nothing. Bad input (a range that ends before it starts, a weight
out of range, pausing someone paused already) is a :class:`core.errors.QuorumError` naming what and where,
raised before anything is written.

Decisions:

* **pause** (``memberships.paused_at``): the hand-out (:func:`core.labeling.next_task`) gives a paused
  annotator no new task in the project -- no queue task, honeypot or self-check repeat -- and says why
  (:class:`AnnotatorPausedError`). Their annotations, drafts and locks stay: a task they hold still comes
  back to them and may be submitted or skipped, their earlier work may still be edited. The pause is read
  with the roles the hand-out checks anyway (:func:`require_labeler`), so the labeling loop pays no query
  for it. A paused annotator is not counted among the people a disagreeing task could escalate to.
* **discard** a date range (``created_at`` of the annotation, UTC, both days included): the person's
  submitted annotations *and skips* made then are deleted. Skips too: a skip is also a judgement made in
  the period the manager distrusts, and keeping it would keep the task from ever coming back to them. Each
  task that loses a *counted* annotation (not rejected or awaiting correction) loses one from its
  counter; below its overlap it goes back to the open pool (state ``open``, its stored consensus dropped,
  to be computed again when it is complete), otherwise it is scored again (as after an edit,
  :func:`core.quality.on_annotation_edited`). A ground truth stays whatever it was made from; the tasks
  whose ground truth came from a discarded annotation (a reviewer accepted or fixed it, or it was imported
  as gold) are listed in the outcome and the audit event for a manager to look at. Reviews of the discarded
  annotations and self-check repeats of them go with them (the schema's cascades). The person may be handed
  these tasks again: pause or remove them first if they should not. :func:`discard_preview` counts the same
  selection without changing anything, for the confirmation.
* **consensus weight** (``memberships.consensus_weight``, 0 < w <= 1, 1 normal): how much the person's vote
  counts in the project's consensus, by the one rule of :mod:`core.quality` ("Consensus weights"). A new
  weight applies to tasks scored from then on; :func:`rescore_annotator_tasks` scores again the finished
  tasks it can change. The weight lives on the membership: removing the person drops it, and their old
  annotations then count 1 again.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass

from core.errors import ConflictError, NotFoundError, PermissionDeniedError, QuorumError
from core.permissions import Action, allowed_project, require
from core.quality import compute_consensus, on_annotation_edited, project_config
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import (
    ROLE_ANNOTATOR,
    TASK_COMPLETED,
    TASK_DONE,
    TASK_OPEN,
    TASK_REVIEW,
    Membership,
    Project,
    User,
    utcnow,
)
from storage.repositories import analytics as analytics_repo
from storage.repositories import annotator_actions as actions_repo
from storage.repositories import audit as audit_repo
from storage.repositories import projects as projects_repo
from storage.repositories import quality as quality_repo
from storage.repositories import tasks as tasks_repo

AUDIT_REMOVED = "annotator.removed_from_project"
AUDIT_SENT_TO_REVIEW = "annotator.sent_to_review"
AUDIT_PAUSED = "annotator.paused"
AUDIT_RESUMED = "annotator.resumed"
AUDIT_DISCARDED = "annotator.annotations_discarded"
AUDIT_WEIGHT = "annotator.consensus_weight_changed"
AUDIT_RESCORED = "annotator.tasks_rescored"
MIN_WEIGHT_EXCLUSIVE, MAX_WEIGHT = 0.0, 1.0


class AnnotatorPausedError(PermissionDeniedError):
    """The annotator's work in the project is paused by a manager: no new task is handed to them there."""

    def __init__(self, project_title: str, paused_at: dt.datetime) -> None:
        self.project_title = project_title
        self.paused_at = paused_at
        super().__init__(
            f"Your work in project {project_title!r} is paused by a manager (since {paused_at:%Y-%m-%d %H:%M} "
            "UTC): no new tasks are handed out to you there. Your earlier work is kept; ask a manager of the "
            "project to resume you."
        )


# --- the hand-out's check ------------------------------------------------------------------------------


def require_labeler(uow: UnitOfWork, user: UserInfo, project_id: int) -> tuple[Project, dt.datetime | None]:
    """``require(..., Action.LABEL)`` and when the user's annotator role in the project was paused (None: it
    is not), from the one query the check makes anyway: the hand-out is the hottest path of the app."""
    project, roles, paused_at = actions_repo.project_with_roles_and_pause(uow.session, project_id, user.id)
    return allowed_project(project, roles, user, project_id, Action.LABEL), paused_at


# --- shared pieces ---------------------------------------------------------------------------------------


def _person(uow: UnitOfWork, user_id: int) -> User:
    person = uow.session.get(User, user_id)
    if person is None:
        raise NotFoundError(f"no user with id {user_id}")
    return person


def _annotator(uow: UnitOfWork, project: Project, person: User) -> Membership:
    membership = projects_repo.membership(uow.session, project.id, person.id, ROLE_ANNOTATOR)
    if membership is None:
        raise NotFoundError(f"{person.username} is not an annotator of project {project.title!r}")
    return membership


# --- remove, send to review (moved here from core.analytics) ---------------------------------------------


@dataclass(frozen=True)
class AnnotatorRemoved:
    user_id: int
    username: str
    locks_released: int


@dataclass(frozen=True)
class SentToReview:
    user_id: int
    username: str
    n_sent: int  # finished tasks (completed or done) that went to the review queue now
    n_already: int  # tasks that were waiting for review already
    n_still_labeling: int  # tasks still open: they reach the quality engine when complete


def remove_annotator(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int) -> AnnotatorRemoved:
    """Take the annotator role in this project from ``user_id`` and release their locks here, so their
    tasks go back to the pool at once; their annotations stay. Other roles and projects are untouched."""
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    person = _person(uow, user_id)
    membership = _annotator(uow, project, person)
    uow.session.delete(membership)
    released = tasks_repo.release_all_locks(uow.session, user_id, project_id=project_id)
    audit_repo.record(
        uow.session, actor_id=actor.id, project_id=project_id, action=AUDIT_REMOVED,
        detail={"user_id": user_id, "username": person.username, "locks_released": released}, now=utcnow(),
    )
    uow.session.flush()
    return AnnotatorRemoved(user_id, person.username, released)


def send_annotations_to_review(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int) -> SentToReview:
    """Send every finished task (``completed`` or ``done``) that ``user_id`` annotated in the project to the
    review queue (state ``review``, :mod:`core.review`), where a reviewer checks it; a task that has a
    ground truth already needs the reviewer's override, which the review page offers."""
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    person = _person(uow, user_id)
    states = analytics_repo.task_states_of_annotator(uow.session, project_id, user_id)
    if not states:
        raise QuorumError(f"{person.username} has no annotations in project {project.title!r}")
    now = utcnow()
    sent = analytics_repo.move_annotated_tasks(
        uow.session, project_id, user_id, from_states=(TASK_COMPLETED, TASK_DONE), to_state=TASK_REVIEW, now=now
    )
    n_open = sum(n for state, n in states.items() if state not in (TASK_COMPLETED, TASK_DONE, TASK_REVIEW))
    audit_repo.record(
        uow.session, actor_id=actor.id, project_id=project_id, action=AUDIT_SENT_TO_REVIEW,
        detail={"user_id": user_id, "username": person.username, "tasks": sent}, now=now,
    )
    uow.session.flush()
    return SentToReview(user_id, person.username, sent, states.get(TASK_REVIEW, 0), n_open)


# --- pause and resume ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PauseChanged:
    user_id: int
    username: str
    paused_at: dt.datetime | None  # when the pause began (now, for a pause; the one ended, for a resume)
    is_paused: bool  # afterwards


def pause_annotator(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int) -> PauseChanged:
    """Pause ``user_id``'s annotator role in the project: no new tasks for them there until resumed; their
    work, drafts and held tasks stay (see the module's decisions). ConflictError if paused already."""
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    person = _person(uow, user_id)
    membership = _annotator(uow, project, person)
    if membership.paused_at is not None:
        raise ConflictError(f"{person.username} is paused in project {project.title!r} already "
                            f"(since {membership.paused_at:%Y-%m-%d %H:%M} UTC)")
    now = utcnow()
    membership.paused_at = now
    audit_repo.record(
        uow.session, actor_id=actor.id, project_id=project_id, action=AUDIT_PAUSED,
        detail={"user_id": user_id, "username": person.username, "before": {"paused_at": None},
                "after": {"paused_at": now.isoformat()}}, now=now,
    )
    uow.session.flush()
    return PauseChanged(user_id, person.username, now, True)


def resume_annotator(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int) -> PauseChanged:
    """End ``user_id``'s pause in the project: the hand-out gives them tasks again. ConflictError if they are
    not paused."""
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    person = _person(uow, user_id)
    membership = _annotator(uow, project, person)
    paused_at = membership.paused_at
    if paused_at is None:
        raise ConflictError(f"{person.username} is not paused in project {project.title!r}")
    membership.paused_at = None
    now = utcnow()
    audit_repo.record(
        uow.session, actor_id=actor.id, project_id=project_id, action=AUDIT_RESUMED,
        detail={"user_id": user_id, "username": person.username, "before": {"paused_at": paused_at.isoformat()},
                "after": {"paused_at": None}}, now=now,
    )
    uow.session.flush()
    return PauseChanged(user_id, person.username, paused_at, False)


def paused_annotators(uow: UnitOfWork, user: UserInfo, project_id: int) -> dict[int, dt.datetime]:
    """user id -> when they were paused, for the project's paused annotators (the Quality page's table)."""
    require(uow, user, project_id, Action.ANALYTICS)
    return {row.user_id: row.paused_at for row in actions_repo.annotator_memberships(uow.session, project_id)
            if row.paused_at is not None}


def consensus_weights(uow: UnitOfWork, user: UserInfo, project_id: int) -> dict[int, float]:
    """user id -> consensus weight, for every annotator of the project (1.0: normal)."""
    require(uow, user, project_id, Action.ANALYTICS)
    return {row.user_id: float(row.consensus_weight)
            for row in actions_repo.annotator_memberships(uow.session, project_id)}


# --- discard a date range --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscardPreview:
    """What :func:`discard_annotations` would do with the same arguments now."""

    user_id: int
    username: str
    date_from: dt.date
    date_to: dt.date
    n_annotations: int  # submitted annotations
    n_skips: int
    n_tasks: int  # distinct tasks of the submitted annotations
    n_requeued: int  # tasks that lose a counted annotation (back to the pool, or scored again)
    ground_truth_task_ids: tuple[int, ...]  # tasks whose ground truth came from one of the annotations

    @property
    def is_empty(self) -> bool:
        return self.n_annotations + self.n_skips == 0


@dataclass(frozen=True)
class Discarded:
    preview: DiscardPreview  # what was selected (and is now gone)
    reopened_task_ids: tuple[int, ...]  # back in the open pool
    rescored_task_ids: tuple[int, ...]  # still at their overlap: scored again


def _day_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[date_from 00:00, date_to + 1 day 00:00)`` as naive UTC, as timestamps are stored."""
    for name, day in (("start", date_from), ("end", date_to)):
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise QuorumError(f"discard range: the {name} must be a date (YYYY-MM-DD), not {day!r}")
    if date_from > date_to:
        raise QuorumError(f"discard range: the start {date_from.isoformat()} is after the end {date_to.isoformat()}")
    start = dt.datetime.combine(date_from, dt.time())
    return start, dt.datetime.combine(date_to, dt.time()) + dt.timedelta(days=1)


def _select(uow: UnitOfWork, actor: UserInfo, project_id: int, user_id: int, date_from: dt.date,
            date_to: dt.date) -> tuple[Project, User, DiscardPreview, list[int], list[int]]:
    """The checks and the selection both functions share: (project, person, preview, ids of the annotations
    and skips, tasks losing a counted annotation)."""
    project = require(uow, actor, project_id, Action.MANAGE)
    start, end = _day_bounds(date_from, date_to)
    person = _person(uow, user_id)
    rows = actions_repo.annotations_in_range(uow.session, project_id, user_id, start, end)
    submitted = [row for row in rows if not row.was_cancelled]
    counted_tasks = sorted({row.task_id for row in submitted if row.counted})
    preview = DiscardPreview(
        user_id, person.username, date_from, date_to, len(submitted), len(rows) - len(submitted),
        len({row.task_id for row in submitted}), len(counted_tasks),
        tuple(actions_repo.ground_truth_made_from(uow.session, rows)),
    )
    return project, person, preview, [row.id for row in rows], counted_tasks


def discard_preview(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int, date_from: dt.date,
                    date_to: dt.date) -> DiscardPreview:
    """Count what :func:`discard_annotations` would discard ("42 annotations on 40 tasks"); changes nothing."""
    return _select(uow, actor, project_id, user_id, date_from, date_to)[2]


def discard_annotations(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int, date_from: dt.date,
                        date_to: dt.date) -> Discarded:
    """Delete ``user_id``'s annotations and skips in the project made from ``date_from`` to ``date_to`` (UTC,
    both included) and requeue the tasks that lose a counted annotation (the module's decisions). One unit of
    work: all or nothing; the caller commits. QuorumError when the range holds nothing of theirs."""
    uow.begin_write()
    project, person, preview, ids, counted_tasks = _select(uow, actor, project_id, user_id, date_from, date_to)
    if preview.is_empty:
        raise QuorumError(f"{person.username} has no annotations or skips in project {project.title!r} from "
                          f"{date_from.isoformat()} to {date_to.isoformat()} (UTC)")
    reopened, still_complete = _delete_and_requeue(
        uow, actor, project_id, ids, counted_tasks, AUDIT_DISCARDED,
        {"user_id": user_id, "username": person.username, "from": date_from.isoformat(),
         "to": date_to.isoformat(), "annotation_ids": ids, "n_annotations": preview.n_annotations,
         "n_skips": preview.n_skips, "ground_truth_task_ids": list(preview.ground_truth_task_ids)},
    )
    return Discarded(preview, tuple(reopened), tuple(still_complete))


def _delete_and_requeue(uow: UnitOfWork, actor: UserInfo, project_id: int, ids: list[int], counted_tasks: list[int],
                        action: str, detail: dict[str, object]) -> tuple[list[int], list[int]]:
    """Delete the annotations ``ids``; the tasks in ``counted_tasks`` lose one counted annotation each: those
    now short of their overlap go back to the annotators, the others are scored again. Audited as ``action``
    with ``detail`` and the tasks' fate. (reopened task ids, rescored task ids)."""
    session = uow.session
    now = utcnow()
    actions_repo.delete_annotations(session, ids)
    counters = actions_repo.take_one_annotation_off(session, counted_tasks, now)
    reopened = sorted(row.id for row in counters if row.n_annotations < row.overlap)
    still_complete = sorted(row.id for row in counters if row.n_annotations >= row.overlap)
    actions_repo.reopen_tasks(session, reopened, now)
    for task_id in still_complete:  # (an import may have brought more annotations than the overlap)
        on_annotation_edited(uow, task_id)
    audit_repo.record(session, actor_id=actor.id, project_id=project_id, action=action,
                      detail={**detail, "reopened_task_ids": reopened, "rescored_task_ids": still_complete}, now=now)
    session.flush()
    session.expire_all()  # tasks and annotations changed under the ORM by Core statements
    return reopened, still_complete


AUDIT_ANNOTATION_DELETED = "annotation.delete"


def delete_annotation(uow: UnitOfWork, actor: UserInfo, *, annotation_id: int) -> tuple[int, bool]:
    """Delete one annotation (or skip), as :func:`discard_annotations` deletes a range: its task goes back to
    the annotators when it falls short of its overlap, else it is scored again; audited. Managers of its
    project only (an annotator changes their answer instead; a reviewer sends it back). The caller commits.
    (task id, whether the task was reopened)."""
    uow.begin_write()
    row = actions_repo.annotation_row(uow.session, annotation_id)
    if row is None:
        raise NotFoundError(f"no annotation with id {annotation_id}")
    require(uow, actor, row.project_id, Action.MANAGE)
    reopened, _ = _delete_and_requeue(
        uow, actor, row.project_id, [row.id], [row.task_id] if row.counted else [], AUDIT_ANNOTATION_DELETED,
        {"annotation_id": row.id, "task_id": row.task_id, "user_id": row.completed_by_id,
         "was_cancelled": bool(row.was_cancelled)},
    )
    return row.task_id, row.task_id in reopened


# --- consensus weight ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightChanged:
    user_id: int
    username: str
    before: float
    after: float
    n_tasks_to_rescore: int  # finished tasks the new weight may change (rescore_annotator_tasks)


@dataclass(frozen=True)
class Rescored:
    user_id: int
    username: str
    n_checked: int  # finished tasks where their vote meets another
    n_changed: int  # whose consensus the weights changed (stored and routed again)
    states: dict[str, int]  # the changed tasks' states afterwards


def set_consensus_weight(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int,
                         weight: float) -> WeightChanged:
    """Set how much ``user_id``'s vote counts in the project's consensus: 0 < ``weight`` <= 1 (1 normal). It
    applies to tasks scored from now on; :func:`rescore_annotator_tasks` scores again those already
    finished."""
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
            or not MIN_WEIGHT_EXCLUSIVE < weight <= MAX_WEIGHT:
        raise QuorumError(f"consensus weight in project {project.title!r}: {weight!r} is not a number above 0 "
                          "and at most 1 (1 counts fully, 0.5 half)")
    person = _person(uow, user_id)
    membership = _annotator(uow, project, person)
    before = float(membership.consensus_weight)
    membership.consensus_weight = float(weight)
    audit_repo.record(
        uow.session, actor_id=actor.id, project_id=project_id, action=AUDIT_WEIGHT,
        detail={"user_id": user_id, "username": person.username, "before": {"consensus_weight": before},
                "after": {"consensus_weight": float(weight)}}, now=utcnow(),
    )
    uow.session.flush()
    n_tasks = len(actions_repo.tasks_to_rescore(uow.session, project_id, user_id))
    return WeightChanged(user_id, person.username, before, float(weight), n_tasks)


def rescore_annotator_tasks(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int) -> Rescored:
    """Score again, with today's weights, every finished task where ``user_id``'s annotation counts beside
    another: a task whose consensus comes out different is stored and routed again as after an edit
    (:func:`core.quality.on_annotation_edited`: a task settled by consensus alone may go to review or to
    more annotators; one with a ground truth keeps its state); the others are left as they are (no
    webhook, no new routing). The caller commits."""
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    person = _person(uow, user_id)
    cfg = project_config(project.config_xml)
    session = uow.session
    task_ids = actions_repo.tasks_to_rescore(session, project_id, user_id)
    states: Counter[str] = Counter()
    changed: list[int] = []
    for task_id in task_ids:
        task, results, weights = quality_repo.task_with_results(session, task_id)
        if task is None or task.state == TASK_OPEN:
            continue
        outcome = compute_consensus(cfg, task.data, results, weights=weights)
        if actions_repo.stored_consensus(session, task_id) == (outcome.result, outcome.method):
            continue
        routed = on_annotation_edited(uow, task_id)
        changed.append(task_id)
        states[routed.state if routed is not None else task.state] += 1
    audit_repo.record(
        session, actor_id=actor.id, project_id=project_id, action=AUDIT_RESCORED,
        detail={"user_id": user_id, "username": person.username, "n_checked": len(task_ids),
                "changed_task_ids": changed}, now=utcnow(),
    )
    session.flush()
    session.expire_all()
    return Rescored(user_id, person.username, len(task_ids), len(changed), dict(states))
