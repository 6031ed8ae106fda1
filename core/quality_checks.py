"""Honeypots and self-consistency repeats: the two ways the hand-out measures annotators without gold
on every task.

* **Honeypots.** Ground-truth tasks (reviewer resolutions, imported gold) are mixed into each annotator's
  queue at the project's ``honeypot_rate``: at each hand-out, with that probability, the annotator gets a
  ground-truth task they have not done yet. Nothing marks it; their answer is an ordinary annotation that
  analytics compares with the ground truth.
* **Self-consistency.** With the project's ``repeat_rate``, a submitted annotation schedules a repeat of the
  same task for the same person, due only after they have submitted REPEAT_GAP more annotations in the
  project (so they no longer remember their answer). The repeat is handed out unmarked, like any task; its
  answer is stored in ``self_checks`` beside the original, with the agreement of the two, and never as a
  second annotation (it would count twice in consensus).

Neither takes a slot of the task's overlap: their locks have their own kind (storage.models.LOCK_*).
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

from core.quality import compute_consensus, project_config
from core.uow import UnitOfWork
from storage.models import LOCK_HONEYPOT, LOCK_REPEAT, Annotation, Project, SelfCheck, Task
from storage.repositories import quality_checks as checks_repo

# A repeat comes due after this many (uniformly drawn) other submissions: far enough that the annotator
# does not remember the item, near enough that a project of a few hundred tasks still measures everyone.
REPEAT_GAP = (20, 40)
MAX_REPEAT_RATE = 0.5  # a higher share would make most work repeats


def repeat_probability(repeat_rate: float) -> float:
    """The chance that one submission schedules a repeat, so that repeats make up ``repeat_rate`` of all
    hand-outs: with p per submission the share is p / (1 + p), hence p = r / (1 - r)."""
    rate = min(max(repeat_rate, 0.0), MAX_REPEAT_RATE)
    return 1.0 if rate >= MAX_REPEAT_RATE else rate / (1.0 - rate)


def hand_out_repeat(
    uow: UnitOfWork, project: Project, user_id: int, *, expires_at: dt.datetime, now: dt.datetime
) -> int | None:
    """Lock the user's first due repeat, if any; its task id. Looked at only while repeats are pending."""
    session = uow.session
    pending = checks_repo.next_pending_repeat(session, project.id, user_id)
    if pending is None or checks_repo.n_submitted(session, project.id, user_id) < pending.due_after:
        return None
    if not checks_repo.add_lock(
        session, project_id=project.id, task_id=pending.task_id, user_id=user_id, kind=LOCK_REPEAT,
        expires_at=expires_at, now=now,
    ):
        return None
    return pending.task_id


def hand_out_honeypot(
    uow: UnitOfWork, project: Project, user_id: int, *, expires_at: dt.datetime, now: dt.datetime, rng: random.Random
) -> int | None:
    """With the project's honeypot rate, lock a ground-truth task the user has not seen; its task id."""
    if project.honeypot_rate <= 0 or rng.random() >= project.honeypot_rate:
        return None
    session = uow.session
    bounds = checks_repo.honeypot_pool_bounds(session, project.id)
    if bounds is None:
        return None
    task_id = checks_repo.honeypot_candidate(session, project_id=project.id, user_id=user_id, pivot_id=rng.randint(*bounds))
    if task_id is None or not checks_repo.add_lock(
        session, project_id=project.id, task_id=task_id, user_id=user_id, kind=LOCK_HONEYPOT,
        expires_at=expires_at, now=now,
    ):
        return None
    return task_id


def maybe_schedule_repeat(
    uow: UnitOfWork, project: Project, *, task_id: int, user_id: int, annotation_id: int, now: dt.datetime,
    rng: random.Random,
) -> bool:
    """After a new submission: with the project's repeat probability, schedule its repeat."""
    if project.repeat_rate <= 0 or rng.random() >= repeat_probability(project.repeat_rate):
        return False
    done = checks_repo.n_submitted(uow.session, project.id, user_id)
    checks_repo.schedule_repeat(
        uow.session, project_id=project.id, task_id=task_id, user_id=user_id, annotation_id=annotation_id,
        due_after=done + rng.randint(*REPEAT_GAP), now=now,
    )
    return True


def answer_repeat(
    uow: UnitOfWork,
    project: Project,
    check: SelfCheck,
    *,
    result: list[dict[str, Any]] | None,
    lead_time_s: float | None,
    now: dt.datetime,
) -> float | None:
    """Store the repeat's answer and its agreement with the original annotation (None when skipped or
    when the two cannot be scored); returns the agreement."""
    agreement = None
    if result is not None:
        original = uow.session.get(Annotation, check.annotation_id)
        task = uow.session.get(Task, check.task_id)
        if original is not None and task is not None:
            agreement = compute_consensus(project_config(project.config_xml), task.data, [original.result, result]).agreement
    checks_repo.answer_repeat(uow.session, check.id, result=result, agreement=agreement, lead_time_s=lead_time_s, now=now)
    return agreement
