"""The routes of Quorum's Label Studio-compatible API (``/api/...``): each reads its request, calls one function of
:mod:`core.ls_api` (which calls the same services as the pages) in a unit of work, and answers its JSON.

Paths are Label Studio's, with and without the trailing slash its clients add. What is outside the subset answers
501 with the endpoint named (``/api/docs`` lists the subset).
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.rest.base import API_VERSION, ApiNotImplemented, Call, endpoint, error_response
from api.rest.openapi import docs
from core import ls_api
from core.api_tokens import RateLimiter, check_token
from core.exports import export_for_download, iter_ls_task_json
from core.ls_api import FieldProblem
from core.permissions import Action, require
from core.uow import UowFactory
from core.users import UserInfo

MAX_IMPORT_BYTES = 512 * 1024 * 1024
"""The largest import body (the CLI streams files of any size; a request is held in memory while read)."""
EXPORT_TYPES = ("JSON", "JSON_MIN", "CSV", "TSV", "COCO", "YOLO", "YOLO_OBB", "VOC", "CONLL2003", "ASR_MANIFEST")


def _in_uow(make: UowFactory, work: Callable[[Any], Any], *, write: Call | None = None) -> Any:
    """Run ``work(uow)`` in a unit of work; a write (``write``: its request) is audited in the same transaction
    and committed."""
    with make() as uow:
        answer = work(uow)
        if write is not None:
            ls_api.record_write(uow, write.user, method=write.method, path=write.url_path, token_id=write.token_id)
            uow.commit()
        return answer


def _check_token(make: UowFactory, raw: str) -> tuple[UserInfo, int]:
    with make() as uow:
        holder = check_token(uow, raw)
        uow.commit()  # last_used_at, written at most once a minute
    return holder.user, holder.token_id


# --- the routes' work ------------------------------------------------------------------------------------


def _health(request: Request) -> Response:
    return JSONResponse({"status": "UP"})


def _version(make: UowFactory, call: Call) -> Any:
    """``GET /api/version``: Label Studio's SDK reads ``edition`` before an export ("Enterprise" would send it to
    the asynchronous export snapshots, which Quorum does not have)."""
    return {"release": API_VERSION, "edition": "Community", "quorum": True}


def _paging(call: Call) -> tuple[int, int]:
    """``?page`` (from 1) and ``?page_size`` (at most MAX_PAGE_SIZE) of a list, with Label Studio's defaults."""
    page = call.query_int("page", 1) or 1
    size = call.query_int("page_size", ls_api.DEFAULT_PAGE_SIZE, high=ls_api.MAX_PAGE_SIZE) or ls_api.DEFAULT_PAGE_SIZE
    return page, size


def _projects(make: UowFactory, call: Call) -> Any:
    if call.method == "POST":
        return 201, _in_uow(make, lambda uow: ls_api.create(uow, call.user, call.body), write=call)
    page, size = _paging(call)
    return _in_uow(make, lambda uow: ls_api.projects(uow, call.user, page=page, page_size=size,
                                                      title=call.query.get("title")))


def _project(method: str) -> Callable[[UowFactory, Call], Any]:
    def work(make: UowFactory, call: Call) -> Any:
        project_id = call.path_id("id")
        if method == "GET":
            return _in_uow(make, lambda uow: ls_api.project(uow, call.user, project_id))
        if method == "PATCH":
            return _in_uow(make, lambda uow: ls_api.update(uow, call.user, project_id, call.body), write=call)
        _in_uow(make, lambda uow: ls_api.delete(uow, call.user, project_id), write=call)
        return 204, None
    return work


def _import(make: UowFactory, call: Call) -> Any:
    project_id = call.path_id("id")
    if not call.raw.strip():
        raise FieldProblem("body", "send a JSON list of tasks")
    with_ids = call.query.get("return_task_ids", "").lower() in ("true", "1")
    return 201, _in_uow(make, lambda uow: ls_api.import_tasks(uow, call.user, project_id, call.raw,
                                                               with_task_ids=with_ids), write=call)


