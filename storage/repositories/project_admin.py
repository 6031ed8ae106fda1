"""Statements behind a manager's changes to a running project: keeping every unfinished task's overlap
and state in step with new settings.

Tasks carry their own ``overlap`` (escalation and send-backs raise it per task), so a new project overlap
is applied as: ``new overlap + the task's extra slots`` (what escalation added above the old project
overlap), capped at ``maximum_annotations``, and never below what the task holds already
(``n_annotations + n_locked``; the CHECK ``holders_within_overlap`` demands it, and a labeler holding a
lock may always submit). Only tasks still being labeled (``open``) or waiting to be scored
(``completed``) change: a task in review or done keeps its state, its consensus and its reviewer's word.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case
from sqlalchemy.orm import Session

from storage.models import TASK_COMPLETED, TASK_OPEN, Task


def _new_overlap(old_overlap: int, new_overlap: int, maximum: int) -> Any:
    """The task's overlap under the new settings, as a SQL expression on the row's old values."""
    t = Task.__table__.c
    extra = case((t.overlap > old_overlap, t.overlap - old_overlap), else_=0)
    target = case((new_overlap + extra > maximum, maximum), else_=new_overlap + extra)
    held = t.n_annotations + t.n_locked
    return case((held > target, held), else_=target)


def rebalance_overlap(
    session: Session, project_id: int, *, old_overlap: int, new_overlap: int, maximum: int, now: dt.datetime
) -> tuple[list[int], list[int]]:
    """Apply a new overlap to the project's unfinished tasks; returns (ids of tasks that reached their
    new overlap and now wait to be scored, ids of waiting tasks that need more annotations again).

    Set-based UPDATEs (a million-task project is a handful of statements); only the rows whose state
    changes are returned, from rows this transaction really changed. SET expressions read the row's old
    values (SQL semantics), so each statement evaluates the new overlap on the row as it was.

    Order matters and is safe: open tasks first, then waiting ones. A task the first statement completes
    ends with ``overlap == n_annotations`` (it holds no lock then), and the expression maps such a row
    to itself (its extra slots are at most ``n_annotations - new``), so the later statements leave it
    alone. This relies on open tasks having fewer annotations than their overlap, which submit keeps.
    """
    t = Task.__table__.c
    new = _new_overlap(old_overlap, new_overlap, maximum)
    mine = Task.__table__.update().where(t.project_id == project_id)
    completed = session.execute(
        mine.where(t.state == TASK_OPEN, t.n_annotations >= new)
        .values(overlap=new, state=TASK_COMPLETED, updated_at=now).returning(t.id)
    ).scalars().all()
    session.execute(mine.where(t.state == TASK_OPEN, new != t.overlap).values(overlap=new, updated_at=now))
    reopened = session.execute(
        mine.where(t.state == TASK_COMPLETED, t.n_annotations < new)
        .values(overlap=new, state=TASK_OPEN, updated_at=now).returning(t.id)
    ).scalars().all()
    session.execute(mine.where(t.state == TASK_COMPLETED, new != t.overlap).values(overlap=new, updated_at=now))
    return sorted(completed), sorted(reopened)
