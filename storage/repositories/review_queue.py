"""Queries of the reviewers' queue (core.review_queue): a filtered, prioritised page of the tasks waiting for
review, who holds which of them, and the review locks.

Priority: the lowest agreement first, tasks without an agreement (a single annotation sampled for
verification, a flag on a task of overlap 1, a tag family without an agreement function) after every
measured one, then the longest waiting (``tasks.updated_at``: routing to review sets it), then by id.

Review locks are ``task_locks`` rows of kind ``review``: they hold no labeling slot (``tasks.n_locked`` is
never touched) and expire like any lock (the labeling hand-out's reclaim deletes them too). Taking one is
serialised per task: on PostgreSQL the candidate task row is locked ``FOR UPDATE SKIP LOCKED`` (a second
reviewer passes over it) and, holding that row lock, a fresh statement checks nobody else's review lock
committed meanwhile (READ COMMITTED: each statement sees what committed before it began); on SQLite the
caller's BEGIN IMMEDIATE serialises all writers.

Text filters look into the JSON text of a column (``CAST(... AS TEXT)``), LIKE-escaped. SQLite keeps JSON
ASCII-escaped (``\\u00e9``), PostgreSQL's jsonb does not, so a non-ASCII needle is looked for in both
spellings (as the data browser does).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core.vocabulary import LOCK_REVIEW, REASON_DISAGREEMENT, REASON_VERIFICATION, TASK_DONE, TASK_REVIEW
from storage.models import Annotation, Consensus, GroundTruth, Review, Task, TaskLock, User
from storage.repositories.quality import _rejected

_T = Task.__table__
_C = Consensus.__table__
_L = TaskLock.__table__
_A = Annotation.__table__


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class QueueWhere:
    """The queue's filters as the queries take them (core.review_queue.QueueFilters, resolved)."""

    label: str = ""
    annotator_id: int | None = None
    min_agreement: float | None = None
    max_agreement: float | None = None
    reason: str = ""
    text: str = ""


def _needles(text: str, *, ignore_case: bool = False) -> set[str]:
    """``text`` as it may be spelled in JSON text; with ``ignore_case``, its lower case too (SQLite lowers
    ASCII letters only: an escaped ``\u00c9`` would not meet ``\u00e9``)."""
    spellings = {text, text.lower()} if ignore_case else {text}
    return {spelled for s in spellings for spelled in (s, json.dumps(s)[1:-1])}


def _json_contains(column: Any, text: str, *, quoted: bool = False, ignore_case: bool = False) -> Any:
    """``column``'s JSON text contains ``text`` (as a whole JSON string when ``quoted``)."""
    as_text = cast(column, Text)
    needles = {f'"{n}"' for n in _needles(text)} if quoted else _needles(text, ignore_case=ignore_case)
    if ignore_case:
        return or_(*(as_text.icontains(n, autoescape=True) for n in sorted(needles)))
    return or_(*(as_text.contains(n, autoescape=True) for n in sorted(needles)))


def _agreement() -> Any:
    return select(_C.c.agreement).where(_C.c.task_id == _T.c.id).scalar_subquery()


def _live_review_lock(now: dt.datetime, *, other_than: int | None = None) -> Any:
    where = [_L.c.task_id == _T.c.id, _L.c.kind == LOCK_REVIEW, _L.c.expires_at > now]
    if other_than is not None:
        where.append(_L.c.user_id != other_than)
    return exists().where(*where)


