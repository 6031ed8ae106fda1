"""Streaming reads for exports: tasks in id order, page by page (keyset), with their annotations."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import String, Text, case, cast, func, literal_column, select, type_coerce
from sqlalchemy.orm import Session

from storage.models import Annotation, Draft, Prediction, Task

Row = dict[str, Any]


def _project_filter(session: Session, column: Any, project_id: int) -> Any:
    """``column = project_id``, on SQLite written so that it cannot pick the query's index.

    Every page query here walks a primary-key or task_id range and only *checks* the project. SQLite's
    planner, without statistics (no ANALYZE after an import), prefers the equality on project_id instead:
    it reads every task (or annotation) of the project and sorts them, for each page, which made a
    100,000-task export quadratic (5-9 s instead of ~2 s). ``project_id + 0`` is SQLite's documented way
    to keep a term out of index selection. PostgreSQL plans these right once its statistics exist, which
    the import refreshes (``imports_repo.refresh_planner_statistics``).
    """
    if session.get_bind().dialect.name == "sqlite":
        return column + literal_column("0") == project_id
    return column == project_id


def iter_task_pages(session: Session, project_id: int, *, page_size: int) -> Iterator[list[Row]]:
    """Pages of task rows; each page is one indexed range query (``id > last``), so memory stays flat."""
    table = Task.__table__
    last_id = 0
    while True:
        rows = [
            dict(r._mapping)
            for r in session.connection().execute(
                select(table)
                .where(_project_filter(session, table.c.project_id, project_id), table.c.id > last_id)
                .order_by(table.c.id)
                .limit(page_size)
            )
        ]
        if not rows:
            return
        yield rows
        last_id = rows[-1]["id"]


def task_rows_in_range(session: Session, project_id: int, first_id: int, last_id: int) -> list[Row]:
    """The project's task rows with ids in [first, last], by id (one page of the HTTP API's task list)."""
    table = Task.__table__
    return [
        dict(r._mapping)
        for r in session.connection().execute(
            select(table)
            .where(_project_filter(session, table.c.project_id, project_id), table.c.id.between(first_id, last_id))
            .order_by(table.c.id)
        )
    ]


def annotations_for(session: Session, project_id: int, first_task_id: int, last_task_id: int) -> list[Row]:
    """Annotations of the project's tasks with ids in [first, last] (other projects' tasks may interleave)."""
    table = Annotation.__table__
    return [
        dict(r._mapping)
        for r in session.connection().execute(
            select(table)
            .where(
                _project_filter(session, table.c.project_id, project_id),
                table.c.task_id >= first_task_id,
                table.c.task_id <= last_task_id,
            )
            .order_by(table.c.task_id, table.c.id)
        )
    ]


def predictions_for(session: Session, project_id: int, first_task_id: int, last_task_id: int) -> list[Row]:
    """Predictions of the project's tasks with ids in [first, last].

    A range on the task_id index, like :func:`annotations_for`; an ``IN`` list of the page's 2,000 ids cost
    more to render and send than the query took.
    """
    return _rows_of_tasks_in_range(session, Prediction.__table__, project_id, first_task_id, last_task_id)


def drafts_for(session: Session, project_id: int, first_task_id: int, last_task_id: int) -> list[Row]:
    """Drafts on the project's tasks with ids in [first, last] (a task_id range, like :func:`predictions_for`)."""
    return _rows_of_tasks_in_range(session, Draft.__table__, project_id, first_task_id, last_task_id)


def _rows_of_tasks_in_range(session: Session, table: Any, project_id: int, first_task_id: int,
                            last_task_id: int) -> list[Row]:
    """Rows of ``table`` (a table with ``task_id`` and no ``project_id``) on the project's tasks in [first, last],
    by task and id."""
    tasks = Task.__table__
    return [
        dict(r._mapping)
        for r in session.connection().execute(
            select(table)
            .join(tasks, tasks.c.id == table.c.task_id)
            .where(
                _project_filter(session, tasks.c.project_id, project_id),
                tasks.c.id.between(first_task_id, last_task_id),  # else PostgreSQL hash-joins every task
                table.c.task_id.between(first_task_id, last_task_id),
            )
            .order_by(table.c.task_id, table.c.id)
        )
    ]


# --- Label Studio JSON without decoding stored JSON -------------------------------------------------------
# The JSON export (core.exports.iter_ls_task_json) embeds each task's ``data`` and ``meta`` and each result as
# the database holds them (jsonb rendered as text on PostgreSQL, the stored text on SQLite), never decoded:
# decoding the stored JSON only to encode it again was most of the export's time. One exception keeps the file
# readable: SQLite holds what SQLAlchemy's JSON type wrote, ``json.dumps(value)`` with ASCII escapes, so text
# with a ``\u`` escape is written again with its characters (jsonb already holds them as characters).


