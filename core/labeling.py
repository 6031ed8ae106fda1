"""The labeling loop: hand out the next task, save drafts, submit, skip, go back to one's own work.

Fairness rules (ARCHITECTURE.md): a task is held by at most ``overlap`` annotators at a time (locks with a
time-to-live; expired locks return the slot to the pool), never handed twice to one person (a skip
counts), and a labeler sees only their own work on a task, never another person's annotation.

Every function here is a unit of work's whole job: write services call ``uow.begin_write()`` first, so
SQLite serialises them (BEGIN IMMEDIATE) and PostgreSQL relies on row locks (SKIP LOCKED for hand-out,
FOR UPDATE on the task row for submit).
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from core import webhook_events
from core.annotator_actions import AnnotatorPausedError, require_labeler
from core.config.visibility import has_conditions, submittable
from core.errors import ConflictError, NotFoundError, PermissionDeniedError
from core.permissions import Action, require
from core.quality import on_annotation_edited, on_task_completed, project_config
from core.quality_checks import answer_repeat, hand_out_honeypot, hand_out_repeat, maybe_schedule_repeat
from core.results import (
    InvalidResultError,
    answer_summary,
    check_chat_rules,
    check_result,
    has_spans,
    missing_required,
    missing_required_message,
    same_answers,
    with_origins,
    with_span_texts,
)
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import LOCK_REPEAT, LOCK_TASK, TASK_COMPLETED, TASK_OPEN, Annotation, Project, Task, utcnow
from storage.repositories import quality as quality_repo
from storage.repositories import quality_checks as checks_repo
from storage.repositories import tasks as tasks_repo

MAX_FLAG_NOTE = 2000  # characters of an "I'm not sure" note kept
IDLE_GAP_S = 60.0  # gaps longer than this between two interactions are not counted as active time


@dataclass(frozen=True)
class PredictionView:
    id: int
    model_version: str
    score: float | None
    result: list[dict[str, Any]]


@dataclass(frozen=True)
class LabelingTask:
    """What the labeling page shows: the task's data and the user's own work on it, nothing else."""

    task_id: int
    project_id: int
    data: dict[str, Any]
    result: list[dict[str, Any]]  # the user's draft, else their submitted annotation, else []
    annotation_id: int | None  # the user's submitted annotation, when editing one
    is_reviewed: bool
    has_draft: bool
    draft_active_time_s: float
    prediction: PredictionView | None  # when the project shows predictions
    lock_expires_at: dt.datetime | None
    shown_at: dt.datetime  # when the task was first handed to the user (lead time counts from here)

    @property
    def starting_result(self) -> list[dict[str, Any]]:
        """What the labeler starts from: their draft or annotation, else the pre-label (when shown).

        One rule for the page and for a draft saved in parts (``save_draft_part``), which must merge into
        the same answer the page showed."""
        if self.prediction is not None and not self.result and self.annotation_id is None:
            return self.prediction.result
        return self.result


@dataclass(frozen=True)
class SubmittedAnnotation:
    annotation_id: int
    task_id: int
    created: bool  # False when an existing annotation was updated (an edit or a repeated submit)
    task_completed: bool  # the task reached its overlap with this submit


@dataclass(frozen=True)
class MyProgress:
    """A labeler's "12 of 50": what they handled, and what is still there for them."""

    submitted: int  # their submitted answers, less those returned to them to correct (to do again)
    skipped: int
    open_tasks: int  # tasks in the project that still need annotations from someone
    left_for_me: int = 0  # open tasks the user has neither submitted nor skipped, plus those returned to them
    returned_task_ids: tuple[int, ...] = ()  # tasks a reviewer returned to them, not corrected yet (counted to do)

    @property
    def handled(self) -> int:
        return self.submitted + self.skipped

    @property
    def total(self) -> int:
        """The handled tasks plus those left: the "of 50" (it grows when tasks are imported or escalated)."""
        return self.handled + self.left_for_me


@dataclass(frozen=True)
class HistoryItem:
    annotation_id: int
    task_id: int
    skipped: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    snippet: str = ""  # a few words of the task (its first text, or a media file's name), to recognise it by
    answer: str = ""  # a short reading of what was answered (core.results.answer_summary); "" for a skip


SNIPPET_CHARS = 40


