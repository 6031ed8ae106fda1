"""Streaming reads for exports: tasks in id order, page by page (keyset), with their annotations."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Annotation, Prediction, Task

Row = dict[str, Any]


def iter_task_pages(session: Session, project_id: int, *, page_size: int) -> Iterator[list[Row]]:
    """Pages of task rows; each page is one indexed range query (``id > last``), so memory stays flat."""
    table = Task.__table__
    last_id = 0
    while True:
        rows = [
            dict(r._mapping)
            for r in session.connection().execute(
                select(table)
                .where(table.c.project_id == project_id, table.c.id > last_id)
                .order_by(table.c.id)
                .limit(page_size)
            )
        ]
        if not rows:
            return
        yield rows
        last_id = rows[-1]["id"]


def annotations_for(session: Session, project_id: int, first_task_id: int, last_task_id: int) -> list[Row]:
    """Annotations of the project's tasks with ids in [first, last] (other projects' tasks may interleave)."""
    table = Annotation.__table__
    return [
        dict(r._mapping)
        for r in session.connection().execute(
            select(table)
            .where(
                table.c.project_id == project_id,
                table.c.task_id >= first_task_id,
                table.c.task_id <= last_task_id,
            )
            .order_by(table.c.task_id, table.c.id)
        )
    ]


def predictions_for(session: Session, task_ids: list[int]) -> list[Row]:
    table = Prediction.__table__
    return [
        dict(r._mapping)
        for r in session.connection().execute(
            select(table).where(table.c.task_id.in_(task_ids)).order_by(table.c.task_id, table.c.id)
        )
    ]
