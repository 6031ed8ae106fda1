"""Queries of the project overview (core.project_analytics) and of the annotator confusion references
(core.annotator_confusion): progress, agreement, answers, predictions.

Built for 300,000 tasks and 1,000,000 annotations. Every read is one set-based statement on an indexed
column (``tasks.project_id``, ``annotations.project_id``, the consensus and ground truth primary keys,
``predictions.task_id``) that aggregates in the database where a count is the answer (``GROUP BY``), so
what reaches Python is a few rows per day, bin or model version. Where the answer depends on what a result
*says* (which label, how close a prediction is to the consensus), the rows are grouped by the result's
JSON text, so each distinct answer crosses the wire and is decoded once with its count (classification
answers repeat a handful of texts over the whole project), never once per annotation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, Text, case, cast, func, select
from sqlalchemy.orm import Session

from storage.db import json_loads
from storage.models import TASK_COMPLETED, TASK_DONE, Annotation, Consensus, GroundTruth, Prediction, Task
from storage.repositories.analytics import _imported_gold

FINISHED_STATES = (TASK_COMPLETED, TASK_DONE)
REFERENCE_GROUND_TRUTH = "ground_truth"
REFERENCE_CONSENSUS = "consensus"


class _Decoder:
    """Decodes JSON texts once each: the rows here repeat the same few texts (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def __call__(self, raw: str | None) -> Any:
        if raw is None:
            return None
        if raw not in self._seen:
            self._seen[raw] = json_loads(raw)
        return self._seen[raw]


def task_states(session: Session, project_id: int) -> dict[str, int]:
    """How many of the project's tasks are in each state."""
    return {str(state): int(n) for state, n in session.execute(
        select(Task.state, func.count()).where(Task.project_id == project_id).group_by(Task.state)
    ).all()}


def tasks_created_per_day(session: Session, project_id: int) -> list[tuple[str, int]]:
    """(day 'YYYY-MM-DD' UTC, tasks created that day), by day."""
    day = func.date(Task.created_at, type_=String)
    return [(str(d), int(n)) for d, n in session.execute(
        select(day, func.count()).where(Task.project_id == project_id).group_by(day).order_by(day)
    ).all()]


def tasks_finished_per_day(session: Session, project_id: int) -> list[tuple[str, int]]:
    """(day 'YYYY-MM-DD' UTC, finished tasks whose last change fell on it), by day: for a task finished now
    (``completed`` or ``done``) the day of ``tasks.updated_at``, which the state change that finished it
    sets (a later review decision on it moves it to that day)."""
    day = func.date(Task.updated_at, type_=String)
    return [(str(d), int(n)) for d, n in session.execute(
        select(day, func.count())
        .where(Task.project_id == project_id, Task.state.in_(FINISHED_STATES))
        .group_by(day).order_by(day)
    ).all()]


def agreement_bins(session: Session, project_id: int, *, n_bins: int, below: float) -> tuple[dict[int, int], int, int]:
    """The stored consensus agreements of the project's tasks in ``n_bins`` equal bins of [0, 1]: ({bin: tasks},
    tasks with an agreement below ``below``, tasks with a consensus but no agreement (a single annotation)).

    Bin ``k`` holds ``k/n <= agreement < (k+1)/n``; the last bin holds 1.0 too and the first anything below
    0. The bin is a CASE of comparisons, not a cast or floor, so it is the same on SQLite and PostgreSQL
    (PostgreSQL's cast to integer rounds, SQLite's truncates)."""
    scored = (select(Consensus.agreement.label("agreement"))
              .join(Task, Task.id == Consensus.task_id)
              .where(Task.project_id == project_id).subquery())
    agreement = scored.c.agreement
    bin_of = case((agreement.is_(None), -1), *[(agreement < k / n_bins, k - 1) for k in range(1, n_bins)],
                  else_=n_bins - 1).label("bin")
    rows = session.execute(  # one scan: the count per bin and, within it, those below the threshold
        select(bin_of, func.count(), func.count(case((agreement < below, 1)))).group_by(bin_of)
    ).all()
    bins = {int(b): int(n) for b, n, _ in rows if b >= 0}
    n_unscored = sum(int(n) for b, n, _ in rows if b < 0)
    return bins, sum(int(n_below) for *_, n_below in rows), n_unscored


@dataclass(frozen=True)
class AnswerCounts:
    """Columns of :func:`answer_counts`: row ``i`` says that ``counts[i]`` annotations of task ``task_ids[i]``
    gave the result ``results[codes[i]]`` (each distinct result decoded once)."""

    task_ids: list[int]
    codes: list[int]
    counts: list[int]
    results: list[Any]


def answer_counts(session: Session, project_id: int) -> AnswerCounts:
    """How many of each task's submitted annotations (no skips, no imported gold: the rule of
    :mod:`storage.repositories.analytics`) gave each distinct result.

    Grouped by the result's text in the database, so a task where three annotators agree is one row; each
    distinct text is decoded once and the rows point at it by number (columns, not a tuple per row: at
    1,000,000 annotations there are hundreds of thousands of rows)."""
    text = cast(Annotation.result, Text)
    rows = session.connection().execute(
        select(Annotation.task_id, text, func.count())
        .where(Annotation.project_id == project_id, Annotation.was_cancelled.is_(False), ~_imported_gold())
        .group_by(Annotation.task_id, text)
    ).fetchall()
    index: dict[str | None, int] = {}
    results: list[Any] = []
    codes = []
    for _, raw, _ in rows:
        code = index.get(raw)
        if code is None:
            code = index[raw] = len(results)
            results.append(None if raw is None else json_loads(raw))
        codes.append(code)
    return AnswerCounts([r[0] for r in rows], codes, [r[2] for r in rows], results)


def reference_results(session: Session, project_id: int, reference: str) -> list[tuple[int, Any]]:
    """(task id, result) of every ground truth (``reference="ground_truth"``) of the project's tasks, or of
    every stored consensus resting on two or more annotations (``"consensus"``: the consensus of a single
    answer is that answer, nothing to compare it with -- :func:`storage.repositories.analytics.consensus_rows`'
    rule)."""
    table = _reference_table(reference)
    query = select(table.task_id, cast(table.result, Text)).join(Task, Task.id == table.task_id).where(
        Task.project_id == project_id)
    if table is Consensus:
        query = query.where(Consensus.n_annotations >= 2)
    rows = session.connection().execute(query).fetchall()
    loads = _Decoder()
    return [(int(t), loads(r)) for t, r in rows]


def _reference_table(reference: str) -> Any:
    tables = {REFERENCE_GROUND_TRUTH: GroundTruth, REFERENCE_CONSENSUS: Consensus}
    if reference not in tables:
        raise ValueError(f"unknown reference {reference!r}; expected one of {sorted(tables)}")
    return tables[reference]


def prediction_volume(session: Session, project_id: int) -> list[tuple[str, int, int]]:
    """(model version, distinct tasks predicted, predictions) per model version of the project."""
    return [(str(v), int(t), int(n)) for v, t, n in session.execute(
        select(Prediction.model_version, func.count(func.distinct(Prediction.task_id)), func.count())
        .join(Task, Task.id == Prediction.task_id)
        .where(Task.project_id == project_id)
        .group_by(Prediction.model_version)
    ).all()]


def prediction_uptake(session: Session, project_id: int) -> list[tuple[str, int, int]]:
    """(model version, submitted annotations made from one of its pre-labels, those submitted with the
    pre-label unchanged) per model version (``annotations.prediction_id`` set, ``prediction_changed`` false)."""
    return [(str(v), int(n), int(unchanged or 0)) for v, n, unchanged in session.execute(
        select(Prediction.model_version, func.count(),
               func.count(case((Annotation.prediction_changed.is_(False), 1))))
        .join(Prediction, Prediction.id == Annotation.prediction_id)
        .where(Annotation.project_id == project_id, Annotation.was_cancelled.is_(False))
        .group_by(Prediction.model_version)
    ).all()]


def predictions_against(session: Session, project_id: int, reference: str) -> list[tuple[str, Any, Any, int]]:
    """(model version, prediction result, reference result, how many predictions) for every prediction of a
    task that has a ground truth (``reference="ground_truth"``) or a stored consensus (``"consensus"``),
    grouped by the two texts so each distinct pair is compared once."""
    table = _reference_table(reference)
    predicted, truth = cast(Prediction.result, Text), cast(table.result, Text)
    rows = session.connection().execute(
        select(Prediction.model_version, predicted, truth, func.count())
        .join(Task, Task.id == Prediction.task_id)
        .join(table, table.task_id == Prediction.task_id)
        .where(Task.project_id == project_id)
        .group_by(Prediction.model_version, predicted, truth)
    ).fetchall()
    loads = _Decoder()
    return [(str(v), loads(p), loads(r), int(n)) for v, p, r, n in rows]

