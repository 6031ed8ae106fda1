"""Importing task files into a project: all-or-nothing, streamed, in batches.

The file is read as a stream (``core.formats.iter_task_records``), optionally mapped (columns to config
variables, ``core.import_mapping``), checked task by task against the project's labeling config, and written
inside the caller's unit of work while it is read. Any bad row aborts the whole import (every bad row is
named): the caller does not commit, so nothing is written; only when the caller asks for it
(``skip_invalid``) are the valid rows imported and the bad ones listed. A file imported twice into the same
project is refused by its content hash (a unique constraint, so two racing imports cannot both land).
Tasks that arrive with all the annotations their overlap asks are scored before the caller commits
(:func:`score_imported`).
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy.exc import IntegrityError

from core.config import LabelingConfig, check_task_data, parse_config
from core import webhook_events
from core.config.values import variable_paths
from core.errors import ConflictError, ImportFormatError
from core.formats.json_stream import dumps_data, dumps_finite
from core.formats.readers import MEDIA_EXTENSIONS, RowError, TaskRecord, iter_task_records, record_from_item
from core.import_mapping import apply_mapping
from core.permissions import Action, require
from core.quality import recompute_tasks
from core.results import value_problems
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import TASK_COMPLETED, TASK_OPEN, Annotation, Prediction, Project, Task, utcnow
from storage.blobs import BlobStore
from storage.repositories import audit as audit_repo
from storage.repositories import imports as imports_repo

OUT_OF_RANGE = ("holds a number beyond a float's range (such as 1e999, which reads as infinity); JSON cannot "
                "store it")
BATCH_SIZE = 2000
ANALYZE_FROM_TASKS = 10_000
"""Imports of at least this many tasks refresh the planner's statistics (see refresh_planner_statistics)."""
MAX_REPORTED_ERRORS = 20
MAX_LISTED_REJECTS = 1000
"""Rejected rows kept for a summary or a preview; the count goes on beyond it."""
HASH_CHUNK = 1 << 20
MAX_UPLOAD_MB = 1024
"""The largest file the import wizard takes, in MiB: Streamlit's ``server.maxUploadSize`` in .streamlit/config.toml
(which refuses a bigger upload while it arrives, before it is held in memory). Checked again here, before a byte is
read, in case the server runs with a larger setting. The CLI and cloud storage read files as streams and have no
such limit; see :data:`core.formats.readers.MAX_LINE_CHARS` and ``json_stream.MAX_ITEM_CHARS`` for one task's."""

ProgressCallback = Callable[[int], None]
"""Called with the number of rows read so far (every BATCH_SIZE tasks and once at the end)."""


@dataclass(frozen=True)
class RejectedRow:
    """A task the import refused: which file, which item/line/row, and what is wrong with it."""

    filename: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.filename}, {self.where}: {self.reason}"


@dataclass(frozen=True)
class ImportSummary:
    batch_id: int
    filename: str
    n_tasks: int
    n_annotations: int
    n_predictions: int
    n_users_created: int
    rejected: tuple[RejectedRow, ...] = field(default=())
    """Rows skipped because the caller asked to import the valid rows only (at most MAX_LISTED_REJECTS)."""
    n_rejected: int = 0
    n_drafts: int = 0
    notes: tuple[str, ...] = field(default=())
    """What the import did differently from the file, for the person importing (older annotations by the same
    person kept as history, prediction ids skipped ...): nothing is left out without a line here."""


def file_sha256(stream: IO[bytes]) -> str:
    """Hash a seekable stream and rewind it: the duplicate-import check needs the hash before inserting."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(HASH_CHUNK), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def stream_size(stream: IO[bytes]) -> int | None:
    """The stream's size in bytes, found by seeking (nothing is read); None when it cannot seek."""
    try:
        position = stream.tell()
        size = stream.seek(0, os.SEEK_END)
        stream.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return size


