"""Queries of predictions added one at a time (core.predictions); imports write theirs in bulk (imports.py)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Prediction, Task


def of_project(session: Session, project_id: int, *, task_id: int | None = None, limit: int) -> list[Prediction]:
    """The project's predictions (of one task when given), oldest first, at most ``limit``."""
    query = select(Prediction).join(Task, Task.id == Prediction.task_id).where(Task.project_id == project_id)
    if task_id is not None:
        query = query.where(Prediction.task_id == task_id)
    return list(session.scalars(query.order_by(Prediction.id).limit(limit)))
