"""Queries of the quality engine for many tasks at once (core.quality.recompute_tasks): an import that brings
100,000 fully annotated tasks is scored in batches, a few statements per batch instead of a few per task.

The rules are those of :mod:`storage.repositories.quality` (which annotations count, with which weight, how a
consensus is stored and a task routed); only the number of round trips differs. Task rows are locked
``FOR UPDATE`` on PostgreSQL, as :func:`storage.repositories.quality.task_with_results` does for one task.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from storage.models import Annotation, Review, Task
from storage.repositories.quality import (
    _AUTHOR_WEIGHT,
    _ROUTE_WITH_REASON,
    _UPSERT_CONSENSUS,
    _is_postgres,
    not_counted,
)

_TASK_ROWS = select(Task.id, Task.project_id, Task.state, Task.overlap, Task.n_annotations, Task.data,
                    Task.updated_at).where(
    Task.id.in_(bindparam("task_ids", expanding=True))
).order_by(Task.id)
_TASK_ROWS_LOCKED = _TASK_ROWS.with_for_update(of=Task)
# The counted annotations (submitted, not an imported ground truth, not rejected or awaiting correction) with
# their authors' weights, oldest first per task: the rule of quality._COUNTED_RESULTS_AND_WEIGHTS.
_COUNTED = (
    select(Annotation.task_id, Annotation.result, _AUTHOR_WEIGHT)
    .where(Annotation.task_id.in_(bindparam("task_ids", expanding=True)), Annotation.was_cancelled.is_(False),
           Annotation.ground_truth.is_(False), ~not_counted())
    .order_by(Annotation.task_id, Annotation.id)
)
_FLAGGED = select(Annotation.task_id).distinct().where(
    Annotation.task_id.in_(bindparam("task_ids", expanding=True)), Annotation.was_cancelled.is_(False),
    Annotation.flagged.is_(True), ~not_counted())
_NEWEST_REVIEW = select(Review.task_id, Review.verdict).where(Review.id.in_(
    select(func.max(Review.id)).where(Review.task_id.in_(bindparam("task_ids", expanding=True)))
    .group_by(Review.task_id)))


def tasks_with_results(
    session: Session, task_ids: Sequence[int]
) -> list[tuple[Row[Any], list[list[dict[str, Any]]], list[float]]]:
    """Per task of ``task_ids`` that exists, by id: its routing row (id, project_id, state, overlap,
    n_annotations, data, updated_at; locked on PostgreSQL), the results of its counted annotations and their weights."""
    if not task_ids:
        return []
    params = {"task_ids": list(task_ids)}
    connection = session.connection()
    rows = connection.execute(_TASK_ROWS_LOCKED if _is_postgres(session) else _TASK_ROWS, params).all()
    results: dict[int, list[list[dict[str, Any]]]] = {}
    weights: dict[int, list[float]] = {}
    for task_id, result, weight in connection.execute(_COUNTED, params):
        results.setdefault(task_id, []).append(result)
        weights.setdefault(task_id, []).append(float(weight))
    return [(row, results.get(row.id, []), weights.get(row.id, [])) for row in rows]


def routing_hints(session: Session, task_ids: Sequence[int]) -> dict[int, tuple[bool, str | None]]:
    """task id -> (whether a counted annotation is flagged "I'm not sure", the newest review's verdict or None),
    as :func:`storage.repositories.review_queue.routing_hints` gives for one task; two statements."""
    if not task_ids:
        return {}
    params = {"task_ids": list(task_ids)}
    connection = session.connection()
    flagged = set(connection.execute(_FLAGGED, params).scalars())
    newest = {task_id: verdict for task_id, verdict in connection.execute(_NEWEST_REVIEW, params)}
    return {task_id: (task_id in flagged, newest.get(task_id)) for task_id in task_ids}


def save_and_route_many(session: Session, consensus: list[dict[str, Any]], routes: list[dict[str, Any]]) -> None:
    """Store consensus rows (task_id, result, method, agreement, n_annotations, updated_at) and routes
    (task_id, new_state, new_overlap, review_reason, now), one executemany each."""
    connection = session.connection()
    if consensus:
        connection.execute(_UPSERT_CONSENSUS[_is_postgres(session)], consensus)
    if routes:
        connection.execute(_ROUTE_WITH_REASON, routes)
