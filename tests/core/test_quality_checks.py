"""Honeypots and self-consistency repeats in the hand-out; recomputing a scored task after an edit."""
from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from core.labeling import next_task, skip_task, submit_annotation
from core.quality_checks import REPEAT_GAP, repeat_probability
from storage.models import (
    LOCK_HONEYPOT,
    TASK_DONE,
    TASK_OPEN,
    TASK_REVIEW,
    Annotation,
    Consensus,
    Project,
    SelfCheck,
    Task,
    TaskLock,
    utcnow,
)
from storage.repositories import quality as quality_repo
from tests.core.helpers import import_json, make_project, make_user


def answer(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def set_project(make_uow, project_id: int, **values) -> None:
    with make_uow() as uow:
        project = uow.session.get(Project, project_id)
        for key, value in values.items():
            setattr(project, key, value)
        uow.commit()


def next_id(make_uow, user, project_id, rng):
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id, rng=rng)
        uow.commit()
    return task


def submit(make_uow, user, task_id, label="Positive", rng=None):
    with make_uow() as uow:
        out = submit_annotation(uow, user, task_id=task_id, result=answer(label), rng=rng)
        uow.commit()
    return out


@pytest.fixture
def project_with_gold(make_uow):
    """20 ordinary tasks and 5 ground-truth tasks (the honeypot pool), one annotator."""
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"text": f"task {i}"} for i in range(20)])
    gold = import_json(make_uow, admin, project.id, [{"text": f"gold {i}"} for i in range(5)], filename="gold.json")
    with make_uow() as uow:
        gold_ids = list(uow.session.scalars(select(Task.id).where(Task.import_batch_id == gold.batch_id)))
        for task_id in gold_ids:
            quality_repo.save_ground_truth(
                uow.session, task_id, result=answer("Positive"), source="import", created_by_id=None,
                now=utcnow(),
            )
        # Ground-truth tasks are settled already: only the honeypot path hands them out.
        for task_id in gold_ids:
            uow.session.get(Task, task_id).state = TASK_DONE
        uow.commit()
    return admin, ann, project, set(gold_ids)


def test_honeypots_come_at_the_projects_rate_and_never_twice(make_uow, project_with_gold):
    _, ann, project, gold_ids = project_with_gold
    set_project(make_uow, project.id, honeypot_rate=0.25)
    rng = random.Random(7)
    seen: list[int] = []
    while (task := next_id(make_uow, ann, project.id, rng)) is not None:
        seen.append(task.task_id)
        assert task.annotation_id is None and task.result == []  # nothing tells a honeypot apart
        submit(make_uow, ann, task.task_id)
    honeypots = [t for t in seen if t in gold_ids]
    assert len(seen) == len(set(seen))  # never the same task twice
    assert 2 <= len(honeypots) <= 5  # about a quarter of 20-25 hand-outs, at most the pool
    with make_uow() as uow:
        # Honeypot answers are ordinary annotations (scored against the ground truth by analytics) ...
        assert uow.session.scalar(
            select(func.count()).where(Annotation.task_id.in_(gold_ids), Annotation.completed_by_id == ann.id)
        ) == len(honeypots)
        # ... and never took or left a slot of the task's overlap.
        assert all(uow.session.get(Task, t).n_locked == 0 for t in gold_ids)
        assert uow.session.scalar(select(func.count()).select_from(TaskLock)) == 0


def test_no_honeypot_once_the_real_work_is_done(make_uow, project_with_gold):
    _, ann, project, gold_ids = project_with_gold
    set_project(make_uow, project.id, honeypot_rate=1.0)
    with make_uow() as uow:
        for task in uow.session.scalars(select(Task).where(Task.project_id == project.id, Task.state == TASK_OPEN)):
            task.state = TASK_DONE
        uow.commit()
    assert next_id(make_uow, ann, project.id, random.Random(1)) is None


def test_an_expired_honeypot_lock_gives_back_no_slot(make_uow, project_with_gold):
    from core.labeling import _last_reclaim
    import datetime as dt

    _, ann, project, gold_ids = project_with_gold
    set_project(make_uow, project.id, honeypot_rate=1.0)
    task = next_id(make_uow, ann, project.id, random.Random(3))
    assert task.task_id in gold_ids
    with make_uow() as uow:
        assert uow.session.scalar(select(TaskLock.kind)) == LOCK_HONEYPOT
    _last_reclaim.clear()
    later = task.lock_expires_at + dt.timedelta(seconds=1)
    with make_uow() as uow:
        next_task(uow, ann, project_id=project.id, now=later, rng=random.Random(4))
        uow.commit()
    with make_uow() as uow:
        assert uow.session.get(Task, task.task_id).n_locked == 0  # the CHECK would fail on -1 anyway