def check_upload_size(stream: IO[bytes], filename: str, *, limit_mb: int = MAX_UPLOAD_MB) -> None:
    """Refuse an upload above ``limit_mb`` before reading it (ImportFormatError naming the file and the limit)."""
    size = stream_size(stream)
    if size is not None and size > limit_mb << 20:
        raise ImportFormatError(
            f"{filename} is {size / (1 << 20):,.0f} MB; an upload may be at most {limit_mb:,} MB. Split the file, "
            "or import it with `python cli.py import`, which reads files of any size as a stream"
        )


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

    Label Studio writes ``completed_by`` as an int (its own user id), as ``{"id", "email", "first_name",
    "last_name"}`` (older exports, its export snapshots, and Quorum's own JSON export), as an e-mail, or null.
    E-mails are matched to existing accounts (case aside), so Quorum's export imported into this or another
    Quorum keeps its authors. An id is matched by the e-mail the export's user table gives it
    (:meth:`add_user_table`), or that an earlier ``{"id", "email"}`` of the same file gave it (the same Label
    Studio's user). Anything else becomes an inactive account (no password) that keeps the author distinct (so
    agreement between the original annotators stays measurable), named after the object's first and last name
    when the file has them.
    """

    def __init__(self, uow: UnitOfWork, actor: UserInfo) -> None:
        self._uow = uow
        self._actor = actor
        self._cache: dict[str, int] = {}
        self._emails_by_id: dict[str, str] = {}
        self._names_by_email: dict[str, str] = {}
        self.created = 0
        self.created_names: list[str] = []

    @property
    def actor_id(self) -> int:
        """The person importing (the author of annotations that name nobody, and of the import's audit events)."""
        return self._actor.id

    def add_user_table(self, users: Iterable[Any]) -> None:
        """Learn the export's users (``{"id", "email", "first_name", "last_name"}`` each; entries without an id
        and an e-mail teach nothing), so that an annotation naming one by id alone resolves by e-mail. Raises
        ImportFormatError for an entry whose e-mail or id no account could hold."""
        for position, user in enumerate(users, start=1):
            if not isinstance(user, dict):
                raise ImportFormatError(f"user {position} of the user table must be an object, not "
                                        f"{type(user).__name__}")
            try:
                self._learn(user)
            except ImportFormatError as exc:
                raise ImportFormatError(f"user {position} of the user table: {exc}") from None

    def __call__(self, completed_by: Any, *, where: str) -> int:
        try:
            email, external_id = _author_identity(completed_by)
            if isinstance(completed_by, dict):
                self._learn(completed_by)
        except ImportFormatError as exc:
            raise ImportFormatError(f"{where}: {exc}") from None
        if not email and external_id is not None:
            email = self._emails_by_id.get(str(external_id))
        key = _author_key(email, external_id)
        if key is None:
            return self._actor.id
        if key not in self._cache:
            self._cache[key] = self._resolve(email, external_id)
        return self._cache[key]

    def _learn(self, user: dict[str, Any]) -> None:
        """Remember the e-mail of a user object's id and the name of its e-mail."""
        email = _checked_email(user.get("email") or None, "email")
        external_id = _checked_author_id(user.get("id"), "id")
        if not email:
            return
        if external_id is not None:
            self._emails_by_id.setdefault(str(external_id), email)
        name = _author_name(user)
        if name:
            self._names_by_email.setdefault(email.strip().lower(), name)

    def _resolve(self, email: str | None, external_id: Any) -> int:
        session = self._uow.session
        if email:
            user_id = imports_repo.user_id_by_email(session, email)
            if user_id is not None:
                return user_id
            username = imports_repo.free_username(session, email.split("@")[0] or "imported")
            name = self._names_by_email.get(email.strip().lower()) or username
        else:
            username = f"{GHOST_PREFIX}{external_id}"
            user_id = imports_repo.user_id_by_username(session, username)
            if user_id is not None:
                return user_id
            name = username
        self.created += 1
        self.created_names.append(username)
        return imports_repo.create_inactive_user(session, username=username, email=email, display_name=name)


def _author_name(user: dict[str, Any]) -> str:
    """``first_name last_name`` of a Label Studio user object (text only; "" when it has none), cut to the
    200-character display-name column."""
    parts = [user.get(key) for key in ("first_name", "last_name")]
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())[:200]


def _flag(value: Any) -> bool:
    return bool(value) and value not in ("false", "False", "0")


def _number(value: Any) -> float | None:
    """A score or lead time as a float; None for anything else (a string, an object, an int too large for a
    float: JSON allows 10**400, ``float()`` raises OverflowError on it)."""
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError, OverflowError):
        return None


INT32_RANGE = range(-(2**31), 2**31)
"""What the ``annotations.import_id`` column (INTEGER) holds on PostgreSQL."""


def _import_id(value: Any) -> int | None:
    """The annotation's id in the file (kept for reference) when it is an int the column holds, else None, as
    for any other id that is not an int: a Label Studio id always fits."""
    return value if type(value) is int and value in INT32_RANGE else None


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


AUDIT_OLDER_ANNOTATION = "import.older_annotation"
"""The audit event keeping a person's older annotation of a task as history (the Data page shows them)."""
GHOST_PREFIX = "ls-user-"
"""The user name of an inactive account made for an imported author known by id only: ``ls-user-<id>``."""
MAX_AUTHOR_ID_CHARS = 100
"""An imported author's id becomes the user name ``ls-user-<id>``, which must fit the 150-character column."""
MAX_EMAIL_CHARS = 254
"""The ``users.email`` column's width (RFC 5321's limit)."""


def _author_identity(completed_by: Any) -> tuple[str | None, Any]:
    """``(email, external id)`` named by an imported annotation's ``completed_by`` (both None: the person
    importing). Raises ImportFormatError (without a location) for a value that names nobody in a known way,
    or names someone in a way no account can hold (an e-mail that is not text, an id too long for a user name)."""
    if completed_by is None or completed_by == "":
        return None, None
    if isinstance(completed_by, dict):
        email = _checked_email(completed_by.get("email") or None, "completed_by.email")
        username = completed_by.get("username")
        if not email and isinstance(username, str) and username.startswith(GHOST_PREFIX) and len(username) > len(
                GHOST_PREFIX):
            # Quorum's export of an author known by id only: the same inactive account, not one more per round trip
            return None, _checked_author_id(username[len(GHOST_PREFIX):], "completed_by.username")
        return email, _checked_author_id(completed_by.get("id"), "completed_by.id")
    if isinstance(completed_by, (int, str)) and not isinstance(completed_by, bool):
        if isinstance(completed_by, str) and "@" in completed_by:
            return _checked_email(completed_by, "completed_by"), None
        return None, _checked_author_id(completed_by, "completed_by")
    raise ImportFormatError("completed_by must be a user id, an object or null")


def _checked_email(email: Any, what: str) -> str | None:
    """An author's e-mail as the account will store it (stripped, lower-cased) must be text that fits the
    column: anything else would fail the whole import at the insert, with a database error naming no row."""
    if email is None:
        return None
    if not isinstance(email, str):
        raise ImportFormatError(f"{what} must be an e-mail address (text), not {type(email).__name__}")
    if len(email.strip().lower()) > MAX_EMAIL_CHARS:
        raise ImportFormatError(f"{what} is longer than {MAX_EMAIL_CHARS} characters, the longest e-mail address")
    return email


