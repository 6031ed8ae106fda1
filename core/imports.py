"""Importing task files into a project: all-or-nothing, streamed, in batches.

The file is read as a stream (``core.formats.iter_tasks``), checked task by task against the project's
labeling config, and inserted in batches inside the caller's unit of work. Any bad task aborts the whole
import: the caller does not commit, so nothing is written. A file imported twice into the same project is
refused by its content hash (a unique constraint, so two racing imports cannot both land).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy.exc import IntegrityError

from core.config import LabelingConfig, check_task_data, parse_config
from core.config.values import variable_paths
from core.errors import ConflictError, ImportFormatError
from core.formats.readers import MEDIA_EXTENSIONS, ParsedTask, iter_tasks
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import TASK_COMPLETED, TASK_OPEN, Annotation, Prediction, Project, Task, utcnow
from storage.blobs import BlobStore
from storage.repositories import imports as imports_repo

BATCH_SIZE = 2000
ANALYZE_FROM_TASKS = 10_000
"""Imports of at least this many tasks refresh the planner's statistics (see refresh_planner_statistics)."""
MAX_REPORTED_ERRORS = 20
HASH_CHUNK = 1 << 20

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class ImportSummary:
    batch_id: int
    filename: str
    n_tasks: int
    n_annotations: int
    n_predictions: int
    n_users_created: int


def file_sha256(stream: IO[bytes]) -> str:
    """Hash a seekable stream and rewind it: the duplicate-import check needs the hash before inserting."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(HASH_CHUNK), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def is_media_file(filename: str) -> bool:
    return os.path.splitext(filename)[1].lower() in MEDIA_EXTENSIONS


def default_data_key(cfg: LabelingConfig) -> str:
    """Where a TXT line or an uploaded file goes: the config's only data variable, else "text"/"image"."""
    if len(cfg.variables) == 1:
        return cfg.variables[0]
    for obj in cfg.objects.values():
        if obj.variables:
            return obj.variables[0]
    return "text"


class _AuthorResolver:
    """Maps an imported annotation's ``completed_by`` to a user id, creating inactive users as needed.

    Label Studio writes ``completed_by`` as an int (its own user id), as ``{"id", "email", ...}``, or null.
    E-mails are matched to existing accounts; anything else becomes an inactive account that keeps the
    author distinct (so agreement between the original annotators stays measurable).
    """

    def __init__(self, uow: UnitOfWork, actor: UserInfo) -> None:
        self._uow = uow
        self._actor = actor
        self._cache: dict[str, int] = {}
        self.created = 0

    def __call__(self, completed_by: Any, *, where: str) -> int:
        if completed_by is None or completed_by == "":
            return self._actor.id
        email: str | None = None
        external_id: Any = None
        if isinstance(completed_by, dict):
            email = completed_by.get("email") or None
            external_id = completed_by.get("id")
        elif isinstance(completed_by, (int, str)) and not isinstance(completed_by, bool):
            if isinstance(completed_by, str) and "@" in completed_by:
                email = completed_by
            else:
                external_id = completed_by
        else:
            raise ImportFormatError(f"{where}: completed_by must be a user id, an object or null")
        if email is None and external_id is None:
            return self._actor.id
        key = f"email:{email.strip().lower()}" if email else f"id:{external_id}"
        if key not in self._cache:
            self._cache[key] = self._resolve(email, external_id)
        return self._cache[key]

    def _resolve(self, email: str | None, external_id: Any) -> int:
        session = self._uow.session
        if email:
            user_id = imports_repo.user_id_by_email(session, email)
            if user_id is not None:
                return user_id
            username = imports_repo.free_username(session, email.split("@")[0] or "imported")
        else:
            username = f"ls-user-{external_id}"
            user_id = imports_repo.user_id_by_username(session, username)
            if user_id is not None:
                return user_id
        self.created += 1
        return imports_repo.create_inactive_user(session, username=username, email=email)


def _flag(value: Any) -> bool:
    return bool(value) and value not in ("false", "False", "0")


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _newest_score(predictions: list[dict[str, Any]]) -> float | None:
    """The score uncertainty sampling orders by: the last prediction's in file order."""
    for prediction in reversed(predictions):
        score = _number(prediction.get("score")) if isinstance(prediction, dict) else None
        if score is not None:
            return score
    return None


def _check_result(result: Any, where: str) -> list[dict[str, Any]]:
    if result is None:
        return []
    if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
        raise ImportFormatError(f"{where}: result must be a list of objects")
    return result


