"""Engine and session factory, and bringing the schema to Alembic's head.

One engine per process and database URL. SQLite gets WAL, foreign keys and a busy timeout so that the
Streamlit server (several sessions in threads) and a CLI import can work on the same file.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


SQLITE_IMMEDIATE = "quorum_sqlite_immediate"


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def json_loads(text: str | bytes) -> Any:
    """Decode a stored JSON value: orjson (3-5x faster than the standard library; exports and analytics read
    hundreds of thousands of results), falling back to ``json.loads`` for what orjson refuses but Python's
    ``json.dumps`` may have written (NaN, Infinity)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by the owner only (0700): the data folder holds the
    database, uploads and the secret key. A folder that exists already keeps the rights it was given."""
    if path.is_dir():
        return
    if not path.parent.exists():
        make_private_dir(path.parent)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:  # made meanwhile by another process
        return
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask; this is the rights we mean


def create_private_file(path: Path) -> None:
    """Create an empty file readable by the owner only (0600) unless it exists: SQLite then opens it, and
    gives its -wal and -shm files the same rights."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; SQLite files get their folder and file created (owner only) and the
    pragmas above."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            make_private_dir(Path(path).parent)
            create_private_file(Path(path))
        # Threads of one Streamlit server share the engine; writers queue on the SQLite lock, so the pool
        # must not be what runs out first.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20, max_overflow=40, pool_timeout=120,
            json_deserializer=json_loads,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that a write
        # transaction can take the write lock at its start (BEGIN IMMEDIATE, asked for with the
        # execution option below). A deferred transaction that reads and then writes can fail with
        # "database is locked" at once, busy timeout or not, when another writer got in between.
        event.listen(engine, "connect", lambda conn, _r: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # Pre-ping: after a PostgreSQL restart every pooled connection is dead; the ping (one short round trip
    # per checkout, ~0.1 ms on a local server) replaces it before the unit of work uses it, so nobody sees an
    # error. core.uow.run_in_uow retries the work when the server is away for a few seconds. A connection
    # attempt gives up after QUORUM_PG_CONNECT_TIMEOUT_S unless the URL sets connect_timeout: an unreachable
    # host must not hold a page for the kernel's two-minute TCP timeout.
    connect_args: dict[str, Any] = {}
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = int(os.environ.get("QUORUM_PG_CONNECT_TIMEOUT_S", "10"))
    return create_engine(url, pool_pre_ping=True, pool_recycle=1800, pool_size=10, max_overflow=20,
                         json_deserializer=json_loads, connect_args=connect_args)


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (created and migrated to head on first use)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            upgrade_to_head(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests switch databases)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    """Run every pending Alembic revision; the app and the CLI call this on start. A database with data that
    is behind the code's head is backed up first (storage.backup), so a migration gone wrong can be undone
    by ``python cli.py restore`` with the code of that revision; a failed backup stops the migration."""
    from storage.backup import backup_before_migration  # late import: storage.backup imports storage.db

    saved = backup_before_migration(engine)  # None unless behind head with data
    if saved is not None:
        logging.getLogger(__name__).warning("schema behind the code's head: backed up to %s before migrating", saved)
    command.upgrade(alembic_config(engine), "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class FifoWriteLock:
    """A first-come-first-served, re-entrant lock for SQLite writers of one process.

    SQLite lets one writer in at a time and makes the others poll (busy timeout); with many threads of a
    Streamlit server polling, an unlucky one can starve past any timeout ("database is locked"). Queuing
    the writers of this process in arrival order first makes each wait bounded by the work ahead of it.
    Other processes (a CLI import) still meet the busy timeout.
    """

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._owner: int | None = None
        self._depth = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._cv:
            if self._owner == me:
                self._depth += 1
                return
            ticket = self._next_ticket
            self._next_ticket += 1
            while ticket != self._serving:
                self._cv.wait()
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._cv:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a write lock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._serving += 1
                self._cv.notify_all()


_write_locks: dict[int, FifoWriteLock] = {}


def sqlite_write_lock(engine: Engine) -> FifoWriteLock:
    """The process-wide writer queue of a SQLite engine."""
    with _lock:
        return _write_locks.setdefault(id(engine), FifoWriteLock())


def create_scratch_database(admin_url: str, prefix: str) -> tuple[str, str]:
    """A new, empty PostgreSQL database next to ``admin_url``'s (tests and benchmarks): (its URL, its name)."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def drop_scratch_database(admin_url: str, name: str) -> None:
    from sqlalchemy import text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def ping(session: Session) -> None:
    """One ``SELECT 1``: raises the driver's error when the database does not answer."""
    session.execute(text("SELECT 1"))
