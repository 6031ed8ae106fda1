"""Queries of the quality engine and the review queue: counted annotations, consensus, ground truth, reviews.

An annotation *counts* for a task when it was submitted (not a skip) and no reviewer rejected it. Rejected
annotations stay in the database (history, annotator statistics) but take no part in agreement or
consensus. An imported ground-truth annotation (``annotations.ground_truth``) is the task's truth, not an
annotator's vote: the scoring statements leave it out of agreement and consensus too (the review page and
the queue show the same figures). The "rejected?" sub-query looks reviews up by ``task_id`` (indexed) before ``annotation_id``.

The review queue is an equality lookup on the ``(project_id, state, id)`` index of tasks, paged by id.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, and_, bindparam, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    ROLE_ANNOTATOR,
    TASK_COMPLETED,
    Annotation,
    Consensus,
    GroundTruth,
    Membership,
    Review,
    Task,
    User,
)

VERDICT_ACCEPTED = "accepted"
VERDICT_REJECTED = "rejected"
VERDICT_FIXED = "fixed"
VERDICT_CONSENSUS = "consensus"  # the reviewer accepted the proposed consensus as the ground truth
VERDICT_RETURNED = "returned"  # sent back to its author to correct; counts again once they resubmit


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _rejected() -> Any:
    """EXISTS: the annotation does not count (correlated on the outer ``annotations`` row): a reviewer
    rejected it, or returned it to its author, who has not resubmitted since."""
    return exists().where(
        Review.task_id == Annotation.task_id,
        Review.annotation_id == Annotation.id,
        or_(Review.verdict == VERDICT_REJECTED,
            and_(Review.verdict == VERDICT_RETURNED, Review.created_at >= Annotation.updated_at)),
    )


def awaiting_correction(session: Session, annotation_id: int) -> bool:
    """Whether the annotation was returned to its author and not resubmitted since (it may change, and
    counts again once it does)."""
    return session.scalar(select(exists().where(
        Review.annotation_id == annotation_id, Review.verdict == VERDICT_RETURNED,
        Review.created_at >= select(Annotation.updated_at).where(Annotation.id == annotation_id).scalar_subquery(),
    ))) or False


# --- The completing submit's statements: Core (not ORM) and built once at import ------------------------
# They run inside every submit that completes a task, while SQLite's write lock is held, so they skip the
# ORM's statement handling (identity-map sync, entity loading), which costs milliseconds each.
_TASKS = Task.__table__
_ANNOTATIONS = Annotation.__table__
_REVIEWS = Review.__table__
_CONSENSUS = Consensus.__table__
_MEMBERSHIPS = Membership.__table__
_ROUTING_COLUMNS = select(
    _TASKS.c.id, _TASKS.c.project_id, _TASKS.c.state, _TASKS.c.overlap, _TASKS.c.n_annotations, _TASKS.c.data
).where(_TASKS.c.id == bindparam("task_id"))
_ROUTING_ROW = {False: _ROUTING_COLUMNS, True: _ROUTING_COLUMNS.with_for_update()}
_COUNTED_RESULTS = (
    select(_ANNOTATIONS.c.result)
    .where(
        _ANNOTATIONS.c.task_id == bindparam("task_id"),
        _ANNOTATIONS.c.was_cancelled.is_(False),
        _ANNOTATIONS.c.ground_truth.is_(False),  # an imported ground truth is no annotator's vote
        ~exists().where(
            _REVIEWS.c.task_id == _ANNOTATIONS.c.task_id,
            _REVIEWS.c.annotation_id == _ANNOTATIONS.c.id,
            or_(_REVIEWS.c.verdict == VERDICT_REJECTED,
                and_(_REVIEWS.c.verdict == VERDICT_RETURNED, _REVIEWS.c.created_at >= _ANNOTATIONS.c.updated_at)),
        ),
    )
    .order_by(_ANNOTATIONS.c.id)
)
# How much each counted annotation's vote counts (core.quality): its author's consensus weight as an annotator
# of the project, 1 when they have none (no longer a member, or an imported author).
_AUTHOR_WEIGHT = func.coalesce(
    select(_MEMBERSHIPS.c.consensus_weight)
    .where(
        _MEMBERSHIPS.c.project_id == _ANNOTATIONS.c.project_id,
        _MEMBERSHIPS.c.user_id == _ANNOTATIONS.c.completed_by_id,
        _MEMBERSHIPS.c.role == ROLE_ANNOTATOR,
    )
    .scalar_subquery(),
    1.0,
)
_COUNTED_RESULTS_AND_WEIGHTS = _COUNTED_RESULTS.add_columns(_AUTHOR_WEIGHT)
_ROUTE = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id"))
    .values(state=bindparam("new_state"), overlap=bindparam("new_overlap"), updated_at=bindparam("now"))
)
# The same, also writing why the task waits in review (None: it does not); _ROUTE keeps the stored reason.
_ROUTE_WITH_REASON = _ROUTE.values(review_reason=bindparam("review_reason"))


class _KeepReason:
    """The review_reason argument's default: leave ``tasks.review_reason`` as it is."""

    def __repr__(self) -> str:
        return "KEEP_REASON"


