"""Queries on users."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import SignInThrottle, User


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def by_login(session: Session, login: str) -> User | None:
    """The user a sign-in name refers to: a user name (any case) or an e-mail."""
    key = login.strip().lower()
    return session.scalar(select(User).where((func.lower(User.username) == key) | (User.email == key)))


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def by_emails(session: Session, emails: set[str]) -> dict[str, User]:
    if not emails:
        return {}
    rows = session.scalars(select(User).where(User.email.in_(sorted(emails))))
    return {u.email: u for u in rows if u.email}


def by_usernames(session: Session, names: set[str]) -> dict[str, User]:
    if not names:
        return {}
    rows = session.scalars(select(User).where(User.username.in_(sorted(names))))
    return {u.username: u for u in rows}


def throttles_for_update(session: Session, keys: list[str], now: dt.datetime) -> list[SignInThrottle]:
    """The throttle rows of ``keys``, created when missing and locked (FOR UPDATE on PostgreSQL; SQLite's
    caller holds the write lock), so two parallel attempts count one after the other."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(SignInThrottle)
        .values([{"key": k, "failures": 0, "last_attempt_at": now, "locked_until": None} for k in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    rows = session.scalars(
        select(SignInThrottle).where(SignInThrottle.key.in_(keys)).order_by(SignInThrottle.key)
        .with_for_update().execution_options(populate_existing=True)
    )
    return list(rows)


def throttles(session: Session, keys: list[str]) -> list[SignInThrottle]:
    return list(session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))))


def delete_throttle(session: Session, key: str) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


def delete_stale_throttles(session: Session, *, idle_since: dt.datetime, now: dt.datetime) -> int:
    """Forget counters without an attempt since ``idle_since`` and without a live lock; how many."""
    stale = (SignInThrottle.last_attempt_at < idle_since) & (
        SignInThrottle.locked_until.is_(None) | (SignInThrottle.locked_until <= now))
    return session.execute(delete(SignInThrottle).where(stale)).rowcount or 0
