"""The plumbing every route of Quorum's Label Studio-compatible API shares: who is asking, how big and what shape
the body may be, and how an error looks.

Who: ``Authorization: Token <token>`` (Label Studio's legacy tokens; ``Bearer`` is taken too), a personal token
made on the My account page or with ``cli.py tokens create`` (:mod:`core.api_tokens`). The session cookie is
never accepted here, so a page another site opens in the browser cannot act through the API (no CSRF to guard
against: a token is never sent by the browser on its own). The token's user acts with exactly their roles: every
route calls the same ``core/`` functions as the pages, which check role and membership.

Errors are JSON as Label Studio writes them (``{"status_code", "detail", "validation_errors": {field: [..]}}``):
a bad field is named; a QuorumError of core becomes 400 (bad input), 401, 403, 404 or 409, and the database not
answering 503 with Retry-After.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.bodies import body_within
from core.api_tokens import AUTH_SCHEME, token_from_header
from core.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    DatabaseUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    QuorumError,
)
from core.ls_api import FieldProblem
from core.uow import UowFactory
from core.users import UserInfo

API_VERSION = "quorum-ls-api-1"
"""What the error bodies give as ``version`` (Label Studio gives its own version there)."""
MAX_JSON_BODY = 8 * 1024 * 1024
"""The largest JSON body of an ordinary route (a project, an annotation, a prediction)."""
RETRY_AFTER_S = 5


class ApiNotImplemented(QuorumError):
    """A Label Studio endpoint or option outside the subset Quorum serves (answered 501, named)."""


def error_response(status: int, detail: str, validation_errors: dict[str, list[str]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """An error as Label Studio's API writes one."""
    return JSONResponse({
        "id": str(uuid.uuid4()), "status_code": status, "version": API_VERSION, "detail": detail,
        "exc_info": None, "validation_errors": validation_errors or {},
    }, status_code=status, headers=headers)


def _status_of(exc: QuorumError) -> int:
    for kind, status in ((FieldProblem, 400), (ApiNotImplemented, 501), (AuthenticationError, 401),
                         (PermissionDeniedError, 403), (NotFoundError, 404), (ConflictError, 409),
                         (DatabaseUnavailableError, 503), (ConfigError, 400)):
        if isinstance(exc, kind):
            return status
    return 400


def error_for(exc: QuorumError) -> JSONResponse:
    """The JSON error of a core error (its message is written for people: it names what and where)."""
    status = _status_of(exc)
    fields = {exc.field: [exc.message]} if isinstance(exc, FieldProblem) else None
    if isinstance(exc, ConfigError):
        fields = {"label_config": [str(exc)]}
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return error_response(status, str(exc), fields, headers)


@dataclass(frozen=True)
class Call:
    """One API request as a route's work sees it: the user, the path and query parameters, the JSON body."""

    user: UserInfo
    token_id: int
    method: str
    url_path: str
    path: dict[str, Any]
    query: dict[str, str]
    body: Any
    raw: bytes

    def path_id(self, name: str) -> int:
        value = self.path.get(name)
        if not isinstance(value, int):
            raise FieldProblem(name, "must be a whole number")
        return value

    def query_int(self, name: str, default: int | None = None, *, low: int = 1, high: int | None = None) -> int | None:
        """A whole-number query parameter within [low, high] (None/default when absent)."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise FieldProblem(name, f"must be a whole number, not {text[:40]!r}") from None
        if value < low or (high is not None and value > high):
            raise FieldProblem(name, f"must be between {low} and {high}" if high is not None else f"must be {low} or more")
        return value


Work = Callable[[UowFactory, Call], Any]
"""A route's work, run on a worker thread: returns the JSON answer (200), ``(status, answer)``, or a Response."""
TokenCheck = Callable[[UowFactory, str], tuple[UserInfo, int]]
"""Turns a raw token into (its user, the token's id) or raises AuthenticationError."""
RateCheck = Callable[[int], "float | None"]


def _token_of(request: Request) -> str | None:
    return token_from_header(request.headers.get("authorization"), schemes=(AUTH_SCHEME, "Bearer"))


def endpoint(make_uow: Callable[[], UowFactory], work: Work, *, check_token: TokenCheck, rate: RateCheck,
             max_body: int = MAX_JSON_BODY, json_body: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint around ``work``: token, rate limit, body size and JSON, then ``work`` on a thread,
    then the answer or the error as JSON."""

    async def handle(request: Request) -> Response:
        token = _token_of(request)
        if token is None:
            return error_response(401, "Authentication credentials were not provided: send "
                                       "'Authorization: Token <your token>' (My account page, or cli.py tokens create)")
        raw = b""
        if request.method in ("POST", "PUT", "PATCH"):
            body = await body_within(request, max_body)
            if body is None:
                return error_response(413, f"the request body may be at most {max_body:,} bytes")
            raw = body
        try:
            user, token_id = await run_in_threadpool(check_token, make_uow(), token)
        except QuorumError as exc:
            return error_for(exc)
        wait = rate(token_id)
        if wait is not None:
            return error_response(429, f"too many requests with this token: try again in {wait:.0f} s",
                                  headers={"Retry-After": str(max(1, round(wait)))})
        parsed: Any = None
        if raw and json_body:
            try:
                parsed = orjson.loads(raw)
            except ValueError as exc:
                return error_response(400, f"the body is not valid JSON ({exc})")
        call = Call(user=user, token_id=token_id, method=request.method, url_path=request.url.path, path=dict(request.path_params), query=dict(request.query_params), body=parsed, raw=raw)
        try:
            answer = await run_in_threadpool(work, make_uow(), call)
        except QuorumError as exc:
            return error_for(exc)
        if isinstance(answer, Response):
            return answer
        if isinstance(answer, tuple):
            status, content = answer
            return Response(status_code=204) if status == 204 else JSONResponse(content, status_code=status)
        return JSONResponse(answer)

    return handle
