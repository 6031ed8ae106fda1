"""Queries of the labeling loop: hand-out candidates, locks, counters, drafts, one's own annotations.

Every query on the hot path is an equality lookup on an index: ``(project_id, state, id)`` for the next
task, ``(task_id, completed_by_id)`` for "not mine already", ``(task_id, user_id)`` for locks. On
PostgreSQL the candidate row is taken with ``FOR UPDATE SKIP LOCKED`` so concurrent annotators never
queue behind each other; on SQLite the caller's write transaction (BEGIN IMMEDIATE) serialises them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, and_, bindparam, delete, exists, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    LOCK_REVIEW,
    LOCK_TASK,
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
    at once never decrement a counter twice. Honeypot and repeat locks hold no slot (see TaskLock.kind).
    """
    expired = select(TaskLock.id).where(TaskLock.project_id == project_id, TaskLock.expires_at <= now)
    if _is_postgres(session):
        expired = expired.with_for_update(skip_locked=True)
    rows = session.execute(
        delete(TaskLock).where(TaskLock.id.in_(expired)).returning(TaskLock.task_id, TaskLock.kind)
    ).all()
    _give_slots_back(session, [task_id for task_id, kind in rows if kind == LOCK_TASK])
    return len(rows)


def _give_slots_back(session: Session, task_ids: list[int]) -> None:
    for task_id in task_ids:
        session.execute(update(Task).where(Task.id == task_id).values(n_locked=Task.n_locked - 1))


def live_lock_of(session: Session, project_id: int, user_id: int, now: dt.datetime) -> TaskLock | None:
    """The user's unexpired labeling lock in the project (the task they were working on), if any; a
    reviewer's review lock (core.review_queue) is not one."""
    return session.scalar(
        select(TaskLock)
        .where(TaskLock.project_id == project_id, TaskLock.user_id == user_id, TaskLock.expires_at > now,
               TaskLock.kind != LOCK_REVIEW)
        .order_by(TaskLock.id)
        .limit(1)
    )


def lock_of(session: Session, task_id: int, user_id: int) -> TaskLock | None:
    return session.scalar(select(TaskLock).where(TaskLock.task_id == task_id, TaskLock.user_id == user_id))



def id_range(session: Session, project_id: int) -> tuple[int, int] | None:
    low, high = session.execute(
        select(func.min(Task.id), func.max(Task.id)).where(Task.project_id == project_id, Task.state == TASK_OPEN)
    ).one()
    return None if low is None else (low, high)




def drop_lock(session: Session, lock: TaskLock) -> None:
    """Delete a lock and give its slot back (ordinary locks only hold one)."""
    session.execute(delete(TaskLock).where(TaskLock.id == lock.id))
    if lock.kind == LOCK_TASK:
        _give_slots_back(session, [lock.task_id])


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
    """Whether a review froze the annotation: any review of it, except a return to its author that the
    author has not answered yet (then they may correct it)."""
    updated_at = select(Annotation.updated_at).where(Annotation.id == annotation_id).scalar_subquery()
    return session.scalar(select(exists().where(
        Review.annotation_id == annotation_id,
        ~and_(Review.verdict == "returned", Review.created_at >= updated_at),
    ))) or False



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



def my_recent_annotations(
    session: Session, project_id: int, user_id: int, *, limit: int, before_id: int | None = None
) -> list[Annotation]:
    query = select(Annotation).where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id)
    if before_id is not None:
        query = query.where(Annotation.id < before_id)
    return list(session.scalars(query.order_by(Annotation.id.desc()).limit(limit)))


def first_task_data(session: Session, project_id: int) -> Any:
    """The data of the project's lowest-id task, or None (the (project_id, id) index)."""
    return session.scalar(select(Task.data).where(Task.project_id == project_id).order_by(Task.id).limit(1))


def data_of_tasks(session: Session, task_ids: list[int]) -> dict[int, Any]:
    """``{task id: data}`` of a few tasks (a page of a labeler's history)."""
    if not task_ids:
        return {}
    return {task_id: data for task_id, data in session.execute(select(Task.id, Task.data).where(Task.id.in_(task_ids)))}


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


def count_mine_open(session: Session, project_id: int, user_id: int) -> int:
    """Open tasks the user already annotated or skipped (their annotations joined to open tasks: as many rows
    as the user has annotations in the project, on the (project_id, completed_by_id) index)."""
    return session.scalar(
        select(func.count(func.distinct(Annotation.task_id)))
        .join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id, Task.state == TASK_OPEN)
    ) or 0


