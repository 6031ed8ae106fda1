"""Queries of the labeling loop: hand-out candidates, locks, counters, drafts, one's own annotations.

Every query on the hot path is an equality lookup on an index: ``(project_id, state, id)`` for the next
task, ``(task_id, completed_by_id)`` for "not mine already", ``(task_id, user_id)`` for locks. On
PostgreSQL the candidate row is taken with ``FOR UPDATE SKIP LOCKED`` so concurrent annotators never
queue behind each other; on SQLite the caller's write transaction (BEGIN IMMEDIATE) serialises them.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    TASK_COMPLETED,
    TASK_OPEN,
    Annotation,
    Draft,
    Prediction,
    Review,
    Task,
    TaskLock,
)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def reclaim_expired_locks(session: Session, project_id: int, now: dt.datetime) -> int:
    """Delete the project's expired locks and give their slots back; returns how many.

    DELETE ... RETURNING reports only rows this transaction really deleted, so two hand-outs reclaiming
    at once never decrement a counter twice.
    """
    expired = select(TaskLock.id).where(TaskLock.project_id == project_id, TaskLock.expires_at <= now)
    if _is_postgres(session):
        expired = expired.with_for_update(skip_locked=True)
    task_ids = list(session.scalars(delete(TaskLock).where(TaskLock.id.in_(expired)).returning(TaskLock.task_id)))
    for task_id in task_ids:
        session.execute(update(Task).where(Task.id == task_id).values(n_locked=Task.n_locked - 1))
    return len(task_ids)


def live_lock_of(session: Session, project_id: int, user_id: int, now: dt.datetime) -> TaskLock | None:
    """The user's unexpired lock in the project (the task they were working on), if any."""
    return session.scalar(
        select(TaskLock)
        .where(TaskLock.project_id == project_id, TaskLock.user_id == user_id, TaskLock.expires_at > now)
        .order_by(TaskLock.id)
        .limit(1)
    )


def lock_of(session: Session, task_id: int, user_id: int) -> TaskLock | None:
    return session.scalar(select(TaskLock).where(TaskLock.task_id == task_id, TaskLock.user_id == user_id))


def next_candidate(
    session: Session,
    *,
    project_id: int,
    user_id: int,
    sampling: str,
    pivot_id: int | None = None,
    exclude_ids: tuple[int, ...] = (),
) -> int | None:
    """The id of an open task with a free slot that the user has neither annotated, skipped nor holds.

    ``sampling``: "sequential" (id order), "random" (first candidate at or after ``pivot_id``, a random
    id the caller draws, wrapping around) or "uncertainty" (lowest prediction score first).
    """
    mine = exists().where(Annotation.task_id == Task.id, Annotation.completed_by_id == user_id)
    held = exists().where(TaskLock.task_id == Task.id, TaskLock.user_id == user_id)
    query = select(Task.id).where(
        Task.project_id == project_id,
        Task.state == TASK_OPEN,
        Task.n_annotations + Task.n_locked < Task.overlap,
        ~mine,
        ~held,
    )
    if exclude_ids:
        query = query.where(Task.id.not_in(exclude_ids))
    if sampling == "uncertainty":
        query = query.order_by(Task.prediction_score.asc().nulls_last(), Task.id)
    else:
        query = query.order_by(Task.id)
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Task)
    if sampling == "random" and pivot_id is not None:
        found = session.scalar(query.where(Task.id >= pivot_id).limit(1))
        if found is not None:
            return found
    return session.scalar(query.limit(1))


def id_range(session: Session, project_id: int) -> tuple[int, int] | None:
    low, high = session.execute(
        select(func.min(Task.id), func.max(Task.id)).where(Task.project_id == project_id, Task.state == TASK_OPEN)
    ).one()
    return None if low is None else (low, high)


def claim_slot(session: Session, task_id: int) -> bool:
    """Take one slot of the task if it still has one (a guarded UPDATE: atomic on both databases)."""
    result = session.execute(
        update(Task)
        .where(Task.id == task_id, Task.state == TASK_OPEN, Task.n_annotations + Task.n_locked < Task.overlap)
        .values(n_locked=Task.n_locked + 1)
    )
    return result.rowcount == 1


