"""Browser sign-ins that survive a reload, a closed tab or a lost connection.

Streamlit's session state dies with the websocket, so after signing in the browser gets a cookie with a
random token (32 bytes, ``secrets``); the database keeps only its SHA-256, with an expiry. A stolen
database therefore cannot be replayed as cookies, and signing out (or deactivating the account) ends the
session on the server.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from core.uow import UnitOfWork
from core.users import UserInfo, to_info
from storage.models import User, utcnow
from storage.repositories import sessions as sessions_repo

SESSION_TTL = dt.timedelta(hours=12)
COOKIE_NAME = "quorum_session"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(uow: UnitOfWork, user: UserInfo, *, now: dt.datetime | None = None) -> str:
    """A new session token for ``user`` (the caller commits and sets the cookie)."""
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    sessions_repo.add(uow.session, token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + SESSION_TTL)
    return token


def user_for_token(uow: UnitOfWork, token: str | None, *, now: dt.datetime | None = None) -> UserInfo | None:
    """The active user a cookie's token belongs to, or None (unknown, expired, deactivated)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    found = sessions_repo.by_hash(uow.session, _digest(token))
    if found is None or found.expires_at <= (now or utcnow()):
        return None
    user = uow.session.get(User, found.user_id)
    return to_info(user) if user is not None and user.is_active else None


def end_session(uow: UnitOfWork, token: str | None) -> None:
    if isinstance(token, str) and token:
        sessions_repo.delete_by_hash(uow.session, _digest(token))