def _checked_author_id(external_id: Any, what: str) -> Any:
    """An author's id becomes part of a user name: a number or text short enough for the column (an object, a
    list or a boolean names nobody)."""
    if external_id is None:
        return None
    if isinstance(external_id, (bool, dict, list)):
        raise ImportFormatError(f"{what} must be a user id (a number or text), not {type(external_id).__name__}")
    if len(str(external_id)) > MAX_AUTHOR_ID_CHARS:
        raise ImportFormatError(f"{what} is longer than {MAX_AUTHOR_ID_CHARS} characters, the longest user id")
    return external_id


def _author_key(email: str | None, external_id: Any) -> str | None:
    """One key per author (None: the person importing), for the resolver's cache and the duplicate check."""
    if email:
        return f"email:{str(email).strip().lower()}"
    return None if external_id is None else f"id:{external_id}"


def _value_problems(cfg: LabelingConfig, result: Any, data: Any, what: str) -> list[str]:
    """Malformed values among a result's items, by their control's tag family (a box outside the image, a
    span past the end of the text, a rating above ``maxRating`` ...), each naming the item, control and
    field. Items of controls the config does not have, or of another type, are Label Studio's business
    (an export from an older config) and pass as they are."""
    problems: list[str] = []
    for position, item in enumerate(result, start=1):
        if item.get("type") == "relation":
            continue  # its ends are region ids; nothing in its value to measure
        control = cfg.controls.get(str(item.get("from_name")))
        if control is None or item.get("type") != control.kind.result_type:
            continue
        for problem in value_problems(cfg, control, item, data if isinstance(data, dict) else None):
            problems.append(f"{what}, result item {position}: {control.tag} {control.name!r}: {problem}")
    return problems


def _annotation_problems(record: TaskRecord, cfg: LabelingConfig) -> list[str]:
    """What is wrong with a task's annotations and predictions, found before anything is written.

    The reader checked the shapes (lists of objects); this checks what the import itself relies on: results
    are lists of objects whose values their controls can read, authors are recognisable (several submitted
    annotations by one person are settled by the writer, :func:`_newest_per_author`).
    """
    problems: list[str] = []
    for index, prediction in enumerate(record.predictions, start=1):
        result = prediction.get("result")
        if result is not None and not all(isinstance(item, dict) for item in result):
            problems.append(f"prediction {index}: result must be a list of objects")
        elif result:
            problems += _value_problems(cfg, result, record.data, f"prediction {index}")
    for index, annotation in enumerate(record.annotations, start=1):
        result = annotation.get("result")
        if result is not None and not all(isinstance(item, dict) for item in result):
            problems.append(f"annotation {index}: result must be a list of objects")
        elif result:
            problems += _value_problems(cfg, result, record.data, f"annotation {index}")
        try:
            _author_identity(_annotation_author(annotation))
        except ImportFormatError as exc:
            problems.append(f"annotation {index}: {exc}")
    for index, draft in enumerate(record.drafts, start=1):
        result = draft.get("result")
        if result is not None and not all(isinstance(item, dict) for item in result):
            problems.append(f"draft {index}: result must be a list of objects")
        try:
            _author_identity(_draft_author(draft))
        except ImportFormatError as exc:
            problems.append(f"draft {index}: {exc}")
    return problems