def task_snippet(data: Any) -> str:
    """A few words that identify a task for its labeler: its first text value, shortened; a URL or path
    gives its file name."""
    values = data.values() if isinstance(data, dict) else ()
    text = next((v.strip() for v in values if isinstance(v, str) and v.strip()), "")
    if text.startswith(("http://", "https://", "s3://", "gs://", "/data/")) and " " not in text:
        text = text.rstrip("/").rsplit("/", 1)[-1].rsplit("=", 1)[-1]
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or utcnow()


def _project_of_task(uow: UnitOfWork, task_id: int, *, for_update: bool = False) -> Task:
    task = tasks_repo.task_for_update(uow.session, task_id) if for_update else uow.session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}")
    return task


def _view(
    uow: UnitOfWork, project: Project, task: Task, user: UserInfo, lock_expires_at: dt.datetime | None
) -> LabelingTask:
    """The user's view of a task they hold or annotated: their draft, else their annotation."""
    session = uow.session
    lock = tasks_repo.lock_of(session, task.id, user.id)
    repeat = lock is not None and lock.kind == LOCK_REPEAT
    # A self-consistency repeat looks like a new task: the user's earlier answer is not shown.
    annotation = None if repeat else tasks_repo.my_annotation(session, task.id, user.id)
    draft = tasks_repo.draft_of(session, task.id, user.id)
    prediction = None
    if project.show_predictions:
        newest = tasks_repo.newest_prediction(session, task.id)
        if newest is not None:
            prediction = PredictionView(newest.id, newest.model_version, newest.score, newest.result)
    if draft is not None:
        result = draft.result
    elif annotation is not None:
        result = annotation.result
    else:
        result = []
    return LabelingTask(
        task_id=task.id,
        project_id=task.project_id,
        data=task.data,
        result=result,
        annotation_id=annotation.id if annotation else None,
        is_reviewed=tasks_repo.is_reviewed(session, annotation.id) if annotation else False,
        has_draft=draft is not None,
        draft_active_time_s=draft.active_time_s if draft else 0.0,
        prediction=prediction,
        lock_expires_at=lock_expires_at,
        shown_at=(lock.created_at if lock else None) or (draft.started_at if draft else None) or utcnow(),
    )


def next_task(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    project_id: int,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
) -> LabelingTask | None:
    """The task the user should label now, locked to them; None when nothing is left for them.

    A task the user already holds (a reload, a second tab) comes back first, with its lock renewed. Then
    a due self-consistency repeat, then (at the project's rate) a honeypot, then the queue
    (core.quality_checks); the page cannot tell them apart. The caller commits.

    A user a manager paused in the project gets no new task: AnnotatorPausedError (core.annotator_actions),
    after the task they hold, which is theirs to finish.
    """
    uow.begin_write()
    project, paused_at = require_labeler(uow, user, project_id)  # the pause comes with the role check
    now = _now(now)
    session = uow.session
    expires = now + dt.timedelta(seconds=project.lock_ttl_s)
    held = tasks_repo.live_lock_of(session, project_id, user.id, now)
    if held is not None:
        held.expires_at = expires
        return _view(uow, project, _project_of_task(uow, held.task_id), user, expires)
    if paused_at is not None:
        raise AnnotatorPausedError(project.title, paused_at)
    reclaimed_now = _reclaim_due(project_id, now)
    if reclaimed_now:
        tasks_repo.reclaim_expired_locks(session, project_id, now)
    rng = rng or _RNG
    extra_task_id = hand_out_repeat(uow, project, user.id, expires_at=expires, now=now) if project.repeat_rate > 0 else None
    if extra_task_id is None and project.honeypot_rate > 0 and checks_repo.has_open_tasks(session, project_id):
        extra_task_id = hand_out_honeypot(uow, project, user.id, expires_at=expires, now=now, rng=rng)
    if extra_task_id is not None:  # a repeat or a honeypot: shown like any task
        return _view(uow, project, _project_of_task(uow, extra_task_id), user, expires)
    pivot = None
    if project.sampling == "random":
        bounds = tasks_repo.id_range(session, project_id)
        if bounds is None:
            return None
        pivot = rng.randint(*bounds)

    def hand_out() -> tasks_repo.HandedOut | None:
        return tasks_repo.hand_out(
            session, project_id=project_id, user_id=user.id, sampling=project.sampling, expires_at=expires,
            now=now, pivot_id=pivot, with_prediction=project.show_predictions,
        )

    handed = hand_out()
    if handed is None and not reclaimed_now and tasks_repo.reclaim_expired_locks(session, project_id, now):
        handed = hand_out()  # the only free slots were held by expired locks
    if handed is None:
        return None
    prediction = handed.prediction
    return LabelingTask(
        task_id=handed.task_id,
        project_id=project_id,
        data=handed.data,
        result=handed.draft_result or [],
        annotation_id=None,
        is_reviewed=False,
        has_draft=handed.draft_result is not None,
        draft_active_time_s=handed.draft_active_time_s,
        prediction=None if prediction is None else PredictionView(
            prediction.id, prediction.model_version, prediction.score, prediction.result
        ),
        lock_expires_at=expires,
        shown_at=now,
    )


