"""Queries on browser sessions."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import UserSession


def add(session: Session, *, token_hash: str, user_id: int, created_at: dt.datetime, expires_at: dt.datetime) -> None:
    session.add(UserSession(token_hash=token_hash, user_id=user_id, created_at=created_at, expires_at=expires_at))
    session.flush()


def by_hash(session: Session, token_hash: str) -> UserSession | None:
    return session.scalar(select(UserSession).where(UserSession.token_hash == token_hash))


def delete_by_hash(session: Session, token_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def delete_expired(session: Session, now: dt.datetime) -> None:
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