def _tasks(make: UowFactory, call: Call) -> Any:
    project_id = call.query_int("project")
    if project_id is None:
        raise FieldProblem("project", "name the project: /api/tasks?project=ID")
    page, size = _paging(call)
    return _in_uow(make, lambda uow: ls_api.tasks(uow, call.user, project_id=project_id, page=page, page_size=size))


def _project_tasks(make: UowFactory, call: Call) -> Any:
    """``GET /api/projects/{id}/tasks``: Label Studio's older list (a plain list of tasks)."""
    project_id = call.path_id("id")
    page, size = _paging(call)
    return _in_uow(make, lambda uow: ls_api.tasks(uow, call.user, project_id=project_id, page=page,
                                                   page_size=size))["tasks"]


def _next(make: UowFactory, call: Call) -> Any:
    project_id = call.path_id("id")
    return _in_uow(make, lambda uow: ls_api.next_task_json(uow, call.user, project_id), write=call)


def _task(method: str) -> Callable[[UowFactory, Call], Any]:
    def work(make: UowFactory, call: Call) -> Any:
        task_id = call.path_id("id")
        if method == "GET":
            return _in_uow(make, lambda uow: ls_api.task(uow, call.user, task_id))
        _in_uow(make, lambda uow: ls_api.delete_task(uow, call.user, task_id), write=call)
        return 204, None
    return work


def _task_annotations(make: UowFactory, call: Call) -> Any:
    task_id = call.path_id("id")
    if call.method == "GET":
        return _in_uow(make, lambda uow: ls_api.annotations(uow, call.user, task_id))
    made, new = _in_uow(make, lambda uow: ls_api.create_annotation(uow, call.user, task_id, call.body), write=call)
    return (201 if new else 200), made


def _annotation(method: str) -> Callable[[UowFactory, Call], Any]:
    def work(make: UowFactory, call: Call) -> Any:
        annotation_id = call.path_id("id")
        if method == "GET":
            return _in_uow(make, lambda uow: ls_api.annotation(uow, call.user, annotation_id))
        if method == "PATCH":
            return _in_uow(make, lambda uow: ls_api.update_annotation(uow, call.user, annotation_id, call.body),
                           write=call)
        _in_uow(make, lambda uow: ls_api.remove_annotation(uow, call.user, annotation_id), write=call)
        return 204, None
    return work


def _predictions(make: UowFactory, call: Call) -> Any:
    if call.method == "POST":
        return 201, _in_uow(make, lambda uow: ls_api.create_prediction(uow, call.user, call.body), write=call)
    return _in_uow(make, lambda uow: ls_api.predictions(uow, call.user, task_id=call.query_int("task"),
                                                        project_id=call.query_int("project")))


def _whoami(make: UowFactory, call: Call) -> Any:
    return ls_api.whoami(call.user)


EXPORT_CHUNK_BYTES = 256 * 1024
"""How much of the JSON export is sent at once: Starlette runs each step of a sync iterator on a worker thread,
so a chunk per task (100,000 thread hops) took 16 s for 100,000 tasks where the export itself takes 1-2 s."""


def _json_export(make: UowFactory, user: UserInfo, project_id: int) -> Iterator[bytes]:
    """The JSON export as one array, streamed in chunks of about EXPORT_CHUNK_BYTES (constant memory at any
    project size)."""
    with make() as uow:
        parts: list[bytes] = [b"["]
        size, separator = 1, b""
        for line in iter_ls_task_json(uow, user, project_id=project_id):
            encoded = separator + line.encode()
            separator = b",\n"
            parts.append(encoded)
            size += len(encoded)
            if size >= EXPORT_CHUNK_BYTES:
                yield b"".join(parts)
                parts, size = [], 0
        parts.append(b"]\n")
        yield b"".join(parts)


