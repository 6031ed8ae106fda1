"""The data browser for managers: a project's tasks page by page, one task in full, and bulk actions.

Pages are keyset pages (:class:`PageKey`: "after this sort value and id"), so a deep page costs what the
first one does at a million tasks; the page remembers the keys of the pages before it for "previous".

Bulk actions run in the caller's unit of work (the caller commits, so each is one transaction), check
``Action.MANAGE``, refuse task ids of another project (NotFoundError, nothing changed) and write one
AuditEvent each:

* **mark as ground truth** from the consensus (recomputed first by :func:`core.quality.recompute_task`,
  so it is current, and refused for a task without a complete consensus) or, for one task, from a chosen
  annotation: the ground truth is stored like a reviewer's resolution (source ``manager``), the task is
  flagged ``is_ground_truth`` (Label Studio's ground-truth mark, the honeypot pool) and is ``done``;
* **requeue**: the task goes back to ``open`` with room for one more annotation (overlap = annotations
  held + 1), refused when that would exceed the project's ``maximum_annotations`` counted annotations;
  the annotation that arrives is scored by the labeling loop's quality hook as usual;
* **delete**: the tasks and everything hanging off them (annotations, reviews, consensus ...).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import ConflictError, NotFoundError, QuorumError
from core.imports import AUDIT_OLDER_ANNOTATION
from core.permissions import Action, require
from core.quality import THRESHOLD_TOLERANCE, recompute_task
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import TASK_DONE, TASK_OPEN, TASK_STATES, Annotation, Task, utcnow
from storage.repositories import audit as audit_repo
from storage.repositories import browser as browser_repo
from storage.repositories import imports as imports_repo
from storage.repositories import quality as quality_repo
from storage.repositories.browser import (
    AGREEMENT_ANY,
    AGREEMENT_BELOW,
    AGREEMENT_FILTERS,
    AGREEMENT_NONE,
    AGREEMENT_REACHED,
    SORT_AGREEMENT,
    SORT_ID,
    SORT_N_ANNOTATIONS,
    SORT_UPDATED,
    SORTS,
    PageKey,
)

__all__ = [
    "AGREEMENT_ANY", "AGREEMENT_BELOW", "AGREEMENT_NONE", "AGREEMENT_REACHED", "SORT_AGREEMENT", "SORT_ID",
    "SORT_N_ANNOTATIONS", "SORT_UPDATED", "SORTS", "BrowserFilter", "PageKey", "TaskRow", "TaskPage",
    "browse_tasks", "task_detail", "mark_ground_truth", "requeue_tasks", "deletion_preview", "delete_tasks",
]

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_BULK = 1000
PREVIEW_CHARS = 80
GROUND_TRUTH_SOURCE = "manager"
AUDIT_MARK_GROUND_TRUTH = "tasks.mark_ground_truth"
AUDIT_REQUEUE = "tasks.requeue"
AUDIT_DELETE = "tasks.delete"


@dataclass(frozen=True)
class BrowserFilter:
    """The page's filters as the manager set them; the agreement threshold comes from the project."""

    states: tuple[str, ...] = ()
    annotator_id: int | None = None
    agreement: str = AGREEMENT_ANY  # any / below (the threshold) / reached / none (no agreement yet)
    ground_truth: bool | None = None
    has_predictions: bool | None = None
    text: str = ""  # substring of the task data; the one filter that reads every task's JSON


@dataclass(frozen=True)
class TaskRow:
    task_id: int
    preview: str
    state: str
    n_annotations: int
    overlap: int
    agreement: float | None
    annotators: tuple[str, ...]
    has_ground_truth: bool
    updated_at: dt.datetime


@dataclass(frozen=True)
class TaskPage:
    rows: tuple[TaskRow, ...]
    next_key: PageKey | None  # pass as ``after`` for the next page; None on the last page


