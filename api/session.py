"""``POST /api/session/start`` and ``POST /api/session/end``: the session cookie, set and cleared by the server.

A Streamlit run cannot set a response header, so the sign-in page (views/services.py) gets a one-time
hand-off token from core (:func:`core.sessions.begin_browser_session`, valid for seconds) and its browser
posts it here; this route trades it for the session token and sets the cookie ``HttpOnly`` (no script can
read it), ``SameSite=Lax`` (not sent with another site's POSTs or subrequests) and ``Secure`` when the request
came over HTTPS (directly, or ``X-Forwarded-Proto: https`` from a proxy). Sign-out posts to ``/end``, which
ends the cookie's session in the database and clears the cookie.

Like the draft route, both refuse other sites: the body must be JSON (a cross-site form cannot send that
content type without a CORS preflight, which this app does not answer) and an Origin, when sent, must be
this host. Otherwise another site could sign a visitor into the other site's own account.
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
from core.sessions import COOKIE_NAME, SESSION_TTL, end_session, redeem_handoff
from core.uow import UowFactory

MAX_BODY_BYTES = 1024


def start_request(make_uow: UowFactory, body: Any) -> tuple[int, dict[str, Any], str | None]:
    """The start route without Starlette: (HTTP status, JSON answer, cookie token or None)."""
    handoff = body.get("token") if isinstance(body, dict) else None
    if not isinstance(handoff, str) or not handoff:
        return 400, {"error": "send {\"token\": ...} from the sign-in page"}, None
    with make_uow() as uow:
        token = redeem_handoff(uow, handoff)
        uow.commit()
    if token is None:
        return 401, {"error": "this sign-in hand-off is unknown, used or expired: sign in again"}, None
    return 200, {"signed_in": True}, token


def end_request(make_uow: UowFactory, token: str | None) -> tuple[int, dict[str, Any]]:
    """The end route without Starlette: the cookie's session ended (there may be none)."""
    with make_uow() as uow:
        end_session(uow, token)
        uow.commit()
    return 200, {"signed_out": True}


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS, directly or through a proxy that says so."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


def _refusal(request: Request) -> JSONResponse | None:
    """Why a request is refused before it is read (another site, not JSON), or None."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return JSONResponse({"error": "send application/json"}, status_code=415)
    if not _same_origin(request):
        return JSONResponse({"error": "cross-site request refused"}, status_code=403)
    return None


def _set_cookie(response: JSONResponse, token: str, *, secure: bool) -> None:
    response.set_cookie(COOKIE_NAME, token, max_age=int(SESSION_TTL.total_seconds()), path="/", secure=secure,
                        httponly=True, samesite="lax")


def _clear_cookie(response: JSONResponse, *, secure: bool) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", secure=secure, httponly=True, samesite="lax")


def routes(make_uow: Any) -> list[Route]:
    """The session routes; ``make_uow``: a callable returning the process's unit-of-work factory."""

    async def start(request: Request) -> JSONResponse:
        refused = _refusal(request)
        if refused is not None:
            return refused
        raw = await body_within(request, MAX_BODY_BYTES)
        if raw is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            body = orjson.loads(raw)
        except ValueError:
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        status, answer, token = await run_in_threadpool(start_request, make_uow(), body)
        response = JSONResponse(answer, status_code=status, headers={"Cache-Control": "no-store"})
        if token is not None:
            _set_cookie(response, token, secure=is_https(request))
        return response

    async def end(request: Request) -> JSONResponse:
        refused = _refusal(request)
        if refused is not None:
            return refused
        status, answer = await run_in_threadpool(end_request, make_uow(), request.cookies.get(COOKIE_NAME))
        response = JSONResponse(answer, status_code=status, headers={"Cache-Control": "no-store"})
        _clear_cookie(response, secure=is_https(request))
        return response

    return [Route("/api/session/start", start, methods=["POST"]), Route("/api/session/end", end, methods=["POST"])]
