"""Taking in labels made elsewhere: a long CSV of (task, worker, label), optionally with gold.

This is how crowd-labeled data sets (and labels from other tools) enter Quorum for agreement,
consensus and annotator analytics. Workers become inactive accounts (``worker-<id>``), one per worker;
the project's config is a single Choices over the labels found. All-or-nothing, like every import.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from core.errors import ImportFormatError
from core.quality import recompute_project
from core.permissions import Action, require
from core.projects import ProjectSettings, create_project, find_project_id
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import TASK_COMPLETED, TASK_OPEN
from storage.repositories import imports as imports_repo

WORKER_COLUMNS = ("worker", "annotator")
CONTROL_NAME = "label"
OBJECT_NAME = "item"


@dataclass(frozen=True)
class CrowdImportSummary:
    project_id: int
    project_title: str
    n_tasks: int
    n_labels: int
    n_workers: int
    n_gold: int
    labels: tuple[str, ...]


def _read_rows(path: Path, required: tuple[str, ...], alternatives: dict[str, tuple[str, ...]] | None = None) -> list[dict[str, str]]:
    """Rows of a CSV with the given columns, or ImportFormatError naming the file, column or row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ImportFormatError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise ImportFormatError(f"{path}: empty file")
    reader.fieldnames = header
    rename: dict[str, str] = {}
    for column in required:
        options = (alternatives or {}).get(column, (column,))
        found = next((o for o in options if o in header), None)
        if found is None:
            raise ImportFormatError(f"{path}: missing column {column!r} (columns found: {', '.join(header)})")
        rename[found] = column
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row or any(row.get(c) is None for c in rename):
            raise ImportFormatError(f"{path}, line {line}: wrong number of fields")
        values = {rename[c]: (row[c] or "").strip() for c in rename}
        if not all(values.values()):
            empty = next(k for k, v in values.items() if not v)
            raise ImportFormatError(f"{path}, line {line}: empty {empty!r}")
        rows.append(values)
    if not rows:
        raise ImportFormatError(f"{path}: no rows")
    return rows


def crowd_config(labels: list[str]) -> str:
    """A single Choices over ``labels`` on a Text showing the task's id."""
    choices = "\n".join(f"    <Choice value={quoteattr(label)}/>" for label in labels)
    return (
        "<View>\n"
        f'  <Text name="{OBJECT_NAME}" value="$task"/>\n'
        f'  <Choices name="{CONTROL_NAME}" toName="{OBJECT_NAME}" choice="single">\n'
        f"{choices}\n  </Choices>\n</View>\n"
    )


def _choice_result(label: str) -> list[dict[str, object]]:
    return [{"from_name": CONTROL_NAME, "to_name": OBJECT_NAME, "type": "choices", "value": {"choices": [label]}}]


def import_crowd_labels(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_title: str,
    labels_path: Path,
    gold_path: Path | None = None,
) -> CrowdImportSummary:
    """Load crowd labels (and gold) into the project titled ``project_title``, created when missing.

    An existing project must have been made by this function (a single Choices named ``label``); tasks
    are matched by their ``task`` value, so a second file adds labels to the same tasks.
    """
    rows = _read_rows(labels_path, ("task", "worker", "label"), {"worker": WORKER_COLUMNS})
    gold_rows = _read_rows(gold_path, ("task", "label")) if gold_path else []
    labels = sorted({r["label"] for r in rows} | {g["label"] for g in gold_rows})
    project_id = find_project_id(uow, project_title)
    if project_id is None:
        workers_n = len({r["worker"] for r in rows})
        overlap = max(1, round(len(rows) / max(1, len({r["task"] for r in rows}))))
        project_id = create_project(
            uow,
            actor,
            title=project_title,
            config_xml=crowd_config(labels),
            description=f"Crowd labels from {labels_path.name}: {len(rows)} labels by {workers_n} workers.",
            settings=ProjectSettings(overlap=overlap, maximum_annotations=overlap),
        ).id
    project = require(uow, actor, project_id, Action.IMPORT)
    session = uow.session
    per_task: dict[str, dict[str, str]] = defaultdict(dict)
    for line, r in enumerate(rows, start=2):
        if r["worker"] in per_task[r["task"]]:
            raise ImportFormatError(
                f"{labels_path}, line {line}: worker {r['worker']!r} labels task {r['task']!r} twice"
            )
        per_task[r["task"]][r["worker"]] = r["label"]
    gold = {g["task"]: g["label"] for g in gold_rows}
    unknown = sorted(set(gold) - set(per_task))
    if unknown:
        raise ImportFormatError(f"{gold_path}: gold for tasks without labels: {', '.join(unknown[:5])}")
    worker_ids: dict[str, int] = {}
    for worker in sorted({r["worker"] for r in rows}):
        name = f"worker-{worker}"[:150]
        worker_ids[worker] = imports_repo.user_id_by_username(session, name) or imports_repo.create_inactive_user(
            session, username=name, email=None
        )
    existing = imports_repo.task_ids_by_data_key(session, project.id, "task")
    new_tasks = [t for t in per_task if t not in existing]
    rows_to_insert = [
        {
            "project_id": project.id,
            "data": {"task": t},
            "state": TASK_COMPLETED if len(per_task[t]) >= project.overlap else TASK_OPEN,
            "overlap": project.overlap,
            "n_annotations": len(per_task[t]),
            "n_locked": 0,
            "is_ground_truth": t in gold,
            "source_id": t[:100],
        }
        for t in new_tasks
    ]
    for start in range(0, len(rows_to_insert), 2000):
        chunk = rows_to_insert[start : start + 2000]
        ids = imports_repo.insert_tasks_returning_ids(session, chunk)
        existing.update({row["data"]["task"]: tid for row, tid in zip(chunk, ids, strict=True)})
    annotations = [
        {
            "task_id": existing[t],
            "project_id": project.id,
            "completed_by_id": worker_ids[w],
            "result": _choice_result(label),
            "config_version": project.config_version,
            **imports_repo.timestamps({}),
        }
        for t, by_worker in per_task.items()
        for w, label in by_worker.items()
    ]
    for start in range(0, len(annotations), 5000):
        imports_repo.insert_annotations(session, annotations[start : start + 5000])
    imports_repo.insert_ground_truth(session, {existing[t]: _choice_result(lab) for t, lab in gold.items()}, source="import")
    # Score what arrived complete now, as a labeler's last submit would: the consensus and the routing (done or
    # review) exist at once, so the Quality page's agreement with the consensus and a consensus export need no
    # manual "Score them now".
    session.flush()
    recompute_project(uow, actor, project.id)
    return CrowdImportSummary(
        project.id, project.title, len(per_task), len(rows), len(worker_ids), len(gold), tuple(labels)
    )