def _conditions(project_id: int, f: QueueWhere) -> list[Any]:
    where: list[Any] = [_T.c.project_id == project_id, _T.c.state == TASK_REVIEW]
    if f.reason == REASON_DISAGREEMENT:  # tasks routed before reasons were stored went for disagreement
        where.append(or_(_T.c.review_reason == REASON_DISAGREEMENT, _T.c.review_reason.is_(None)))
    elif f.reason:
        where.append(_T.c.review_reason == f.reason)
    if f.annotator_id is not None:
        where.append(exists().where(_A.c.task_id == _T.c.id, _A.c.completed_by_id == f.annotator_id,
                                    _A.c.was_cancelled.is_(False)))
    if f.min_agreement is not None or f.max_agreement is not None:
        band = [_C.c.task_id == _T.c.id, _C.c.agreement.is_not(None)]
        if f.min_agreement is not None:
            band.append(_C.c.agreement >= f.min_agreement)
        if f.max_agreement is not None:
            band.append(_C.c.agreement <= f.max_agreement)
        where.append(exists().where(*band))
    if f.label:
        in_consensus = exists().where(_C.c.task_id == _T.c.id, _json_contains(_C.c.result, f.label, quoted=True))
        in_answer = exists().where(_A.c.task_id == _T.c.id, _A.c.was_cancelled.is_(False),
                                   _json_contains(_A.c.result, f.label, quoted=True))
        where.append(or_(in_consensus, in_answer))
    if f.text:
        where.append(_json_contains(_T.c.data, f.text, ignore_case=True))
    return where


def _priority() -> list[Any]:
    agreement = _agreement()
    return [agreement.is_(None), agreement, _T.c.updated_at, _T.c.id]


@dataclass(frozen=True)
class QueueRow:
    task_id: int
    agreement: float | None
    reason: str | None
    waiting_since: dt.datetime
    data: Any
    holder_id: int | None  # a reviewer (not the viewer) holding a live review lock on it
    holder_name: str | None


def queue_page(
    session: Session, project_id: int, where: QueueWhere, *, viewer_id: int, now: dt.datetime, limit: int, offset: int
) -> tuple[list[QueueRow], int]:
    """One page of the queue in priority order, and how many tasks match the filters."""
    conditions = _conditions(project_id, where)
    holder_id = (select(_L.c.user_id).where(_L.c.task_id == _T.c.id, _L.c.kind == LOCK_REVIEW,
                                            _L.c.expires_at > now, _L.c.user_id != viewer_id)
                 .order_by(_L.c.id).limit(1).scalar_subquery())
    query = select(_T.c.id, _agreement().label("agreement"), _T.c.review_reason, _T.c.updated_at, _T.c.data,
                   holder_id.label("holder_id"))
    rows = session.execute(query.where(*conditions).order_by(*_priority()).limit(limit).offset(offset)).all()
    names = _names(session, [r.holder_id for r in rows if r.holder_id is not None])
    out = [QueueRow(int(r.id), r.agreement, r.review_reason, r.updated_at, r.data, r.holder_id,
                    names.get(r.holder_id) if r.holder_id is not None else None) for r in rows]
    total = session.scalar(select(func.count()).select_from(_T).where(*conditions)) or 0
    return out, int(total)


def _names(session: Session, user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {uid: display or username for uid, display, username in
            session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(set(user_ids))))}


