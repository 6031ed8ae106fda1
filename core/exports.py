"""Exporting a project: its tasks as Label Studio task dicts, streamed page by page, into any format.

Label Studio's JSON is the lingua franca; every other format is derived from these dicts by the writers
in ``core.formats``, the same ones ``cli.py convert`` uses without a database.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from core.config import parse_config
from core.errors import QuorumError
from core.formats import FORMATS, ExportFormat, get_format, schema_from_config, supported_formats
from core.formats.writers_ls import write_json_lines
from core.permissions import Action, require
from core.read_ahead import read_ahead
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import User
from storage.repositories import exports as exports_repo

PAGE_SIZE = 2000

# What goes out (issue 4, item 6): every annotation with its author (Label Studio's export), or one result
# per task (its ground truth if it has one, else its stored consensus; tasks with neither are left out).
ALL_ANNOTATIONS = "all"
CONSENSUS_ONLY = "consensus"
SELECTIONS: dict[str, str] = {
    ALL_ANNOTATIONS: "Every annotation with its author",
    CONSENSUS_ONLY: "Consensus and ground truth only",
}
# Image formats (COCO, YOLO, YOLO OBB, VOC) have no place for an author and hold one answer per image, so
# "every annotation with its author" writes one set per annotator (issue 13, item 5): <out>/by_annotator/<slug>/
# in the format's own layout, each with only that person's annotations (each image once), and
# <out>/annotators.json saying whose set each folder is.
BY_ANNOTATOR_DIR = "by_annotator"
ANNOTATORS_FILE = "annotators.json"

ExportProgress = Callable[[int, int], None]
"""Called with (tasks done, tasks in the project) while an export runs."""


def _iso(value: dt.datetime | None) -> str | None:
    """Label Studio's timestamp style: UTC with a trailing Z."""
    return value.isoformat() + "Z" if value is not None else None