def my_returned_task_ids(session: Session, project_id: int, user_id: int) -> list[int]:
    """Tasks whose annotation by the user a reviewer returned to them and they have not corrected yet."""
    return list(session.scalars(
        select(Annotation.task_id).distinct()
        .join(Review, Review.annotation_id == Annotation.id)
        .where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id,
               Annotation.was_cancelled.is_(False), Review.verdict == "returned",
               Review.created_at >= Annotation.updated_at)
        .order_by(Annotation.task_id)
    ))


def count_open_with_room(session: Session, project_id: int) -> int:
    """Open tasks that still need annotations (indexed on project_id, state)."""
    return session.scalar(
        select(func.count()).where(and_(Task.project_id == project_id, Task.state == TASK_OPEN))
    ) or 0


# --- The hot path: hand-out and submit as few, prebuilt statements -----------------------------------
# Built once at import (SQLAlchemy then reuses the compiled SQL); on PostgreSQL the whole hand-out is one
# round trip: pick a free task (FOR UPDATE SKIP LOCKED), take a slot, write the lock.

_CANDIDATE_WHERE = """
    t.project_id = :project_id AND t.state = 'open' AND t.n_annotations + t.n_locked < t.overlap
    AND NOT EXISTS (SELECT 1 FROM annotations AS a WHERE a.task_id = t.id AND a.completed_by_id = :user_id)
    AND NOT EXISTS (SELECT 1 FROM task_locks AS l WHERE l.task_id = t.id AND l.user_id = :user_id)
"""
# `t.id + 0`, not `t.id`: see the hand-out queue index on Task (storage/models.py).
_ORDERS = {
    "sequential": "t.id + 0",
    "random": "t.id + 0",
    "uncertainty": "t.prediction_score ASC NULLS LAST, t.id",
}


def _pg_handout(order: str, pivot: bool) -> TextClause:
    """The whole hand-out and everything the labeling page shows of the task, in one round trip.

    ``set_config(... true)`` makes this transaction's commit skip the WAL flush: a hand-out lost in a crash
    is only a lock, which expires anyway.
    """
    return text(
        f"""
        WITH candidate AS (
            SELECT t.id FROM tasks AS t
            WHERE {_CANDIDATE_WHERE} {"AND t.id + 0 >= :pivot_id" if pivot else ""}
            ORDER BY {order} LIMIT 1
            FOR UPDATE OF t SKIP LOCKED
        ), claimed AS (
            UPDATE tasks SET n_locked = tasks.n_locked + 1 FROM candidate WHERE tasks.id = candidate.id
            RETURNING tasks.id, tasks.data
        ), locked AS (
            INSERT INTO task_locks (project_id, task_id, user_id, expires_at, created_at)
            SELECT :project_id, claimed.id, :user_id, :expires_at, :now FROM claimed
            RETURNING task_id
        )
        SELECT claimed.id, claimed.data, d.result, d.active_time_s, p.id, p.model_version, p.score, p.result,
               set_config('synchronous_commit', 'off', true)
        FROM claimed JOIN locked ON locked.task_id = claimed.id
        LEFT JOIN drafts AS d ON d.task_id = claimed.id AND d.user_id = :user_id
        LEFT JOIN LATERAL (
            SELECT id, model_version, score, result FROM predictions
            WHERE task_id = claimed.id AND :with_prediction ORDER BY id DESC LIMIT 1
        ) AS p ON true
        """
    )


def _candidate(order: str, pivot: bool) -> TextClause:
    return text(
        f"SELECT t.id FROM tasks AS t WHERE {_CANDIDATE_WHERE} {'AND t.id + 0 >= :pivot_id' if pivot else ''} "
        f"ORDER BY {order} LIMIT 1"
    )


_PG_HANDOUTS = {(name, pivot): _pg_handout(order, pivot) for name, order in _ORDERS.items() for pivot in (False, True)}
_CANDIDATES = {(name, pivot): _candidate(order, pivot) for name, order in _ORDERS.items() for pivot in (False, True)}
_CLAIM = text(
    "UPDATE tasks SET n_locked = n_locked + 1 "
    "WHERE id = :task_id AND state = 'open' AND n_annotations + n_locked < overlap"
)
_ADD_LOCK = text(
    "INSERT INTO task_locks (project_id, task_id, user_id, expires_at, created_at) "
    "VALUES (:project_id, :task_id, :user_id, :expires_at, :now)"
)