def authors_of(session: Session, task_ids: list[int]) -> dict[int, list[tuple[int, str, bool]]]:
    """Per task: (user id, name, counted?) of every submitted annotation, oldest first. An imported
    ground-truth annotation is no annotator's answer (the review page shows it as the ground truth) and
    is left out."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(Annotation.task_id, Annotation.completed_by_id, User.display_name, User.username,
               _rejected().label("rejected"))
        .join(User, User.id == Annotation.completed_by_id)
        .where(Annotation.task_id.in_(task_ids), Annotation.was_cancelled.is_(False),
               Annotation.ground_truth.is_(False))
        .order_by(Annotation.task_id, Annotation.id)
    ).all()
    out: dict[int, list[tuple[int, str, bool]]] = {}
    for task_id, user_id, display, username, rejected in rows:
        out.setdefault(int(task_id), []).append((int(user_id), display or username, not rejected))
    return out


def state_counts(session: Session, project_id: int) -> dict[str, int]:
    return dict(session.execute(
        select(Task.state, func.count()).where(Task.project_id == project_id).group_by(Task.state)).all())


# --- routing hints (core.quality) -------------------------------------------------------------------------


def routing_hints(session: Session, task_id: int) -> tuple[bool, str | None]:
    """(whether a counted annotation of the task is flagged "I'm not sure", the verdict of the task's
    newest review or None), in one round trip."""
    flagged = exists().where(Annotation.task_id == task_id, Annotation.was_cancelled.is_(False),
                             Annotation.flagged.is_(True), ~_rejected())
    newest = select(Review.verdict).where(Review.task_id == task_id).order_by(Review.id.desc()).limit(1)
    row = session.execute(select(flagged.label("flagged"), newest.scalar_subquery().label("verdict"))).one()
    return bool(row.flagged), row.verdict


# --- verification sampling (core.review_queue.resample_verification) -------------------------------------

_NO_TRUTH = ~exists().where(GroundTruth.task_id == _T.c.id)
_MOVE_CHUNK = 500


def agreed_task_ids(session: Session, project_id: int) -> list[int]:
    """Tasks the annotators settled by agreement alone: ``done`` without a ground truth, by id (the
    ``(project_id, state, id)`` index)."""
    return list(session.scalars(select(_T.c.id).where(_T.c.project_id == project_id, _T.c.state == TASK_DONE,
                                                      _NO_TRUTH).order_by(_T.c.id)))


def verification_task_ids(session: Session, project_id: int) -> list[int]:
    """Tasks waiting in review only as a verification sample, undecided (no ground truth), by id."""
    return list(session.scalars(select(_T.c.id).where(
        _T.c.project_id == project_id, _T.c.state == TASK_REVIEW, _T.c.review_reason == REASON_VERIFICATION,
        _NO_TRUTH).order_by(_T.c.id)))


def move_tasks(session: Session, task_ids: list[int], *, from_state: str, to_state: str, reason: str | None,
               now: dt.datetime) -> int:
    """Route the tasks still in ``from_state`` to ``to_state`` with ``reason`` (``tasks.review_reason``),
    waiting since ``now``; how many moved. A task taken out of review loses its review locks."""
    moved = 0
    for start in range(0, len(task_ids), _MOVE_CHUNK):
        chunk = task_ids[start:start + _MOVE_CHUNK]
        result: Any = session.execute(update(Task).where(Task.id.in_(chunk), Task.state == from_state)
                                      .values(state=to_state, review_reason=reason, updated_at=now)
                                      .execution_options(synchronize_session=False))
        moved += int(result.rowcount or 0)
        if from_state == TASK_REVIEW:
            session.execute(delete(TaskLock).where(TaskLock.task_id.in_(chunk), TaskLock.kind == LOCK_REVIEW))
    return moved


# --- review locks ----------------------------------------------------------------------------------------


def held_review_task(session: Session, project_id: int, user_id: int, now: dt.datetime) -> int | None:
    """The task in review the user holds a live review lock on in the project (the newest), if any."""
    return session.scalar(
        select(_L.c.task_id).join(_T, _T.c.id == _L.c.task_id)
        .where(_L.c.project_id == project_id, _L.c.user_id == user_id, _L.c.kind == LOCK_REVIEW,
               _L.c.expires_at > now, _T.c.state == TASK_REVIEW)
        .order_by(_L.c.id.desc()).limit(1)
    )


def matches(session: Session, project_id: int, task_id: int, where: QueueWhere) -> bool:
    """Whether the task waits for review and passes the filters."""
    return session.scalar(select(exists().where(_T.c.id == task_id, *_conditions(project_id, where)))) or False


def pick_candidate(
    session: Session, project_id: int, user_id: int, where: QueueWhere, *, now: dt.datetime, exclude: set[int]
) -> int | None:
    """The first task of the queue (priority order, filters) nobody else holds and the user holds no other
    kind of lock on; on PostgreSQL its row is locked for this transaction, rows locked by others skipped."""
    mine_other_kind = exists().where(_L.c.task_id == _T.c.id, _L.c.user_id == user_id, _L.c.kind != LOCK_REVIEW)
    query = select(_T.c.id).where(*_conditions(project_id, where), ~_live_review_lock(now, other_than=user_id),
                                  ~mine_other_kind)
    if exclude:
        query = query.where(_T.c.id.not_in(sorted(exclude)))
    query = query.order_by(*_priority()).limit(1)
    if _is_postgres(session):
        query = query.with_for_update(of=_T, skip_locked=True)
    found = session.scalar(query)
    return None if found is None else int(found)


def lock_task_row(session: Session, task_id: int) -> tuple[int, str] | None:
    """(project id, state) of the task, its row locked for this transaction on PostgreSQL (waiting for a
    reviewer who is taking it right now)."""
    query = select(_T.c.project_id, _T.c.state).where(_T.c.id == task_id)
    if _is_postgres(session):
        query = query.with_for_update()
    row = session.execute(query).one_or_none()
    return None if row is None else (int(row[0]), str(row[1]))


def review_holder(
    session: Session, task_id: int, now: dt.datetime, *, other_than: int | None = None
) -> tuple[int, str, dt.datetime] | None:
    """(user id, name, expires at) of whoever holds a live review lock on the task (not ``other_than``)."""
    where = [_L.c.task_id == task_id, _L.c.kind == LOCK_REVIEW, _L.c.expires_at > now]
    if other_than is not None:
        where.append(_L.c.user_id != other_than)
    row = session.execute(
        select(_L.c.user_id, User.display_name, User.username, _L.c.expires_at)
        .join(User, User.id == _L.c.user_id).where(*where).order_by(_L.c.id).limit(1)
    ).one_or_none()
    return None if row is None else (int(row[0]), row[1] or row[2], row[3])


def has_other_lock(session: Session, task_id: int, user_id: int) -> bool:
    """Whether the user holds a lock of another kind than review on the task (a labeling slot)."""
    return session.scalar(select(exists().where(
        _L.c.task_id == task_id, _L.c.user_id == user_id, _L.c.kind != LOCK_REVIEW))) or False


def take_review_lock(
    session: Session, *, project_id: int, task_id: int, user_id: int, expires_at: dt.datetime, now: dt.datetime
) -> None:
    """The user's review lock on the task (replacing an older review lock of theirs on it)."""
    session.execute(delete(TaskLock).where(TaskLock.task_id == task_id, TaskLock.user_id == user_id,
                                           TaskLock.kind == LOCK_REVIEW))
    session.execute(insert(TaskLock).values(project_id=project_id, task_id=task_id, user_id=user_id, kind=LOCK_REVIEW,
                                      expires_at=expires_at, created_at=now))


