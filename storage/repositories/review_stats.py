"""Queries of the review statistics (core.review_stats): the project's review rows with what they were about,
and the dates tasks entered and left review. Reviews are few next to annotations (one row per decision and
annotation decided on), so they are read whole and summarised in Python."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from core.vocabulary import TASK_REVIEW
from storage.models import Annotation, Consensus, GroundTruth, Review, Task, User


def annotator_verdicts(session: Session, project_id: int) -> list[Any]:
    """(author id, name, user name, annotation id, verdict) of every review of an annotation in the project."""
    return list(session.execute(
        select(Annotation.completed_by_id, User.display_name, User.username, Review.annotation_id, Review.verdict)
        .join(Annotation, Annotation.id == Review.annotation_id)
        .join(User, User.id == Annotation.completed_by_id)
        .where(Annotation.project_id == project_id)
    ).all())


def whole_task_decisions(session: Session, project_id: int) -> list[Any]:
    """Decisions on a whole task (no annotation named: the consensus accepted, a fix started from the
    consensus), one row per annotation they decided on: (review id, verdict, the settled result
    (``fixed_result``), task data, annotation id, author id, name, user name, the annotation's result).

    The annotations decided on are those the decision saw counted: submitted before it, not an imported
    ground truth, and not rejected before it (returned ones cannot be pending: the task was in review)."""
    rejected = aliased(Review)
    rejected_before = exists().where(rejected.annotation_id == Annotation.id, rejected.verdict == "rejected",
                                     rejected.created_at <= Review.created_at)
    return list(session.execute(
        select(Review.id, Review.verdict, Review.fixed_result, Task.data, Annotation.id.label("annotation_id"),
               Annotation.completed_by_id, User.display_name, User.username, Annotation.result)
        .join(Task, Task.id == Review.task_id)
        .join(Annotation, and_(Annotation.task_id == Review.task_id, Annotation.was_cancelled.is_(False),
                               Annotation.ground_truth.is_(False), Annotation.created_at <= Review.created_at))
        .join(User, User.id == Annotation.completed_by_id)
        .where(Task.project_id == project_id, Review.annotation_id.is_(None),
               Review.verdict.in_(("consensus", "fixed")), ~rejected_before)
        .order_by(Review.id, Annotation.id)
    ).all())


def decisions(session: Session, project_id: int) -> list[Any]:
    """Every review row of the project's tasks, oldest first: (id, task id, reviewer id, reviewer name,
    reviewer user name, verdict, created at, time_s, ``fixed_result`` (fixed, consensus), the reviewed
    annotation's result (accepted: the answer the reviewer settled on), the task's current ground truth, who
    set it and when, the task's current consensus result, the task's data). (JSON ``null`` is not SQL NULL:
    the caller picks between the two results.)"""
    accepted = aliased(Annotation)
    return list(session.execute(
        select(Review.id, Review.task_id, Review.reviewer_id, User.display_name, User.username, Review.verdict,
               Review.created_at, Review.time_s, Review.fixed_result, accepted.result.label("accepted_result"),
               GroundTruth.result.label("truth"), GroundTruth.created_by_id.label("truth_by"),
               GroundTruth.created_at.label("truth_at"), Consensus.result.label("consensus"), Task.data)
        .join(Task, Task.id == Review.task_id)
        .join(User, User.id == Review.reviewer_id)
        .outerjoin(accepted, accepted.id == Review.annotation_id)
        .outerjoin(GroundTruth, GroundTruth.task_id == Review.task_id)
        .outerjoin(Consensus, Consensus.task_id == Review.task_id)
        .where(Task.project_id == project_id)
        .order_by(Review.id)
    ).all())


def review_passages(session: Session, project_id: int) -> list[Any]:
    """Per task that waits for review now or was ever reviewed: (task id, state, tasks.updated_at, the
    consensus' updated_at, the first and last review's created_at)."""
    first_last = (
        select(Review.task_id, func.min(Review.created_at).label("first"), func.max(Review.created_at).label("last"))
        .group_by(Review.task_id).subquery()
    )
    return list(session.execute(
        select(Task.id, Task.state, Task.updated_at, Consensus.updated_at.label("scored_at"), first_last.c.first,
               first_last.c.last)
        .outerjoin(first_last, first_last.c.task_id == Task.id)
        .outerjoin(Consensus, Consensus.task_id == Task.id)
        .where(Task.project_id == project_id, (Task.state == TASK_REVIEW) | first_last.c.task_id.is_not(None))
    ).all())
