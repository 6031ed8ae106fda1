"""Storage connections (S3 sources and targets) and the objects each source sync has seen."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import StorageConnection, StorageObject, utcnow


def connections_of(session: Session, project_id: int, direction: str | None = None) -> list[StorageConnection]:
    query = select(StorageConnection).where(StorageConnection.project_id == project_id)
    if direction is not None:
        query = query.where(StorageConnection.direction == direction)
    return list(session.scalars(query.order_by(StorageConnection.id)))


def connection(session: Session, connection_id: int) -> StorageConnection | None:
    return session.get(StorageConnection, connection_id)


def add_connection(session: Session, **values: Any) -> StorageConnection:
    row = StorageConnection(**values)
    session.add(row)
    session.flush()
    return row


def delete_connection(session: Session, row: StorageConnection) -> None:
    """The connection and (by the foreign key's cascade, done here for SQLite too) its seen objects."""
    session.execute(delete(StorageObject).where(StorageObject.connection_id == row.id))
    session.delete(row)
    session.flush()


def seen_etags(session: Session, connection_id: int) -> dict[str, str]:
    """Key -> ETag of every object a sync of this connection imported."""
    rows = session.execute(
        select(StorageObject.key, StorageObject.etag).where(StorageObject.connection_id == connection_id)
    )
    return {key: etag for key, etag in rows}


def record_objects(
    session: Session, connection_id: int, objects: list[tuple[str, str, int]], *, changed: set[str]
) -> None:
    """Remember (key, etag, n_tasks) of the objects a sync imported; ``changed`` keys replace their row."""
    now = utcnow()
    if changed:
        keys = sorted(changed)
        for start in range(0, len(keys), 500):
            session.execute(
                delete(StorageObject).where(
                    StorageObject.connection_id == connection_id, StorageObject.key.in_(keys[start:start + 500])
                )
            )
    if objects:
        session.execute(
            StorageObject.__table__.insert(),
            [
                {"connection_id": connection_id, "key": key, "etag": etag, "n_tasks": n, "synced_at": now}
                for key, etag, n in objects
            ],
        )


def count_objects(session: Session, connection_id: int) -> int:
    from sqlalchemy import func

    return int(session.scalar(
        select(func.count()).select_from(StorageObject).where(StorageObject.connection_id == connection_id)
    ) or 0)


def mark_synced(session: Session, row: StorageConnection, *, at: dt.datetime, summary: dict[str, Any]) -> None:
    """The watermark is the time of the last successful sync; its summary is kept in the settings."""
    row.watermark = at.isoformat()
    row.settings = {**(row.settings or {}), "last_sync": summary}
    session.flush()