def _sqlite_readable(raw: str | None) -> str | None:
    if raw is None or "\\u" not in raw:
        return raw
    return json.dumps(json.loads(raw), ensure_ascii=False)


def _driver_rows(connection: Any, statement: Any) -> list[Any]:
    """The statement's rows as the database driver returns them, in one fetch.

    SQLAlchemy's Row objects and per-value result processing cost as much as formatting the page; the text
    export's columns are already what it needs (JSON as text, timestamps as datetimes or, on SQLite, stored
    text it parses itself). Booleans stay the driver's (SQLite: 0 or 1), read for their truth only.
    """
    result = connection.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


JsonTaskRow = tuple[int, str, str | None, dt.datetime | None, dt.datetime | None, int | None, str | None]
"""(id, data, meta, created_at, updated_at, inner_id, file_upload)"""


def iter_task_json_pages(session: Session, project_id: int, *, page_size: int) -> Iterator[list[JsonTaskRow]]:
    """Pages of :data:`JsonTaskRow`, keyset-paged like :func:`iter_task_pages`.

    ``data`` and ``meta`` are the stored JSON as text (``meta`` None when SQL NULL).
    """
    table = Task.__table__
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = [table.c.id, cast(table.c.data, Text), cast(table.c.meta, Text), table.c.created_at,
                   table.c.updated_at, table.c.inner_id, table.c.file_upload]
        to_datetime, readable = None, _identity
    else:
        # The raw stored text and timestamp strings: SQLAlchemy's JSON and DateTime result processing
        # (a json.loads and a regex per value) is what this path avoids.
        columns = [table.c.id, type_coerce(table.c.data, Text), type_coerce(table.c.meta, Text),
                   type_coerce(table.c.created_at, String), type_coerce(table.c.updated_at, String),
                   table.c.inner_id, table.c.file_upload]
        to_datetime, readable = _sqlite_datetime, _sqlite_readable
    last_id = 0
    while True:
        rows = _driver_rows(connection, (
            select(*columns)
            .where(_project_filter(session, table.c.project_id, project_id), table.c.id > last_id)
            .order_by(table.c.id)
            .limit(page_size)
        ))
        page: list[JsonTaskRow] = []
        for task_id, data, meta, created, updated, inner_id, file_upload in rows:
            if to_datetime is not None:
                created = to_datetime(created) if created is not None else None
                updated = to_datetime(updated) if updated is not None else None
            page.append((task_id, readable(data), readable(meta), created, updated, inner_id, file_upload))
        if not page:
            return
        yield page
        last_id = page[-1][0]


# Annotations and predictions of a page as text, embedded the same way: ``result`` as stored, its item count
# computed by the database, timestamps as datetimes (SQLite: parsed from the stored text with fromisoformat, a
# fraction of SQLAlchemy's per-value regex), booleans as the driver gives them (SQLite: 0 or 1).
AnnotationJsonRow = tuple[int, int, int | None, str, int, bool, bool, dt.datetime | None, dt.datetime | None,
                          float | None, float | None, int | None, int | None]
"""(task_id, id, completed_by_id, result, result_count, was_cancelled, ground_truth, created_at, updated_at,
lead_time_s, active_time_s, prediction_id, import_id)"""
PredictionJsonRow = tuple[int, int, str | None, float | None, str, dt.datetime | None]
"""(task_id, id, model_version, score, result, created_at)"""


def _text_columns(session: Session, table: Any) -> tuple[Any, Any, Any, Callable[[Any], Any]]:
    """(result as text, its item count, a timestamp column wrapper, the timestamp converter) per dialect."""
    if session.get_bind().dialect.name == "postgresql":
        count = case((func.jsonb_typeof(table.c.result) == "array", func.jsonb_array_length(table.c.result)),
                     else_=0)
        return cast(table.c.result, Text), count, lambda column: column, _identity
    count = func.coalesce(func.json_array_length(table.c.result), 0)
    return (type_coerce(table.c.result, Text), count, lambda column: type_coerce(column, String),
            _sqlite_datetime)


def _identity(value: Any) -> Any:
    return value


_PARSED_STAMPS: dict[str, dt.datetime] = {}  # rows imported or labeled together share their timestamps


def _sqlite_datetime(value: str | None) -> dt.datetime | None:
    """A stored SQLite timestamp as a datetime, each distinct text parsed once (the cache is bounded)."""
    if value is None:
        return None
    parsed = _PARSED_STAMPS.get(value)
    if parsed is None:
        if len(_PARSED_STAMPS) >= 4096:
            _PARSED_STAMPS.clear()
        parsed = _PARSED_STAMPS[value] = dt.datetime.fromisoformat(value)
    return parsed