@dataclass(frozen=True)
class HandedOut:
    """A task just locked for a user, with what the labeling page shows of it (the user has no annotation
    on it: the hand-out excludes those)."""

    task_id: int
    data: dict[str, Any]
    draft_result: list[dict[str, Any]] | None
    draft_active_time_s: float
    prediction: Prediction | None


def hand_out(
    session: Session,
    *,
    project_id: int,
    user_id: int,
    sampling: str,
    expires_at: dt.datetime,
    now: dt.datetime,
    pivot_id: int | None = None,
    with_prediction: bool = True,
) -> HandedOut | None:
    """Lock a free task for the user and return it; None when no task is free for them.

    PostgreSQL: one statement (see _pg_handout); concurrent callers skip each other's candidate rows.
    SQLite: the caller's BEGIN IMMEDIATE transaction serialises writers, so select-then-claim cannot race.
    """
    params = {"project_id": project_id, "user_id": user_id, "expires_at": expires_at, "now": now}
    pivots = (True, False) if pivot_id is not None else (False,)
    for use_pivot in pivots:
        bound = {**params, "pivot_id": pivot_id} if use_pivot else params
        if _is_postgres(session):
            row = session.execute(_PG_HANDOUTS[(sampling, use_pivot)], {**bound, "with_prediction": with_prediction}).first()
            if row is not None:
                task_id, data, draft_result, draft_active, pred_id, model_version, score, pred_result, _ = row
                prediction = None if pred_id is None else Prediction(
                    id=pred_id, task_id=task_id, model_version=model_version, score=score, result=pred_result
                )
                return HandedOut(int(task_id), data, draft_result, draft_active or 0.0, prediction)
            continue
        for _ in range(3):
            task_id = session.execute(_CANDIDATES[(sampling, use_pivot)], bound).scalar()
            if task_id is None:
                break
            if session.execute(_CLAIM, {"task_id": task_id}).rowcount == 1:
                session.execute(_ADD_LOCK, {**params, "task_id": task_id})
                return _handed_out(session, int(task_id), user_id, with_prediction)
    return None


def _handed_out(session: Session, task_id: int, user_id: int, with_prediction: bool) -> HandedOut:
    task = session.get(Task, task_id)
    assert task is not None  # just locked in this transaction
    draft = draft_of(session, task_id, user_id)
    return HandedOut(
        task_id,
        task.data,
        draft.result if draft else None,
        draft.active_time_s if draft else 0.0,
        newest_prediction(session, task_id) if with_prediction else None,
    )


# The task's counters and the user's submitted annotation on it (if any), in one round trip.
_TASK_ROW_SQL = (
    "SELECT t.project_id, t.state, t.overlap, t.n_annotations, t.n_locked, "
    "(SELECT a.id FROM annotations AS a WHERE a.task_id = t.id AND a.completed_by_id = :user_id "
    "AND NOT a.was_cancelled) AS mine FROM tasks AS t WHERE t.id = :task_id"
)
_TASK_ROW = text(_TASK_ROW_SQL)
_TASK_ROW_FOR_UPDATE = text(_TASK_ROW_SQL + " FOR UPDATE OF t")
_DROP_MY_LOCK = text("DELETE FROM task_locks WHERE task_id = :task_id AND user_id = :user_id RETURNING kind")
_SET_COUNTERS = text(
    "UPDATE tasks SET n_annotations = :n_annotations, n_locked = :n_locked, overlap = :overlap, "
    "state = :state, updated_at = :now WHERE id = :task_id"
)
_DELETE_DRAFT = text("DELETE FROM drafts WHERE task_id = :task_id AND user_id = :user_id")

def task_counters(session: Session, task_id: int, user_id: int, *, for_update: bool) -> Any:
    """(project_id, state, overlap, n_annotations, n_locked, mine) of a task, ``mine`` being the user's
    submitted annotation id or None; the row is locked on PostgreSQL when asked."""
    statement = _TASK_ROW_FOR_UPDATE if for_update and _is_postgres(session) else _TASK_ROW
    return session.execute(statement, {"task_id": task_id, "user_id": user_id}).one_or_none()