def preview_of(data: dict[str, Any], limit: int = PREVIEW_CHARS) -> str:
    """A one-line preview of task data: its values (texts, URLs, numbers) joined, cut at ``limit``."""
    parts: list[str] = []
    for value in data.values():
        if value is not None:
            parts.append(str(value))
    text = " · ".join(" ".join(p.split()) for p in parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_page_arguments(f: BrowserFilter, sort: str, limit: int) -> None:
    if sort not in SORTS:
        raise QuorumError(f"unknown sort {sort!r}: choose one of {', '.join(SORTS)}")
    if f.agreement not in AGREEMENT_FILTERS:
        raise QuorumError(f"unknown agreement filter {f.agreement!r}: choose one of {', '.join(AGREEMENT_FILTERS)}")
    unknown = [s for s in f.states if s not in TASK_STATES]
    if unknown:
        raise QuorumError(f"unknown task state {', '.join(unknown)}: choose from {', '.join(TASK_STATES)}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise QuorumError(f"a page holds 1 to {MAX_PAGE_SIZE} tasks (got {limit})")


def browse_tasks(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    project_id: int,
    filters: BrowserFilter | None = None,
    sort: str = SORT_ID,
    descending: bool = False,
    after: PageKey | None = None,
    limit: int = PAGE_SIZE,
) -> TaskPage:
    """One page of the project's tasks in the chosen order, after ``after`` (None: the first page)."""
    project = require(uow, user, project_id, Action.MANAGE)
    filters = filters or BrowserFilter()
    _check_page_arguments(filters, sort, limit)
    repo_filter = browser_repo.TaskFilter(
        states=tuple(dict.fromkeys(filters.states)),
        annotator_id=filters.annotator_id,
        agreement=filters.agreement,
        threshold=project.agreement_threshold - THRESHOLD_TOLERANCE,  # the quality engine's "reaches" rule
        ground_truth=filters.ground_truth,
        has_predictions=filters.has_predictions,
        text=filters.text.strip(),
    )
    rows = browser_repo.task_page(uow.session, project_id, repo_filter, sort=sort, descending=descending,
                                  after=after, limit=limit + 1)
    shown = rows[:limit]
    names = browser_repo.annotators_of(uow.session, [r.id for r in shown])
    out = tuple(
        TaskRow(r.id, preview_of(r.data or {}), r.state, r.n_annotations, r.overlap, r.agreement,
                tuple(names.get(r.id, ())), bool(r.has_ground_truth), r.updated_at)
        for r in shown
    )
    last = shown[-1] if shown else None
    next_key = PageKey(last.sort_value, last.id, last.phase) if last is not None and len(rows) > limit else None
    return TaskPage(out, next_key)


# --- one task ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnnotationDetail:
    annotation_id: int
    annotator: str  # user name
    result: list[dict[str, Any]]
    lead_time_s: float | None
    active_time_s: float | None
    created_at: dt.datetime
    verdicts: tuple[str, ...]  # review verdicts on it, oldest first (empty: not reviewed)
    is_rejected: bool
    is_ground_truth: bool

    @property
    def is_reviewed(self) -> bool:
        return bool(self.verdicts)


@dataclass(frozen=True)
class TaskDetail:
    task_id: int
    project_id: int
    state: str
    data: dict[str, Any]
    overlap: int
    annotations: tuple[AnnotationDetail, ...]  # every submitted one, oldest first
    consensus: list[dict[str, Any]] | None  # the stored consensus (None: not scored yet)
    consensus_method: str | None
    agreement: float | None
    ground_truth: list[dict[str, Any]] | None
    ground_truth_source: str | None
    is_ground_truth: bool
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    source_id: str | None = None
    """The task's id in the file it was imported from (a Label Studio export's), None otherwise."""
    inner_id: int | None = None
    file_upload: str | None = None
    drafts: tuple[DraftDetail, ...] = ()
    older_answers: tuple[OlderAnswer, ...] = ()
    """Answers an import kept as history (a person's older annotations of this task in the file)."""

    @property
    def origin(self) -> str:
        """Where the task came from, in words: Label Studio's task id, number and upload file when the import
        kept them (written back on export), and when it was created and last changed."""
        parts = []
        if self.source_id is not None:
            number = f" (#{self.inner_id} in its project)" if self.inner_id is not None else ""
            parts.append(f"imported as task {self.source_id}{number}")
        elif self.inner_id is not None:
            parts.append(f"imported as #{self.inner_id} in its project")
        if self.file_upload:
            parts.append(f"uploaded file {self.file_upload}")
        if self.created_at is not None:
            parts.append(f"created {self.created_at:%Y-%m-%d %H:%M}")
        if self.updated_at is not None:
            parts.append(f"changed {self.updated_at:%Y-%m-%d %H:%M}")
        return " · ".join(parts)


@dataclass(frozen=True)
class OlderAnswer:
    """An older annotation of the task by the same person, which an import kept as history, not as an answer
    (``import.older_annotation`` in the audit trail; :mod:`core.imports`)."""

    author: str
    result: list[dict[str, Any]]
    created_at: dt.datetime | None  # as the file gave it (UTC), None when it gave none that reads
    file: str


@dataclass(frozen=True)
class DraftDetail:
    """Someone's unsubmitted work on a task (saved by the labeling page, or imported with the task)."""

    author: str
    n_items: int
    saved_at: dt.datetime


def task_detail(uow: UnitOfWork, user: UserInfo, *, task_id: int) -> TaskDetail:
    """A task with every submitted annotation, its stored consensus and its ground truth (managers)."""
    session = uow.session
    task = session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}")
    require(uow, user, task.project_id, Action.MANAGE)
    verdicts = browser_repo.review_verdicts(session, task_id)
    annotations = tuple(
        AnnotationDetail(a.id, username, a.result, a.lead_time_s, a.active_time_s, a.created_at,
                         tuple(verdicts.get(a.id, ())), bool(rejected), a.ground_truth)
        for a, _display, username, rejected in quality_repo.submitted_with_authors(session, task_id)
    )
    consensus = quality_repo.consensus_of(session, task_id)
    truth = quality_repo.ground_truth_of(session, task_id)
    return TaskDetail(
        task_id=task.id, project_id=task.project_id, state=task.state, data=task.data, overlap=task.overlap,
        annotations=annotations,
        consensus=consensus.result if consensus else None,
        consensus_method=consensus.method if consensus else None,
        agreement=consensus.agreement if consensus else None,
        ground_truth=truth.result if truth else None,
        ground_truth_source=truth.source if truth else None,
        is_ground_truth=task.is_ground_truth,
        created_at=task.created_at, updated_at=task.updated_at, source_id=task.source_id, inner_id=task.inner_id,
        file_upload=task.file_upload,
        drafts=tuple(DraftDetail(*row) for row in browser_repo.drafts_of(session, task_id)),
        older_answers=_older_answers(uow, task),
    )


def _older_answers(uow: UnitOfWork, task: Task) -> tuple[OlderAnswer, ...]:
    events = audit_repo.events_about_task(uow.session, task.project_id, AUDIT_OLDER_ANNOTATION, task.id)
    names = browser_repo.usernames(uow.session, {e.detail.get("author_id") for e in events})
    return tuple(OlderAnswer(names.get(e.detail.get("author_id"), "?"), e.detail.get("result") or [],
                             imports_repo.parse_time(e.detail.get("created_at")), e.detail.get("file", "")) for e in events)



# --- bulk actions --------------------------------------------------------------------------------------


def _chosen_tasks(uow: UnitOfWork, project_id: int, task_ids: Sequence[int]) -> list[Task]:
    """The project's tasks ``task_ids``, locked for this transaction; NotFoundError names any stranger."""
    ids = sorted(set(task_ids))
    if not ids:
        raise QuorumError("choose at least one task")
    if len(ids) > MAX_BULK:
        raise QuorumError(f"a bulk action takes at most {MAX_BULK} tasks (got {len(ids)})")
    tasks = browser_repo.tasks_of_project(uow.session, project_id, ids, for_update=True)
    missing = sorted(set(ids) - {t.id for t in tasks})
    if missing:
        raise NotFoundError(f"project {project_id} has no task {', '.join(map(str, missing))}")
    return tasks


def _audit(uow: UnitOfWork, user: UserInfo, project_id: int, action: str, detail: dict[str, Any], now: dt.datetime) -> None:
    audit_repo.record(uow.session, actor_id=user.id, project_id=project_id, action=action, detail=detail, now=now)


@dataclass(frozen=True)
class GroundTruthMarked:
    task_ids: tuple[int, ...]
    source: str  # "consensus" or "annotation <id>"


def mark_ground_truth(
    uow: UnitOfWork, user: UserInfo, *, project_id: int, task_ids: Sequence[int], annotation_id: int | None = None
) -> GroundTruthMarked:
    """Make the consensus (or, for one task, ``annotation_id``) the ground truth of the tasks.

    All or nothing: a task without a consensus for every answered control (a tie, a control no consensus
    function covers, no annotation) refuses the whole action, naming the tasks.
    """
    uow.begin_write()
    require(uow, user, project_id, Action.MANAGE)
    tasks = _chosen_tasks(uow, project_id, task_ids)
    now = utcnow()
    results: dict[int, list[dict[str, Any]]] = {}
    if annotation_id is not None:
        if len(tasks) != 1:
            raise QuorumError("an annotation can be the ground truth of its own task only: choose one task")
        annotation = uow.session.get(Annotation, annotation_id)
        if annotation is None or annotation.task_id != tasks[0].id or annotation.was_cancelled:
            raise NotFoundError(f"task {tasks[0].id} has no submitted annotation {annotation_id}")
        if annotation_id not in {a.id for a in quality_repo.counted_annotations(uow.session, tasks[0].id)}:
            raise ConflictError(f"annotation {annotation_id} was sent back by a reviewer and cannot be the ground truth")
        results[tasks[0].id] = annotation.result
        source = f"annotation {annotation_id}"
    else:
        lacking: list[int] = []
        for task in tasks:
            outcome = recompute_task(uow, task.id)  # consensus current before it becomes the truth
            stored = quality_repo.consensus_of(uow.session, task.id) if outcome.n_annotations else None
            if stored is None or not outcome.has_consensus:
                lacking.append(task.id)
            else:
                results[task.id] = stored.result
        if lacking:
            raise ConflictError(
                f"task {', '.join(map(str, lacking))} has no complete consensus (no annotation, a tie, or a control "
                "without a consensus function): open the task and choose an annotation instead"
            )
        source = "consensus"
    uow.session.expire_all()  # recompute_task routed tasks with Core statements: reread them
    for task in browser_repo.tasks_of_project(uow.session, project_id, sorted(results), for_update=False):
        quality_repo.save_ground_truth(uow.session, task.id, result=results[task.id], source=GROUND_TRUTH_SOURCE,
                                       created_by_id=user.id, now=now)
        browser_repo.mark_annotation_ground_truth(uow.session, task.id, annotation_id)
        task.is_ground_truth = True
        task.state = TASK_DONE
        task.updated_at = now
    _audit(uow, user, project_id, AUDIT_MARK_GROUND_TRUTH, {"task_ids": sorted(results), "source": source}, now)
    uow.session.flush()
    return GroundTruthMarked(tuple(sorted(results)), source)


@dataclass(frozen=True)
class Requeued:
    task_ids: tuple[int, ...]
    nobody_left: tuple[int, ...]  # requeued, but every annotator of the project has seen them already


def requeue_tasks(uow: UnitOfWork, user: UserInfo, *, project_id: int, task_ids: Sequence[int]) -> Requeued:
    """Send the tasks back to the labeling queue for one more annotation each (all or nothing).

    The project's maximum bounds *automatic* escalation; a manager asking for one more opinion on a task is
    a deliberate choice and may go past it (when the new annotation still leaves the task without
    agreement, it goes to review rather than to yet more annotators).
    """
    uow.begin_write()
    require(uow, user, project_id, Action.MANAGE)
    tasks = _chosen_tasks(uow, project_id, task_ids)
    plans = [(task, max(task.overlap, task.n_annotations) + 1) for task in tasks]
    now = utcnow()
    nobody: list[int] = []
    for task, overlap in plans:
        task.overlap = overlap
        task.state = TASK_OPEN
        task.updated_at = now
        if quality_repo.n_possible_annotators(uow.session, project_id, task.id) == 0:
            nobody.append(task.id)
    ids = tuple(t.id for t, _ in plans)
    _audit(uow, user, project_id, AUDIT_REQUEUE, {"task_ids": list(ids)}, now)
    uow.session.flush()
    return Requeued(ids, tuple(nobody))


@dataclass(frozen=True)
class DeletionPreview:
    n_tasks: int
    n_annotations: int


def deletion_preview(uow: UnitOfWork, user: UserInfo, *, project_id: int, task_ids: Sequence[int]) -> DeletionPreview:
    """What deleting the tasks takes along, for the confirmation."""
    require(uow, user, project_id, Action.MANAGE)
    tasks = _chosen_tasks(uow, project_id, task_ids)
    return DeletionPreview(len(tasks), browser_repo.annotation_count(uow.session, [t.id for t in tasks]))


def delete_tasks(uow: UnitOfWork, user: UserInfo, *, project_id: int, task_ids: Sequence[int]) -> DeletionPreview:
    """Delete the tasks with their annotations, reviews, consensus and ground truth; returns what went."""
    uow.begin_write()
    require(uow, user, project_id, Action.MANAGE)
    tasks = _chosen_tasks(uow, project_id, task_ids)
    ids = [t.id for t in tasks]
    n_annotations = browser_repo.annotation_count(uow.session, ids)
    now = utcnow()
    n_tasks = browser_repo.delete_tasks(uow.session, project_id, ids)
    _audit(uow, user, project_id, AUDIT_DELETE, {"task_ids": ids, "n_annotations": n_annotations}, now)
    uow.session.flush()
    return DeletionPreview(n_tasks, n_annotations)