def _newest_per_author(annotations: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(kept, older)``: a person's submitted annotations past the newest (by ``updated_at``, else
    ``created_at``, else file order) go to ``older``; Quorum keeps one submitted annotation per person and task
    (a unique index), Label Studio allows several. Cancelled ones are all kept. Authors whose ``completed_by``
    is unreadable were refused before (:func:`_annotation_problems`)."""
    newest: dict[str | None, int] = {}
    for index, annotation in enumerate(annotations):
        if _flag(annotation.get("was_cancelled")):
            continue
        key = _author_key(*_author_identity(_annotation_author(annotation)))
        previous = newest.get(key)
        if previous is None or _annotation_time(annotation) >= _annotation_time(annotations[previous]):
            newest[key] = index
    if len(newest) == sum(1 for a in annotations if not _flag(a.get("was_cancelled"))):
        return annotations, []
    keep = set(newest.values())
    kept = [a for i, a in enumerate(annotations) if i in keep or _flag(a.get("was_cancelled"))]
    older = [a for i, a in enumerate(annotations) if i not in keep and not _flag(a.get("was_cancelled"))]
    return kept, older


def _annotation_time(annotation: dict[str, Any]) -> dt.datetime:
    """When an imported annotation was last changed (``updated_at``, else ``created_at``); the earliest time
    when neither reads as an ISO time (file order then decides)."""
    return (imports_repo.parse_time(annotation.get("updated_at")) or imports_repo.parse_time(annotation.get("created_at"))
            or dt.datetime.min)


def _author_label(completed_by: Any) -> str:
    """How a note names an imported author: the e-mail, else the id as the file gave it."""
    try:
        email, external_id = _author_identity(completed_by)
    except ImportFormatError:
        return repr(completed_by)
    return str(email or external_id or "the person importing")


class _BatchWriter:
    """Writes checked tasks: task rows as they come, their annotations and predictions per batch.

    Task rows go to a :class:`storage.repositories.imports.TaskRowSink` as soon as they are read (on
    PostgreSQL a COPY the server works through while the next tasks are parsed); the sink gives the id of each
    task that has annotations or predictions, which are written (no RETURNING needed) once BATCH_SIZE tasks
    are in or the file ends.
    Task data is stored as JSON text built once (:func:`dumps_data`: the file's own text when it needs no
    change), with no per-row dicts, ORM objects or SQLAlchemy parameter processing.
    """

    def __init__(
        self, uow: UnitOfWork, project: Project, batch_id: int, authors: _AuthorResolver, filename: str
    ) -> None:
        self._uow = uow
        self._filename = filename
        self._project = project
        self._authors = authors
        self._sink = imports_repo.TaskRowSink(
            uow.session, project_id=project.id, batch_id=batch_id, overlap=project.overlap, now=utcnow(),
            open_state=TASK_OPEN,
        )
        self._in_batch = 0
        self._with_children: list[tuple[int, TaskRecord, str]] = []
        self.n_tasks = self.n_annotations = self.n_predictions = 0
        self.kept_out: list[str] = []
        """One line per submitted annotation kept as history (audited), older than its author's newest on the
        same task."""
        self._older: list[tuple[int, dict[str, Any], str]] = []
        self.tasks_with_prediction_ids = self.tasks_with_draft_ids = 0
        """Tasks whose ``predictions`` / ``drafts`` listed bare ids (skipped: nothing to import)."""
        self.n_drafts = self.n_drafts_replaced = 0

    def __enter__(self) -> _BatchWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._sink.__exit__(exc_type, exc, tb)

    def _error(self, where: str, reason: str) -> ImportFormatError:
        return ImportFormatError(f"{self._filename}, {where}: {reason}")

    def _json(self, value: Any, where: str, what: str) -> str:
        """``value`` as stored JSON text; ImportFormatError naming the task for a number JSON cannot hold."""
        try:
            return dumps_finite(value)
        except ValueError:
            raise self._error(where, f"{what} {OUT_OF_RANGE}") from None

    def add(self, record: TaskRecord, where: str) -> None:
        try:
            data_json = dumps_data(record.data, record.source_text)
        except ValueError:
            raise self._error(where, f"data {OUT_OF_RANGE}") from None
        annotations, predictions, drafts = record.annotations, record.predictions, record.drafts
        older: list[dict[str, Any]] = []
        if len(annotations) > 1:
            annotations, older = _newest_per_author(annotations)
            if older:
                record = record._replace(annotations=annotations)
                task = f"the file's task {record.source_id}" if record.source_id is not None else where
                for annotation in older:
                    self.kept_out.append(f"{task}, user {_author_label(_annotation_author(annotation))}")
        if record.skipped_ids[0]:
            self.tasks_with_prediction_ids += 1
        if record.skipped_ids[1]:
            self.tasks_with_draft_ids += 1
        extras = record.extras
        if annotations or predictions or drafts or record.meta or record.source_id is not None or extras:
            n_submitted = sum(1 for a in annotations if not _flag(a.get("was_cancelled")))
            source_id = record.source_id
            stamps = imports_repo.timestamps(extras) if "created_at" in extras or "updated_at" in extras else None
            task_id = self._sink.add(
                data_json,
                source_id=None if source_id is None else str(source_id)[:100],
                meta_json=self._json(record.meta, where, "meta") if record.meta else "null",
                state=TASK_COMPLETED if n_submitted >= self._project.overlap else TASK_OPEN,
                n_annotations=n_submitted,
                is_ground_truth=any(_flag(a.get("ground_truth")) for a in annotations),
                prediction_score=_newest_score(predictions) if predictions else None,
                with_id=bool(annotations or predictions or drafts),
                inner_id=extras.get("inner_id"), file_upload=extras.get("file_upload"),
                created_at=stamps["created_at"] if stamps else None,
                updated_at=stamps["updated_at"] if stamps else None,
            )
            if annotations or predictions or drafts:
                assert task_id is not None
                self._with_children.append((task_id, record, where))
                self._older.extend((task_id, annotation, where) for annotation in older)
        else:
            self._sink.add_plain(data_json)
        self._in_batch += 1
        # Children wait in memory for their tasks' batch to end; rows wait only on SQLite (PostgreSQL streams).
        if self._sink.pending_rows >= BATCH_SIZE or (self._with_children and self._in_batch >= BATCH_SIZE):
            self.flush()

    def flush(self) -> None:
        """End the batch: its tasks are in the table, then their predictions and annotations are written."""
        if not self._in_batch:
            return
        self._sink.end_batch()
        if self._with_children:
            self._sink.settle()  # their tasks must be in the table, and the connection free
        session = self._uow.session
        now = imports_repo.sql_timestamp(session, utcnow())
        predictions = [(task_id, p, where) for task_id, record, where in self._with_children for p in record.predictions]
        annotations = [(task_id, a, where) for task_id, record, where in self._with_children for a in record.annotations]
        prediction_rows = [
            (
                task_id,
                str(p.get("model_version") or "undefined")[:200],
                _number(p.get("score")),
                self._json(_check_result(p.get("result"), f"{self._filename}, {where}, prediction"), where,
                           "a prediction's result"),
                now,
            )
            for task_id, p, where in predictions
        ]
        imports_repo.write_rows(session, Prediction.__table__, imports_repo.PREDICTION_COLUMNS, prediction_rows)
        if annotations:
            self._write_annotations(annotations, self._parent_predictions(annotations))
        drafts = [(task_id, d, where) for task_id, record, where in self._with_children for d in record.drafts]
        if drafts:
            self._write_drafts(drafts)
        if self._older:
            self._record_older(self._older)
            self._older = []
        self.n_tasks += self._in_batch
        self.n_annotations += len(annotations)
        self.n_predictions += len(predictions)
        self._in_batch = 0
        self._with_children = []

    def _parent_predictions(self, annotations: list[tuple[int, dict[str, Any], str]]) -> dict[tuple[int, Any], int]:
        """{(task id, the file's prediction id): the stored prediction's id} for the tasks whose annotations name
        the prediction they were made from (Label Studio's ``parent_prediction``), so the link survives the
        import (the predictions were just written in file order: their ids follow it)."""
        tasks = {task_id for task_id, a, _ in annotations if a.get("parent_prediction") is not None}
        if not tasks:
            return {}
        stored = imports_repo.prediction_ids_of(self._uow.session, sorted(tasks))
        links: dict[tuple[int, Any], int] = {}
        for task_id, record, _where in self._with_children:
            if task_id in tasks:
                for prediction, prediction_id in zip(record.predictions, stored.get(task_id, ())):
                    if prediction.get("id") is not None:
                        links[(task_id, _hashable(prediction["id"]))] = prediction_id
        return links

    def _write_annotations(self, annotations: list[tuple[int, dict[str, Any], str]],
                           parents: dict[tuple[int, Any], int]) -> None:
        seen: set[tuple[int, int]] = set()
        ann_rows = []
        gold: dict[int, list[dict[str, Any]]] = {}
        project_id, config_version = self._project.id, self._project.config_version
        session = self._uow.session
        for task_id, a, where in annotations:
            author = self._authors(_annotation_author(a), where=f"{self._filename}, {where}, annotation")
            cancelled = _flag(a.get("was_cancelled"))
            result = _check_result(a.get("result"), f"{self._filename}, {where}, annotation")
            if not cancelled:
                if (task_id, author) in seen:  # two keys naming one account (an e-mail and its id)
                    raise self._error(
                        where, f"two submitted annotations by the same author ({a.get('completed_by')!r}); "
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
                self._json(result, where, "an annotation's result"),
                cancelled,
                ground_truth,
                _number(a.get("lead_time")),
                config_version,
                _import_id(a.get("id")),
                imports_repo.sql_timestamp(session, stamps["created_at"]),
                imports_repo.sql_timestamp(session, stamps["updated_at"]),
                parents.get((task_id, _hashable(a.get("parent_prediction")))) if parents else None,
            ))
        imports_repo.write_rows(session, Annotation.__table__, imports_repo.ANNOTATION_COLUMNS, ann_rows)
        imports_repo.insert_ground_truth(session, gold, source="import")

    def _write_drafts(self, drafts: list[tuple[int, dict[str, Any], str]]) -> None:
        """Each imported draft becomes its author's draft of the task (one per person and task: the newest, by
        ``updated_at``, the others counted in :attr:`n_drafts_replaced`), tied to the annotation it edits when
        the file names that annotation by its id (Label Studio's ``annotation``) and it came in too."""
        session = self._uow.session
        newest: dict[tuple[int, int], tuple[dict[str, Any], str]] = {}
        for task_id, draft, where in drafts:
            author = self._authors(_draft_author(draft), where=f"{self._filename}, {where}, draft")
            key = (task_id, author)
            previous = newest.get(key)
            if previous is not None:
                self.n_drafts_replaced += 1
                if _annotation_time(draft) < _annotation_time(previous[0]):
                    continue
            newest[key] = (draft, where)
        edited = imports_repo.annotation_ids_by_import_id(
            session, {task_id for task_id, _user in newest},
        )
        rows = []
        for (task_id, author), (draft, where) in newest.items():
            result = _check_result(draft.get("result"), f"{self._filename}, {where}, draft")
            stamps = imports_repo.timestamps(draft)
            annotation = _import_id(draft.get("annotation"))
            rows.append({
                "task_id": task_id, "user_id": author, "result": result,
                "annotation_id": edited.get((task_id, annotation)) if annotation is not None else None,
                "active_time_s": _number(draft.get("lead_time")) or 0.0,
                "started_at": stamps["created_at"], "updated_at": stamps["updated_at"],
            })
        imports_repo.insert_drafts(session, rows)
        self.n_drafts += len(rows)

    def _record_older(self, older: list[tuple[int, dict[str, Any], str]]) -> None:
        """Keep each older annotation of a person (see :func:`_newest_per_author`) as history in the project's
        audit trail (``import.older_annotation``: the task, the author, the file's annotation id, result and
        times), so what the file held stays readable although one answer per person counts."""
        session = self._uow.session
        for task_id, annotation, where in older:
            author = self._authors(_annotation_author(annotation), where=f"{self._filename}, {where}, annotation")
            audit_repo.record(session, actor_id=self._authors.actor_id, project_id=self._project.id,
                              action=AUDIT_OLDER_ANNOTATION, detail={
                                  "task_id": task_id, "author_id": author, "file": self._filename,
                                  "import_id": _import_id(annotation.get("id")),
                                  "result": _check_result(annotation.get("result"), f"{self._filename}, {where}"),
                                  "created_at": annotation.get("created_at"),
                                  "updated_at": annotation.get("updated_at"),
                                  "lead_time": _number(annotation.get("lead_time")),
                              })


def _hashable(value: Any) -> Any:
    """A file's id as a dict key (an id that is an object or a list names nothing)."""
    return value if isinstance(value, (int, str)) else None


def _draft_author(draft: dict[str, Any]) -> Any:
    """Who a Label Studio draft belongs to, as a ``completed_by`` value: its ``completed_by`` when given, else its
    ``user`` (the id; Label Studio's draft serializer writes it as text) with the e-mail its ``created_username``
    ends with (``"First Last ana@example.com, 3"``)."""
    if draft.get("completed_by") is not None:
        return _annotation_author(draft)
    user = draft.get("user")
    if isinstance(user, str) and "@" in user:
        return user  # Label Studio's serializer writes the user as text: its e-mail
    if isinstance(user, str) and user.strip().isdigit():
        user = int(user.strip())
    return _with_username_email(user, draft.get("created_username"))


def _annotation_author(annotation: dict[str, Any]) -> Any:
    """An imported annotation's ``completed_by``, with the e-mail of its ``created_username`` when it names the
    author by id alone (Label Studio's cloud-storage annotation objects: ``"completed_by": 7, "created_username":
    " tom@example.org, 7"``), so the id finds the same person as an e-mail would."""
    completed_by = annotation.get("completed_by")
    if isinstance(completed_by, (int, str)) and not isinstance(completed_by, bool) and "@" not in str(completed_by):
        return _with_username_email(completed_by, annotation.get("created_username"))
    return completed_by


def _with_username_email(user: Any, created_username: Any) -> Any:
    """``{"id": user, "email": ...}`` when ``created_username`` ("First Last e-mail, id") carries an e-mail, else
    ``user`` as it is."""
    email = None
    if isinstance(created_username, str) and "," in created_username:
        words = created_username.rsplit(",", 1)[0].split()
        email = words[-1] if words and "@" in words[-1] else None
    if email is None:
        return user
    return {"id": user, "email": email} if isinstance(user, (int, str)) and not isinstance(user, bool) else email


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


class Rejects:
    """The rows an import refused: counted, the first MAX_LISTED_REJECTS kept with file, row and reason."""

    def __init__(self) -> None:
        self.rows: list[RejectedRow] = []
        self.count = 0

    def add(self, filename: str, where: str, reason: str) -> None:
        self.count += 1
        if len(self.rows) < MAX_LISTED_REJECTS:
            self.rows.append(RejectedRow(filename, where, reason))

    def add_row_error(self, error: RowError) -> None:
        self.add(error.filename, error.where, error.reason)

    def message(self, filename: str) -> str:
        """The all-or-nothing refusal: every problem up to MAX_REPORTED_ERRORS, then a count."""
        shown = [str(row) for row in self.rows[:MAX_REPORTED_ERRORS]]
        hidden = self.count - len(shown)
        more = f"\n... and {hidden} more problems" if hidden else ""
        return f"{filename}: nothing imported, {self.count} problem(s):\n" + "\n".join(shown) + more


def _row_unit(filename: str) -> str:
    """How the rows of a file are named in messages: "row" (CSV/TSV), "line" (JSON lines, TXT), "task"."""
    ext = os.path.splitext(filename)[1].lower()
    if ext in (".csv", ".tsv"):
        return "row"
    if ext in (".jsonl", ".ndjson", ".txt"):
        return "line"
    return "task"


def checked_records(
    records: Iterable[TaskRecord], cfg: LabelingConfig, filename: str, rejects: Rejects
) -> Iterator[tuple[TaskRecord, str]]:
    """``(record, where)`` for the tasks that can be imported; the others go to ``rejects``.

    A task is refused when its data lacks a variable the config reads, or its annotations or predictions
    are unusable (:func:`_annotation_problems`). Problems are collected, not raised, so the person importing
    sees every bad row at once.
    """
    keys = _required_keys(cfg)
    unit = _row_unit(filename)
    for record in records:
        if not record.annotations and _is_storage_annotation(record.data):
            try:
                record = _storage_annotation_record(record, filename, unit)
            except RowError as error:
                rejects.add_row_error(error)
                continue
        data = record.data
        has_keys = keys is not None and isinstance(data, dict) and all(key in data for key in keys)
        problems = [] if has_keys else check_task_data(cfg, data)
        if record.annotations or record.predictions or record.drafts:
            problems += _annotation_problems(record, cfg)
        where = f"{unit} {record.position}"
        if problems:  # one rejected row, however many problems it has (the counts are of rows)
            rejects.add(filename, where, "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else ""))
            continue
        yield record, where


def _is_storage_annotation(item: Mapping[str, Any]) -> bool:
    """Whether an item is one annotation with its task nested inside, as Label Studio's target (export) cloud
    storage writes one object per annotation: ``{"id", "result", "completed_by", ..., "task": {"data": ...}}``."""
    task = item.get("task")
    return isinstance(task, dict) and isinstance(task.get("data"), dict) and "result" in item


def _storage_annotation_record(record: TaskRecord, filename: str, unit: str) -> TaskRecord:
    """The task of a Label Studio cloud-storage annotation object, with that annotation as its only one (any
    annotations listed inside the nested task are Label Studio's own copy of the same ones)."""
    annotation = {key: value for key, value in record.data.items() if key != "task"}
    task = dict(record.data["task"])
    task["annotations"] = [annotation]
    return record_from_item(task, None, filename=filename, position=record.position, unit=unit.split(" ")[0])


def reading_name(stream: IO[bytes], filename: str) -> str:
    """The name the reader picks the format by: a file without an extension that starts as JSON does (``{`` or
    ``[``) is read as JSON, as Label Studio's cloud storage names each annotation object after its id ("88")."""
    if os.path.splitext(filename)[1] or not stream.seekable():
        return filename
    position = stream.tell()
    head = stream.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    stream.seek(position)
    return f"{filename}.json" if head[:1] in (b"{", b"[") else filename


def read_checked_tasks(
    stream: IO[bytes],
    *,
    cfg: LabelingConfig,
    filename: str,
    rejects: Rejects,
    data_key: str | None = None,
    media_url: str | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> Iterator[tuple[TaskRecord, str]]:
    """The file's importable tasks, with ``mapping`` applied; bad rows (unreadable or refused) go to
    ``rejects``. Raises ImportFormatError for what makes the whole file unreadable (JSON syntax, encoding,
    the CSV header, an unsupported type)."""
    records = iter_task_records(
        stream, filename=reading_name(stream, filename), data_key=data_key or default_data_key(cfg),
        media_url=media_url, on_row_error=rejects.add_row_error,
    )
    if mapping:
        records = apply_mapping(records, mapping)
    return checked_records(records, cfg, filename, rejects)


def too_deep_message(filename: str, position: int | None = None) -> str:
    """The refusal of JSON nested deeper than Python's decoder goes (about a thousand levels of ``[`` or ``{``,
    where it raises RecursionError): no task's data is that deep, so the whole file is refused."""
    around = f" around {_row_unit(filename)} {position}" if position is not None else ""
    return (f"{filename}: nothing imported:{around} the JSON is nested too deeply (more than about a thousand "
            "levels of [ or {); no task can hold data that deep")


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk import allocates.

    Every task allocates a few container objects; each 700 allocations start a collection, and the older
    generations it escalates to walk every object the process holds (SQLAlchemy, pandas ...): measured as a
    tenth of a 100,000-task import. Decoded JSON forms no reference cycles, so nothing waits for the
    collector; it is switched back on (if it was on) whatever happens.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def score_imported(uow: UnitOfWork, batch_id: int) -> int:
    """Score the tasks an import brought complete (as many submitted annotations as the overlap asks), as a
    labeler's last submit would: agreement, consensus and routing (done, review, or one more annotator) by
    :func:`core.quality.recompute_tasks`, in the import's own transaction, so a consensus export or the review
    queue has them at once, without a manager pressing "Score them now". Runs after the planner statistics
    are refreshed (a large import's joins need them). The tasks keep their ``updated_at`` (the file's, for a
    Label Studio export's: written back on export). How many tasks were scored."""
    task_ids = imports_repo.completed_task_ids(uow.session, batch_id)
    recompute_tasks(uow, task_ids, keep_task_times=True)
    return len(task_ids)


def import_upload(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    stream: IO[bytes],
    filename: str,
    blob_store: BlobStore,
    data_key: str | None = None,
    mapping: Mapping[str, str | None] | None = None,
    skip_invalid: bool = False,
    progress: ProgressCallback | None = None,
    users: Sequence[Any] | None = None,
) -> ImportSummary:
    """Import one uploaded file: a task file as it is, or a media file stored first (a task per file).

    The media blob is content-addressed, so a failed import leaves at most an unreferenced file behind,
    never a task without its media. A file above :data:`MAX_UPLOAD_MB` is refused before it is read.
    ``mapping``, ``skip_invalid``, ``progress`` and ``users`` as for :func:`import_tasks_file`.
    """
    require(uow, actor, project_id, Action.IMPORT)
    check_upload_size(stream, os.path.basename(filename) or "upload")
    media_url = None
    if is_media_file(filename):
        sha = file_sha256(stream)
        previous = imports_repo.batch_by_hash(uow.session, project_id, sha)
        if previous is None:
            media_url = blob_store.put(stream, filename=filename, folder=f"project-{project_id}")
            stream.seek(0)
    return import_tasks_file(
        uow, actor, project_id=project_id, stream=stream, filename=filename, data_key=data_key, media_url=media_url,
        mapping=mapping, skip_invalid=skip_invalid, progress=progress, users=users,
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
    mapping: Mapping[str, str | None] | None = None,
    skip_invalid: bool = False,
    users: Sequence[Any] | None = None,
    repeatable: bool = False,
) -> ImportSummary:
    """Import one file (JSON, JSON lines, CSV, TSV, TXT, an image or audio file) into a project.

    Nothing is committed here: the caller commits on success, and any error leaves the database as it
    was. ``media_url`` is the stored URL of an uploaded media file (one task per file). ``mapping``
    (``{variable: column}``, see :mod:`core.import_mapping`) feeds config variables from other columns.

    All or nothing by default: any bad row refuses the file, naming every bad row. With ``skip_invalid`` the
    valid rows are imported and the bad ones are listed in the summary's ``rejected`` (a file without a single
    valid row is still refused). Errors that make the file unreadable refuse it either way.
    ``users`` is the export's user table (:func:`read_user_table`): an annotation naming its author by id alone
    finds the account with that user's e-mail. ``repeatable``: the content is not a file but a request (the
    HTTP API's import, which Label Studio's clients send again at will), so the same content imported before is
    not refused as a repeated file.
    Raises ImportFormatError (bad rows, named), ConflictError (the same file imported before).
    """
    project = require(uow, actor, project_id, Action.IMPORT)
    cfg = parse_config(project.config_xml)
    filename = os.path.basename(filename) or "upload"
    sha = file_sha256(stream)
    if repeatable:  # one batch per request: a hash of the content and a nonce keeps the unique (project, hash)
        sha = hashlib.sha256(f"{sha}:{uuid.uuid4()}".encode()).hexdigest()
    previous = None if repeatable else imports_repo.batch_by_hash(uow.session, project_id, sha)
    if previous is not None:
        raise ConflictError(
            f"{filename} was already imported into {project.title!r} "
            f"(as {previous.filename} on {previous.created_at:%Y-%m-%d %H:%M} UTC, {previous.n_tasks} tasks)"
        )
    try:
        # In a savepoint: on PostgreSQL a unique violation aborts the whole transaction, and a caller importing
        # several files in one (a cloud-storage sync) goes on with the next file after this refusal.
        with uow.session.begin_nested():
            batch = imports_repo.create_batch(
                uow.session, project_id=project_id, filename=filename, sha256=sha, actor_id=actor.id
            )
    except IntegrityError as exc:  # a concurrent import of the same file won the race
        raise ConflictError(f"{filename} is being imported into {project.title!r} right now") from exc
    imports_repo.begin_bulk_import(uow.session)
    authors = _AuthorResolver(uow, actor)
    if users:
        authors.add_user_table(users)
    rejects = Rejects()
    tasks = read_checked_tasks(
        stream, cfg=cfg, filename=filename, rejects=rejects, data_key=data_key, media_url=media_url, mapping=mapping
    )
    n_read = 0
    try:
        with _collection_paused(), _BatchWriter(uow, project, batch.id, authors, filename) as writer:
            for record, where in tasks:
                n_read += 1
                if rejects.count and not skip_invalid:
                    continue  # keep reading to report every bad row, but write nothing more
                writer.add(record, where)
                if progress is not None and n_read % BATCH_SIZE == 0:
                    progress(n_read + rejects.count)
            if rejects.count and not skip_invalid:
                raise ImportFormatError(rejects.message(filename))
            writer.flush()
    except RecursionError:
        raise ImportFormatError(too_deep_message(filename, n_read + rejects.count + 1)) from None
    # Leaving the block above waited for the last batch's insert.
    if writer.n_tasks == 0:
        if rejects.count:
            raise ImportFormatError(rejects.message(filename).replace("nothing imported", "no valid task"))
        raise ImportFormatError(f"no tasks in {filename}")
    imports_repo.finish_batch(uow.session, batch, n_tasks=writer.n_tasks, n_annotations=writer.n_annotations)
    webhook_events.tasks_imported(uow, project_id=project_id, batch_id=batch.id, filename=filename)
    if writer.n_tasks >= ANALYZE_FROM_TASKS:
        written = [Task.__table__]
        if writer.n_annotations:
            written.append(Annotation.__table__)
        if writer.n_predictions:
            written.append(Prediction.__table__)
        imports_repo.refresh_planner_statistics(uow.session, written)
    if writer.n_annotations:
        score_imported(uow, batch.id)
    if progress is not None:
        progress(n_read + rejects.count)
    return ImportSummary(
        batch.id, filename, writer.n_tasks, writer.n_annotations, writer.n_predictions, authors.created,
        rejected=tuple(rejects.rows), n_rejected=rejects.count, notes=_notes(writer, authors), n_drafts=writer.n_drafts,
    )


def read_user_table(stream: IO[bytes], filename: str) -> list[dict[str, Any]]:
    """The users of a Label Studio instance, as its ``GET /api/users`` gives them (a list of ``{"id", "email",
    "first_name", "last_name", ...}``; a page ``{"results": [...]}`` or ``{"users": [...]}`` too): the table that
    turns an export's ``completed_by`` ids into e-mails. ImportFormatError naming the file for anything else."""
    try:
        table = json.loads(stream.read().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFormatError(f"{filename}: the user table must be a JSON list of users ({exc})") from None
    except RecursionError:
        raise ImportFormatError(too_deep_message(filename)) from None
    if isinstance(table, dict):
        table = table.get("results", table.get("users"))
    if not isinstance(table, list):
        raise ImportFormatError(f"{filename}: the user table must be a JSON list of users "
                                '([{"id": 3, "email": "ana@example.com", ...}, ...]), as GET /api/users gives it')
    for position, user in enumerate(table, start=1):
        if not isinstance(user, dict):
            raise ImportFormatError(f"{filename}: user {position} of the user table must be an object, not "
                                    f"{type(user).__name__}")
    return table


def _notes(writer: _BatchWriter, authors: _AuthorResolver) -> tuple[str, ...]:
    """The summary's notes: what was imported otherwise than the file had it, and the accounts it made (see
    ImportSummary.notes)."""
    notes: list[str] = []
    if writer.kept_out:
        shown = writer.kept_out[:MAX_REPORTED_ERRORS]
        more = f"; ... and {len(writer.kept_out) - len(shown)} more" if len(writer.kept_out) > len(shown) else ""
        notes.append(
            f"{len(writer.kept_out)} older annotation(s) by the same person kept as history, not as answers "
            "(Quorum counts one submitted annotation per person and task, the newest; the older ones are shown on "
            "the Data page's task, under Older answers): " + "; ".join(shown) + more
        )
    if writer.tasks_with_prediction_ids:
        notes.append(f"{writer.tasks_with_prediction_ids} task(s): predictions given as ids only were skipped "
                     "(Label Studio's JSON export lists prediction ids; export with predictions to bring them)")
    if writer.tasks_with_draft_ids:
        notes.append(f"{writer.tasks_with_draft_ids} task(s): drafts given as ids only were skipped")
    if writer.n_drafts_replaced:
        notes.append(f"{writer.n_drafts_replaced} older draft(s) by the same person on a task left out for their "
                     "newest (Quorum keeps one draft per person and task)")
    if authors.created_names:
        shown = ", ".join(authors.created_names[:MAX_REPORTED_ERRORS])
        more = f" and {len(authors.created_names) - MAX_REPORTED_ERRORS} more" if len(
            authors.created_names) > MAX_REPORTED_ERRORS else ""
        notes.append(f"{len(authors.created_names)} author(s) matched no account by e-mail and got a new inactive "
                     f"one ({shown}{more}): their answers count as imported; to let them sign in and label, activate "
                     "them on Users and add them on Members (or import with the export's user list to match ids to "
                     "e-mails)")
    return tuple(notes)
