"""Bulk writes for imports: plain executemany batches (no ORM unit-of-work bookkeeping per row)."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage.models import (
    Annotation,
    GroundTruth,
    ImportBatch,
    Prediction,
    Task,
    User,
    utcnow,
)
from storage.repositories import users as users_repo


def batch_by_hash(session: Session, project_id: int, sha256: str) -> ImportBatch | None:
    return session.scalar(
        select(ImportBatch).where(ImportBatch.project_id == project_id, ImportBatch.sha256 == sha256)
    )


def create_batch(session: Session, *, project_id: int, filename: str, sha256: str, actor_id: int) -> ImportBatch:
    # The unique (project_id, sha256) constraint makes a concurrent import of the same file fail here.
    batch = ImportBatch(project_id=project_id, filename=filename[:500], sha256=sha256, created_by_id=actor_id)
    session.add(batch)
    session.flush()
    return batch


def finish_batch(session: Session, batch: ImportBatch, *, n_tasks: int, n_annotations: int) -> None:
    batch.n_tasks = n_tasks
    batch.n_annotations = n_annotations
    session.flush()


def insert_tasks(session: Session, rows: list[dict[str, Any]]) -> None:
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)
    session.connection().execute(insert(Task.__table__), rows)


def insert_tasks_returning_ids(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert and return the new ids in the order of ``rows`` (SQLAlchemy's sorted insertmanyvalues)."""
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)
    table = Task.__table__
    result = session.connection().execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [row[0] for row in result]


def insert_predictions(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        now = utcnow()
        for row in rows:
            row.setdefault("created_at", now)
        session.connection().execute(insert(Prediction.__table__), rows)


def insert_annotations(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(Annotation.__table__), rows)


def insert_ground_truth(session: Session, results: dict[int, list[dict[str, Any]]], *, source: str) -> None:
    if results:
        now = utcnow()
        session.connection().execute(
            insert(GroundTruth.__table__),
            [{"task_id": t, "result": r, "source": source, "created_at": now} for t, r in results.items()],
        )


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def timestamps(annotation: dict[str, Any]) -> dict[str, dt.datetime]:
    """created_at/updated_at of an imported annotation, kept when they parse, else now."""
    now = utcnow()
    created = _parse_time(annotation.get("created_at")) or now
    updated = _parse_time(annotation.get("updated_at")) or created
    return {"created_at": created, "updated_at": updated}


def user_id_by_email(session: Session, email: str) -> int | None:
    user = users_repo.by_email(session, email)
    return user.id if user else None


def user_id_by_username(session: Session, username: str) -> int | None:
    user = users_repo.by_username(session, username)
    return user.id if user else None


def free_username(session: Session, base: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.@+-]", "", base)[:140] or "imported"
    name, n = base, 1
    while users_repo.by_username(session, name) is not None:
        n += 1
        name = f"{base}{n}"
    return name


def create_inactive_user(session: Session, *, username: str, email: str | None) -> int:
    """An account for an imported author: inactive and without a password until an admin enables it."""
    user = User(username=username, email=email.strip().lower() if email else None, is_active=False,
                display_name=username, password_hash=None)
    session.add(user)
    session.flush()
    return user.id


def task_ids_by_data_key(session: Session, project_id: int, key: str) -> dict[str, int]:
    """{data[key]: task id} for a project's tasks (crowd-label imports match tasks by their id string)."""
    out: dict[str, int] = {}
    for task_id, data in session.execute(select(Task.id, Task.data).where(Task.project_id == project_id)):
        if isinstance(data, dict) and key in data:
            out[str(data[key])] = task_id
    return out
