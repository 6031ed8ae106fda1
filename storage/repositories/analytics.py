"""Queries of the annotator analytics: a project's annotations, gold, self-checks and annotators, each in
one statement, plus the "send to review" write of "act on it" (releasing locks is :mod:`storage.repositories.tasks`'s
job, audit events :mod:`storage.repositories.audit`'s).

Analytics reads whole projects (100,000 annotations and more), so every read here is one set-based
query on an indexed column (``annotations.project_id``, ``tasks.project_id``, ``self_checks.project_id``)
returning plain rows; the maths runs on them in pandas, never with a query per annotator or task.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, Row, String, Text, cast, exists, func, select, update
from sqlalchemy.orm import Session

from storage.db import json_loads
from storage.models import (
    ROLE_ANNOTATOR,
    Annotation,
    Consensus,
    GroundTruth,
    Membership,
    SelfCheck,
    Task,
    User,
)


def _imported_gold() -> Any:
    """Whether the annotation is imported gold: flagged ``ground_truth`` on a task whose ground truth came in
    with an import. An annotator's own answer that a manager or reviewer made the ground truth is flagged too
    (Label Studio's flag) but is still that annotator's work, and counts."""
    return Annotation.ground_truth & exists().where(GroundTruth.task_id == Annotation.task_id,
                                                    GroundTruth.source == "import")


SHARED_TEXT_MAX = 2_000  # results up to this many characters are decoded once per distinct text


def annotation_rows(session: Session, project_id: int) -> list[tuple[Any, ...]]:
    """(id, task_id, user_id, result, was_cancelled, imported gold, lead_time_s, active_time_s, day) of every
    annotation and skip of the project, by id, as plain tuples.

    Built for 100,000 rows and more: ``result`` comes as JSON text, decoded here once per distinct text
    (orjson; classification answers repeat a handful of texts across the whole project, and the callers only
    read the results, so rows with the same text share one decoded value), and ``day`` is the creation date
    computed by the database (``date()`` exists on SQLite and PostgreSQL), so no timestamp is parsed in Python.
    """
    rows = session.connection().execute(  # Core, not ORM: no per-row ORM loading for 300,000 rows
        select(
            Annotation.id,
            Annotation.task_id,
            Annotation.completed_by_id,
            cast(Annotation.result, Text),
            Annotation.was_cancelled,
            _imported_gold(),
            Annotation.lead_time_s,
            Annotation.active_time_s,
            func.date(Annotation.created_at, type_=String),
        )
        .where(Annotation.project_id == project_id)
        .order_by(Annotation.id)
    ).fetchall()  # the driver's fetchall: one call, not one fetchone() per row through the result machinery
    decoded: dict[str, Any] = {}

    def loads(raw: str | None) -> Any:
        if raw is None:
            return None
        value = decoded.get(raw)
        if value is None:
            value = json_loads(raw)
            if len(raw) <= SHARED_TEXT_MAX:  # long texts (regions, transcripts) are rarely repeated
                decoded[raw] = value
        return value

    return [(i, t, u, loads(r), c, g, lead, active, str(day)) for i, t, u, r, c, g, lead, active, day in rows]


def consensus_rows(session: Session, project_id: int) -> list[tuple[int, Any]]:
    """(task_id, result) of the project's consensus rows resting on two or more annotations (the consensus of
    one answer is that answer: nothing to compare with), results decoded once per distinct text as
    :func:`annotation_rows` does."""
    rows = session.connection().execute(
        select(Consensus.task_id, cast(Consensus.result, Text))
        .join(Task, Task.id == Consensus.task_id)
        .where(Task.project_id == project_id, Consensus.n_annotations >= 2)
    ).fetchall()
    decoded: dict[str, Any] = {}
    out = []
    for task_id, raw in rows:
        if raw is None:
            continue
        value = decoded.get(raw)
        if value is None:
            value = json_loads(raw)
            if len(raw) <= SHARED_TEXT_MAX:
                decoded[raw] = value
        out.append((int(task_id), value))
    return out


def counts_per_person(session: Session, project_id: int) -> list[tuple[int, bool, int]]:
    """(user_id, was_cancelled, how many) of the project's annotations and skips, imported gold left out:
    volume per annotator counted by the database from its index (a first look at a big project)."""
    return [(int(u), bool(c), int(n)) for u, c, n in session.execute(
        select(Annotation.completed_by_id, Annotation.was_cancelled, func.count())
        .where(Annotation.project_id == project_id, ~_imported_gold())
        .group_by(Annotation.completed_by_id, Annotation.was_cancelled)
    ).all()]


TIME_BUCKETS_PER_S = 10  # a first look's lead and active times, to the tenth of a second


def time_histogram(session: Session, project_id: int, column: str) -> list[tuple[int, float, int, float]]:
    """(user_id, value rounded to the tenth of a second, how many, their exact sum) of the project's submitted
    annotations' ``lead_time_s`` or ``active_time_s`` (imported gold and missing times left out): a million
    times arrive as a few thousand rows, for quantiles by :mod:`metrics.histogram` and exact means."""
    value = {"lead_time_s": Annotation.lead_time_s, "active_time_s": Annotation.active_time_s}[column]
    scaled = value * TIME_BUCKETS_PER_S + 0.5
    # Round half up to an integer bucket: PostgreSQL's CAST rounds, SQLite's truncates; floor() is PostgreSQL's.
    bucket = func.floor(scaled) if session.get_bind().dialect.name == "postgresql" else cast(scaled, Integer)
    rows = session.execute(
        select(Annotation.completed_by_id, bucket, func.count(), func.sum(value))
        .where(Annotation.project_id == project_id, Annotation.was_cancelled.is_(False), value.is_not(None),
               ~_imported_gold())
        .group_by(Annotation.completed_by_id, bucket)
    ).all()
    return [(int(u), float(b) / TIME_BUCKETS_PER_S, int(n), float(total)) for u, b, n, total in rows]


def ground_truth_counts(session: Session, project_id: int) -> tuple[int, int]:
    """(tasks with a ground truth, of them honeypots) of the project."""
    found = session.execute(
        select(func.count(), func.count().filter(Task.is_ground_truth))
        .select_from(GroundTruth).join(Task, Task.id == GroundTruth.task_id).where(Task.project_id == project_id)
    ).one()
    return int(found[0]), int(found[1])


def ground_truth_rows(session: Session, project_id: int) -> list[Row[Any]]:
    """(task_id, result, is_honeypot) of every task of the project that has a ground truth."""
    return list(
        session.execute(
            select(GroundTruth.task_id, GroundTruth.result, Task.is_ground_truth.label("is_honeypot"))
            .join(Task, Task.id == GroundTruth.task_id)
            .where(Task.project_id == project_id)
            .order_by(GroundTruth.task_id)
        ).all()
    )


def answered_self_checks(session: Session, project_id: int) -> list[Row[Any]]:
    """(user_id, task_id, repeat result, original result) of the project's answered self-consistency
    repeats (``result`` not null), joined to the annotation they repeat."""
    return list(
        session.execute(
            select(SelfCheck.user_id, SelfCheck.task_id, SelfCheck.result, Annotation.result.label("original"))
            .join(Annotation, Annotation.id == SelfCheck.annotation_id)
            .where(SelfCheck.project_id == project_id, SelfCheck.result.is_not(None))
            .order_by(SelfCheck.id)
        ).all()
    )


def people(session: Session, project_id: int, user_ids: set[int]) -> list[Row[Any]]:
    """(id, username, display_name, is_active, is_annotator) of the given users and of every annotator
    member of the project (so a member who has not labeled yet still gets a row)."""
    is_annotator = exists().where(
        Membership.project_id == project_id, Membership.user_id == User.id, Membership.role == ROLE_ANNOTATOR
    )
    return list(
        session.execute(
            select(User.id, User.username, User.display_name, User.is_active, is_annotator.label("is_annotator"))
            .where(User.id.in_(sorted(user_ids)) | is_annotator)
            .order_by(User.id)
        ).all()
    )


def version(session: Session, project_id: int) -> tuple[Any, ...]:
    """A cheap fingerprint of what analytics reads, for a page's cache key: it changes when an annotation
    or skip is added, a ground truth is written, a self-check is answered or an annotator role changes.

    It runs on every page run, so each part is served by an index alone (``annotations (project_id,
    completed_by_id)`` holds the id, ``self_checks (project_id, user_id, answered_at)``); an edit of an
    existing annotation does not change it, which is why pages also give their cache a time-to-live.
    """
    annotations = session.execute(
        select(func.max(Annotation.id), func.count()).where(Annotation.project_id == project_id)
    ).one()
    gold = session.execute(
        select(func.count(), func.max(GroundTruth.created_at))
        .join(Task, Task.id == GroundTruth.task_id)
        .where(Task.project_id == project_id)
    ).one()
    checks = session.execute(
        select(func.count(SelfCheck.answered_at), func.max(SelfCheck.answered_at)).where(
            SelfCheck.project_id == project_id
        )
    ).one()
    members = session.scalar(
        select(func.count()).where(Membership.project_id == project_id, Membership.role == ROLE_ANNOTATOR)
    )
    return (*annotations, *gold, *checks, members)


def _annotated_by(user_id: int) -> Any:
    """EXISTS: the user submitted an annotation (not a skip, not imported gold) of the outer task."""
    return exists().where(
        Annotation.task_id == Task.id,
        Annotation.completed_by_id == user_id,
        Annotation.was_cancelled.is_(False),
        ~_imported_gold(),
    )


def task_states_of_annotator(session: Session, project_id: int, user_id: int) -> dict[str, int]:
    """How many of the tasks the user annotated in the project are in each state."""
    return dict(
        session.execute(
            select(Task.state, func.count())
            .where(Task.project_id == project_id, _annotated_by(user_id))
            .group_by(Task.state)
        ).all()
    )


def move_annotated_tasks(
    session: Session, project_id: int, user_id: int, *, from_states: tuple[str, ...], to_state: str, now: dt.datetime
) -> int:
    """Put every task of the project the user annotated and that is in ``from_states`` into ``to_state``,
    in one UPDATE; returns how many tasks moved."""
    result = session.execute(
        update(Task)
        .where(Task.project_id == project_id, Task.state.in_(from_states), _annotated_by(user_id))
        .values(state=to_state, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

