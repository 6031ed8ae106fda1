"""Writes of the demo seed (:mod:`core.demo`) that no import can make: Label Studio's annotation JSON carries a
lead time but no active time, so the seed fills active times in afterwards."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from storage.models import Annotation


def timed_annotations_without_active_time(session: Session, project_id: int) -> list[Row[Any]]:
    """(id, lead_time_s, created_at, updated_at) of the project's annotations with a lead time and no active time."""
    return list(
        session.execute(
            select(Annotation.id, Annotation.lead_time_s, Annotation.created_at, Annotation.updated_at)
            .where(Annotation.project_id == project_id, Annotation.lead_time_s.is_not(None),
                   Annotation.active_time_s.is_(None))
            .order_by(Annotation.id)
        ).all()
    )


def set_active_times(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set ``active_time_s`` by annotation id; each row: id, active_time_s, and updated_at (passed back as it
    was, so the column's on-update default does not restamp the imported timestamps)."""
    if rows:
        session.execute(update(Annotation), rows)
