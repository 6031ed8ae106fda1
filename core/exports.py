"""Exporting a project: its tasks as Label Studio task dicts, streamed page by page, into any format.

Label Studio's JSON is the lingua franca; every other format is derived from these dicts by the writers
in ``core.formats``, the same ones ``cli.py convert`` uses without a database.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shutil
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from core.config import parse_config
from core.errors import QuorumError
from core.formats import FORMATS, ExportFormat, get_format, schema_from_config, supported_formats
from core.formats.writers_ls import write_json_lines
from core.permissions import Action, require
from core.read_ahead import read_ahead
from core.uow import UnitOfWork
from core.users import UserInfo
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

ExportProgress = Callable[[int, int], None]
"""Called with (tasks done, tasks in the project) while an export runs."""


def _iso(value: dt.datetime | None) -> str | None:
    """Label Studio's timestamp style: UTC with a trailing Z."""
    return value.isoformat() + "Z" if value is not None else None


def _annotation_dict(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "completed_by": row["completed_by_id"],
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


def _dict_pages(session: Any, project_id: int, page_size: int) -> Iterator[tuple[list[dict[str, Any]],
                                                                              dict[int, list[dict[str, Any]]],
                                                                              dict[int, list[dict[str, Any]]]]]:
    """Pages of task rows with their annotations and predictions as Label Studio dicts by task id.

    Not run ahead in a thread like :func:`_json_pages`: decoding the results here is Python work that
    competes with the writers for the GIL; measured, a COCO export gained nothing.
    """
    for page in exports_repo.iter_task_pages(session, project_id, page_size=page_size):
        first, last = page[0]["id"], page[-1]["id"]
        annotations: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in exports_repo.annotations_for(session, project_id, first, last):
            annotations[row["task_id"]].append(_annotation_dict(row))
        predictions: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in exports_repo.predictions_for(session, project_id, first, last):
            predictions[row["task_id"]].append(_prediction_dict(row))
        yield page, annotations, predictions


def iter_ls_tasks(
    uow: UnitOfWork, actor: UserInfo, *, project_id: int, page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every task of the project as Label Studio exports it (id order), with annotations and predictions.

    Memory is bounded by one page: each page is three indexed queries (tasks, their annotations, their
    predictions).
    """
    require(uow, actor, project_id, Action.EXPORT)
    for page, annotations_by_task, predictions in _dict_pages(uow.session, project_id, page_size):
        for task in page:
            anns = annotations_by_task.get(task["id"], [])
            preds = predictions.get(task["id"], [])
            yield {
                "id": task["id"],
                "data": task["data"],
                "annotations": anns,
                "predictions": preds,
                "meta": task["meta"] or {},
                "created_at": _iso(task["created_at"]),
                "updated_at": _iso(task["updated_at"]),
                "project": project_id,
                "total_annotations": sum(1 for a in anns if not a["was_cancelled"]),
                "cancelled_annotations": sum(1 for a in anns if a["was_cancelled"]),
                "total_predictions": len(preds),
            }


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
                                                                              dict[int, list[Any]]]]:
    """Pages of task rows with their annotation and prediction rows by task id (the database's share of
    :func:`iter_ls_task_json`, run ahead of the encoding by :func:`core.read_ahead.read_ahead`)."""
    for page in exports_repo.iter_task_json_pages(session, project_id, page_size=page_size):
        first, last = page[0][0], page[-1][0]
        yield (page, _by_task(exports_repo.annotation_json_rows(session, project_id, first, last)),
               _by_task(exports_repo.prediction_json_rows(session, project_id, first, last)))


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
    for page, annotations_by_task, predictions in pages:
        for task_id, data, meta, created_at, updated_at in page:
            anns = [
                {"id": ann_id, "completed_by": author, "result": fragment(result), "was_cancelled": bool(cancelled),
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
                "meta": empty if meta is None or meta in _FALSY_JSON else fragment(meta),
                "created_at": created_at, "updated_at": updated_at, "project": project_id,
                "total_annotations": len(anns) - cancelled_n, "cancelled_annotations": cancelled_n,
                "total_predictions": len(preds),
            }, option=_ORJSON_OPTIONS).decode()


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the file written (one-file formats) or the folder (folder formats)
    files: tuple[Path, ...]
    n_tasks: int
    format: str
    n_left_out: int = 0  # tasks a consensus export left out (no ground truth, no consensus)
    selection: str = ALL_ANNOTATIONS
    regions_left_out: tuple[str, ...] = ()  # why each ill-typed region was not written (core.formats' warnings)


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
    """Export into a fresh file under ``exports_dir`` (a zip for folder formats), ready to download."""
    export_format, _ = checked_format(uow, actor, project_id=project_id, fmt=fmt)
    base = exports_dir / export_basename(uow, actor, project_id=project_id, fmt=fmt)
    if export_format.layout == "folder":
        written = export_project(
            uow, actor, project_id=project_id, fmt=fmt, out=base, selection=selection, progress=progress
        )
        archive = Path(shutil.make_archive(str(base), "zip", root_dir=base))
        shutil.rmtree(base)
        return dataclasses.replace(written, path=archive, files=(archive,))
    suffix = Path(export_format.filename or "result.json").suffix
    return export_project(
        uow, actor, project_id=project_id, fmt=fmt, out=base.with_suffix(suffix), selection=selection,
        progress=progress,
    )
