"""``POST /api/labeling/draft``: the labeling page's browser-kept answers saved as a draft, without a rerun.

The labeling page keeps choice answers in the browser (views/widgets/components/browser_answers.py) so a
key press needs no server round trip; this route puts each change into the server-side draft, so a
reload or a closed tab still resumes where the labeler was. Who is asking comes from the session cookie
(core.sessions), what they may do from core (``save_draft_part`` checks membership and that the task is
theirs); the body is checked here for shape and size only.

Cross-site requests are refused: the cookie is SameSite=Lax (never sent with another site's POST), the body must be JSON (a form post from
another site cannot send that content type without a CORS preflight, which this app does not answer) and
an Origin header, when sent, must be this host.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.bodies import body_within
from core.errors import DatabaseUnavailableError, NotFoundError, PermissionDeniedError, QuorumError
from core.labeling import REPLACE_ONLY, save_draft_part
from core.sessions import COOKIE_NAME, user_for_token
from core.uow import SHORT_BACKOFF_S, UnitOfWork, UowFactory, run_in_uow

MAX_BODY_BYTES = 512 * 1024
MAX_NAMES = 100
RETRY_AFTER_S = 5  # the Retry-After of a 503 (database unavailable)


class BadRequest(ValueError):
    """The request's body does not have the shape this route takes; the message names the field."""


def parse_draft_body(body: Any) -> tuple[int, frozenset[str], list[dict[str, Any]]]:
    """(task_id, control names, result items) from the JSON body, or BadRequest naming the bad field."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with task_id, names and items")
    task_id = body.get("task_id")
    if not isinstance(task_id, int) or isinstance(task_id, bool) or task_id <= 0:
        raise BadRequest("task_id must be a positive whole number")
    names = body.get("names")
    if not isinstance(names, list) or not names or len(names) > MAX_NAMES or not all(
            isinstance(n, str) and n for n in names):
        raise BadRequest(f"names must be a list of 1 to {MAX_NAMES} control names")
    items = body.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequest("items must be a list of result objects")
    return task_id, frozenset(names), items


def save_draft_request(make_uow: UowFactory, token: str | None, body: Any) -> tuple[int, dict[str, Any]]:
    """The route's whole job without Starlette: (HTTP status, JSON answer). Tests call it directly."""
    try:
        task_id, names, items = parse_draft_body(body)
    except BadRequest as exc:
        return 400, {"error": str(exc)}

    def save(uow: UnitOfWork) -> None:
        save_draft_part(uow, user, task_id=task_id, names=names, items=items, mode=REPLACE_ONLY)
        uow.commit()

    try:
        # A read of its own: the write below must start its transaction as a write.
        user = run_in_uow(make_uow, lambda uow: user_for_token(uow, token) if token else None, backoff=SHORT_BACKOFF_S)
        if user is None or not user.is_active:
            return 401, {"error": "sign in first"}
        # On SQLite a read transaction that later writes cannot wait for another writer ("database is locked"
        # at once, seen with 20 labelers): save_draft_part begins its unit of work as a write (BEGIN IMMEDIATE).
        run_in_uow(make_uow, save, backoff=SHORT_BACKOFF_S)  # short: the submit carries the answer anyway
    except DatabaseUnavailableError as exc:
        return 503, {"error": str(exc), "retry": True}
    except PermissionDeniedError as exc:
        return 403, {"error": str(exc)}
    except NotFoundError as exc:
        return 404, {"error": str(exc)}
    except QuorumError as exc:
        return 400, {"error": str(exc)}
    return 200, {"saved": True, "task_id": task_id}


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


def routes(make_uow: Any) -> list[Route]:
    """The labeling routes; ``make_uow``: a callable returning the process's unit-of-work factory (the
    pages' own, created on first use)."""

    async def draft(request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return JSONResponse({"error": "send the draft as application/json"}, status_code=415)
        if not _same_origin(request):
            return JSONResponse({"error": "cross-site request refused"}, status_code=403)
        raw = await body_within(request, MAX_BODY_BYTES)
        if raw is None:
            return JSONResponse({"error": f"a draft may be at most {MAX_BODY_BYTES} bytes"}, status_code=413)
        try:
            body = orjson.loads(raw)
        except ValueError:
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        status, answer = await run_in_threadpool(save_draft_request, make_uow(), request.cookies.get(COOKIE_NAME), body)
        # 503: the database did not answer; the page keeps the answer and sends it with the submit anyway.
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        return JSONResponse(answer, status_code=status, headers=headers)

    return [Route("/api/labeling/draft", draft, methods=["POST"])]
