"""Exporting a project: its tasks as Label Studio task dicts, streamed page by page, into any format.

Label Studio's JSON is the lingua franca; every other format is derived from these dicts by the writers
in ``core.formats``, the same ones ``cli.py convert`` uses without a database.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    for page, annotations, predictions in _dict_pages(uow.session, project_id, page_size):
        for task in page:
            anns = annotations.get(task["id"], [])
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


# Values whose ``or {}`` is {} (the "meta" of iter_ls_tasks), as json.dumps writes them.
_UNSET: Any = object()
_FALSY_JSON = frozenset({"null", "{}", "[]", "0", "0.0", "-0.0", "false", '""'})


def _iso_json(value: dt.datetime | None) -> str:
    return "null" if value is None else f'"{value.isoformat()}Z"'


def _scalar_json(value: Any) -> str:
    """A None, bool, int, float or str exactly as ``json.dumps(value, ensure_ascii=False)`` writes it, without
    the encoder's set-up cost (the export writes millions of these)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is float and value - value == 0.0:  # finite: json writes float.__repr__
        return float.__repr__(value)
    return json.dumps(value, ensure_ascii=False)


def _int_json(value: int | None) -> str:
    """An integer column (ids), which the database gives as int or None."""
    return "null" if value is None else int.__repr__(value)


def _float_json(value: float | None) -> str:
    """A float column (times, scores): float.__repr__ when finite, as json.dumps writes it."""
    if value is None:
        return "null"
    value = float(value)  # as SQLAlchemy's Float gives it on the generic path, whatever the driver returned
    return float.__repr__(value) if value - value == 0.0 else _scalar_json(value)


class _StampText:
    """Timestamps as JSON text, each formatted once: rows imported or labeled together share their timestamps.

    Called with a datetime (or None), gives ``_iso_json`` of it. The cache is emptied when it grows past
    ``limit`` entries, so memory stays bounded on a project whose every row has its own time.
    """

    def __init__(self, limit: int = 4096) -> None:
        self.cache: dict[dt.datetime | None, str] = {None: "null"}
        self.limit = limit

    def __call__(self, value: dt.datetime | None) -> str:
        text = self.cache.get(value)
        if text is None:
            if len(self.cache) >= self.limit:
                self.cache = {None: "null"}
            text = self.cache[value] = _iso_json(value)
        return text


def _annotations_json(rows: list[exports_repo.AnnotationJsonRow], project_json: str,
                      stamp: Callable[[dt.datetime | None], str]) -> tuple[str, int]:
    """A task's annotations as the JSON list ``json.dumps`` writes for :func:`_annotation_dict` of each row,
    and how many of them are skips."""
    parts = []
    cancelled = 0
    for (task_id, ann_id, author, result, count, was_cancelled, truth, created, updated, lead, active,
         prediction, import_id) in rows:
        cancelled += 1 if was_cancelled else 0
        parts.append(
            f'{{"id": {ann_id}, "completed_by": {_int_json(author)}, "result": {result}, '
            f'"was_cancelled": {"true" if was_cancelled else "false"}, "ground_truth": {"true" if truth else "false"}, '
            f'"created_at": {stamp(created)}, "updated_at": {stamp(updated)}, "lead_time": {_float_json(lead)}, '
            f'"active_time": {_float_json(active)}, "prediction": {{}}, '
            f'"parent_prediction": {_int_json(prediction)}, "result_count": {count}, "task": {task_id}, '
            f'"project": {project_json}, "import_id": {_int_json(import_id)}}}'
        )
    return "[" + ", ".join(parts) + "]", cancelled


def _predictions_json(rows: list[exports_repo.PredictionJsonRow], stamp: Callable[[dt.datetime | None], str],
                      versions: dict[str | None, str]) -> str:
    """A task's predictions as the JSON list ``json.dumps`` writes for :func:`_prediction_dict` of each row;
    ``versions`` caches the model versions' JSON (a project has a handful)."""
    for row in rows:
        if row[2] not in versions:
            versions[row[2]] = _scalar_json(row[2])
    return "[" + ", ".join(
        f'{{"id": {pred_id}, "model_version": {versions[version]}, "score": {_float_json(score)}, '
        f'"result": {result}, "created_at": {stamp(created)}, "task": {task_id}}}'
        for task_id, pred_id, version, score, result, created in rows
    ) + "]"


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
    :func:`iter_ls_task_json`, run ahead of the formatting by :func:`core.read_ahead.read_ahead`)."""
    for page in exports_repo.iter_task_json_pages(session, project_id, page_size=page_size):
        first, last = page[0][0], page[-1][0]
        yield (page, _by_task(exports_repo.annotation_json_rows(session, project_id, first, last)),
               _by_task(exports_repo.prediction_json_rows(session, project_id, first, last)))


def iter_ls_task_json(
    uow: UnitOfWork, actor: UserInfo, *, project_id: int, page_size: int = PAGE_SIZE
) -> Iterator[str]:
    """Each task of :func:`iter_ls_tasks` as the exact text ``json.dumps(task, ensure_ascii=False)`` gives.

    Stored JSON (the task's ``data`` and ``meta``, each annotation's and prediction's ``result``) comes from
    the database as text and is spliced in without being decoded (see ``exports_repo.iter_task_json_pages``);
    the other fields are written by :func:`_scalar_json`. Decoding and re-encoding was 70 % of an export of
    annotated tasks (100,000 annotated tasks: 6.2 s before, see BENCHMARKS.md).
    """
    require(uow, actor, project_id, Action.EXPORT)
    session = uow.session
    stamp = _StampText()
    project_json = str(project_id)
    versions: dict[str | None, str] = {}
    for page, annotations, predictions in read_ahead(_json_pages(session, project_id, page_size)):
        for task_id, data, meta, created_at, updated_at in page:
            anns = annotations.get(task_id)
            preds = predictions.get(task_id)
            anns_json, cancelled = _annotations_json(anns, project_json, stamp) if anns else ("[]", 0)
            yield (
                f'{{"id": {task_id}, "data": {data}, '
                f'"annotations": {anns_json}, '
                f'"predictions": {_predictions_json(preds, stamp, versions) if preds else "[]"}, '
                f'"meta": {"{}" if meta is None or meta in _FALSY_JSON else meta}, '
                f'"created_at": {stamp(created_at)}, "updated_at": {stamp(updated_at)}, '
                f'"project": {project_id}, "total_annotations": {len(anns) - cancelled if anns else 0}, '
                f'"cancelled_annotations": {cancelled}, "total_predictions": {len(preds) if preds else 0}}}'
            )


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the file written (one-file formats) or the folder (folder formats)
    files: tuple[Path, ...]
    n_tasks: int
    format: str
    n_left_out: int = 0  # tasks a consensus export left out (no ground truth, no consensus)
    selection: str = ALL_ANNOTATIONS


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
    out = Path(out)
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
    """Label Studio JSON, the same bytes as the generic path, built from stored JSON text (the fast path)."""
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
        return ExportResult(archive, (archive,), written.n_tasks, written.format, written.n_left_out, selection)
    suffix = Path(export_format.filename or "result.json").suffix
    return export_project(
        uow, actor, project_id=project_id, fmt=fmt, out=base.with_suffix(suffix), selection=selection,
        progress=progress,
    )
