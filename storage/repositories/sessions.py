"""Queries on browser sessions."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import User, UserSession


def add(
    session: Session,
    *,
    token_hash: str,
    user_id: int,
    created_at: dt.datetime,
    expires_at: dt.datetime,
    handoff_hash: str | None = None,
    handoff_expires_at: dt.datetime | None = None,
) -> int:
    """Insert a session; its id."""
    row = UserSession(token_hash=token_hash, user_id=user_id, created_at=created_at, expires_at=expires_at,
                      handoff_hash=handoff_hash, handoff_expires_at=handoff_expires_at)
    session.add(row)
    session.flush()
    return row.id


def by_hash(session: Session, token_hash: str) -> UserSession | None:
    return session.scalar(select(UserSession).where(UserSession.token_hash == token_hash))


def live_user(session: Session, session_id: int, now: dt.datetime) -> User | None:
    """The user of an unexpired session, in one indexed query (it runs on every page run)."""
    return session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.id == session_id, UserSession.expires_at > now)
    )


def redeem_handoff(session: Session, *, handoff_hash: str, token_hash: str, now: dt.datetime) -> int | None:
    """Trade a live hand-off for the cookie token's hash, once: the guarded UPDATE lets exactly one of two
    concurrent redemptions win. The session's id, or None (unknown, used or expired)."""
    found = session.execute(
        update(UserSession)
        .where(UserSession.handoff_hash == handoff_hash, UserSession.handoff_expires_at > now,
               UserSession.expires_at > now)
        .values(token_hash=token_hash, handoff_hash=None, handoff_expires_at=None)
        .returning(UserSession.id)
    ).first()
    return None if found is None else int(found[0])


def delete_by_hash(session: Session, token_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def delete_by_id(session: Session, session_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.id == session_id))


def delete_of_user(session: Session, user_id: int, *, keep_id: int | None = None) -> int:
    """Delete every session of a user (but ``keep_id``); how many."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_id is not None:
        query = query.where(UserSession.id != keep_id)
    return session.execute(query).rowcount or 0


def delete_expired(session: Session, now: dt.datetime) -> int:
    """Delete expired sessions; how many. (A hand-off never redeemed keeps its row until the session expires:
    the tab that signed in still uses it.)"""
    return session.execute(delete(UserSession).where(UserSession.expires_at <= now)).rowcount or 0