def annotation_json_rows(session: Session, project_id: int, first_task_id: int,
                         last_task_id: int) -> list[AnnotationJsonRow]:
    """The rows of :func:`annotations_for` as :data:`AnnotationJsonRow` tuples, ``result`` as JSON text."""
    table = Annotation.__table__
    result, count, stamp, to_datetime = _text_columns(session, table)
    readable = _sqlite_readable if to_datetime is _sqlite_datetime else _identity
    rows = _driver_rows(session.connection(), (
        select(table.c.task_id, table.c.id, table.c.completed_by_id, result, count, table.c.was_cancelled,
               table.c.ground_truth, stamp(table.c.created_at), stamp(table.c.updated_at), table.c.lead_time_s,
               table.c.active_time_s, table.c.prediction_id, table.c.import_id)
        .where(
            _project_filter(session, table.c.project_id, project_id),
            table.c.task_id >= first_task_id,
            table.c.task_id <= last_task_id,
        )
        .order_by(table.c.task_id, table.c.id)
    ))
    return [
        (task_id, ann_id, author, readable(text_) if text_ is not None else "null", n, cancelled, truth,
         to_datetime(created), to_datetime(updated), lead, active, prediction, import_id)
        for (task_id, ann_id, author, text_, n, cancelled, truth, created, updated, lead, active, prediction,
             import_id) in rows
    ]


def prediction_json_rows(session: Session, project_id: int, first_task_id: int,
                         last_task_id: int) -> list[PredictionJsonRow]:
    """The rows of :func:`predictions_for` as :data:`PredictionJsonRow` tuples, ``result`` as JSON text."""
    table = Prediction.__table__
    tasks = Task.__table__
    result, _, stamp, to_datetime = _text_columns(session, table)
    readable = _sqlite_readable if to_datetime is _sqlite_datetime else _identity
    rows = _driver_rows(session.connection(), (
        select(table.c.task_id, table.c.id, table.c.model_version, table.c.score, result, stamp(table.c.created_at))
        .join(tasks, tasks.c.id == table.c.task_id)
        .where(
            _project_filter(session, tasks.c.project_id, project_id),
            tasks.c.id.between(first_task_id, last_task_id),  # else PostgreSQL hash-joins every task
            table.c.task_id.between(first_task_id, last_task_id),
        )
        .order_by(table.c.task_id, table.c.id)
    ))
    return [
        (task_id, pred_id, version, score, readable(text_) if text_ is not None else "null", to_datetime(created))
        for task_id, pred_id, version, score, text_, created in rows
    ]


# --- "consensus and ground truth only" exports ---------------------------------------------------------------
def count_tasks(session: Session, project_id: int) -> int:
    """How many tasks an export will walk (the progress bar's total)."""
    from sqlalchemy import func

    table = Task.__table__
    return int(session.connection().execute(
        select(func.count()).select_from(table).where(table.c.project_id == project_id)
    ).scalar_one())


def chosen_results_for(session: Session, project_id: int, first_task_id: int, last_task_id: int) -> dict[int, Row]:
    """Per task id in [first, last]: its ground truth if it has one, else its stored consensus.

    Each value has ``source`` ("ground_truth" or "consensus"), ``result``, ``method`` (the consensus method
    or the ground truth's source), ``agreement`` and ``at`` (when it was made).
    """
    from storage.models import Consensus, GroundTruth

    tasks = Task.__table__
    chosen: dict[int, Row] = {}
    consensus = Consensus.__table__
    for row in session.connection().execute(
        select(consensus.c.task_id, consensus.c.result, consensus.c.method, consensus.c.agreement,
               consensus.c.updated_at)
        .join(tasks, tasks.c.id == consensus.c.task_id)
        .where(_project_filter(session, tasks.c.project_id, project_id),
               tasks.c.id.between(first_task_id, last_task_id),  # else PostgreSQL hash-joins every task
               consensus.c.task_id.between(first_task_id, last_task_id))
    ):
        chosen[row.task_id] = {"source": "consensus", "result": row.result, "method": row.method,
                               "agreement": row.agreement, "at": row.updated_at}
    truth = GroundTruth.__table__
    for row in session.connection().execute(
        select(truth.c.task_id, truth.c.result, truth.c.source, truth.c.created_at)
        .join(tasks, tasks.c.id == truth.c.task_id)
        .where(_project_filter(session, tasks.c.project_id, project_id),
               tasks.c.id.between(first_task_id, last_task_id),  # else PostgreSQL hash-joins every task
               truth.c.task_id.between(first_task_id, last_task_id))
    ):
        chosen[row.task_id] = {"source": "ground_truth", "result": row.result, "method": row.source,
                               "agreement": None, "at": row.created_at}
    return chosen
