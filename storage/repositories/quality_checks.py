"""Queries of the hand-out's quality checks: honeypot (ground-truth) tasks and self-consistency repeats.

Both hand a task to a user outside its overlap, so their locks carry a kind ('honeypot', 'repeat') and
never touch ``tasks.n_locked``. The honeypot pool is served by the partial index on ground-truth tasks;
pending repeats by ``self_checks (project_id, user_id, answered_at)``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from storage.models import Annotation, SelfCheck

_HONEYPOT_CANDIDATE = """
    SELECT t.id FROM tasks AS t
    WHERE t.project_id = :project_id AND t.is_ground_truth {pivot}
    AND NOT EXISTS (SELECT 1 FROM annotations AS a WHERE a.task_id = t.id AND a.completed_by_id = :user_id)
    AND NOT EXISTS (SELECT 1 FROM task_locks AS l WHERE l.task_id = t.id AND l.user_id = :user_id)
    ORDER BY t.id LIMIT 1
"""
_HONEYPOT_FROM_PIVOT = text(_HONEYPOT_CANDIDATE.format(pivot="AND t.id >= :pivot_id"))
_HONEYPOT_ANY = text(_HONEYPOT_CANDIDATE.format(pivot=""))
# ON CONFLICT: a second tab of the same user racing for the same task gets nothing rather than an error.
_ADD_KIND_LOCK = text(
    "INSERT INTO task_locks (project_id, task_id, user_id, expires_at, created_at, kind) "
    "VALUES (:project_id, :task_id, :user_id, :expires_at, :now, :kind) "
    "ON CONFLICT (task_id, user_id) DO NOTHING RETURNING task_id"
)
_POOL_BOUNDS = text("SELECT MIN(id), MAX(id) FROM tasks WHERE project_id = :project_id AND is_ground_truth")


def add_lock(
    session: Session, *, project_id: int, task_id: int, user_id: int, kind: str, expires_at: dt.datetime, now: dt.datetime
) -> bool:
    """Lock a task for the user outside its overlap; False if the user already holds it."""
    params = {
        "project_id": project_id, "task_id": task_id, "user_id": user_id, "expires_at": expires_at, "now": now, "kind": kind
    }
    return session.execute(_ADD_KIND_LOCK, params).first() is not None


def honeypot_pool_bounds(session: Session, project_id: int) -> tuple[int, int] | None:
    low, high = session.execute(_POOL_BOUNDS, {"project_id": project_id}).one()
    return None if low is None else (int(low), int(high))


def honeypot_candidate(session: Session, *, project_id: int, user_id: int, pivot_id: int) -> int | None:
    """A ground-truth task the user has neither done, skipped nor holds: the first from ``pivot_id`` on,
    wrapping around, so honeypots come in a random order without ``ORDER BY random()``."""
    params: dict[str, Any] = {"project_id": project_id, "user_id": user_id, "pivot_id": pivot_id}
    found = session.execute(_HONEYPOT_FROM_PIVOT, params).scalar()
    if found is None:
        found = session.execute(_HONEYPOT_ANY, params).scalar()
    return None if found is None else int(found)


def next_pending_repeat(session: Session, project_id: int, user_id: int) -> SelfCheck | None:
    """The user's unanswered repeat that comes due first."""
    return session.scalar(
        select(SelfCheck)
        .where(SelfCheck.project_id == project_id, SelfCheck.user_id == user_id, SelfCheck.answered_at.is_(None))
        .order_by(SelfCheck.due_after, SelfCheck.id)
        .limit(1)
    )


def open_repeat_of(session: Session, task_id: int, user_id: int) -> SelfCheck | None:
    return session.scalar(
        select(SelfCheck).where(
            SelfCheck.task_id == task_id, SelfCheck.user_id == user_id, SelfCheck.answered_at.is_(None)
        )
    )


def last_answered_repeat(session: Session, task_id: int, user_id: int) -> SelfCheck | None:
    return session.scalar(
        select(SelfCheck)
        .where(SelfCheck.task_id == task_id, SelfCheck.user_id == user_id, SelfCheck.answered_at.is_not(None))
        .order_by(SelfCheck.answered_at.desc(), SelfCheck.id.desc())
        .limit(1)
    )


_ANY_OPEN = text("SELECT 1 FROM tasks WHERE project_id = :project_id AND state = 'open' LIMIT 1")


def has_open_tasks(session: Session, project_id: int) -> bool:
    """Whether the project still has tasks to label: honeypots are mixed into work, never handed out
    after it (a queue of nothing but ground truth would give them away)."""
    return session.execute(_ANY_OPEN, {"project_id": project_id}).first() is not None


def n_submitted(session: Session, project_id: int, user_id: int) -> int:
    """The user's submitted (not skipped) annotations in the project: the clock repeats come due by."""
    return session.scalar(
        select(func.count()).where(
            Annotation.project_id == project_id, Annotation.completed_by_id == user_id, Annotation.was_cancelled.is_(False)
        )
    ) or 0


def schedule_repeat(
    session: Session, *, project_id: int, task_id: int, user_id: int, annotation_id: int, due_after: int, now: dt.datetime
) -> None:
    session.add(
        SelfCheck(
            project_id=project_id, task_id=task_id, user_id=user_id, annotation_id=annotation_id,
            due_after=due_after, created_at=now,
        )
    )


def answer_repeat(
    session: Session,
    check_id: int,
    *,
    result: list[dict[str, Any]] | None,
    agreement: float | None,
    lead_time_s: float | None,
    now: dt.datetime,
) -> None:
    """Record the repeat's answer (``result`` None: the user skipped it)."""
    session.execute(
        update(SelfCheck)
        .where(SelfCheck.id == check_id)
        .values(result=result, agreement=agreement, lead_time_s=lead_time_s, answered_at=now)
    )
