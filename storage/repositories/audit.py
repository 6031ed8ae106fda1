"""The audit trail: who changed what in a project, and when (settings, labeling config, members, invites)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, utcnow


def record(
    session: Session,
    *,
    actor_id: int | None,
    project_id: int | None,
    action: str,
    detail: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Add one event in the caller's transaction, so it is kept exactly when the change is."""
    session.add(AuditEvent(actor_id=actor_id, project_id=project_id, action=action[:60], detail=detail or {},
                           created_at=now or utcnow()))


def events_of(session: Session, project_id: int, *, action_prefix: str = "", limit: int = 50) -> list[AuditEvent]:
    """The project's newest events (by the (project_id, created_at) index), optionally of one kind."""
    query = select(AuditEvent).where(AuditEvent.project_id == project_id)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix))
    return list(session.scalars(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)))


def events_about_task(session: Session, project_id: int, action: str, task_id: int) -> list[AuditEvent]:
    """The project's events of one kind whose detail names ``task_id`` (``detail["task_id"]``), oldest first."""
    return list(session.scalars(
        select(AuditEvent)
        .where(AuditEvent.project_id == project_id, AuditEvent.action == action,
               AuditEvent.detail["task_id"].as_integer() == task_id)
        .order_by(AuditEvent.id)
    ))
