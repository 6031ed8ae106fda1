"""PostgreSQL restarted, or away for a few seconds, while people label (issue 11).

The machine's server is shared, so it is never really restarted: a restart, as the app sees it, is every
backend of the test's database terminated at once (``Outage.restart``); "down" is the database refusing new
connections (``ALLOW_CONNECTIONS false``) with its backends terminated (``Outage.down``).
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from core.errors import DatabaseUnavailableError
from core.labeling import REPLACE_ONLY, next_task, save_draft_part, submit_annotation
from core.uow import UnitOfWork, UowFactory, connection_lost, run_in_uow
from storage.db import make_engine, session_factory
from storage.models import Annotation, Draft
from tests.conftest import DEFAULT_POSTGRES_URL, _truncate_postgres
from tests.core.helpers import import_json, make_project, make_user

CHOICE = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Negative"]}}


class Outage:
    """Restarts and outages of one database, from a separate admin connection (never the server itself)."""

    def __init__(self, url: str) -> None:
        self.name = make_url(url).database
        admin_url = os.environ.get("QUORUM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def terminate_backends(self) -> int:
        with self._admin.connect() as conn:
            return len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            ), {"name": self.name}).all())

    def restart(self) -> None:
        """What a server restart looks like to the app: every connection it holds is dead."""
        self.terminate_backends()

    def allow_connections(self, allow: bool) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {"true" if allow else "false"}'))

    @contextmanager
    def down(self) -> Iterator[None]:
        """The database is away: its connections are cut and new ones refused until the block ends."""
        self.allow_connections(False)
        try:
            self.terminate_backends()
            yield
        finally:
            self.allow_connections(True)

    def down_for(self, seconds: float) -> threading.Thread:
        """Away for ``seconds`` from now, back by itself afterwards (a restart that takes a while)."""
        self.allow_connections(False)
        self.terminate_backends()

        def back() -> None:
            time.sleep(seconds)
            self.allow_connections(True)

        thread = threading.Thread(target=back, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.allow_connections(True)
        self._admin.dispose()


@dataclass
class Labeling:
    make_uow: UowFactory
    outage: Outage
    user: object
    project_id: int
    engine: object


@pytest.fixture
def pg_labeling(postgres_url: str) -> Iterator[Labeling]:
    """A project with tasks and an annotator on the session's PostgreSQL database, and its outage switch."""
    engine = make_engine(postgres_url)
    outage = Outage(postgres_url)
    make_uow = partial(UnitOfWork, session_factory(engine))
    try:
        admin = make_user(make_uow, "admin", admin=True)
        ann = make_user(make_uow, "ann")
        project = make_project(make_uow, admin, members={"annotator": [ann]})
        import_json(make_uow, admin, project.id, [{"text": f"review {i}"} for i in range(5)])
        yield Labeling(make_uow, outage, ann, project.id, engine)
    finally:
        outage.close()
        engine.dispose()
        cleanup = make_engine(postgres_url)
        _truncate_postgres(cleanup)
        cleanup.dispose()


def _count_annotations(make_uow: UowFactory, task_id: int) -> int:
    with make_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Annotation).where(Annotation.task_id == task_id))


def _no_sleep(_seconds: float) -> None:
    raise AssertionError("the pre-ping should have replaced the dead connection: no retry expected")


def _next(lab: Labeling, **kwargs):  # type: ignore[no-untyped-def]
    def work(uow: UnitOfWork):  # type: ignore[no-untyped-def]
        task = next_task(uow, lab.user, project_id=lab.project_id)
        uow.commit()
        return task
    return run_in_uow(lab.make_uow, work, **kwargs)


def _draft(lab: Labeling, task_id: int, **kwargs) -> None:  # type: ignore[no-untyped-def]
    def work(uow: UnitOfWork) -> None:
        save_draft_part(uow, lab.user, task_id=task_id, names=frozenset({"sentiment"}), items=[CHOICE], mode=REPLACE_ONLY)
        uow.commit()
    run_in_uow(lab.make_uow, work, **kwargs)


def _submit(lab: Labeling, task_id: int, **kwargs):  # type: ignore[no-untyped-def]
    def work(uow: UnitOfWork):  # type: ignore[no-untyped-def]
        stored = submit_annotation(uow, lab.user, task_id=task_id, result=[CHOICE], lead_time_s=2.0)
        uow.commit()
        return stored
    return run_in_uow(lab.make_uow, work, **kwargs)