# A new annotation on PostgreSQL in one round trip: drop the user's lock, insert the annotation, discard
# the draft and move the counters (an ordinary lock gives its slot back; a late submit widens the overlap
# rather than be lost; reaching the overlap completes an open task). The task row is locked already.
_PG_ADD_ANNOTATION = text(
    """
    WITH dropped AS (
        DELETE FROM task_locks WHERE task_id = :task_id AND user_id = :completed_by_id RETURNING kind
    ), inserted AS (
        INSERT INTO annotations (task_id, project_id, completed_by_id, result, was_cancelled, ground_truth,
            lead_time_s, active_time_s, prediction_id, prediction_changed, config_version, flagged, flag_note,
            created_at, updated_at)
        VALUES (:task_id, :project_id, :completed_by_id, :result, false, false, :lead_time_s, :active_time_s,
            :prediction_id, :prediction_changed, :config_version, COALESCE(CAST(:flagged AS BOOLEAN), false),
            CAST(:flag_note AS TEXT), :now, :now)
        RETURNING id
    ), discarded AS (
        DELETE FROM drafts WHERE task_id = :task_id AND user_id = :completed_by_id
    ), counted AS (
        SELECT t.n_annotations + 1 AS n_annotations,
               t.n_locked - (SELECT count(*) FROM dropped WHERE kind = 'task') AS n_locked,
               t.overlap, t.state
        FROM tasks AS t WHERE t.id = :task_id
    ), moved AS (
        UPDATE tasks SET n_annotations = c.n_annotations, n_locked = c.n_locked,
            overlap = GREATEST(c.overlap, c.n_annotations + c.n_locked),
            state = CASE WHEN c.state = 'open' AND c.n_annotations >= GREATEST(c.overlap, c.n_annotations + c.n_locked)
                         THEN 'completed' ELSE c.state END,
            updated_at = :now
        FROM counted AS c WHERE tasks.id = :task_id
        RETURNING tasks.id, tasks.project_id, tasks.state, tasks.overlap, tasks.n_annotations,
            CASE WHEN c.state = 'open' AND tasks.state = 'completed' THEN tasks.data END AS data
    )
    SELECT inserted.id, moved.id, moved.project_id, moved.state, moved.overlap, moved.n_annotations, moved.data,
        CASE WHEN moved.data IS NOT NULL THEN (
            SELECT json_build_array(json_agg(a.result ORDER BY a.id),
                                    json_agg(COALESCE(m.consensus_weight, 1.0) ORDER BY a.id))
            FROM annotations AS a
            LEFT JOIN memberships AS m
                ON m.project_id = a.project_id AND m.user_id = a.completed_by_id AND m.role = 'annotator'
            WHERE a.task_id = :task_id AND NOT a.was_cancelled AND NOT a.ground_truth
            AND NOT EXISTS (SELECT 1 FROM reviews AS r WHERE r.task_id = a.task_id AND r.annotation_id = a.id
                            AND (r.verdict = 'rejected'
                                 OR (r.verdict = 'returned' AND r.created_at >= a.updated_at)))
        ) END,
        CASE WHEN moved.data IS NOT NULL THEN COALESCE((
            SELECT m.consensus_weight FROM memberships AS m
            WHERE m.project_id = :project_id AND m.user_id = :completed_by_id AND m.role = 'annotator'
        ), 1.0) END
    FROM inserted, moved
    """
).bindparams(bindparam("result", type_=JSONB))


@dataclass(frozen=True)
class RoutingRow:
    """What core.quality needs to score a task that this submit completed, read by the submit itself."""

    id: int
    project_id: int
    state: str
    overlap: int
    n_annotations: int
    data: dict[str, Any]


def add_annotation_pg(
    session: Session, row: dict[str, Any]
) -> tuple[int, str, tuple[RoutingRow, list[list[dict[str, Any]]], list[float]] | None]:
    """Insert a new submitted annotation and move the task's counters (PostgreSQL, one statement):
    (annotation id, the task's state afterwards, and when this submit completed the task, its routing row,
    counted results, oldest first, and their authors' consensus weights, so scoring it needs no second read)."""
    annotation_id, task_id, project_id, state, overlap, n_annotations, data, earlier, my_weight = session.execute(
        _PG_ADD_ANNOTATION, row
    ).one()
    completed = None
    if data is not None:  # the statement's snapshot predates the new annotation: it comes last, being newest
        routing = RoutingRow(int(task_id), int(project_id), str(state), int(overlap), int(n_annotations), data)
        results, weights = earlier if earlier is not None else ([], [])
        completed = (routing, [*(results or []), row["result"]], [*(float(w) for w in weights or []), float(my_weight)])
    return int(annotation_id), str(state), completed