class _Authors:
    """``completed_by`` as Label Studio 1.23 writes it in an export that expands the author (its export snapshots,
    ``label-studio export``; its serializer's fields): ``{"id", "email", "first_name", "last_name"}``.

    The e-mail is what carries the person: importing the file into this or another Quorum (or into Label Studio)
    matches the author to the account with that e-mail, and the converter's JSON_MIN/CSV ``annotator`` is it.
    The id is this Quorum's user id; ``first_name``/``last_name`` split the display name at its first space (none
    when the display name is the user name, as for an imported author known by e-mail or id only); a
    user without an e-mail gets ``""`` (Label Studio's e-mail is never null) and its ``username``, by which an import
    into this or another Quorum finds the same imported author again. One query per author and export.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self._known: dict[int, dict[str, Any]] = {}

    def __call__(self, user_id: int | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        known = self._known.get(user_id)
        if known is None:
            user = self._session.get(User, user_id)
            name = (user.display_name or "").strip() if user is not None else ""
            if user is not None and name == user.username:
                name = ""  # an imported author's account is named after its user name: no first or last name known
            first, _, last = name.partition(" ")
            known = {"id": user_id, "email": (user.email or "") if user is not None else "",
                     "first_name": first, "last_name": last.strip()}
            if user is not None and not user.email:
                known["username"] = user.username  # no e-mail to find them by: the name does (core.imports)
            self._known[user_id] = known
        return dict(known)


def author_id(completed_by: Any) -> Any:
    """The user id an exported ``completed_by`` names (the object's ``id``; an int or None as it is)."""
    return completed_by.get("id") if isinstance(completed_by, dict) else completed_by


def _annotation_dict(row: dict[str, Any], authors: _Authors) -> dict[str, Any]:
    return {
        "id": row["id"],
        "completed_by": authors(row["completed_by_id"]),
        "result": row["result"],
        "was_cancelled": row["was_cancelled"],
        "ground_truth": row["ground_truth"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "lead_time": row["lead_time_s"],
        "active_time": row["active_time_s"],
        "prediction": {},
        "parent_prediction": row["prediction_id"],
        "result_count": len(row["result"] or []),
        "task": row["task_id"],
        "project": row["project_id"],
        "import_id": row["import_id"],
    }


def _prediction_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "model_version": row["model_version"],
        "score": row["score"],
        "result": row["result"],
        "created_at": _iso(row["created_at"]),
        "task": row["task_id"],
    }


def _draft_dict(row: dict[str, Any], authors: _Authors) -> dict[str, Any]:
    """A draft as Label Studio's draft serializer writes it: ``user`` its author's e-mail (the id when the account
    has none), ``created_username``
    "First Last e-mail, id" (which carries the e-mail: importing the file finds the same person), ``annotation``
    the annotation it edits (None: a new one), ``lead_time`` the time spent on it so far."""
    author = authors(row["user_id"]) or {}
    name = " ".join(part for part in (author.get("first_name"), author.get("last_name")) if part)
    return {
        "id": row["id"],
        "user": author.get("email") or str(row["user_id"]),
        "created_username": f"{name} {author.get('email') or ''}, {row['user_id']}".strip(),
        "result": row["result"],
        "lead_time": row["active_time_s"],
        "was_postponed": False,
        "annotation": row["annotation_id"],
        "created_at": _iso(row["started_at"]),
        "updated_at": _iso(row["updated_at"]),
        "task": row["task_id"],
    }


def _page_drafts(session: Any, project_id: int, first: int, last: int, authors: _Authors) -> dict[int, list[Any]]:
    drafts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in exports_repo.drafts_for(session, project_id, first, last):
        drafts[row["task_id"]].append(_draft_dict(row, authors))
    return drafts


def _task_source(inner_id: int | None, file_upload: str | None) -> dict[str, Any]:
    """``inner_id`` and ``file_upload`` of a task that came with them (a Label Studio export's), to write back."""
    source: dict[str, Any] = {}
    if inner_id is not None:
        source["inner_id"] = inner_id
    if file_upload is not None:
        source["file_upload"] = file_upload
    return source


PageOfDicts = tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]], dict[int, list[dict[str, Any]]],
                    dict[int, list[dict[str, Any]]]]
"""Task rows with their annotations, predictions and drafts as Label Studio dicts by task id."""


def _dict_pages(session: Any, project_id: int, page_size: int) -> Iterator[PageOfDicts]:
    """Pages of task rows with their annotations, predictions and drafts as Label Studio dicts by task id.

    Not run ahead in a thread like :func:`_json_pages`: decoding the results here is Python work that
    competes with the writers for the GIL; measured, a COCO export gained nothing.
    """
    authors = _Authors(session)
    for page in exports_repo.iter_task_pages(session, project_id, page_size=page_size):
        first, last = page[0]["id"], page[-1]["id"]
        annotations: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in exports_repo.annotations_for(session, project_id, first, last):
            annotations[row["task_id"]].append(_annotation_dict(row, authors))
        predictions: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in exports_repo.predictions_for(session, project_id, first, last):
            predictions[row["task_id"]].append(_prediction_dict(row))
        yield page, annotations, predictions, _page_drafts(session, project_id, first, last, authors)