class _BatchWriter:
    """Collects parsed tasks and writes them in batches of BATCH_SIZE rows, one bulk operation per table.

    Rows are built as plain tuples with their JSON serialised once here (no per-row dicts, ORM objects or
    SQLAlchemy parameter processing): on 100,000 tasks that per-row work, not the database, was most of the
    import's time. Task ids are reserved up front, so annotations and predictions need no RETURNING.
    """

    def __init__(self, uow: UnitOfWork, project: Project, batch_id: int, authors: _AuthorResolver) -> None:
        self._uow = uow
        self._project = project
        self._batch_id = batch_id
        self._authors = authors
        self._pending: list[tuple[ParsedTask, str]] = []
        self.n_tasks = self.n_annotations = self.n_predictions = 0

    def add(self, task: ParsedTask, where: str) -> None:
        self._pending.append((task, where))
        if len(self._pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        session = self._uow.session
        project_id, batch_id, overlap = self._project.id, self._batch_id, self._project.overlap
        task_ids = imports_repo.new_task_ids(session, len(pending))
        now = imports_repo.sql_timestamp(session, utcnow())
        dumps = json.dumps  # what SQLAlchemy's JSON type would store, so rows read back the same
        rows = []
        annotations: list[tuple[int, dict[str, Any], str]] = []
        predictions: list[tuple[int, dict[str, Any], str]] = []
        for task_id, (task, where) in zip(task_ids, pending):
            n_submitted = 0
            is_ground_truth = False
            if task.annotations:
                n_submitted = sum(1 for a in task.annotations if not _flag(a.get("was_cancelled")))
                is_ground_truth = any(_flag(a.get("ground_truth")) for a in task.annotations)
                annotations.extend((task_id, a, where) for a in task.annotations)
            score = None
            if task.predictions:
                score = _newest_score(task.predictions)
                predictions.extend((task_id, p, where) for p in task.predictions)
            source_id = task.source_id
            rows.append((
                task_id,
                project_id,
                batch_id,
                None if source_id is None else str(source_id)[:100],
                dumps(task.data),
                dumps(task.meta) if task.meta else "null",  # json.dumps(None), the common case
                TASK_COMPLETED if n_submitted >= overlap else TASK_OPEN,
                overlap,
                n_submitted,
                0,
                is_ground_truth,
                score,
                now,
                now,
            ))
        prediction_rows = [
            (
                task_id,
                str(p.get("model_version") or "undefined")[:200],
                _number(p.get("score")),
                dumps(_check_result(p.get("result"), f"{where}, prediction")),
                now,
            )
            for task_id, p, where in predictions
        ]
        imports_repo.write_rows(session, Task.__table__, imports_repo.TASK_COLUMNS, rows)
        imports_repo.write_rows(session, Prediction.__table__, imports_repo.PREDICTION_COLUMNS, prediction_rows)
        if annotations:
            self._write_annotations(annotations)
        self.n_tasks += len(rows)
        self.n_annotations += len(annotations)
        self.n_predictions += len(predictions)

    def _write_annotations(self, annotations: list[tuple[int, dict[str, Any], str]]) -> None:
        seen: set[tuple[int, int]] = set()
        ann_rows = []
        gold: dict[int, list[dict[str, Any]]] = {}
        project_id, config_version = self._project.id, self._project.config_version
        session = self._uow.session
        for task_id, a, where in annotations:
            author = self._authors(a.get("completed_by"), where=f"{where}, annotation")
            cancelled = _flag(a.get("was_cancelled"))
            result = _check_result(a.get("result"), f"{where}, annotation")
            if not cancelled:
                if (task_id, author) in seen:
                    raise ImportFormatError(
                        f"{where}: two submitted annotations by the same author ({a.get('completed_by')!r}); "
                        "Quorum keeps one annotation per person and task"
                    )
                seen.add((task_id, author))
            ground_truth = _flag(a.get("ground_truth"))
            if ground_truth and not cancelled:
                gold[task_id] = result
            stamps = imports_repo.timestamps(a)
            ann_rows.append((
                task_id,
                project_id,
                author,
                json.dumps(result),
                cancelled,
                ground_truth,
                _number(a.get("lead_time")),
                config_version,
                a.get("id") if isinstance(a.get("id"), int) else None,
                imports_repo.sql_timestamp(session, stamps["created_at"]),
                imports_repo.sql_timestamp(session, stamps["updated_at"]),
            ))
        imports_repo.write_rows(session, Annotation.__table__, imports_repo.ANNOTATION_COLUMNS, ann_rows)
        imports_repo.insert_ground_truth(session, gold, source="import")


def _required_keys(cfg: LabelingConfig) -> tuple[str, ...] | None:
    """The data keys the config reads when every read is a plain ``$key``; None when one follows a path.

    Lets the per-task check be a dict lookup per key; :func:`check_task_data` (which re-parses the templates
    on every call, ~15 us a task) still writes the message whenever a key is missing.
    """
    keys: list[str] = []
    for use in cfg.variable_uses:
        for variable, steps in variable_paths(use.template):
            if variable != use.variable:
                continue
            if steps:
                return None
            keys.append(variable)
    return tuple(dict.fromkeys(keys))


def _checked_tasks(
    tasks: Iterable[ParsedTask], cfg: LabelingConfig, filename: str, errors: list[str]
) -> Iterator[tuple[ParsedTask, str]]:
    """Tasks whose data has every variable the config reads; problems are collected, not raised,
    so the person importing sees every bad row at once (up to MAX_REPORTED_ERRORS)."""
    keys = _required_keys(cfg)
    for task in tasks:
        where = f"{filename}, task {task.position}"
        data = task.data
        has_keys = keys is not None and isinstance(data, dict) and all(key in data for key in keys)
        problems = [] if has_keys else check_task_data(cfg, data)
        if problems:
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.extend(f"{where}: {p}" for p in problems[:3])
            else:
                errors.append("")  # counted, not shown
            continue
        yield task, where


def import_upload(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    stream: IO[bytes],
    filename: str,
    blob_store: BlobStore,
    data_key: str | None = None,
) -> ImportSummary:
    """Import one uploaded file: a task file as it is, or a media file stored first (a task per file).

    The media blob is content-addressed, so a failed import leaves at most an unreferenced file behind,
    never a task without its media.
    """
    require(uow, actor, project_id, Action.IMPORT)
    media_url = None
    if is_media_file(filename):
        sha = file_sha256(stream)
        previous = imports_repo.batch_by_hash(uow.session, project_id, sha)
        if previous is None:
            media_url = blob_store.put(stream, filename=filename, folder=f"project-{project_id}")
            stream.seek(0)
    return import_tasks_file(
        uow, actor, project_id=project_id, stream=stream, filename=filename, data_key=data_key, media_url=media_url
    )


def import_tasks_file(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    stream: IO[bytes],
    filename: str,
    data_key: str | None = None,
    media_url: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import one file (JSON, JSON lines, CSV, TSV, TXT, an image or audio file) into a project.

    Nothing is committed here: the caller commits on success, and any error leaves the database as it
    was. ``media_url`` is the stored URL of an uploaded media file (one task per file).
    Raises ImportFormatError (bad rows, named), ConflictError (the same file imported before).
    """
    project = require(uow, actor, project_id, Action.IMPORT)
    cfg = parse_config(project.config_xml)
    filename = os.path.basename(filename) or "upload"
    sha = file_sha256(stream)
    previous = imports_repo.batch_by_hash(uow.session, project_id, sha)
    if previous is not None:
        raise ConflictError(
            f"{filename} was already imported into {project.title!r} "
            f"(as {previous.filename} on {previous.created_at:%Y-%m-%d %H:%M} UTC, {previous.n_tasks} tasks)"
        )
    try:
        batch = imports_repo.create_batch(
            uow.session, project_id=project_id, filename=filename, sha256=sha, actor_id=actor.id
        )
    except IntegrityError as exc:  # a concurrent import of the same file won the race
        raise ConflictError(f"{filename} is being imported into {project.title!r} right now") from exc
    authors = _AuthorResolver(uow, actor)
    writer = _BatchWriter(uow, project, batch.id, authors)
    errors: list[str] = []
    parsed = iter_tasks(stream, filename=filename, data_key=data_key or default_data_key(cfg), media_url=media_url)
    for task, where in _checked_tasks(parsed, cfg, filename, errors):
        if errors:
            continue  # keep reading to report every bad row, but write nothing more
        writer.add(task, where)
        if progress and writer.n_tasks and writer.n_tasks % BATCH_SIZE == 0:
            progress(writer.n_tasks)
    if errors:
        shown = [e for e in errors if e]
        hidden = len(errors) - len(shown)
        more = f"\n... and {hidden} more problems" if hidden else ""
        raise ImportFormatError(
            f"{filename}: nothing imported, {len(errors)} problem(s):\n" + "\n".join(shown) + more
        )
    writer.flush()
    if writer.n_tasks == 0:
        raise ImportFormatError(f"no tasks in {filename}")
    imports_repo.finish_batch(uow.session, batch, n_tasks=writer.n_tasks, n_annotations=writer.n_annotations)
    if writer.n_tasks >= ANALYZE_FROM_TASKS:
        written = [Task.__table__]
        if writer.n_annotations:
            written.append(Annotation.__table__)
        if writer.n_predictions:
            written.append(Prediction.__table__)
        imports_repo.refresh_planner_statistics(uow.session, written)
    if progress:
        progress(writer.n_tasks)
    return ImportSummary(
        batch.id, filename, writer.n_tasks, writer.n_annotations, writer.n_predictions, authors.created
    )
