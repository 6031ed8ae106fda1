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
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Table, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.models import (
    Annotation,
    Draft,
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
    "n_locked", "is_ground_truth", "prediction_score", "inner_id", "file_upload", "created_at", "updated_at",
)
"""Column order of the tuples :func:`write_rows` takes for ``tasks`` (JSON columns as JSON text)."""
PREDICTION_COLUMNS = ("task_id", "model_version", "score", "result", "created_at")
ANNOTATION_COLUMNS = (
    "task_id", "project_id", "completed_by_id", "result", "was_cancelled", "ground_truth", "lead_time_s",
    "config_version", "import_id", "created_at", "updated_at", "prediction_id",
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


def begin_bulk_import(session: Session) -> None:
    """Session settings for an import's transaction (PostgreSQL; SQLite already commits without fsync in WAL
    mode with ``synchronous=NORMAL``).

    ``synchronous_commit = off`` lets the commit return before its WAL reaches the disk: a crash in the next
    few hundred milliseconds can lose the whole import, never part of it (the transaction stays atomic), and
    the person re-imports the file. Foreign keys, constraints and every index stay on.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def _may_skip_row_triggers(session: Session) -> bool:
    """Whether this PostgreSQL role may set ``session_replication_role`` (a superuser, or on PostgreSQL 15+ a
    role granted ``SET ON PARAMETER session_replication_role``)."""
    if session.execute(text("SELECT current_setting('is_superuser')")).scalar_one() == "on":
        return True
    if int(session.execute(text("SELECT current_setting('server_version_num')")).scalar_one()) < 150000:
        return False
    return bool(session.execute(
        text("SELECT has_parameter_privilege(current_user, 'session_replication_role', 'SET')")
    ).scalar_one())


def _lock_task_parents(session: Session, *, project_id: int, batch_id: int) -> bool:
    """Check and lock the two rows every imported task refers to, as the foreign-key triggers would.

    Each task row's two foreign-key checks (``project_id``, ``import_batch_id``) run a
    ``SELECT 1 FROM parent WHERE id = $1 FOR KEY SHARE`` per row: measured as two thirds of the server's work
    in a 100,000-task COPY (2.1 of 3.2 s CPU). Every task of an import has the same two parents, so one such
    statement per parent, here, checks the same thing and takes the same locks (a concurrent delete of the
    project waits for the import's commit). The COPY then runs with ``session_replication_role = replica``
    set LOCAL to the import's transaction and switched back right after each COPY, which skips the per-row
    triggers of that statement only: ``tasks`` has no triggers but the foreign-key ones (unique, check and
    not-null constraints and every index still apply), and annotations and predictions keep their per-row
    checks. Returns False (per-row checks stay) when the role may not set the parameter.
    """
    if not _may_skip_row_triggers(session):
        return False
    found = session.execute(
        text("SELECT (SELECT count(*) FROM (SELECT 1 FROM projects WHERE id = :project_id FOR KEY SHARE) p)"
             " + (SELECT count(*) FROM (SELECT 1 FROM import_batches WHERE id = :batch_id FOR KEY SHARE) b)"),
        {"project_id": project_id, "batch_id": batch_id},
    ).scalar_one()
    return int(found) == 2


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A string as a field of COPY's text format (backslash, tab, newline and carriage return escaped)."""
    return value.translate(_COPY_ESCAPES)


class TaskRowSink:
    """Task rows of one import, written while the caller goes on parsing; the sink gives each row its id.

    PostgreSQL: rows are streamed into ``COPY tasks FROM STDIN`` ~64 KB at a time as they are added, so the
    server (indexes, jsonb parsing) works on the other CPU while the client parses the next tasks. A task
    nobody needs the id of (no annotations or predictions) leaves its ``id`` to the column's default, so a
    file of plain tasks is one COPY from start to end: ending a COPY means waiting for the server to catch
    up, which halved the overlap when it happened every 2,000 rows. A task whose id the caller needs
    (``with_id``) switches to a COPY with an ``id`` column fed from ids reserved a batch at a time; ids stay
    increasing in file order across switches (a reservation or a default ``nextval`` always comes after the
    previous ones). Rows are formatted as COPY text here (the common task is one f-string).

    SQLite: ids are counted on from ``max(id)``; each batch is one multi-row ``INSERT`` run on a helper thread
    (sqlite3 releases the GIL while SQLite works, so the insert of a batch overlaps the parsing of the next;
    ``executemany`` could not overlap: it takes the GIL back for every row).

    Call :meth:`end_batch` then :meth:`settle` before any other statement on the session (a COPY in progress
    or a running insert owns the connection). As a context manager, leaving the block with an exception aborts
    a COPY in progress and waits for a running insert, so the caller's transaction rolls back as usual.
    """

    _SEND_ROWS = 300  # ~64 KB of COPY text for ~200-character tasks

    def __init__(self, session: Session, *, project_id: int, batch_id: int, overlap: int, now: dt.datetime,
                 open_state: str, ids_per_reservation: int = 2000) -> None:
        self._session = session
        self._connection = session.connection()
        self._is_pg = self._connection.dialect.name == "postgresql"
        self._project_id, self._batch_id, self._overlap = project_id, batch_id, overlap
        self._now = sql_timestamp(session, now)
        self._open_state = open_state
        self._ids_per_reservation = ids_per_reservation
        self._rows: list[Any] = []
        # PostgreSQL
        self._copy_context: Any = None
        self._copy: Any = None
        self._copy_has_ids = False
        self._reserved: list[int] = []
        self._reserved_used = 0
        self._head = f"\t{project_id}\t{batch_id}\t"
        self._plain_head = f"{project_id}\t{batch_id}\t\\N\t"
        self._plain_tail = f"\tnull\t{open_state}\t{overlap}\t0\t0\tf\t\\N\t\\N\t\\N\t{self._now}\t{self._now}\n"
        self._parents_locked = self._is_pg and _lock_task_parents(session, project_id=project_id, batch_id=batch_id)
        # SQLite
        self._next_id: int | None = None
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None

    def __enter__(self) -> TaskRowSink:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.end_batch()
            self.settle()
            return
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self._copy_context is not None:
            context, self._copy_context, self._copy = self._copy_context, None, None
            try:
                context.__exit__(exc_type, exc, tb)  # sends CopyFail: the transaction is then rolled back
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass

    @property
    def pending_rows(self) -> int:
        """Rows held in memory until :meth:`end_batch` (SQLite's batch; PostgreSQL streams, so 0)."""
        return 0 if self._is_pg else len(self._rows)

    def add_plain(self, data_json: str) -> int | None:
        """The common task (no source id, meta, annotations or predictions); its id when known (SQLite)."""
        if not self._is_pg:
            task_id = self._take_sqlite_id()
            self._rows.append((task_id, self._project_id, self._batch_id, None, data_json, "null", self._open_state,
                               self._overlap, 0, 0, False, None, None, None, self._now, self._now))
            return task_id
        if "\\" in data_json:  # JSON text has no raw tab or newline, only backslashes to escape
            data_json = data_json.replace("\\", "\\\\")
        if self._copy_has_ids and self._reserved_used < len(self._reserved):
            task_id = self._reserved[self._reserved_used]
            self._reserved_used += 1
            self._rows.append(f"{task_id}{self._head}\\N\t{data_json}{self._plain_tail}")
        else:
            self._use_copy(with_ids=False)
            task_id = None
            self._rows.append(f"{self._plain_head}{data_json}{self._plain_tail}")
        if len(self._rows) >= self._SEND_ROWS:
            self._send()
        return task_id

    def add(self, data_json: str, *, source_id: str | None, meta_json: str, state: str, n_annotations: int,
            is_ground_truth: bool, prediction_score: float | None, with_id: bool, inner_id: int | None = None,
            file_upload: str | None = None, created_at: dt.datetime | None = None,
            updated_at: dt.datetime | None = None) -> int | None:
        """Any task (JSON columns as JSON text). Returns its id when ``with_id`` (always on SQLite). The times are
        the import's unless given (a Label Studio task's own)."""
        created = self._now if created_at is None else sql_timestamp(self._session, created_at)
        updated = self._now if updated_at is None else sql_timestamp(self._session, updated_at)
        if not self._is_pg:
            task_id = self._take_sqlite_id()
            self._rows.append((task_id, self._project_id, self._batch_id, source_id, data_json, meta_json, state,
                               self._overlap, n_annotations, 0, is_ground_truth, prediction_score, inner_id,
                               file_upload, created, updated))
            return task_id
        fields = [
            str(self._project_id), str(self._batch_id), "\\N" if source_id is None else _copy_text(source_id),
            _copy_text(data_json), _copy_text(meta_json), state, str(self._overlap), str(n_annotations), "0",
            "t" if is_ground_truth else "f", "\\N" if prediction_score is None else repr(prediction_score),
            "\\N" if inner_id is None else str(inner_id), "\\N" if file_upload is None else _copy_text(file_upload),
            str(created), str(updated),
        ]
        task_id = None
        if with_id or (self._copy_has_ids and self._reserved_used < len(self._reserved)):
            task_id = self._take_reserved_id()
            fields.insert(0, str(task_id))
        else:
            self._use_copy(with_ids=False)
        self._rows.append("\t".join(fields) + "\n")
        if len(self._rows) >= self._SEND_ROWS:
            self._send()
        return task_id

    def end_batch(self) -> None:
        """Finish the statement in progress (PostgreSQL: end the COPY; SQLite: start the batch's insert)."""
        if not self._is_pg:
            self.settle()
            rows, self._rows = self._rows, []
            if rows:
                self._writer = threading.Thread(target=self._insert, args=(rows,), name="quorum-import-insert")
                self._writer.start()
            return
        self._end_copy()

    def settle(self) -> None:
        """Wait until every ended batch is in the table; re-raise its database error, if any."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self._write_error is not None:
            error, self._write_error = self._write_error, None
            import sqlite3

            if isinstance(error, sqlite3.Error):
                raise DBAPIError.instance("INSERT INTO tasks", None, error, sqlite3.Error) from error
            raise error

    # --- SQLite ---------------------------------------------------------------------------------------------
    def _take_sqlite_id(self) -> int:
        """Ids counted on from ``max(id)``, read once: the import holds SQLite's write lock from its first insert
        until commit, so no one else can take them (see :func:`new_task_ids`)."""
        if self._next_id is None:
            self.settle()
            self._next_id = new_task_ids(self._session, 1)[0]
        task_id = self._next_id
        self._next_id += 1
        return task_id

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        """Runs on the helper thread, alone on the connection (the main thread settles before using it)."""
        try:
            driver = self._connection.connection.driver_connection
            width = len(TASK_COLUMNS)
            per_statement = max(1, _sqlite_variable_limit(driver) // width)
            one_row = "(" + ", ".join("?" * width) + ")"
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                statement = f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}) VALUES " + ", ".join([one_row] * len(chunk))
                driver.execute(statement, [value for row in chunk for value in row])
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by settle()
            self._write_error = exc

    # --- PostgreSQL -----------------------------------------------------------------------------------------
    def _take_reserved_id(self) -> int:
        if not (self._copy_has_ids and self._reserved_used < len(self._reserved)):
            self._end_copy()  # a reservation is a statement: no COPY may be in progress
            self._reserved = new_task_ids(self._session, self._ids_per_reservation)
            self._reserved_used = 0
            self._use_copy(with_ids=True)
        task_id = self._reserved[self._reserved_used]
        self._reserved_used += 1
        return task_id

    def _use_copy(self, *, with_ids: bool) -> None:
        """Make the next rows go to a COPY with (or without) the id column, ending the other kind."""
        if self._copy_has_ids != with_ids:
            self._end_copy()
            self._copy_has_ids = with_ids
            if not with_ids:
                self._reserved, self._reserved_used = [], 0  # later ids come from the default, which is higher

    def _end_copy(self) -> None:
        if self._rows:
            self._send()
        if self._copy_context is None:
            return
        import psycopg

        context, self._copy_context, self._copy = self._copy_context, None, None
        try:
            context.__exit__(None, None, None)
            if self._parents_locked:
                self._connection.connection.driver_connection.execute("SET LOCAL session_replication_role = origin")
        except psycopg.Error as exc:
            raise DBAPIError.instance("COPY tasks", None, exc, psycopg.Error) from exc

    def _send(self) -> None:
        import psycopg

        try:
            if self._copy is None:
                driver = self._connection.connection.driver_connection
                assert isinstance(driver, psycopg.Connection)
                if self._parents_locked:  # see _lock_task_parents; switched back in _end_copy
                    driver.execute("SET LOCAL session_replication_role = replica")
                columns = TASK_COLUMNS if self._copy_has_ids else TASK_COLUMNS[1:]
                self._copy_context = driver.cursor().copy(f"COPY tasks ({', '.join(columns)}) FROM STDIN")
                self._copy = self._copy_context.__enter__()
            self._copy.write("".join(self._rows))
        except psycopg.Error as exc:
            raise DBAPIError.instance("COPY tasks", None, exc, psycopg.Error) from exc
        self._rows.clear()


def _sqlite_variable_limit(driver: Any) -> int:
    """How many ``?`` one SQLite statement may hold (32,766 by default since SQLite 3.32; 999 before)."""
    import sqlite3

    getlimit = getattr(driver, "getlimit", None)  # Python 3.11+
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if getlimit else 999


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
            # The JSON columns are left out: no query filters or sorts on them, and sampling 30,000 jsonb
            # values was most of ANALYZE's time (0.35 of 0.45 s CPU after 100,000 tasks).
            columns = ", ".join(c.name for c in table.columns if not isinstance(c.type, (JSON, JSONB)))
            session.execute(text(f"ANALYZE {table.name} ({columns})"))


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


def prediction_ids_of(session: Session, task_ids: Sequence[int]) -> dict[int, list[int]]:
    """{task id: its predictions' ids in insertion order} (an import maps the file's prediction ids onto them)."""
    if not task_ids:
        return {}
    table = Prediction.__table__
    out: dict[int, list[int]] = {}
    for task_id, prediction_id in session.connection().execute(
        select(table.c.task_id, table.c.id).where(table.c.task_id.in_(sorted(set(task_ids)))).order_by(table.c.id)
    ):
        out.setdefault(task_id, []).append(prediction_id)
    return out


def insert_drafts(session: Session, rows: list[dict[str, Any]]) -> None:
    """Imported drafts (one per task and user: the caller keeps the newest)."""
    if rows:
        session.connection().execute(insert(Draft.__table__), rows)


def annotation_ids_by_import_id(session: Session, task_ids: set[int]) -> dict[tuple[int, int], int]:
    """{(task id, the annotation's id in its file): annotation id} for the tasks' imported annotations, so an
    imported draft can point at the annotation it edits."""
    if not task_ids:
        return {}
    table = Annotation.__table__
    rows = session.connection().execute(
        select(table.c.task_id, table.c.import_id, table.c.id)
        .where(table.c.task_id.in_(sorted(task_ids)), table.c.import_id.is_not(None))
    )
    return {(task_id, import_id): annotation_id for task_id, import_id, annotation_id in rows}


def insert_ground_truth(session: Session, results: dict[int, list[dict[str, Any]]], *, source: str) -> None:
    if results:
        now = utcnow()
        session.connection().execute(
            insert(GroundTruth.__table__),
            [{"task_id": t, "result": r, "source": source, "created_at": now} for t, r in results.items()],
        )


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO time from an imported file as a naive UTC datetime; None when it is not one, or is one outside the
    datetime range once converted to UTC (``9999-12-31T23:59:59-14:00``)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return parsed


def timestamps(annotation: dict[str, Any]) -> dict[str, dt.datetime]:
    """created_at/updated_at of an imported annotation, kept when they parse, else now."""
    now = utcnow()
    created = parse_time(annotation.get("created_at")) or now
    updated = parse_time(annotation.get("updated_at")) or created
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


def create_inactive_user(session: Session, *, username: str, email: str | None, display_name: str = "") -> int:
    """An account for an imported author: inactive and without a password until an admin enables it, named as
    the imported file names the author (Label Studio's ``first_name``/``last_name``), else after the user name."""
    user = User(username=username, email=email.strip().lower() if email else None, is_active=False,
                display_name=display_name or username, password_hash=None)
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


def completed_task_ids(session: Session, batch_id: int) -> list[int]:
    """Tasks of an import batch that arrived with all the annotations they need (state ``completed``), by id."""
    return list(session.scalars(select(Task.id).where(Task.import_batch_id == batch_id, Task.state == "completed")
                                .order_by(Task.id)))


def task_ids_of_batch(session: Session, batch_id: int) -> list[int]:
    """The ids of the tasks an import batch brought, in file order (the HTTP API's import answers them)."""
    return list(session.scalars(select(Task.id).where(Task.import_batch_id == batch_id).order_by(Task.id)))
