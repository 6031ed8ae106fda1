"""Queries of the "My work" page (:mod:`core.my_work`): one person's annotations, the ground truth of the tasks
they answered, and who annotates in a set of projects.

One person's work is at most tens of thousands of rows, read on the ``annotations (completed_by_id, task_id)``
index; every read is one statement returning plain rows (no ORM objects), the maths runs in core.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Row, exists, select
from sqlalchemy.orm import Session

from storage.models import ROLE_ANNOTATOR, Annotation, GroundTruth, Membership, User
from storage.repositories.analytics import _imported_gold


def annotated_projects(session: Session, user_id: int) -> dict[int, bool]:
    """project id -> whether ``user_id`` holds the annotator role there, for every project where they hold it
    or have annotations or skips of their own, imported gold aside (someone removed from a project keeps their work, and its figures)."""
    annotator_of = set(session.scalars(
        select(Membership.project_id).where(Membership.user_id == user_id, Membership.role == ROLE_ANNOTATOR)
    ))
    worked = set(session.scalars(
        select(Annotation.project_id).where(Annotation.completed_by_id == user_id, ~_imported_gold()).distinct()
    ))
    return {pid: pid in annotator_of for pid in sorted(annotator_of | worked)}


def annotation_rows(session: Session, user_id: int, project_ids: list[int]) -> list[Row[Any]]:
    """(id, project_id, task_id, result, was_cancelled, imported_gold, lead_time_s, active_time_s, created_at) of
    every annotation and skip of ``user_id`` in the projects, oldest first. ``imported_gold``: the same test the
    Quality page applies (:mod:`storage.repositories.analytics`), so both count the same annotations."""
    if not project_ids:
        return []
    return list(
        session.execute(
            select(
                Annotation.id, Annotation.project_id, Annotation.task_id, Annotation.result, Annotation.was_cancelled,
                _imported_gold().label("imported_gold"), Annotation.lead_time_s, Annotation.active_time_s,
                Annotation.created_at,
            )
            .where(Annotation.completed_by_id == user_id, Annotation.project_id.in_(project_ids))
            .order_by(Annotation.id)
        ).all()
    )


def ground_truth_of_annotated(session: Session, user_id: int, project_ids: list[int]) -> dict[int, Any]:
    """task id -> ground-truth result, for the tasks ``user_id`` submitted an answer to in the projects."""
    if not project_ids:
        return {}
    answered = exists().where(
        Annotation.task_id == GroundTruth.task_id, Annotation.completed_by_id == user_id,
        Annotation.project_id.in_(project_ids), Annotation.was_cancelled.is_(False),
    )
    return dict(session.execute(select(GroundTruth.task_id, GroundTruth.result).where(answered)).all())


def people_annotating(session: Session, project_ids: list[int]) -> list[Row[Any]]:
    """(id, username, display_name) of everyone who holds the annotator role in one of the projects or has
    annotated there, by user name."""
    if not project_ids:
        return []
    member = exists().where(Membership.user_id == User.id, Membership.project_id.in_(project_ids),
                            Membership.role == ROLE_ANNOTATOR)
    worked = exists().where(Annotation.completed_by_id == User.id, Annotation.project_id.in_(project_ids),
                            ~_imported_gold())
    return list(
        session.execute(
            select(User.id, User.username, User.display_name).where(member | worked).order_by(User.username)
        ).all()
    )