def _export(make: UowFactory, call: Call) -> Any:
    """``GET /api/projects/{id}/export?exportType=...``: the export as a download (JSON streamed; the others
    written to a temporary folder first, a zip for folder formats, removed once sent)."""
    project_id = call.path_id("id")
    fmt = (call.query.get("exportType") or call.query.get("export_type") or "JSON").upper()  # the SDK: export_type
    if fmt not in EXPORT_TYPES:
        raise FieldProblem("exportType", f"must be one of {', '.join(EXPORT_TYPES)}")
    if call.query.get("download_all_tasks", "true").lower() == "false":
        raise ApiNotImplemented("download_all_tasks=false: Quorum exports every task of the project")
    if fmt == "JSON":
        _in_uow(make, lambda uow: require(uow, call.user, project_id, Action.EXPORT))
        return StreamingResponse(_json_export(make, call.user, project_id), media_type="application/json",
                                 headers={"Content-Disposition": f'attachment; filename="project-{project_id}.json"'})
    folder = Path(tempfile.mkdtemp(prefix="quorum-api-export-"))
    try:
        result = _in_uow(make, lambda uow: export_for_download(uow, call.user, project_id=project_id, fmt=fmt,
                                                                exports_dir=folder))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(result.path, filename=result.path.name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


# --- the table -------------------------------------------------------------------------------------------


def routes(make_uow: Callable[[], UowFactory]) -> list[Route]:
    """Every route of the API; ``make_uow`` returns the process's unit-of-work factory (created on first use)."""
    limiter = RateLimiter.from_env()

    def ep(work: Callable[[UowFactory, Call], Any], **options: Any) -> Any:
        return endpoint(make_uow, work, check_token=_check_token, rate=limiter.allow, **options)

    table: list[tuple[str, Any, list[str]]] = [
        ("/api/projects", ep(_projects), ["GET", "POST"]),
        ("/api/projects/{id:int}", ep(_project("GET")), ["GET"]),
        ("/api/projects/{id:int}", ep(_project("PATCH")), ["PATCH", "PUT"]),
        ("/api/projects/{id:int}", ep(_project("DELETE")), ["DELETE"]),
        ("/api/projects/{id:int}/import", ep(_import, max_body=MAX_IMPORT_BYTES, json_body=False), ["POST"]),
        ("/api/projects/{id:int}/tasks", ep(_project_tasks), ["GET"]),
        ("/api/projects/{id:int}/next", ep(_next), ["GET"]),
        ("/api/projects/{id:int}/export", ep(_export), ["GET"]),
        ("/api/tasks", ep(_tasks), ["GET"]),
        ("/api/tasks/{id:int}", ep(_task("GET")), ["GET"]),
        ("/api/tasks/{id:int}", ep(_task("DELETE")), ["DELETE"]),
        ("/api/tasks/{id:int}/annotations", ep(_task_annotations), ["GET", "POST"]),
        ("/api/annotations/{id:int}", ep(_annotation("GET")), ["GET"]),
        ("/api/annotations/{id:int}", ep(_annotation("PATCH")), ["PATCH", "PUT"]),
        ("/api/annotations/{id:int}", ep(_annotation("DELETE")), ["DELETE"]),
        ("/api/predictions", ep(_predictions), ["GET", "POST"]),
        ("/api/current-user/whoami", ep(_whoami), ["GET"]),
        ("/api/users/me", ep(_whoami), ["GET"]),
        ("/api/current-user", ep(_whoami), ["GET"]),
        ("/api/version", ep(_version), ["GET"]),
    ]
    out: list[Route] = [Route("/health", _health, methods=["GET"]), Route("/api/docs", docs, methods=["GET"]),
                        Route("/api/docs/", docs, methods=["GET"]), Route("/api/openapi.json", docs, methods=["GET"])]
    for path, handler, methods in table:
        out.append(Route(path, handler, methods=methods))
        out.append(Route(path + "/", handler, methods=methods))  # Label Studio's clients add the slash
    out.append(Route("/api/{rest:path}", _outside_subset, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
    return out


async def _outside_subset(request: Request) -> Response:
    if request.url.path.startswith(("/api/session/", "/api/labeling/")):
        return error_response(405, f"{request.method} {request.url.path} is not allowed")
    return error_response(501, f"{request.method} {request.url.path} is outside the part of Label Studio's API that "
                               "Quorum serves; see /api/docs for the endpoints it has")