_RNG = random.Random()

# Expired locks are reclaimed at most every RECLAIM_INTERVAL per project and process on the hot path (a
# statement saved on most hand-outs), and always before telling a labeler that nothing is left.
RECLAIM_INTERVAL = dt.timedelta(seconds=5)
_last_reclaim: dict[int, dt.datetime] = {}


def _reclaim_due(project_id: int, now: dt.datetime) -> bool:
    last = _last_reclaim.get(project_id)
    if last is not None and last <= now < last + RECLAIM_INTERVAL:
        return False
    _last_reclaim[project_id] = now
    return True


def open_task(uow: UnitOfWork, user: UserInfo, *, task_id: int, now: dt.datetime | None = None) -> LabelingTask:
    """A task the user holds, has annotated or has a draft of (going back to their own work); nothing else.

    Labelers cannot open arbitrary tasks: the hand-out decides who labels what. A draft of theirs (an imported
    Label Studio draft, on a task that may have all its answers already) is their work: submitting it makes room
    as a late submit does (:func:`submit_annotation`).
    """
    task = _project_of_task(uow, task_id)
    project = require(uow, user, task.project_id, Action.LABEL)
    lock = tasks_repo.lock_of(uow.session, task_id, user.id)
    if not is_users_task(uow, user, task_id):
        raise PermissionDeniedError(f"task {task_id} is not yours to open; press Start labeling to get a task")
    return _view(uow, project, task, user, lock.expires_at if lock else None)


def is_users_task(uow: UnitOfWork, user: UserInfo, task_id: int) -> bool:
    """The one rule of what a labeler may open, read the comments of and answer outside the hand-out: a task they
    hold, submitted an answer to, or have a draft of (an imported Label Studio draft included)."""
    return tasks_repo.is_theirs(uow.session, task_id, user.id)


def save_draft(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    task_id: int,
    result: list[dict[str, Any]],
    active_time_s: float,
    now: dt.datetime | None = None,
) -> None:
    """Store the user's work in progress (every change), so a reload resumes exactly there.

    ``active_time_s`` is the total active time so far on this task (the page keeps summing it).
    """
    task = _project_of_task(uow, task_id)
    require(uow, user, task.project_id, Action.LABEL)
    if tasks_repo.lock_of(uow.session, task_id, user.id) is None and tasks_repo.my_annotation(uow.session, task_id, user.id) is None:
        raise PermissionDeniedError(f"task {task_id} is not yours to edit")
    tasks_repo.upsert_draft(
        uow.session, task_id=task_id, user_id=user.id, result=result, active_time_s=max(0.0, active_time_s), now=_now(now)
    )


DraftMerge = Literal["only", "all_but"]
REPLACE_ONLY: DraftMerge = "only"        # the items of the named controls are replaced, the rest of the draft kept
REPLACE_ALL_BUT: DraftMerge = "all_but"  # every item is replaced except those of the named controls