def test_repeat_probability_gives_the_asked_share_of_hand_outs():
    for rate in (0.05, 0.1, 0.3):
        p = repeat_probability(rate)
        assert p / (1 + p) == pytest.approx(rate)
    assert repeat_probability(0.9) == 1.0 and repeat_probability(0) == 0


def test_repeats_come_back_unmarked_after_the_gap_and_measure_self_agreement(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, members={"annotator": [ann]})
    n_tasks = REPEAT_GAP[1] + 20
    import_json(make_uow, admin, project.id, [{"text": f"task {i}"} for i in range(n_tasks)])
    set_project(make_uow, project.id, repeat_rate=0.2)
    rng = random.Random(11)
    first_answer: dict[int, str] = {}
    repeats: list[int] = []
    n_done = 0
    while (task := next_id(make_uow, ann, project.id, rng)) is not None:
        assert task.annotation_id is None and task.result == []
        if task.task_id in first_answer:
            repeats.append(task.task_id)
            with make_uow() as uow:
                check = uow.session.scalar(select(SelfCheck).where(SelfCheck.task_id == task.task_id))
                assert n_done >= check.due_after >= REPEAT_GAP[0]
            label = first_answer[task.task_id] if len(repeats) % 2 else "Neutral"  # every second one changes
            out = submit(make_uow, ann, task.task_id, label, rng=rng)
            assert out.created
            submit(make_uow, ann, task.task_id, label, rng=rng)  # a double press stores nothing more
        else:
            label = "Positive" if task.task_id % 2 else "Negative"
            first_answer[task.task_id] = label
            submit(make_uow, ann, task.task_id, label, rng=rng)
            n_done += 1
    assert repeats, "a 20% repeat rate over 60 tasks must bring some repeats due"
    with make_uow() as uow:
        answered = list(uow.session.scalars(select(SelfCheck).where(SelfCheck.answered_at.is_not(None))))
        assert sorted(c.task_id for c in answered) == sorted(repeats)
        assert [c.agreement for c in sorted(answered, key=lambda c: c.answered_at)] == [
            1.0 if i % 2 == 0 else 0.0 for i in range(len(answered))
        ]
        # The original annotations are untouched by the repeats and their double presses.
        for task_id, label in first_answer.items():
            result = uow.session.scalar(select(Annotation.result).where(Annotation.task_id == task_id))
            assert result == answer(label)
        assert uow.session.scalar(select(func.count()).select_from(Annotation)) == n_tasks


def test_a_skipped_repeat_is_recorded_without_an_answer(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"text": f"task {i}"} for i in range(REPEAT_GAP[1] + 5)])
    set_project(make_uow, project.id, repeat_rate=0.5)  # every submission schedules one
    rng = random.Random(5)
    done: set[int] = set()
    while (task := next_id(make_uow, ann, project.id, rng)) is not None:
        if task.task_id in done:
            with make_uow() as uow:
                skip_task(uow, ann, task_id=task.task_id, reason="unsure")
                uow.commit()
            break
        submit(make_uow, ann, task.task_id, rng=rng)
        done.add(task.task_id)
    with make_uow() as uow:
        check = uow.session.scalar(select(SelfCheck).where(SelfCheck.answered_at.is_not(None)))
        assert check is not None and check.result is None and check.agreement is None
        # the original stays a submitted annotation, not a skip
        assert not uow.session.scalar(select(Annotation.was_cancelled).where(Annotation.task_id == check.task_id))


def test_editing_an_annotation_of_a_settled_task_recomputes_it(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    a, b = make_user(make_uow, "ann_a"), make_user(make_uow, "ann_b")
    project = make_project(make_uow, admin, overlap=2, members={"annotator": [a, b]})
    import_json(make_uow, admin, project.id, [{"text": "one"}])
    rng = random.Random(2)
    for user in (a, b):
        task = next_id(make_uow, user, project.id, rng)
        submit(make_uow, user, task.task_id, "Positive")
    with make_uow() as uow:
        assert uow.session.get(Task, task.task_id).state == TASK_DONE
        assert uow.session.get(Consensus, task.task_id).agreement == 1.0
    submit(make_uow, b, task.task_id, "Negative")  # b changes their mind: the two now disagree
    with make_uow() as uow:
        assert uow.session.get(Consensus, task.task_id).agreement == 0.0
        assert uow.session.get(Task, task.task_id).state == TASK_REVIEW  # no third annotator to ask
    submit(make_uow, b, task.task_id, "Positive")  # and back: settled again
    with make_uow() as uow:
        assert uow.session.get(Consensus, task.task_id).agreement == 1.0
        assert uow.session.get(Task, task.task_id).state == TASK_DONE
