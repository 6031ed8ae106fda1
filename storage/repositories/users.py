"""Queries on users."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import User


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