def test_next_task_draft_and_submit_go_on_after_a_restart_without_an_error(pg_labeling):
    lab = pg_labeling
    lab.outage.restart()
    task = _next(lab, sleep=_no_sleep)
    assert task is not None
    assert lab.outage.terminate_backends() >= 1  # the pool held a connection: it is now dead
    _draft(lab, task.task_id, sleep=_no_sleep)
    lab.outage.restart()
    stored = _submit(lab, task.task_id, sleep=_no_sleep)
    assert stored.created
    lab.outage.restart()
    with lab.make_uow() as uow:  # a plain unit of work too: the engine's pre-ping did it, not the retry
        assert uow.session.scalar(select(func.count()).select_from(Draft)) == 0
    assert _count_annotations(lab.make_uow, task.task_id) == 1


def test_without_pre_ping_the_retry_runs_the_work_again_on_a_fresh_connection(pg_labeling, postgres_url):
    lab = pg_labeling
    bare = create_engine(postgres_url, pool_pre_ping=False)
    try:
        make_uow = partial(UnitOfWork, session_factory(bare))
        with make_uow() as uow:
            uow.session.execute(text("SELECT 1"))  # one pooled connection ...
        lab.outage.restart()  # ... killed
        waits: list[float] = []
        task = run_in_uow(make_uow, lambda uow: (next_task(uow, lab.user, project_id=lab.project_id), uow.commit())[0],
                          sleep=waits.append)
        assert task is not None and waits == [0.2]  # failed once on the dead connection, then went through
    finally:
        bare.dispose()


def test_a_submit_during_a_short_outage_is_stored_once_it_is_over(pg_labeling):
    lab = pg_labeling
    task = _next(lab)
    back = lab.outage.down_for(2.0)
    start = time.monotonic()
    stored = _submit(lab, task.task_id)  # retried inside the window (~3.7 s) until the database is back
    back.join()
    assert stored.created and time.monotonic() - start >= 1.5
    again = _submit(lab, task.task_id)  # the labeler pressed twice
    assert not again.created and again.annotation_id == stored.annotation_id
    assert _count_annotations(lab.make_uow, task.task_id) == 1


def test_a_submit_while_the_database_stays_down_fails_with_a_clear_error_then_the_second_press_stores_it(pg_labeling):
    lab = pg_labeling
    task = _next(lab)
    with lab.outage.down():
        with pytest.raises(DatabaseUnavailableError, match="database did not answer") as caught:
            _submit(lab, task.task_id, backoff=(0.1, 0.2))
        assert not isinstance(caught.value, DBAPIError) and connection_lost(caught.value.__cause__)
        with pytest.raises(DatabaseUnavailableError):
            _draft(lab, task.task_id, backoff=(0.1,))
    assert _count_annotations(lab.make_uow, task.task_id) == 0
    stored = _submit(lab, task.task_id, sleep=_no_sleep)  # the second press, the database back
    assert stored.created
    assert _count_annotations(lab.make_uow, task.task_id) == 1


def test_a_connection_lost_at_commit_runs_the_submit_again_and_still_stores_one_annotation(pg_labeling):
    """The worst case of a retry: the commit went through, but the answer to it was lost with the connection."""
    lab = pg_labeling
    task = _next(lab)
    calls = []

    def work(uow: UnitOfWork):  # type: ignore[no-untyped-def]
        stored = submit_annotation(uow, lab.user, task_id=task.task_id, result=[CHOICE], lead_time_s=2.0)
        uow.commit()
        calls.append(stored)
        if len(calls) == 1:  # stored, but the connection died before the answer to COMMIT arrived
            raise OperationalError("COMMIT", {}, psycopg.OperationalError("server closed the connection unexpectedly"),
                                   connection_invalidated=True)
        return stored

    stored = run_in_uow(lab.make_uow, work, sleep=lambda _s: None)
    assert len(calls) == 2 and calls[0].created and not stored.created
    assert stored.annotation_id == calls[0].annotation_id
    assert _count_annotations(lab.make_uow, task.task_id) == 1


def test_errors_of_the_work_itself_are_not_retried(sqlite_uow):
    def clash(_uow: UnitOfWork) -> None:
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    with pytest.raises(IntegrityError):
        run_in_uow(sqlite_uow, clash, sleep=_no_sleep)
    assert not connection_lost(ValueError("no database error"))
