"""Fair under concurrency: 20 annotators at once, 2,000 tasks, overlap 3, on SQLite and PostgreSQL.

Every task must end with exactly 3 annotations by 3 different people: none lost, none duplicated, and
no task left held by an expired lock. Some annotators walk away from a task mid-way (their lock
expires), so reclaiming is exercised too.
"""
from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

from sqlalchemy import func, select, update

from core.labeling import next_task, submit_annotation
from storage.models import Annotation, Task, TaskLock, utcnow
from tests.core.helpers import make_project, make_user

N_ANNOTATORS = 20
N_TASKS = 2000
OVERLAP = 3
RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Neutral"]}}]


def test_twenty_annotators_leave_every_task_with_exactly_three_distinct_annotations(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    people = [make_user(make_uow, f"ann{i:02d}") for i in range(N_ANNOTATORS)]
    project = make_project(make_uow, admin, overlap=OVERLAP, members={"annotator": people})
    with make_uow() as uow:  # bulk: the import path itself is tested elsewhere
        uow.session.execute(
            Task.__table__.insert(),
            [{"project_id": project.id, "data": {"text": f"t{i}"}, "overlap": OVERLAP, "state": "open",
              "n_annotations": 0, "n_locked": 0, "created_at": utcnow(), "updated_at": utcnow()} for i in range(N_TASKS)],
        )
        uow.commit()
    errors: list[BaseException] = []
    abandoned = [0]

    def now() -> dt.datetime:
        return utcnow()

    def walk_away(user, task_id: int) -> None:
        """The user closes the tab: their lock (only theirs) runs out as if its TTL had passed."""
        with make_uow() as uow:
            uow.session.execute(
                update(TaskLock)
                .where(TaskLock.task_id == task_id, TaskLock.user_id == user.id)
                .values(expires_at=utcnow() - dt.timedelta(seconds=1))
            )
            uow.commit()
        abandoned[0] += 1

    def work(user, seed: int) -> None:
        rng = random.Random(seed)
        try:
            while True:
                with make_uow() as uow:
                    task = next_task(uow, user, project_id=project.id, now=now())
                    uow.commit()
                if task is None:
                    return
                if rng.random() < 0.01:
                    walk_away(user, task.task_id)
                    continue
                with make_uow() as uow:
                    submit_annotation(uow, user, task_id=task.task_id, result=RESULT, now=now())
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(user, i)) for i, user in enumerate(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:3]
    with make_uow() as uow:
        per_task = Counter(
            dict(
                uow.session.execute(
                    select(Annotation.task_id, func.count(func.distinct(Annotation.completed_by_id)))
                    .where(Annotation.was_cancelled.is_(False))
                    .group_by(Annotation.task_id)
                ).all()
            )
        )
        total = uow.session.scalar(select(func.count()).select_from(Annotation))
        states = Counter(uow.session.scalars(select(Task.state)))
        live_locks = uow.session.scalar(select(func.count()).select_from(TaskLock).where(TaskLock.expires_at > now()))
    assert len(per_task) == N_TASKS
    assert set(per_task.values()) == {OVERLAP}  # 3 different people on every task
    assert total == N_TASKS * OVERLAP  # and no duplicates
    assert "open" not in states and sum(states.values()) == N_TASKS  # all finished (done once they agree)
    assert live_locks == 0
    assert abandoned[0] > 0  # expired locks were reclaimed and their tasks still completed