def iter_ls_tasks(
    uow: UnitOfWork, actor: UserInfo, *, project_id: int, page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every task of the project as Label Studio exports it (id order), with annotations and predictions.

    Memory is bounded by one page: each page is three indexed queries (tasks, their annotations, their
    predictions).
    """
    require(uow, actor, project_id, Action.EXPORT)
    for page, annotations_by_task, predictions, drafts in _dict_pages(uow.session, project_id, page_size):
        for task in page:
            yield _ls_task(task, project_id, annotations_by_task, predictions, drafts)


def _ls_task(task: dict[str, Any], project_id: int, annotations_by_task: dict[int, list[dict[str, Any]]],
             predictions: dict[int, list[dict[str, Any]]], drafts: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    """One task row with its annotations, predictions and drafts as Label Studio writes a task."""
    anns = annotations_by_task.get(task["id"], [])
    preds = predictions.get(task["id"], [])
    return {
        "id": task["id"],
        "data": task["data"],
        "annotations": anns,
        "predictions": preds,
        "drafts": drafts.get(task["id"], []),
        "meta": task["meta"] or {},
        "created_at": _iso(task["created_at"]),
        "updated_at": _iso(task["updated_at"]),
        **_task_source(task["inner_id"], task["file_upload"]),
        "project": project_id,
        "total_annotations": sum(1 for a in anns if not a["was_cancelled"]),
        "cancelled_annotations": sum(1 for a in anns if a["was_cancelled"]),
        "total_predictions": len(preds),
    }


def ls_tasks_by_ids(session: Any, project_id: int, task_ids: list[int]) -> list[dict[str, Any]]:
    """The project's tasks ``task_ids`` (ids of other projects are left out) as Label Studio writes them, in id
    order: the HTTP API's task list and task (:mod:`core.ls_api`), which checks who may see what first."""
    if not task_ids:
        return []
    first, last = min(task_ids), max(task_ids)
    wanted = set(task_ids)
    rows = [row for row in exports_repo.task_rows_in_range(session, project_id, first, last) if row["id"] in wanted]
    if not rows:
        return []
    authors = _Authors(session)
    annotations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in exports_repo.annotations_for(session, project_id, first, last):
        if row["task_id"] in wanted:
            annotations[row["task_id"]].append(_annotation_dict(row, authors))
    predictions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in exports_repo.predictions_for(session, project_id, first, last):
        if row["task_id"] in wanted:
            predictions[row["task_id"]].append(_prediction_dict(row))
    drafts = _page_drafts(session, project_id, first, last, authors)
    return [_ls_task(row, project_id, annotations, predictions, drafts) for row in rows]


class LeftOut:
    """Counts the tasks a "consensus and ground truth only" export leaves out (neither exists yet)."""

    def __init__(self) -> None:
        self.count = 0


def _chosen_annotation(task_id: int, project_id: int, chosen: dict[str, Any]) -> dict[str, Any]:
    """The one annotation a consensus export gives a task, shaped like Label Studio's annotations.

    It has no author (``completed_by`` null: it is the project's answer, not a person's) and says where it
    came from in ``ground_truth`` and ``quorum_source``.
    """
    result = chosen["result"] or []
    stamp = _iso(chosen["at"])
    return {
        "id": None,
        "completed_by": None,
        "result": result,
        "was_cancelled": False,
        "ground_truth": chosen["source"] == "ground_truth",
        "created_at": stamp,
        "updated_at": stamp,
        "lead_time": None,
        "prediction": {},
        "result_count": len(result),
        "task": task_id,
        "project": project_id,
        "quorum_source": chosen["source"],
        "quorum_method": chosen["method"],
        "agreement": chosen["agreement"],
    }


def iter_consensus_tasks(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    left_out: LeftOut | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """Every task that has a ground truth or a consensus, with exactly that one result as its annotation.

    The shape is :func:`iter_ls_tasks`'s (predictions included), so every writer takes it. Tasks with
    neither are skipped and counted in ``left_out``.
    """
    require(uow, actor, project_id, Action.EXPORT)
    session = uow.session
    for page in exports_repo.iter_task_pages(session, project_id, page_size=page_size):
        first, last = page[0]["id"], page[-1]["id"]
        chosen = exports_repo.chosen_results_for(session, project_id, first, last)
        predictions: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in exports_repo.predictions_for(session, project_id, first, last):
            predictions[row["task_id"]].append(_prediction_dict(row))
        for task in page:
            picked = chosen.get(task["id"])
            if picked is None:
                if left_out is not None:
                    left_out.count += 1
                continue
            preds = predictions.get(task["id"], [])
            yield {
                "id": task["id"],
                "data": task["data"],
                "annotations": [_chosen_annotation(task["id"], project_id, picked)],
                "predictions": preds,
                "meta": task["meta"] or {},
                "created_at": _iso(task["created_at"]),
                "updated_at": _iso(task["updated_at"]),
                "project": project_id,
                "total_annotations": 1,
                "cancelled_annotations": 0,
                "total_predictions": len(preds),
            }


def iter_selected_tasks(
    uow: UnitOfWork, actor: UserInfo, *, project_id: int, selection: str = ALL_ANNOTATIONS,
    left_out: LeftOut | None = None,
) -> Iterator[dict[str, Any]]:
    """The tasks an export with ``selection`` writes (see SELECTIONS)."""
    check_selection(selection)
    if selection == CONSENSUS_ONLY:
        return iter_consensus_tasks(uow, actor, project_id=project_id, left_out=left_out)
    return iter_ls_tasks(uow, actor, project_id=project_id)


def check_selection(selection: str) -> None:
    if selection not in SELECTIONS:
        raise QuorumError(f"unknown export selection {selection!r}; valid: {', '.join(SELECTIONS)}")


def _format_named(fmt: str | ExportFormat) -> ExportFormat:
    if isinstance(fmt, ExportFormat):
        return fmt
    try:
        return get_format(fmt)
    except ValueError as exc:
        raise QuorumError(str(exc)) from exc


def default_selection(fmt: str | ExportFormat) -> str:
    """What the export page and the CLI choose unless told otherwise: consensus and ground truth for the
    image formats (one answer per image, what a detector trains on), every annotation with its author for
    the others (JSON, JSON-MIN, CSV, TSV and the ASR manifest say who made each annotation)."""
    return CONSENSUS_ONLY if _format_named(fmt).one_set_per_annotator else ALL_ANNOTATIONS


def one_set_per_annotator(fmt: str | ExportFormat, selection: str) -> bool:
    """Whether an export of ``fmt`` with ``selection`` writes one set per annotator (a folder each)."""
    return selection == ALL_ANNOTATIONS and _format_named(fmt).one_set_per_annotator


# Stored JSON whose ``or {}`` is {} (the "meta" of iter_ls_tasks).
_FALSY_JSON = frozenset({"null", "{}", "[]", "0", "0.0", "-0.0", "false", '""'})
# Naive timestamps are UTC: written as isoformat() + "Z", Label Studio's style (microseconds when not zero).
_ORJSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _by_task(rows: list[Any]) -> dict[int, list[Any]]:
    """Rows (task id first, in task order) grouped by task id."""
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        bucket = grouped.get(row[0])
        if bucket is None:
            grouped[row[0]] = [row]
        else:
            bucket.append(row)
    return grouped


def _json_pages(session: Any, project_id: int, page_size: int) -> Iterator[tuple[list[Any], dict[int, list[Any]],
                                                                              dict[int, list[Any]],
                                                                              dict[int, dict[str, Any]],
                                                                              dict[int, list[Any]]]]:
    """Pages of task rows with their annotation and prediction rows by task id and the page's authors as
    ``completed_by`` objects by user id (the database's share of :func:`iter_ls_task_json`, run ahead of the
    encoding by :func:`core.read_ahead.read_ahead`: the session is used on that thread only)."""
    authors = _Authors(session)
    for page in exports_repo.iter_task_json_pages(session, project_id, page_size=page_size):
        first, last = page[0][0], page[-1][0]
        annotations = exports_repo.annotation_json_rows(session, project_id, first, last)
        page_authors = {row[2]: authors(row[2]) for row in annotations if row[2] is not None}
        yield (page, _by_task(annotations), _by_task(exports_repo.prediction_json_rows(session, project_id, first, last)),
               page_authors, _page_drafts(session, project_id, first, last, authors))


def _float(value: Any) -> float | None:
    """A float column as SQLAlchemy's Float gives it on the generic path, whatever the driver returned."""
    return None if value is None else float(value)


def iter_ls_task_json(
    uow: UnitOfWork, actor: UserInfo, *, project_id: int, page_size: int = PAGE_SIZE
) -> Iterator[str]:
    """Each task of :func:`iter_ls_tasks` as one line of JSON with the same content (``json.loads`` of the line
    equals the task dict, key order included), encoded by orjson.

    Stored JSON (the task's ``data`` and ``meta``, each annotation's and prediction's ``result``) comes from the
    database as text and goes in as an ``orjson.Fragment``, never decoded; the rest is encoded in C. Decoding
    and re-encoding with the json module was 70 % of an export of annotated tasks; writing the text by hand in
    Python still 2-3 s for 100,000 annotated tasks on PostgreSQL (BENCHMARKS.md, section 6). Numbers keep the
    stored spelling (jsonb writes 0.00001 where Python writes 1e-05): the same values.
    """
    require(uow, actor, project_id, Action.EXPORT)
    fragment, dumps = orjson.Fragment, orjson.dumps
    empty: dict[str, Any] = {}
    pages = _json_pages(uow.session, project_id, page_size)
    if uow.dialect == "postgresql":  # the server works while Python encodes; SQLite's reads are Python's own work
        pages = read_ahead(pages)
    for page, annotations_by_task, predictions, authors, drafts in pages:
        for task_id, data, meta, created_at, updated_at, inner_id, file_upload in page:
            anns = [
                {"id": ann_id, "completed_by": authors.get(author), "result": fragment(result),
                 "was_cancelled": bool(cancelled),
                 "ground_truth": bool(truth), "created_at": created, "updated_at": updated,
                 "lead_time": _float(lead), "active_time": _float(active), "prediction": empty,
                 "parent_prediction": prediction, "result_count": count, "task": task, "project": project_id,
                 "import_id": import_id}
                for (task, ann_id, author, result, count, cancelled, truth, created, updated, lead, active,
                     prediction, import_id) in annotations_by_task.get(task_id, ())
            ]
            preds = [
                {"id": pred_id, "model_version": version, "score": _float(score), "result": fragment(result),
                 "created_at": created, "task": task}
                for task, pred_id, version, score, result, created in predictions.get(task_id, ())
            ]
            cancelled_n = sum(1 for a in anns if a["was_cancelled"])
            yield dumps({
                "id": task_id, "data": fragment(data), "annotations": anns, "predictions": preds,
                "drafts": drafts.get(task_id, []),
                "meta": empty if meta is None or meta in _FALSY_JSON else fragment(meta),
                "created_at": created_at, "updated_at": updated_at, **_task_source(inner_id, file_upload),
                "project": project_id,
                "total_annotations": len(anns) - cancelled_n, "cancelled_annotations": cancelled_n,
                "total_predictions": len(preds),
            }, option=_ORJSON_OPTIONS).decode()


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the file written (one-file formats) or the folder (folder formats)
    files: tuple[Path, ...]
    n_tasks: int
    format: str
    n_left_out: int = 0  # tasks left out: no ground truth or consensus (consensus), nobody's annotation (per annotator)
    selection: str = ALL_ANNOTATIONS
    regions_left_out: tuple[str, ...] = ()  # why each ill-typed region was not written (core.formats' warnings)
    sets: tuple[str, ...] = ()  # per-annotator exports: the annotators' folders under by_annotator/, in order


def export_formats() -> list[str]:
    """Every format name Quorum writes."""
    return list(FORMATS)


def formats_for_project(uow: UnitOfWork, actor: UserInfo, *, project_id: int) -> list[ExportFormat]:
    """The formats this project's config can fill (others are greyed out in the UI)."""
    project = require(uow, actor, project_id, Action.EXPORT)
    return supported_formats(schema_from_config(parse_config(project.config_xml)))


class _Counting:
    """Counts the tasks an exporter pulls, without materialising them, and reports progress every page.

    ``left_out`` tasks (skipped by a consensus export) count as done for the progress bar.
    """

    def __init__(
        self, tasks: Iterator[Any], *, progress: ExportProgress | None = None, total: int = 0,
        left_out: LeftOut | None = None,
    ) -> None:
        self._tasks = tasks
        self._progress = progress
        self._total = total
        self._left_out = left_out
        self.count = 0

    def _report(self) -> None:
        if self._progress is not None:
            skipped = self._left_out.count if self._left_out is not None else 0
            self._progress(min(self.count + skipped, self._total), self._total)

    def __iter__(self) -> Iterator[Any]:
        for task in self._tasks:
            self.count += 1
            if self.count % PAGE_SIZE == 0:
                self._report()
            yield task
        if self._progress is not None:
            self._progress(self._total, self._total)


def checked_format(uow: UnitOfWork, actor: UserInfo, *, project_id: int, fmt: str) -> tuple[ExportFormat, Any]:
    """The format called ``fmt`` and the project's export schema; QuorumError for an unknown format or one
    the config cannot fill."""
    project = require(uow, actor, project_id, Action.EXPORT)
    try:
        export_format = get_format(fmt)
    except ValueError as exc:
        raise QuorumError(str(exc)) from exc
    schema = schema_from_config(parse_config(project.config_xml))
    if not export_format.applies_to(schema):
        raise QuorumError(f"{export_format.name} does not apply to this project's config: it needs {export_format.needs}")
    return export_format, schema


class _WriterWarnings(logging.Handler):
    """Collects what the format writers log about regions they leave out (``core.formats``), for this
    thread's export only, so the person exporting is told and not only the server log."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextlib.contextmanager
def _writer_warnings() -> Iterator[_WriterWarnings]:
    handler = _WriterWarnings()
    logger = logging.getLogger("core.formats")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def export_project(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    fmt: str,
    out: Path,
    selection: str = ALL_ANNOTATIONS,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Write the project's tasks in format ``fmt``, streamed.

    ``out`` is the file to write for one-file formats (JSON, JSON_MIN, CSV, TSV, COCO, CoNLL, ASR), or the
    folder for folder formats (YOLO, VOC). ``selection`` chooses what goes out (SELECTIONS; default every
    annotation with its author); ``progress`` is told (done, total) once a page. Raises QuorumError for an
    unknown format or selection, or a format the config cannot fill.

    Every annotation in an image format (:func:`one_set_per_annotator`) is a folder: ``out`` (without its
    suffix when that is the format's own, so ``coco.json`` gives ``coco/``) holds ``annotators.json`` and
    ``by_annotator/<annotator>/`` in the format's layout, each with that annotator's annotations only.
    """
    export_format, schema = checked_format(uow, actor, project_id=project_id, fmt=fmt)
    check_selection(selection)
    with _writer_warnings() as warned:
        result = _export(uow, actor, project_id, export_format, schema, Path(out), selection, progress)
    return dataclasses.replace(result, regions_left_out=tuple(warned.messages))


def _export(uow: UnitOfWork, actor: UserInfo, project_id: int, export_format: Any, schema: Any, out: Path,
            selection: str, progress: ExportProgress | None) -> ExportResult:
    total = exports_repo.count_tasks(uow.session, project_id) if progress is not None else 0
    if export_format.name == "JSON" and selection == ALL_ANNOTATIONS:
        return _export_json(uow, actor, project_id, out, progress=progress, total=total)
    if one_set_per_annotator(export_format, selection):
        return _export_by_annotator(uow, actor, project_id, export_format, schema, out, progress=progress,
                                    total=total)
    left_out = LeftOut()
    tasks = _Counting(
        iter_selected_tasks(uow, actor, project_id=project_id, selection=selection, left_out=left_out),
        progress=progress, total=total, left_out=left_out,
    )
    if export_format.layout == "folder":
        files = export_format.export(tasks, out, schema=schema)
        return ExportResult(out, tuple(files), tasks.count, export_format.name, left_out.count, selection)
    # One-file formats write <folder>/<fixed name>; write into a scratch folder beside ``out`` and move.
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".quorum-export-") as scratch:
        files = export_format.export(tasks, Path(scratch), schema=schema)
        extra = [f for f in files if f.name != export_format.filename]
        main = next(f for f in files if f.name == export_format.filename)
        os.replace(main, out)
        moved = [out]
        for f in extra:  # e.g. COCO's images list; kept beside the main file
            target = out.parent / f.name
            os.replace(f, target)
            moved.append(target)
    return ExportResult(out, tuple(moved), tasks.count, export_format.name, left_out.count, selection)


def _export_json(
    uow: UnitOfWork, actor: UserInfo, project_id: int, out: Path, *, progress: ExportProgress | None, total: int
) -> ExportResult:
    """Label Studio JSON with the generic path's content, built from stored JSON text (the fast path)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    items: Any = iter_ls_task_json(uow, actor, project_id=project_id)
    if progress is not None:
        items = _Counting(items, progress=progress, total=total)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".quorum-export-") as scratch:
        path = Path(scratch) / "result.json"
        with path.open("w", encoding="utf-8") as stream:
            count = write_json_lines(items, stream)
        os.replace(path, out)
    return ExportResult(out, (out,), count, "JSON")


class _AuthorSpools:
    """Each annotator's tasks as JSON lines in a scratch folder, so one pass over the database feeds every
    annotator's set and memory stays at one page. At most ``MAX_OPEN`` files are open at once (a crowd project
    may have thousands of annotators)."""

    MAX_OPEN = 64

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counts: Counter[Any] = Counter()
        self._names: dict[Any, Path] = {}
        self._open: dict[Any, IO[bytes]] = {}

    def add(self, author: Any, task: dict[str, Any]) -> None:
        handle = self._open.get(author)
        if handle is None:
            if len(self._open) >= self.MAX_OPEN:
                self._open.pop(next(iter(self._open))).close()
            path = self._names.setdefault(author, self.folder / f"{len(self._names)}.jsonl")
            handle = self._open[author] = path.open("ab")
        handle.write(orjson.dumps(task, option=_ORJSON_OPTIONS) + b"\n")
        self.counts[author] += 1

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()

    def tasks(self, author: Any) -> Iterator[dict[str, Any]]:
        with self._names[author].open("rb") as lines:
            for line in lines:
                yield orjson.loads(line)


def annotator_slug(name: str, fallback: str) -> str:
    """A folder name made of ``name``: ASCII letters, digits, ``.``, ``_`` and ``-``, at most 60 characters;
    ``fallback`` when nothing is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9._-]+", "-", ascii_name.lower()).strip("-._")[:60].strip("-._")
    return slug or fallback