KEEP_REASON: Any = _KeepReason()


def _upsert_consensus(insert: Any) -> Any:
    statement = insert(_CONSENSUS)
    return statement.on_conflict_do_update(
        index_elements=[_CONSENSUS.c.task_id],
        set_={c: getattr(statement.excluded, c) for c in ("result", "method", "agreement", "n_annotations", "updated_at")},
    )


_UPSERT_CONSENSUS = {True: _upsert_consensus(pg_insert), False: _upsert_consensus(sqlite_insert)}


_SET_STATE = update(_TASKS).where(_TASKS.c.id == bindparam("task_id")).values(
    state=bindparam("new_state"), updated_at=bindparam("now")
)
_SET_STATE_WITH_REASON = _SET_STATE.values(review_reason=bindparam("review_reason"))


# PostgreSQL: the routing row and the counted results with their authors' consensus weights in one round trip
# (each as one JSON array, in the same order).
_PG_ROUTING_WITH_RESULTS = text(
    """
    SELECT t.id, t.project_id, t.state, t.overlap, t.n_annotations, t.data, c.results, c.weights
    FROM tasks AS t
    LEFT JOIN LATERAL (
        SELECT json_agg(a.result ORDER BY a.id) AS results,
               json_agg(COALESCE(m.consensus_weight, 1.0) ORDER BY a.id) AS weights
        FROM annotations AS a
        LEFT JOIN memberships AS m
            ON m.project_id = a.project_id AND m.user_id = a.completed_by_id AND m.role = 'annotator'
        WHERE a.task_id = t.id AND NOT a.was_cancelled AND NOT a.ground_truth
        AND NOT EXISTS (SELECT 1 FROM reviews AS r WHERE r.task_id = a.task_id AND r.annotation_id = a.id
                        AND (r.verdict = 'rejected'
                             OR (r.verdict = 'returned' AND r.created_at >= a.updated_at)))
    ) AS c ON true
    WHERE t.id = :task_id FOR UPDATE OF t
    """
)
# PostgreSQL: store the consensus and route the task in one round trip.
_PG_SAVE_AND_ROUTE = text(
    """
    WITH saved AS (
        INSERT INTO consensus (task_id, result, method, agreement, n_annotations, updated_at)
        VALUES (:task_id, :result, :method, :agreement, :n_annotations, :now)
        ON CONFLICT (task_id) DO UPDATE SET result = excluded.result, method = excluded.method,
            agreement = excluded.agreement, n_annotations = excluded.n_annotations, updated_at = excluded.updated_at
        RETURNING task_id
    )
    UPDATE tasks SET state = :new_state, overlap = COALESCE(CAST(:new_overlap AS INTEGER), tasks.overlap),
        review_reason = CASE WHEN CAST(:keep_reason AS BOOLEAN) THEN tasks.review_reason
                             ELSE CAST(:review_reason AS VARCHAR(20)) END,
        updated_at = :now
    FROM saved WHERE tasks.id = saved.task_id
    """
).bindparams(bindparam("result", type_=JSONB))


