"""Two imports of the same file at once on PostgreSQL (two replicas syncing one bucket): the loser is refused
with a clear message and its transaction stays usable -- a cloud-storage sync goes on with its next file
instead of failing with "current transaction is aborted" (PendingRollbackError on the page)."""
from __future__ import annotations

import io
import json
import threading
from functools import partial

from sqlalchemy import func, select, text

from core.errors import ConflictError
from core.imports import import_tasks_file
from core.uow import UnitOfWork
from storage.db import make_engine, session_factory
from storage.models import Task
from tests.conftest import _truncate_postgres
from tests.core.helpers import make_project, make_user


def test_the_import_that_loses_the_race_is_refused_and_its_transaction_goes_on(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    make_uow = partial(UnitOfWork, session_factory(engine))
    try:
        admin = make_user(make_uow, "admin", admin=True)
        project = make_project(make_uow, admin)
        body = json.dumps([{"text": "same file"}]).encode()
        first = make_uow()
        first.__enter__()
        import_tasks_file(first, admin, project_id=project.id, stream=io.BytesIO(body), filename="a.json")
        outcome: dict[str, object] = {}

        def second_import() -> None:
            with make_uow() as uow:
                try:  # blocks on the first one's uncommitted batch row, then meets its unique key
                    import_tasks_file(uow, admin, project_id=project.id, stream=io.BytesIO(body), filename="b.json")
                except ConflictError as exc:
                    outcome["refused"] = str(exc)
                outcome["after"] = uow.session.execute(text("SELECT 1")).scalar()  # still usable
                uow.commit()

        racer = threading.Thread(target=second_import)
        racer.start()
        racer.join(1.0)
        assert racer.is_alive(), "the second import should wait for the first one's transaction"
        first.commit()
        first.__exit__(None, None, None)
        racer.join(30)
        assert "is being imported into" in str(outcome.get("refused")) and outcome.get("after") == 1, outcome
        with make_uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project.id)) == 1
    finally:
        engine.dispose()
        cleanup = make_engine(postgres_url)
        _truncate_postgres(cleanup)
        cleanup.dispose()