def _annotator_folders(uow: UnitOfWork, authors: list[Any]) -> dict[Any, tuple[str, dict[str, Any]]]:
    """Each author's folder name (the slug of the username, ``-<id>`` added where two slugs meet) and what
    ``annotators.json`` says of them."""
    described: dict[Any, tuple[str, dict[str, Any]]] = {}
    for author in authors:
        user = uow.session.get(User, author) if isinstance(author, int) else None
        username = user.username if user is not None else str(author)
        about = {"annotator": author, "username": username, "name": user.display_name if user is not None else ""}
        described[author] = (annotator_slug(username, f"user-{author}"), about)
    taken = Counter(slug for slug, _ in described.values())
    return {
        author: (f"{slug}-{author}" if taken[slug] > 1 else slug, about)
        for author, (slug, about) in described.items()
    }


def _export_by_annotator(
    uow: UnitOfWork, actor: UserInfo, project_id: int, export_format: ExportFormat, schema: Any, out: Path, *,
    progress: ExportProgress | None, total: int,
) -> ExportResult:
    """One set per annotator (see :func:`export_project`): the writer runs once per annotator over the tasks
    that person annotated, each task carrying that one annotation, so every set is what Label Studio's
    converter writes for a single-annotator project. Tasks nobody annotated (or only skipped) are left out
    and counted; predictions are not written by these formats and are not carried."""
    if export_format.layout == "file" and out.suffix == Path(export_format.filename or "").suffix:
        out = out.with_suffix("")
    if out.exists() and not out.is_dir():
        raise QuorumError(f"{export_format.name} with every annotation writes a folder per annotator, and {out} "
                          "is a file: give a folder, or export the consensus and ground truth for one file")
    out.mkdir(parents=True, exist_ok=True)
    n_tasks = n_left_out = 0
    files: list[Path] = []
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".quorum-export-") as scratch:
        spools = _AuthorSpools(Path(scratch))
        try:
            for task in _Counting(iter_ls_tasks(uow, actor, project_id=project_id), progress=progress, total=total):
                kept = [a for a in task["annotations"] if not a["was_cancelled"]]
                if not kept:
                    n_left_out += 1
                    continue
                n_tasks += 1
                for annotation in kept:  # one submitted annotation per (task, annotator)
                    spools.add(author_id(annotation["completed_by"]), {
                        **task, "annotations": [annotation], "predictions": [], "total_annotations": 1,
                        "cancelled_annotations": 0, "total_predictions": 0,
                    })
        finally:
            spools.close()
        folders = _annotator_folders(uow, list(spools.counts))
        manifest = []
        for author, (slug, about) in sorted(folders.items(), key=lambda item: item[1][0]):
            folder = out / BY_ANNOTATOR_DIR / slug
            files.extend(export_format.export(spools.tasks(author), folder, schema=schema))
            manifest.append({"folder": f"{BY_ANNOTATOR_DIR}/{slug}", **about, "tasks": spools.counts[author]})
    index = out / ANNOTATORS_FILE
    index.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ExportResult(out, (index, *files), n_tasks, export_format.name, n_left_out, ALL_ANNOTATIONS,
                        sets=tuple(entry["folder"].rsplit("/", 1)[-1] for entry in manifest))