def drop_review_locks(
    session: Session, *, user_id: int, project_id: int | None = None, task_id: int | None = None,
    keep_task_id: int | None = None,
) -> int:
    """Delete the user's review locks (in a project, or on one task; except on ``keep_task_id``); how many.
    Review locks hold no slot, so no counter changes."""
    where = [TaskLock.user_id == user_id, TaskLock.kind == LOCK_REVIEW]
    if project_id is not None:
        where.append(TaskLock.project_id == project_id)
    if task_id is not None:
        where.append(TaskLock.task_id == task_id)
    if keep_task_id is not None:
        where.append(TaskLock.task_id != keep_task_id)
    result: Any = session.execute(delete(TaskLock).where(*where))
    return int(result.rowcount or 0)


def renew_review_lock(session: Session, task_id: int, user_id: int, expires_at: dt.datetime) -> None:
    session.execute(update(TaskLock).where(TaskLock.task_id == task_id, TaskLock.user_id == user_id,
                                           TaskLock.kind == LOCK_REVIEW).values(expires_at=expires_at))



def review_lock_started(session: Session, task_id: int, user_id: int, now: dt.datetime) -> dt.datetime | None:
    """When the user's live review lock on the task was taken, or None."""
    return session.scalar(select(_L.c.created_at).where(_L.c.task_id == task_id, _L.c.user_id == user_id,
                                                        _L.c.kind == LOCK_REVIEW, _L.c.expires_at > now))