def task_with_results(
    session: Session, task_id: int
) -> tuple[Row[Any] | None, list[list[dict[str, Any]]], list[float]]:
    """The task's routing row (locked on PostgreSQL), the results of its counted annotations (submitted, not
    rejected), oldest first, and their authors' consensus weights in the same order: one round trip on
    PostgreSQL, two on SQLite."""
    if _is_postgres(session):
        row = session.connection().execute(_PG_ROUTING_WITH_RESULTS, {"task_id": task_id}).one_or_none()
        if row is None:
            return None, [], []
        return row, list(row.results or []), [float(w) for w in row.weights or []]
    row = task_for_routing(session, task_id)
    if row is None:
        return None, [], []
    counted = session.connection().execute(_COUNTED_RESULTS_AND_WEIGHTS, {"task_id": task_id}).all()
    return row, [result for result, _ in counted], [float(weight) for _, weight in counted]


def save_and_route(
    session: Session,
    task_id: int,
    *,
    result: list[dict[str, Any]],
    method: str,
    agreement: float | None,
    n_annotations: int,
    state: str,
    overlap: int | None,
    now: dt.datetime,
    review_reason: str | None = KEEP_REASON,
) -> None:
    """Store the task's consensus and its new state and overlap (None: unchanged); one round trip on
    PostgreSQL. ``review_reason``: why the task waits in review (``tasks.review_reason``; None when it does
    not); by default the stored reason is kept."""
    keep = review_reason is KEEP_REASON
    if _is_postgres(session):
        session.connection().execute(_PG_SAVE_AND_ROUTE, {
            "task_id": task_id, "result": result, "method": method, "agreement": agreement,
            "n_annotations": n_annotations, "new_state": state, "new_overlap": overlap, "now": now,
            "keep_reason": keep, "review_reason": None if keep else review_reason,
        })
        return
    save_consensus(session, task_id, result=result, method=method, agreement=agreement,
                   n_annotations=n_annotations, now=now)
    if overlap is None:
        params = {"task_id": task_id, "new_state": state, "now": now}
        if keep:
            session.connection().execute(_SET_STATE, params)
        else:
            session.connection().execute(_SET_STATE_WITH_REASON, {**params, "review_reason": review_reason})
    else:
        route_task(session, task_id, state=state, overlap=overlap, now=now, review_reason=review_reason)


def task_for_routing(session: Session, task_id: int) -> Row[Any] | None:
    """(id, project_id, state, overlap, n_annotations, data) of a task, locked on PostgreSQL."""
    return session.connection().execute(_ROUTING_ROW[_is_postgres(session)], {"task_id": task_id}).one_or_none()


def route_task(
    session: Session, task_id: int, *, state: str, overlap: int, now: dt.datetime,
    review_reason: str | None = KEEP_REASON,
) -> None:
    """Set the task's state and overlap; ``review_reason`` as in :func:`save_and_route` (default: kept)."""
    params = {"task_id": task_id, "new_state": state, "new_overlap": overlap, "now": now}
    if review_reason is KEEP_REASON:
        session.connection().execute(_ROUTE, params)
    else:
        session.connection().execute(_ROUTE_WITH_REASON, {**params, "review_reason": review_reason})


def counted_results(session: Session, task_id: int) -> list[list[dict[str, Any]]]:
    """The results of the task's counted annotations (submitted, not rejected, not an imported ground
    truth), oldest first."""
    return list(session.connection().execute(_COUNTED_RESULTS, {"task_id": task_id}).scalars())


def save_consensus(
    session: Session,
    task_id: int,
    *,
    result: list[dict[str, Any]],
    method: str,
    agreement: float | None,
    n_annotations: int,
    now: dt.datetime,
) -> None:
    """Insert or replace the task's consensus row in one statement."""
    session.connection().execute(
        _UPSERT_CONSENSUS[_is_postgres(session)],
        {"task_id": task_id, "result": result, "method": method, "agreement": agreement,
         "n_annotations": n_annotations, "updated_at": now},
    )