def export_basename(uow: UnitOfWork, actor: UserInfo, *, project_id: int, fmt: str) -> str:
    """``<project-slug>-<format>-<UTC stamp>``: the name of a download or of an export in a bucket."""
    project = require(uow, actor, project_id, Action.EXPORT)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    slug = "".join(c if c.isalnum() else "-" for c in project.title.lower()).strip("-")[:40] or "project"
    return f"{slug}-{get_format(fmt).name.lower()}-{stamp}"


def export_for_download(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    fmt: str,
    exports_dir: Path,
    selection: str = ALL_ANNOTATIONS,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Export into a fresh file under ``exports_dir`` (a zip for folder formats and for one set per
    annotator), ready to download."""
    export_format, _ = checked_format(uow, actor, project_id=project_id, fmt=fmt)
    check_selection(selection)
    base = exports_dir / export_basename(uow, actor, project_id=project_id, fmt=fmt)
    if export_format.layout == "folder" or one_set_per_annotator(export_format, selection):
        written = export_project(
            uow, actor, project_id=project_id, fmt=fmt, out=base, selection=selection, progress=progress
        )
        archive = Path(shutil.make_archive(str(base), "zip", root_dir=written.path))
        shutil.rmtree(written.path)
        return dataclasses.replace(written, path=archive, files=(archive,))
    suffix = Path(export_format.filename or "result.json").suffix
    return export_project(
        uow, actor, project_id=project_id, fmt=fmt, out=base.with_suffix(suffix), selection=selection,
        progress=progress,
    )
