"""The unit of work: one database session per operation, rolled back unless committed.

Services take a ``UnitOfWork`` first and never build one themselves, so a page, the CLI, a test or a
benchmark decides where the data lives (cosmicpython's pattern, SQLAlchemy 2 style).
"""
from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from storage.db import SQLITE_IMMEDIATE, FifoWriteLock, sqlite_write_lock


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
