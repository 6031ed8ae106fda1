"""Queries of the actions a manager takes on one annotator of a project (core.annotator_actions): their pause
and consensus weight on the membership row, and the discarding of their annotations from a date range.

The pause is read by the hand-out together with the roles every core action reads anyway
(:func:`project_with_roles_and_pause`), so the labeling loop pays no extra round trip for it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, case, delete, exists, select, update
from sqlalchemy.orm import Session

from storage.models import (
    ROLE_ANNOTATOR,
    TASK_OPEN,
    Annotation,
    Consensus,
    GroundTruth,
    Membership,
    Project,
    Review,
    Task,
)
from storage.repositories.quality import VERDICT_ACCEPTED, VERDICT_FIXED, not_counted

CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


def project_with_roles_and_pause(
    session: Session, project_id: int, user_id: int
) -> tuple[Project | None, set[str], dt.datetime | None]:
    """The project, the user's roles in it and when their annotator role was paused (None: not paused), in
    one round trip: :func:`storage.repositories.projects.project_with_roles` plus the pause column."""
    rows = session.execute(
        select(Project, Membership.role, Membership.paused_at)
        .outerjoin(Membership, (Membership.project_id == Project.id) & (Membership.user_id == user_id))
        .where(Project.id == project_id)
    ).all()
    if not rows:
        return None, set(), None
    paused = next((paused_at for _, role, paused_at in rows if role == ROLE_ANNOTATOR), None)
    return rows[0][0], {role for _, role, _ in rows if role is not None}, paused


def annotator_memberships(session: Session, project_id: int) -> list[Row[Any]]:
    """(user_id, paused_at, consensus_weight) of every annotator of the project."""
    return list(session.execute(
        select(Membership.user_id, Membership.paused_at, Membership.consensus_weight)
        .where(Membership.project_id == project_id, Membership.role == ROLE_ANNOTATOR)
        .order_by(Membership.user_id)
    ).all())


def annotations_in_range(
    session: Session, project_id: int, user_id: int, start: dt.datetime, end: dt.datetime
) -> list[Row[Any]]:
    """(id, task_id, was_cancelled, counted, ground_truth) of the user's annotations and skips in the project
    made (``created_at``) in ``[start, end)``, by id; ``counted``: a submitted annotation that counts
    (:func:`storage.repositories.quality.not_counted`), i.e. one the task's counter and consensus hold."""
    counted = case((Annotation.was_cancelled.is_(True), False), (not_counted(), False), else_=True)
    return list(session.execute(
        select(Annotation.id, Annotation.task_id, Annotation.was_cancelled, counted.label("counted"),
               Annotation.ground_truth)
        .where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id,
               Annotation.created_at >= start, Annotation.created_at < end)
        .order_by(Annotation.id)
    ).all())


def annotation_row(session: Session, annotation_id: int) -> Row[Any] | None:
    """(id, task_id, was_cancelled, counted, ground_truth, project_id, completed_by_id) of one annotation, as
    :func:`annotations_in_range` reads them (None: no such annotation)."""
    counted = case((Annotation.was_cancelled.is_(True), False), (not_counted(), False), else_=True)
    return session.execute(
        select(Annotation.id, Annotation.task_id, Annotation.was_cancelled, counted.label("counted"),
               Annotation.ground_truth, Annotation.project_id, Annotation.completed_by_id)
        .where(Annotation.id == annotation_id)
    ).first()


def ground_truth_made_from(session: Session, annotations: Sequence[Row[Any]]) -> list[int]:
    """Tasks whose ground truth came from one of ``annotations`` (rows of :func:`annotations_in_range`): a
    reviewer accepted or fixed that annotation, or it was imported as the task's gold. Read before the
    annotations go (their reviews go with them)."""
    ids = [row.id for row in annotations if not row.was_cancelled]
    found = {row.task_id for row in annotations if row.ground_truth and not row.was_cancelled}
    for chunk in _chunks(ids):
        found.update(session.scalars(
            select(Review.task_id)
            .where(Review.annotation_id.in_(chunk), Review.verdict.in_((VERDICT_ACCEPTED, VERDICT_FIXED)))
            .distinct()
        ))
    if not found:
        return []
    has_truth: set[int] = set()
    for chunk in _chunks(sorted(found)):
        has_truth.update(session.scalars(select(GroundTruth.task_id).where(GroundTruth.task_id.in_(chunk))))
    return sorted(has_truth)


def delete_annotations(session: Session, ids: Sequence[int]) -> int:
    """Delete these annotations (their reviews, drafts of them and self-checks go by the foreign keys'
    ON DELETE CASCADE); how many went."""
    n = 0
    for chunk in _chunks(ids):
        n += session.execute(
            delete(Annotation).where(Annotation.id.in_(chunk)).execution_options(synchronize_session=False)
        ).rowcount or 0
    return n


def take_one_annotation_off(session: Session, task_ids: Sequence[int], now: dt.datetime) -> list[Row[Any]]:
    """Each task's counter drops by one (one counted annotation of one user went; the schema allows no second
    one per user); (id, n_annotations, overlap, state) afterwards. The UPDATE locks the rows on PostgreSQL."""
    rows: list[Row[Any]] = []
    for chunk in _chunks(task_ids):
        rows.extend(session.execute(
            update(Task).where(Task.id.in_(chunk))
            .values(n_annotations=case((Task.n_annotations > 0, Task.n_annotations - 1), else_=0), updated_at=now)
            .returning(Task.id, Task.n_annotations, Task.overlap, Task.state)
            .execution_options(synchronize_session=False)
        ).all())
    return rows


def reopen_tasks(session: Session, task_ids: Sequence[int], now: dt.datetime) -> None:
    """Back to the open pool: state ``open``, no review reason, the stored consensus dropped (it is computed
    again when the task reaches its overlap)."""
    for chunk in _chunks(task_ids):
        session.execute(
            update(Task).where(Task.id.in_(chunk))
            .values(state=TASK_OPEN, review_reason=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(Consensus).where(Consensus.task_id.in_(chunk)).execution_options(synchronize_session=False))


def tasks_to_rescore(session: Session, project_id: int, user_id: int) -> list[int]:
    """Tasks past the open pool (completed, in review, done) where the user's annotation counts beside at
    least one other: the tasks whose consensus the user's weight can change, by id."""
    mine = exists().where(
        Annotation.task_id == Task.id, Annotation.completed_by_id == user_id,
        Annotation.was_cancelled.is_(False), ~not_counted(),
    )
    return list(session.scalars(
        select(Task.id)
        .where(Task.project_id == project_id, Task.state != TASK_OPEN, Task.n_annotations >= 2, mine)
        .order_by(Task.id)
    ))


def stored_consensus(session: Session, task_id: int) -> tuple[Any, str] | None:
    """(result, method) of the task's stored consensus, or None."""
    row = session.execute(select(Consensus.result, Consensus.method).where(Consensus.task_id == task_id)).first()
    return None if row is None else (row.result, row.method)

