"""Browser sign-ins that survive a reload, a closed tab or a lost connection.

Streamlit's session state dies with the websocket, so after signing in the browser gets a cookie with a
random token (32 bytes, ``secrets``); the database keeps only its SHA-256, with an expiry. A stolen
database therefore cannot be replayed as cookies, and signing out, a password reset or (de)activating the
account ends the session on the server.

The cookie is set by the server, ``HttpOnly`` (no script, injected or not, can read it): a Streamlit run
cannot set a response header, so the sign-in page starts the session with :func:`begin_browser_session`,
which gives a *hand-off* token, single-use and valid for :data:`HANDOFF_TTL`; the browser trades it at
``/api/session/start`` (api/session.py) for the cookie (:func:`redeem_handoff`). Until then the session's
cookie hash is that of a token nobody holds, so the page's own tab is signed in by the session's id alone.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from core.uow import UnitOfWork
from core.users import UserInfo, to_info
from storage.models import User, utcnow
from storage.repositories import sessions as sessions_repo

SESSION_TTL = dt.timedelta(hours=12)
HANDOFF_TTL = dt.timedelta(seconds=30)
COOKIE_NAME = "quorum_session"
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class BrowserSession:
    """A session just begun: its id (the page's tab keeps it) and the one-time hand-off for the cookie."""

    session_id: int
    handoff: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _plausible(token: str | None) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH


def start_session(uow: UnitOfWork, user: UserInfo, *, now: dt.datetime | None = None) -> str:
    """A new session token for ``user``, to be put in a cookie by the caller (which commits). The web
    sign-in uses :func:`begin_browser_session` instead: its cookie is set by the server."""
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    sessions_repo.add(uow.session, token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + SESSION_TTL)
    return token


def begin_browser_session(uow: UnitOfWork, user: UserInfo, *, now: dt.datetime | None = None) -> BrowserSession:
    """A session for ``user`` whose cookie is still to be set: its id and a hand-off token (the caller
    commits). No cookie can match it until the hand-off is redeemed."""
    now = now or utcnow()
    handoff = secrets.token_urlsafe(32)
    session_id = sessions_repo.add(
        uow.session, token_hash=_digest(secrets.token_urlsafe(32)), user_id=user.id, created_at=now,
        expires_at=now + SESSION_TTL, handoff_hash=_digest(handoff), handoff_expires_at=now + HANDOFF_TTL,
    )
    return BrowserSession(session_id, handoff)


def redeem_handoff(uow: UnitOfWork, handoff: str | None, *, now: dt.datetime | None = None) -> str | None:
    """The cookie token for a live hand-off, which is used up; None for an unknown, used or expired one
    (the caller commits)."""
    if not _plausible(handoff):
        return None
    token = secrets.token_urlsafe(32)
    found = sessions_repo.redeem_handoff(
        uow.session, handoff_hash=_digest(str(handoff)), token_hash=_digest(token), now=now or utcnow()
    )
    return token if found is not None else None


def user_for_token(uow: UnitOfWork, token: str | None, *, now: dt.datetime | None = None) -> UserInfo | None:
    """The active user a cookie's token belongs to, or None (unknown, expired, deactivated)."""
    found = session_for_token(uow, token, now=now)
    return None if found is None else found[1]


def session_for_token(
    uow: UnitOfWork, token: str | None, *, now: dt.datetime | None = None
) -> tuple[int, UserInfo] | None:
    """(session id, active user) of a cookie's token, or None (unknown, expired, deactivated)."""
    if not _plausible(token):
        return None
    found = sessions_repo.by_hash(uow.session, _digest(str(token)))
    if found is None or found.expires_at <= (now or utcnow()):
        return None
    user = uow.session.get(User, found.user_id)
    return (found.id, to_info(user)) if user is not None and user.is_active else None


def user_for_session(uow: UnitOfWork, session_id: int, *, now: dt.datetime | None = None) -> UserInfo | None:
    """The active user of a live session, or None: ended (sign-out, password reset, deactivation) or expired.
    One indexed query; pages call it on every run so an ended session signs the tab out at once."""
    user = sessions_repo.live_user(uow.session, session_id, now or utcnow())
    return to_info(user) if user is not None and user.is_active else None


def end_session(uow: UnitOfWork, token: str | None) -> None:
    """End the session a cookie's token belongs to (sign-out; the caller commits)."""
    if _plausible(token):
        sessions_repo.delete_by_hash(uow.session, _digest(str(token)))


def end_session_id(uow: UnitOfWork, session_id: int | None) -> None:
    """End a session by its id (the tab that signed in knows only that; the caller commits)."""
    if session_id is not None:
        sessions_repo.delete_by_id(uow.session, int(session_id))


def delete_expired_sessions(uow: UnitOfWork, *, now: dt.datetime | None = None) -> int:
    """Remove expired sessions (start-up and each sign-in call it); how many. The caller commits."""
    return sessions_repo.delete_expired(uow.session, now or utcnow())