# --- Everything else: ORM, off the hot path -------------------------------------------------------------


def locked_task(session: Session, task_id: int) -> Task | None:
    """The task row, fresh from the database (earlier raw UPDATEs of its counters included) and locked
    for the rest of the transaction on PostgreSQL."""
    query = select(Task).where(Task.id == task_id).execution_options(populate_existing=True)
    if _is_postgres(session):
        query = query.with_for_update()
    return session.scalar(query)


def counted_annotations(session: Session, task_id: int) -> list[Annotation]:
    """Submitted, not rejected annotations of the task, oldest first."""
    return list(
        session.scalars(
            select(Annotation)
            .where(Annotation.task_id == task_id, Annotation.was_cancelled.is_(False), ~_rejected())
            .order_by(Annotation.id)
        )
    )


def submitted_with_authors(session: Session, task_id: int) -> list[Row[Any]]:
    """(annotation, author display name, author user name, rejected?) of every submitted annotation."""
    return list(
        session.execute(
            select(Annotation, User.display_name, User.username, _rejected().label("rejected"))
            .join(User, User.id == Annotation.completed_by_id)
            .where(Annotation.task_id == task_id, Annotation.was_cancelled.is_(False))
            .order_by(Annotation.id)
        ).all()
    )


def n_possible_annotators(session: Session, project_id: int, task_id: int) -> int:
    """Active, not paused annotators of the project who have neither annotated nor skipped the task: the
    people the hand-out could still give it to."""
    done_it = exists().where(Annotation.task_id == task_id, Annotation.completed_by_id == Membership.user_id)
    return session.scalar(
        select(func.count(func.distinct(Membership.user_id)))
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project_id, Membership.role == ROLE_ANNOTATOR, User.is_active.is_(True),
               Membership.paused_at.is_(None), ~done_it)
    ) or 0


def author_weights(session: Session, project_id: int, user_ids: list[int]) -> dict[int, float]:
    """user id -> consensus weight as an annotator of the project, for those of ``user_ids`` who have one."""
    if not user_ids:
        return {}
    return {int(user_id): float(weight) for user_id, weight in session.execute(
        select(Membership.user_id, Membership.consensus_weight).where(
            Membership.project_id == project_id, Membership.role == ROLE_ANNOTATOR,
            Membership.user_id.in_(sorted(set(user_ids))))
    )}


def not_counted() -> Any:
    """The rule of this module's header as a clause on ``annotations``: true where the annotation does not
    count (rejected, or returned and not resubmitted)."""
    return _rejected()


def consensus_of(session: Session, task_id: int) -> Consensus | None:
    return session.get(Consensus, task_id)


def ground_truth_of(session: Session, task_id: int) -> GroundTruth | None:
    return session.get(GroundTruth, task_id)


def save_ground_truth(
    session: Session, task_id: int, *, result: list[dict[str, Any]], source: str, created_by_id: int | None, now: dt.datetime
) -> None:
    """Store the task's ground truth and flag the task, which puts it in the honeypot pool."""
    session.execute(update(Task).where(Task.id == task_id).values(is_ground_truth=True))
    row = session.get(GroundTruth, task_id)
    if row is None:
        session.add(GroundTruth(task_id=task_id, result=result, source=source, created_by_id=created_by_id, created_at=now))
    else:
        row.result, row.source, row.created_by_id, row.created_at = result, source, created_by_id, now


def add_review(
    session: Session,
    *,
    task_id: int,
    annotation_id: int | None,
    reviewer_id: int,
    verdict: str,
    comment: str = "",
    fixed_result: list[dict[str, Any]] | None = None,
    time_s: float | None = None,
    now: dt.datetime,
) -> None:
    session.add(
        Review(
            task_id=task_id, annotation_id=annotation_id, reviewer_id=reviewer_id, verdict=verdict, comment=comment,
            fixed_result=fixed_result, time_s=time_s, created_at=now,
        )
    )