def drop_my_lock(session: Session, task_id: int, user_id: int) -> str | None:
    """Delete the user's lock on the task; its kind, or None if there was none (the caller adjusts
    n_locked for an ordinary lock)."""
    return session.execute(_DROP_MY_LOCK, {"task_id": task_id, "user_id": user_id}).scalar()


def write_counters(session: Session, task_id: int, *, n_annotations: int, n_locked: int, overlap: int, state: str, now: dt.datetime) -> None:
    session.execute(
        _SET_COUNTERS,
        {"task_id": task_id, "n_annotations": n_annotations, "n_locked": n_locked, "overlap": overlap, "state": state, "now": now},
    )


def discard_draft(session: Session, task_id: int, user_id: int) -> None:
    session.execute(_DELETE_DRAFT, {"task_id": task_id, "user_id": user_id})


def insert_annotation(session: Session, row: dict[str, Any]) -> int:
    table = Annotation.__table__
    return int(session.execute(insert(table).returning(table.c.id), row).scalar_one())


def release_all_locks(session: Session, user_id: int, *, project_id: int | None = None) -> int:
    """Delete every lock the user holds (in ``project_id`` only, when given) and give the slots back
    (a deactivated account, or a member removed from a project)."""
    where = [TaskLock.user_id == user_id] + ([TaskLock.project_id == project_id] if project_id is not None else [])
    rows = session.execute(delete(TaskLock).where(*where).returning(TaskLock.task_id, TaskLock.kind)).all()
    _give_slots_back(session, [task_id for task_id, kind in rows if kind == LOCK_TASK])
    return len(rows)


def prediction_of_task(session: Session, prediction_id: int, task_id: int) -> Prediction | None:
    return session.scalar(select(Prediction).where(Prediction.id == prediction_id, Prediction.task_id == task_id))


def api_task_page(session: Session, project_id: int, *, offset: int, limit: int,
                  user_id: int | None = None, task_id: int | None = None) -> tuple[list[int], int]:
    """(ids of one page of the project's tasks by id, how many there are in all) for the HTTP API's task list;
    with ``user_id``, only the tasks that user annotated, skipped, holds or has a draft of (an annotator sees no
    others); with
    ``task_id``, only that task."""
    query = select(Task.id).where(Task.project_id == project_id)
    if task_id is not None:
        query = query.where(Task.id == task_id)
    if user_id is not None:
        theirs = select(Annotation.task_id).where(Annotation.project_id == project_id,
                                                  Annotation.completed_by_id == user_id)
        held = select(TaskLock.task_id).where(TaskLock.project_id == project_id, TaskLock.user_id == user_id)
        drafted = select(Draft.task_id).where(Draft.user_id == user_id)
        query = query.where(Task.id.in_(theirs.union(held, drafted)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(session.scalars(query.order_by(Task.id).offset(offset).limit(limit)))
    return ids, total


def project_of_task(session: Session, task_id: int) -> int | None:
    return session.scalar(select(Task.project_id).where(Task.id == task_id))


def task_of_annotation(session: Session, annotation_id: int) -> int | None:
    return session.scalar(select(Annotation.task_id).where(Annotation.id == annotation_id))


def unanswered_drafts(session: Session, project_id: int, user_id: int, *, limit: int) -> list[tuple[int, Any]]:
    """(task id, saved at) of the user's drafts on the project's tasks they have no annotation or skip of,
    newest first."""
    answered = select(Annotation.id).where(Annotation.task_id == Draft.task_id, Annotation.completed_by_id == user_id)
    return [(task_id, saved) for task_id, saved in session.execute(
        select(Draft.task_id, Draft.updated_at).join(Task, Task.id == Draft.task_id)
        .where(Task.project_id == project_id, Draft.user_id == user_id, ~answered.exists())
        .order_by(Draft.updated_at.desc()).limit(limit)
    )]


def is_theirs(session: Session, task_id: int, user_id: int) -> bool:
    """Whether the task is the user's to open: they hold it, submitted an answer to it, or have a draft of it."""
    return bool(session.scalar(select(
        exists().where(TaskLock.task_id == task_id, TaskLock.user_id == user_id)
        | exists().where(Annotation.task_id == task_id, Annotation.completed_by_id == user_id,
                         Annotation.was_cancelled.is_(False))
        | exists().where(Draft.task_id == task_id, Draft.user_id == user_id)
    )))
