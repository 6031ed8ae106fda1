"""The events Quorum's services emit, one function each, called inside the service's unit of work.

Payloads follow Label Studio's webhooks where a field exists there (``action``, ``project {id, title}``,
``annotation {id, task, completed_by, result, ...}``, ``task {id}``), with our event names as ``action``.
Each function returns at once when no active webhook of the project subscribes to its event, so the
labeling hot path pays one cached lookup per unit of work (see :func:`core.webhooks.wants`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from core.uow import UnitOfWork
from core.webhooks import enqueue, iso_utc, note_verified, wants
from storage.models import TASK_DONE
from storage.repositories import webhooks as repo

MAX_LISTED_TASK_IDS = 1000  # an import of more tasks reports its id range only


def tasks_imported(uow: UnitOfWork, *, project_id: int, batch_id: int, filename: str) -> None:
    """``task.created``, once per import batch: how many tasks, their ids (or id range), never their data."""
    if not wants(uow, project_id, "task.created"):
        return
    n, first, last, ids = repo.batch_task_ids(uow.session, batch_id, limit=MAX_LISTED_TASK_IDS)
    tasks: dict[str, Any] = {"count": n, "first_id": first, "last_id": last}
    if ids:
        tasks["ids"] = ids
    enqueue(uow, project_id, "task.created", {"import": {"batch_id": batch_id, "filename": filename}, "tasks": tasks})


def annotation_saved(
    uow: UnitOfWork,
    *,
    project_id: int,
    annotation_id: int,
    task_id: int,
    completed_by: int,
    result: list[dict[str, Any]],
    created: bool,
    now: dt.datetime,
    lead_time_s: float | None = None,
) -> None:
    """``annotation.created`` (a first submit) or ``annotation.updated`` (an edit of one's submitted answer)."""
    event = "annotation.created" if created else "annotation.updated"
    if not wants(uow, project_id, event):
        return
    enqueue(uow, project_id, event, {
        "annotation": {
            "id": annotation_id, "task": task_id, "project": project_id, "completed_by": completed_by,
            "result": result, "was_cancelled": False, "lead_time": lead_time_s,
            "updated_at": iso_utc(now), **({"created_at": iso_utc(now)} if created else {}),
        },
        "task": {"id": task_id},
    })


def consensus_reached(
    uow: UnitOfWork,
    *,
    project_id: int,
    task_id: int,
    result: list[dict[str, Any]],
    method: str,
    agreement: float | None,
    n_annotations: int,
) -> None:
    """``consensus.reached``: the quality engine settled a task (state ``done``); a verification."""
    note_verified(uow, project_id)
    if not wants(uow, project_id, "consensus.reached"):
        return
    enqueue(uow, project_id, "consensus.reached", {
        "task": {"id": task_id, "state": TASK_DONE},
        "consensus": {"result": result, "method": method, "agreement": agreement, "n_annotations": n_annotations},
    })


def review_done(
    uow: UnitOfWork,
    *,
    project_id: int,
    task_id: int,
    verdict: str,
    reviewer_id: int,
    state: str,
    annotation_ids: list[int] | None = None,
    result: list[dict[str, Any]] | None = None,
    comment: str = "",
) -> None:
    """``review.done``: a reviewer accepted, fixed (``result`` is the ground truth) or sent back a task."""
    if state == TASK_DONE:
        note_verified(uow, project_id)
    if not wants(uow, project_id, "review.done"):
        return
    review: dict[str, Any] = {"verdict": verdict, "reviewer": reviewer_id, "annotations": annotation_ids or [],
                              "comment": comment}
    payload: dict[str, Any] = {"task": {"id": task_id, "state": state}, "review": review}
    if result is not None:
        payload["ground_truth"] = {"result": result}
    enqueue(uow, project_id, "review.done", payload)
