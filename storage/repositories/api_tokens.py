"""Queries on personal API tokens. Only the SHA-256 of a token is stored (see core.api_tokens)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import ApiToken


def add(session: Session, token: ApiToken) -> ApiToken:
    session.add(token)
    session.flush()
    return token


def by_hash(session: Session, token_hash: str) -> ApiToken | None:
    """The token with this hash (by the unique index): the one lookup every API request makes."""
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def of_user(session: Session, user_id: int) -> list[ApiToken]:
    """The user's tokens, revoked ones included, newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def touch(session: Session, token_id: int, *, now: dt.datetime, stale_before: dt.datetime) -> bool:
    """Set ``last_used_at = now`` unless it is already ``stale_before`` or later; whether it was set.

    A guarded UPDATE: of many requests in the same minute (or on several replicas) only one writes.
    """
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id,
               or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale_before))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