def add_lock(session: Session, *, project_id: int, task_id: int, user_id: int, expires_at: dt.datetime) -> TaskLock:
    lock = TaskLock(project_id=project_id, task_id=task_id, user_id=user_id, expires_at=expires_at)
    session.add(lock)
    session.flush()
    return lock


def drop_lock(session: Session, lock: TaskLock) -> None:
    """Delete a lock and give its slot back."""
    session.execute(delete(TaskLock).where(TaskLock.id == lock.id))
    session.execute(update(Task).where(Task.id == lock.task_id).values(n_locked=Task.n_locked - 1))


def task_for_update(session: Session, task_id: int) -> Task | None:
    """The task row, locked for the rest of the transaction on PostgreSQL (counters change next)."""
    query = select(Task).where(Task.id == task_id)
    if _is_postgres(session):
        query = query.with_for_update()
    return session.scalar(query)


def my_annotation(session: Session, task_id: int, user_id: int, *, cancelled: bool = False) -> Annotation | None:
    return session.scalar(
        select(Annotation).where(
            Annotation.task_id == task_id,
            Annotation.completed_by_id == user_id,
            Annotation.was_cancelled.is_(cancelled),
        )
    )


def is_reviewed(session: Session, annotation_id: int) -> bool:
    return session.scalar(select(exists().where(Review.annotation_id == annotation_id))) or False


def count_submitted(session: Session, task_id: int) -> int:
    return session.scalar(
        select(func.count()).where(Annotation.task_id == task_id, Annotation.was_cancelled.is_(False))
    ) or 0


def set_counters(session: Session, task: Task, *, n_annotations: int, overlap: int) -> None:
    task.n_annotations = n_annotations
    task.overlap = overlap
    if task.state == TASK_OPEN and n_annotations >= overlap:
        task.state = TASK_COMPLETED
    session.flush()


def newest_prediction(session: Session, task_id: int) -> Prediction | None:
    return session.scalar(
        select(Prediction).where(Prediction.task_id == task_id).order_by(Prediction.id.desc()).limit(1)
    )


def draft_of(session: Session, task_id: int, user_id: int) -> Draft | None:
    return session.scalar(select(Draft).where(Draft.task_id == task_id, Draft.user_id == user_id))


def upsert_draft(
    session: Session, *, task_id: int, user_id: int, result: list[dict[str, Any]], active_time_s: float, now: dt.datetime
) -> None:
    """Insert or replace the user's draft of a task in one statement (safe against a double save)."""
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    statement = insert(Draft).values(
        task_id=task_id, user_id=user_id, result=result, active_time_s=active_time_s, started_at=now, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Draft.task_id, Draft.user_id],
        set_={"result": result, "active_time_s": active_time_s, "updated_at": now},
    )
    session.execute(statement)


def delete_draft(session: Session, task_id: int, user_id: int) -> None:
    session.execute(delete(Draft).where(Draft.task_id == task_id, Draft.user_id == user_id))


def my_recent_annotations(
    session: Session, project_id: int, user_id: int, *, limit: int, before_id: int | None = None
) -> list[Annotation]:
    query = select(Annotation).where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id)
    if before_id is not None:
        query = query.where(Annotation.id < before_id)
    return list(session.scalars(query.order_by(Annotation.id.desc()).limit(limit)))


def count_mine(session: Session, project_id: int, user_id: int) -> tuple[int, int]:
    """(submitted, skipped) annotations of the user in the project."""
    rows = dict(
        session.execute(
            select(Annotation.was_cancelled, func.count())
            .where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id)
            .group_by(Annotation.was_cancelled)
        ).all()
    )
    return rows.get(False, 0), rows.get(True, 0)


def count_open_with_room(session: Session, project_id: int) -> int:
    """Open tasks that still need annotations (indexed on project_id, state)."""
    return session.scalar(
        select(func.count()).where(and_(Task.project_id == project_id, Task.state == TASK_OPEN))
    ) or 0