def reviews_of_task(session: Session, task_id: int) -> list[Row[Any]]:
    """(review, reviewer display name, reviewer user name), oldest first."""
    return list(
        session.execute(
            select(Review, User.display_name, User.username)
            .join(User, User.id == Review.reviewer_id)
            .where(Review.task_id == task_id)
            .order_by(Review.id)
        ).all()
    )


def reviews_of_author(session: Session, project_id: int, user_id: int, *, limit: int) -> list[Row[Any]]:
    """(review, the annotation's updated_at, the annotation's id) for the annotations ``user_id`` wrote in the
    project, newest first: reviews of the annotation itself, and decisions on a task they annotated that name
    no annotation (the consensus accepted, a fix started from the consensus). The updated_at tells whether a
    returned answer was corrected since."""
    about_mine = or_(Review.annotation_id == Annotation.id,
                     and_(Review.annotation_id.is_(None), Review.task_id == Annotation.task_id))
    return list(
        session.execute(
            select(Review, Annotation.updated_at, Annotation.id)
            .join(Annotation, about_mine)
            .where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id,
                   Annotation.was_cancelled.is_(False))
            .order_by(Review.id.desc())
            .limit(limit)
        ).all()
    )


def mark_annotation_reviews_seen(session: Session, annotation_id: int, now: dt.datetime) -> None:
    """The author answered the reviews of this annotation (they corrected it): no longer new to them."""
    session.execute(update(Review).where(Review.annotation_id == annotation_id, Review.seen_at.is_(None))
                    .values(seen_at=now))


def send_back_comments(session: Session, task_id: int) -> list[str]:
    """The distinct comments reviewers gave when sending the task back, oldest first."""
    rows = session.execute(
        select(Review.comment, func.min(Review.id))
        .where(Review.task_id == task_id, Review.verdict.in_((VERDICT_REJECTED, VERDICT_RETURNED)), Review.comment != "")
        .group_by(Review.comment)
        .order_by(func.min(Review.id))
    ).all()
    return [comment for comment, _ in rows]


def queue_page(
    session: Session, project_id: int, state: str, *, limit: int, after_id: int | None = None
) -> list[Row[Any]]:
    """(task, consensus agreement or None) of the project's tasks in ``state``, by id, after ``after_id``."""
    query = (
        select(Task, Consensus.agreement)
        .outerjoin(Consensus, Consensus.task_id == Task.id)
        .where(Task.project_id == project_id, Task.state == state)
    )
    if after_id is not None:
        query = query.where(Task.id > after_id)
    return list(session.execute(query.order_by(Task.id).limit(limit)).all())


def state_counts(session: Session, project_id: int) -> dict[str, int]:
    return dict(
        session.execute(
            select(Task.state, func.count()).where(Task.project_id == project_id).group_by(Task.state)
        ).all()
    )


def completed_task_ids(session: Session, project_id: int, *, limit: int, after_id: int | None = None) -> list[int]:
    """Ids of tasks waiting for the quality engine (state ``completed``), by id."""
    query = select(Task.id).where(and_(Task.project_id == project_id, Task.state == TASK_COMPLETED))
    if after_id is not None:
        query = query.where(Task.id > after_id)
    return list(session.scalars(query.order_by(Task.id).limit(limit)))


def unseen_reviews_of_author(session: Session, project_id: int, user_id: int) -> int:
    """How many reviews of the user's annotations in the project they have not seen yet."""
    return session.scalar(
        select(func.count(Review.id))
        .join(Annotation, Annotation.id == Review.annotation_id)
        .where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id, Review.seen_at.is_(None))
    ) or 0


def mark_reviews_seen(session: Session, project_id: int, user_id: int, now: dt.datetime) -> int:
    """Mark every review of the user's annotations in the project as seen by them; how many were new."""
    mine = select(Annotation.id).where(Annotation.project_id == project_id, Annotation.completed_by_id == user_id)
    return session.execute(
        update(Review).where(Review.annotation_id.in_(mine), Review.seen_at.is_(None)).values(seen_at=now)
    ).rowcount or 0
