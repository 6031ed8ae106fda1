"""Bulk writes for imports: rows prepared once as tuples, then one bulk statement per batch and table.

PostgreSQL gets ``COPY ... FROM STDIN`` on the session's own connection (so the rows stay inside the caller's
transaction: all or nothing), SQLite a plain DB-API ``executemany`` of the prepared tuples. Measured on
100,000 text tasks on a busy 2-CPU machine: SQLAlchemy's ``insert()`` executemany spent ~20 s on PostgreSQL
(one pipelined statement per row, each adapted in Python) and ~4 s on SQLite (per-row parameter processing);
see BENCHMARKS.md for the figures after this change. JSON columns arrive already serialised (``json.dumps``,
as SQLAlchemy's JSON type would have stored them), so each row is encoded once.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.exc import DBAPIError
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


TASK_COLUMNS = (
    "id", "project_id", "import_batch_id", "source_id", "data", "meta", "state", "overlap", "n_annotations",
    "n_locked", "is_ground_truth", "prediction_score", "created_at", "updated_at",
)
"""Column order of the tuples :func:`write_rows` takes for ``tasks`` (JSON columns as JSON text)."""
PREDICTION_COLUMNS = ("task_id", "model_version", "score", "result", "created_at")
ANNOTATION_COLUMNS = (
    "task_id", "project_id", "completed_by_id", "result", "was_cancelled", "ground_truth", "lead_time_s",
    "config_version", "import_id", "created_at", "updated_at",
)

# One row holding the array: fetching n rows one by one cost more than drawing the ids.
_PG_NEW_TASK_IDS = text(
    "SELECT array_agg(nextval(pg_get_serial_sequence('tasks', 'id'))) FROM generate_series(1, :n)"
)
_SQLITE_MAX_TASK_ID = text("SELECT coalesce(max(id), 0) FROM tasks")


def new_task_ids(session: Session, n: int) -> list[int]:
    """``n`` fresh task ids, increasing, for rows written with :func:`write_rows`.

    PostgreSQL: drawn from the id sequence, so concurrent writers never collide (ids may have gaps, as with
    any sequence). SQLite: the import holds the database's write lock from its first insert (the import
    batch row) until commit, so ``max(id) + 1 ...`` is exactly what SQLite itself would assign.
    """
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.execute(_PG_NEW_TASK_IDS, {"n": n}).scalar_one())
    first = int(session.execute(_SQLITE_MAX_TASK_ID).scalar_one()) + 1
    return list(range(first, first + n))


def sql_timestamp(session: Session, value: dt.datetime) -> Any:
    """A timestamp as :func:`write_rows` takes it: on SQLite the text SQLAlchemy's DateTime type stores
    (converted once per batch by the caller, not once per row), on PostgreSQL the datetime itself."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return value
    to_text = Task.__table__.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    return to_text(value) if to_text is not None else value


def write_rows(session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert prepared tuples (values in ``columns`` order, JSON columns as JSON text, timestamps from
    :func:`sql_timestamp`) in one bulk operation.

    Runs on the session's connection inside its transaction. Database errors come out as SQLAlchemy's
    ``DBAPIError`` subclasses (``IntegrityError`` ...), as from ``session.execute``.
    """
    if not rows:
        return
    connection = session.connection()
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        statement = f"COPY {table.name} ({names}) FROM STDIN"
        import psycopg  # only PostgreSQL deployments need the driver

        driver = connection.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        except psycopg.Error as exc:
            raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
        return
    placeholders = ", ".join("?" * len(columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", rows)


def refresh_planner_statistics(session: Session, tables: Sequence[Table]) -> None:
    """ANALYZE freshly bulk-loaded tables on PostgreSQL (SQLite needs nothing: its planner has no row stats).

    Until autovacuum gets round to it (a minute or more), a table that just received 100,000 rows still looks
    empty to the planner, which then pages an export through the (project_id, state, ...) index and sorts
    every remaining row for each page: 144 ms a page instead of 9 ms at 100,000 tasks, quadratic in the
    project's size. ANALYZE inside the import's transaction counts the rows it inserted; it samples at most
    30,000 rows, so it costs tens of milliseconds whatever the table's size.
    """
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table.name}"))


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
