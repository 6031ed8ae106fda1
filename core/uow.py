"""The unit of work: one database session per operation, rolled back unless committed.

Services take a ``UnitOfWork`` first and never build one themselves, so a page, the CLI, a test or a
benchmark decides where the data lives (cosmicpython's pattern, SQLAlchemy 2 style).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DatabaseUnavailableError
from storage.db import SQLITE_IMMEDIATE, FifoWriteLock, ping, sqlite_write_lock

T = TypeVar("T")
_log = logging.getLogger(__name__)


class UnitOfWork:
    """``with uow:`` opens a session; leaving the block without ``uow.commit()`` rolls it back."""

    def __init__(self, make_session: sessionmaker[Session]) -> None:
        self._make_session = make_session
        self._session: Session | None = None
        self._write_lock: FifoWriteLock | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._session

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql': hand-out and bulk paths choose their SQL by it."""
        return self.session.get_bind().dialect.name

    def __enter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("unit of work is already open")
        self._session = self._make_session()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            self._session.rollback()
        finally:
            self._session.close()
            self._session = None
            self._release_write_lock()

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            lock, self._write_lock = self._write_lock, None
            lock.release()

    def begin_write(self) -> None:
        """Declare a read-then-write transaction before its first statement.

        On SQLite this queues the writer behind this process's other writers (FIFO, so none starves) and
        starts the transaction with BEGIN IMMEDIATE (the write lock is taken up front; other processes
        wait on the busy timeout); PostgreSQL needs nothing, its hand-out uses
        row locks. It only takes effect as the first thing done in this unit of work; a caller that has
        queried already keeps its (deferred) transaction, which SQLite upgrades on the first write.
        """
        if self.session.in_transaction():
            return
        bind = self.session.get_bind()
        if bind.dialect.name == "sqlite" and self._write_lock is None:
            self._write_lock = sqlite_write_lock(bind.engine)  # queue this process's writers fairly
            self._write_lock.acquire()
        self.session.connection(execution_options={SQLITE_IMMEDIATE: True})

    def commit(self) -> None:
        try:
            self.session.commit()
        finally:
            self._release_write_lock()

    def rollback(self) -> None:
        try:
            self.session.rollback()
        finally:
            self._release_write_lock()


UowFactory = Callable[[], UnitOfWork]


# Waits between attempts: 5 attempts over ~3.7 s ride out a PostgreSQL restart (a few seconds) while a page waits.
RETRY_BACKOFF_S: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
# For callers that are retried anyway (the browser's draft calls, a page's draft save): give up sooner.
SHORT_BACKOFF_S: tuple[float, ...] = (0.2, 0.5)
# SQLSTATEs of a server going away or not ready yet: class 08 (connection exception), admin/crash shutdown,
# "the database system is starting up".
_LOST_SQLSTATES = ("57P01", "57P02", "57P03")


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the database connection dropped or could not be made (a restart, an outage),
    as opposed to an error of the statement itself: only the former is worth running the work again."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if not any(cls.__name__ in ("OperationalError", "InterfaceError") and (cls.__module__ or "").startswith("psycopg")
               for cls in type(orig).__mro__):
        return False  # e.g. SQLite's "database is locked" (busy timeout): not a lost connection
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)  # psycopg 3, psycopg2
    return state is None or state.startswith("08") or state in _LOST_SQLSTATES  # None: could not connect


def run_in_uow(
    make_uow: UowFactory,
    work: Callable[[UnitOfWork], T],
    *,
    backoff: Sequence[float] = RETRY_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``work(uow)`` in a fresh unit of work (``work`` commits, as callers of services do), run again after
    ``backoff[i]`` seconds when the database connection was lost; ``DatabaseUnavailableError`` once the
    attempts are spent. Errors of the work itself (QuorumError, a constraint ...) pass through at once.

    Only for work that is safe to run twice: a lost connection during COMMIT leaves unknown whether it was
    stored (submit_annotation, skip_task, save_draft_part and next_task are idempotent per task and user).
    Stale pooled connections after a restart are replaced by the engine's pre-ping before this is needed.
    """
    for attempt in range(len(backoff) + 1):
        try:
            with make_uow() as uow:
                return work(uow)
        except DBAPIError as exc:
            if not connection_lost(exc):
                raise
            if attempt == len(backoff):
                _log.warning("database unavailable after %d attempts: %s", attempt + 1, exc.orig)
                raise DatabaseUnavailableError() from exc
            _log.info("database connection lost (%s); retrying in %.1f s", exc.orig, backoff[attempt])
            sleep(backoff[attempt])
    raise AssertionError("unreachable")


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (a lost or refused connection, or
    :func:`run_in_uow`'s spent retries), as opposed to an error of the work itself: the app shows a
    "database unavailable, retrying" page for these instead of a generic error."""
    if isinstance(exc, DatabaseUnavailableError):
        return True
    return isinstance(exc, DBAPIError) and connection_lost(exc)


def database_reachable(make_uow: UowFactory) -> bool:
    """One ``SELECT 1``: whether the database answers now (the outage page polls it to come back)."""
    try:
        with make_uow() as uow:
            ping(uow.session)
        return True
    except DBAPIError:
        return False