def save_draft_part(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    task_id: int,
    names: frozenset[str],
    items: list[dict[str, Any]],
    mode: DraftMerge = REPLACE_ONLY,
    active_time_s: float | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Store part of the user's work in progress: merge ``items`` into their draft; returns the new draft.

    Why in parts: on the labeling page some answers live in the browser until submit (a key press must not
    wait for the server) and reach the draft through a plain HTTP call, while the page's own widgets save
    theirs on a rerun. Each side replaces only what it owns (``mode``/``names``: by ``from_name``), so
    neither overwrites the other's newer answer. With no draft yet, the merge starts from what the page
    showed (``LabelingTask.starting_result``: the annotation being edited, or the pre-label).
    ``active_time_s`` None keeps the draft's active time.
    """
    uow.begin_write()
    task = _project_of_task(uow, task_id, for_update=uow.dialect == "postgresql")  # serialises merges per task
    project = require(uow, user, task.project_id, Action.LABEL)
    lock = tasks_repo.lock_of(uow.session, task_id, user.id)
    if lock is None and tasks_repo.my_annotation(uow.session, task_id, user.id) is None:
        raise PermissionDeniedError(f"task {task_id} is not yours to edit")
    if mode == REPLACE_ONLY:
        stray = sorted({str(i.get("from_name")) for i in items if isinstance(i, dict)} - names)
        if stray:
            raise InvalidResultError(f"task {task_id}: this draft part may hold only {sorted(names)}, not {stray}")
    check_result(project_config(project.config_xml), items)
    draft = tasks_repo.draft_of(uow.session, task_id, user.id)
    if draft is not None:
        base, active = list(draft.result), draft.active_time_s
    else:
        base, active = _view(uow, project, task, user, lock.expires_at if lock else None).starting_result, 0.0
    owned = (lambda item: item.get("from_name") in names) if mode == REPLACE_ONLY else (
        lambda item: item.get("from_name") not in names)
    merged = [item for item in base if not owned(item)] + list(items)
    tasks_repo.upsert_draft(
        uow.session, task_id=task_id, user_id=user.id, result=merged,
        active_time_s=max(0.0, active if active_time_s is None else active_time_s), now=_now(now),
    )
    return merged


ANY_EDIT = object()  # submit_annotation's default: the caller does not say what it showed (CLI, imports, tests)


def submit_annotation(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    task_id: int,
    result: list[dict[str, Any]],
    lead_time_s: float | None = None,
    active_time_s: float | None = None,
    prediction_id: int | None = None,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
    editing: int | None | object = ANY_EDIT,
    flagged: bool = False,
    flag_note: str | None = None,
) -> SubmittedAnnotation:
    """Store the user's annotation of a task; idempotent per (task, user).

    ``flagged``/``flag_note``: the labeler is not sure of this answer ("I'm not sure", with an optional
    note): the task goes to review once complete, whatever the agreement (core.quality). Recorded with a
    new annotation only.

    ``editing``: the annotation the submitting page showed (None: it showed the task as new). When a page
    that showed the task as new meets an annotation of the same user with another answer, that answer came
    from another tab or window after this page opened: ConflictError, so one tab cannot silently overwrite
    the other (the same answer again is the retry or double press it looks like, and is accepted).

    A second submit of the same task (a double click, a retried request, an edit before review) updates
    the one annotation instead of adding another. An annotation that a reviewer has looked at is frozen.
    A submit after the user's lock expired is still accepted (their work is never thrown away); if the
    slot went to someone else meanwhile, the task's overlap grows by one to make room.
    ``prediction_id``: the pre-label the labeler started from; whether they changed it is recorded.
    The answer to a self-consistency repeat goes to ``self_checks``, never over the original annotation;
    an edit of a task past its overlap recomputes its agreement and consensus (core.quality).
    """
    uow.begin_write()
    session = uow.session
    row = tasks_repo.task_counters(session, task_id, user.id, for_update=True)
    if row is None:
        raise NotFoundError(f"no task with id {task_id}")
    project = require(uow, user, row.project_id, Action.LABEL)
    cfg = project_config(project.config_xml)
    check_result(cfg, result)
    if has_conditions(cfg):  # answers hidden by a visibleWhen condition are not part of the annotation
        result = submittable(cfg, result)
    missing = missing_required(cfg, result)
    if missing:
        raise InvalidResultError(missing_required_message(cfg, missing, "submitting"))
    if has_spans(cfg, result):  # a span's text is what the task's document holds at its offsets, not what was sent
        task_row = session.get(Task, task_id)
        result = with_span_texts(cfg, result, task_row.data if task_row is not None else {}, task_id=task_id)
    if any(obj.tag == "Chat" for obj in cfg.objects.values()):  # minMessages/maxMessages count task messages too
        task_row = session.get(Task, task_id)
        chat_problems = check_chat_rules(cfg, result, task_row.data if task_row is not None else None)
        if chat_problems:
            raise InvalidResultError("; ".join(chat_problems))
    now = _now(now)
    existing_id = row.mine
    if existing_id is not None:
        if _answered_as_repeat(uow, project, task_id, user.id, existing_id, result, lead_time_s, now):
            return SubmittedAnnotation(existing_id, task_id, created=True, task_completed=False)
        if tasks_repo.is_reviewed(session, existing_id):
            raise ConflictError(f"task {task_id}: your annotation was reviewed already and can no longer change")
        correcting = quality_repo.awaiting_correction(session, existing_id)  # a reviewer returned it to you
        existing = session.get(Annotation, existing_id)
        assert existing is not None
        if editing is None and not existing.was_cancelled and not same_answers(existing.result, result):
            raise ConflictError(
                f"task {task_id}: you submitted this task in another tab or window at "
                f"{existing.updated_at:%H:%M:%S} UTC with another answer, which is kept. To change it, open the "
                "task from My earlier tasks."
            )
        existing.result = result
        existing.updated_at = now
        if active_time_s is not None:
            existing.active_time_s = active_time_s
        tasks_repo.discard_draft(session, task_id, user.id)
        session.flush()
        webhook_events.annotation_saved(uow, project_id=row.project_id, annotation_id=existing_id, task_id=task_id,
                                        completed_by=user.id, result=result, created=False, now=now)
        if correcting:  # counted again from now on: the task may be complete again (and scored, routed)
            quality_repo.mark_annotation_reviews_seen(session, existing_id, now)  # answered: no longer new
            return SubmittedAnnotation(existing_id, task_id, created=False,
                                       task_completed=_count_corrected(uow, task_id, user.id, now))
        if row.state != TASK_OPEN:
            on_annotation_edited(uow, task_id)
        return SubmittedAnnotation(existing_id, task_id, created=False, task_completed=False)
    prediction_changed = None
    if prediction_id is not None:
        prediction = tasks_repo.prediction_of_task(session, prediction_id, task_id)
        if prediction is None:
            raise NotFoundError(f"task {task_id} has no prediction {prediction_id}")
        prediction_changed = not same_answers(prediction.result, result)
        result = with_origins(result, prediction.result)
    annotation_row = {
        "task_id": task_id,
        "project_id": row.project_id,
        "completed_by_id": user.id,
        "result": result,
        "lead_time_s": lead_time_s,
        "active_time_s": active_time_s,
        "prediction_id": prediction_id,
        "prediction_changed": prediction_changed,
        "config_version": project.config_version,
        "flagged": bool(flagged),
        "flag_note": (flag_note or "").strip()[:MAX_FLAG_NOTE] or None if flagged else None,
        "now": now,
    }
    completed = None
    if uow.dialect == "postgresql":
        annotation_id, state, completed = tasks_repo.add_annotation_pg(session, annotation_row)
    else:
        annotation_id, state = _add_annotation(session, row, annotation_row)
    if project.repeat_rate > 0:
        maybe_schedule_repeat(
            uow, project, task_id=task_id, user_id=user.id, annotation_id=annotation_id, now=now, rng=rng or _RNG
        )
    webhook_events.annotation_saved(uow, project_id=row.project_id, annotation_id=annotation_id, task_id=task_id,
                                    completed_by=user.id, result=result, created=True, now=now, lead_time_s=lead_time_s)
    if row.state == TASK_OPEN and state != TASK_OPEN:  # agreement, consensus and routing (core.quality)
        # The counter was 0: this is the only annotation (a flagged one goes through recompute_task: review).
        sole = result if row.n_annotations == 0 and not flagged else None
        on_task_completed(uow, task_id, project_id=row.project_id, sole_result=sole, known=completed)
    return SubmittedAnnotation(
        annotation_id, task_id, created=True, task_completed=row.state == TASK_OPEN and state != TASK_OPEN
    )


def _count_corrected(uow: UnitOfWork, task_id: int, user_id: int, now: dt.datetime) -> bool:
    """A returned annotation was corrected: it counts again (the slot its author's lock held is used), and a
    task that reaches its overlap again is scored and routed. Whether the task completed."""
    session = uow.session
    task = tasks_repo.task_for_update(session, task_id)
    assert task is not None
    n_locked = task.n_locked - (1 if tasks_repo.drop_my_lock(session, task_id, user_id) == LOCK_TASK else 0)
    n_annotations = task.n_annotations + 1
    overlap = max(task.overlap, n_annotations + n_locked)
    completed = task.state == TASK_OPEN and n_annotations >= overlap
    tasks_repo.write_counters(session, task_id, n_annotations=n_annotations, n_locked=n_locked, overlap=overlap,
                              state=TASK_COMPLETED if completed else task.state, now=now)
    session.expire(task)
    if completed:
        on_task_completed(uow, task_id)
    return completed


def _add_annotation(session: Session, row: Any, values: dict[str, Any]) -> tuple[int, str]:
    """A new submitted annotation and the task's counters, statement by statement (SQLite; PostgreSQL does
    the same in one statement, tasks_repo.add_annotation_pg); (annotation id, the task's state afterwards)."""
    task_id, user_id, now = values["task_id"], values["completed_by_id"], values["now"]
    n_locked = row.n_locked - (1 if tasks_repo.drop_my_lock(session, task_id, user_id) == LOCK_TASK else 0)
    columns = {key: value for key, value in values.items() if key != "now"}
    annotation_id = tasks_repo.insert_annotation(
        session, {**columns, "was_cancelled": False, "ground_truth": False, "created_at": now, "updated_at": now}
    )
    n_annotations = row.n_annotations + 1
    overlap = max(row.overlap, n_annotations + n_locked)  # a late submit makes room rather than be lost
    state = TASK_COMPLETED if row.state == TASK_OPEN and n_annotations >= overlap else row.state
    tasks_repo.write_counters(
        session, task_id, n_annotations=n_annotations, n_locked=n_locked, overlap=overlap, state=state, now=now
    )
    tasks_repo.discard_draft(session, task_id, user_id)
    return annotation_id, state


def _answered_as_repeat(
    uow: UnitOfWork,
    project: Project,
    task_id: int,
    user_id: int,
    annotation_id: int,
    result: list[dict[str, Any]],
    lead_time_s: float | None,
    now: dt.datetime,
) -> bool:
    """Whether this submit answers a self-consistency repeat (stored as such), or repeats a submit that did
    (a double press after the repeat's lock was dropped): then the original annotation stays untouched."""
    session = uow.session
    lock = tasks_repo.lock_of(session, task_id, user_id)
    if lock is not None and lock.kind == LOCK_REPEAT:
        check = checks_repo.open_repeat_of(session, task_id, user_id)
        if check is not None:
            answer_repeat(uow, project, check, result=result, lead_time_s=lead_time_s, now=now)
        tasks_repo.drop_lock(session, lock)
        tasks_repo.discard_draft(session, task_id, user_id)
        return True
    if lock is not None:
        return False
    last = checks_repo.last_answered_repeat(session, task_id, user_id)
    original = session.get(Annotation, annotation_id)
    return (
        last is not None
        and last.result is not None
        and original is not None
        and last.answered_at is not None
        and last.answered_at >= original.updated_at
        and same_answers(last.result, result)
    )


def discard_my_draft(uow: UnitOfWork, user: UserInfo, *, task_id: int) -> None:
    """Drop the user's draft of a task (the caller commits): after a submit refused because another tab
    submitted a different answer, the kept answer is what the task shows again, not the refused one, which
    a later Update would otherwise store over it."""
    task = _project_of_task(uow, task_id)
    require(uow, user, task.project_id, Action.LABEL)
    tasks_repo.discard_draft(uow.session, task_id, user.id)


def skip_task(uow: UnitOfWork, user: UserInfo, *, task_id: int, reason: str = "", now: dt.datetime | None = None) -> None:
    """Record that the user skipped the task (with their reason) and free their slot for someone else.

    The skip is a cancelled annotation, as in Label Studio; the task is never handed to this user again.
    """
    uow.begin_write()
    session = uow.session
    task = _project_of_task(uow, task_id, for_update=True)
    project = require(uow, user, task.project_id, Action.LABEL)
    if not project.allow_skip:
        raise PermissionDeniedError(f"skipping is turned off in {project.title!r}")
    lock = tasks_repo.lock_of(session, task_id, user.id)
    if lock is not None and lock.kind == LOCK_REPEAT:  # a skipped repeat is recorded as unanswered
        check = checks_repo.open_repeat_of(session, task_id, user.id)
        if check is not None:
            answer_repeat(uow, project, check, result=None, lead_time_s=None, now=_now(now))
        tasks_repo.drop_lock(session, lock)
        tasks_repo.discard_draft(session, task_id, user.id)
        return
    if tasks_repo.my_annotation(session, task_id, user.id) is not None:
        raise ConflictError(f"task {task_id}: you submitted it already; edit it instead of skipping")
    if tasks_repo.my_annotation(session, task_id, user.id, cancelled=True) is not None:
        return  # skipped before: nothing more to record
    if lock is not None:
        tasks_repo.drop_lock(session, lock)
    now = _now(now)
    session.add(
        Annotation(
            task_id=task_id,
            project_id=task.project_id,
            completed_by_id=user.id,
            result=[],
            was_cancelled=True,
            skip_reason=reason.strip()[:2000] or None,
            config_version=project.config_version,
            created_at=now,
            updated_at=now,
        )
    )
    tasks_repo.discard_draft(session, task_id, user.id)
    session.flush()


def release_task(uow: UnitOfWork, user: UserInfo, *, task_id: int) -> None:
    """Give the user's slot on a task back without skipping it (e.g. they left the project page)."""
    uow.begin_write()
    lock = tasks_repo.lock_of(uow.session, task_id, user.id)
    if lock is not None:
        tasks_repo.drop_lock(uow.session, lock)


def my_progress(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> MyProgress:
    """The labeler's progress in the project. A task a reviewer returned to them counts once, as to do (not as
    submitted too): they have it to answer again, and its correction counts as handled then."""
    require(uow, user, project_id, Action.LABEL)
    submitted, skipped = tasks_repo.count_mine(uow.session, project_id, user.id)
    open_tasks = tasks_repo.count_open_with_room(uow.session, project_id)
    mine_open = tasks_repo.count_mine_open(uow.session, project_id, user.id)
    returned = tuple(tasks_repo.my_returned_task_ids(uow.session, project_id, user.id))
    return MyProgress(submitted - len(returned), skipped, open_tasks, max(0, open_tasks - mine_open) + len(returned),
                      returned)


def my_history(
    uow: UnitOfWork, user: UserInfo, *, project_id: int, limit: int = 20, before_id: int | None = None
) -> list[HistoryItem]:
    """The user's own annotations and skips in the project, newest first (paged by id)."""
    project = require(uow, user, project_id, Action.LABEL)
    cfg = project_config(project.config_xml)
    rows = tasks_repo.my_recent_annotations(uow.session, project_id, user.id, limit=limit, before_id=before_id)
    data = tasks_repo.data_of_tasks(uow.session, [a.task_id for a in rows])
    return [
        HistoryItem(a.id, a.task_id, a.was_cancelled, a.created_at, a.updated_at, task_snippet(data.get(a.task_id)),
                    "" if a.was_cancelled else answer_summary(cfg, a.result))
        for a in rows
    ]


@dataclass(frozen=True)
class DraftItem:
    """A draft of the user's on a task they have not answered (imported from Label Studio, or left unsubmitted)."""

    task_id: int
    snippet: str
    saved_at: dt.datetime


def my_unanswered_drafts(uow: UnitOfWork, user: UserInfo, *, project_id: int, limit: int = 20) -> list[DraftItem]:
    """The user's drafts on tasks of the project they have not submitted, newest first: the hand-out gives a
    task with room, so a draft on a task that has all its answers would wait unseen without this list."""
    require(uow, user, project_id, Action.LABEL)
    rows = tasks_repo.unanswered_drafts(uow.session, project_id, user.id, limit=limit)
    data = tasks_repo.data_of_tasks(uow.session, [task_id for task_id, _ in rows])
    return [DraftItem(task_id, task_snippet(data.get(task_id)), saved_at) for task_id, saved_at in rows]


def add_active_time(previous_s: float, last_event: dt.datetime | None, event: dt.datetime) -> float:
    """Active time after one more interaction: the gap since the last one counts unless it is idle.

    Gaps over IDLE_GAP_S (the labeler walked away) are left out, so active time measures work, not the
    time a tab was open.
    """
    if last_event is None:
        return previous_s
    gap = (event - last_event).total_seconds()
    return previous_s + gap if 0 <= gap <= IDLE_GAP_S else previous_s
