"""Queries on invite links. Only the SHA-256 of a token is stored (see core.invites)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Invite, User


def add(session: Session, invite: Invite) -> Invite:
    session.add(invite)
    session.flush()
    return invite


def by_hash(session: Session, token_hash: str) -> Invite | None:
    return session.scalar(select(Invite).where(Invite.token_hash == token_hash))


def of_project(session: Session, project_id: int) -> list[Row[Any]]:
    """(invite, creator's user name or None) of the project, newest first."""
    return list(
        session.execute(
            select(Invite, User.username)
            .outerjoin(User, User.id == Invite.created_by_id)
            .where(Invite.project_id == project_id)
            .order_by(Invite.id.desc())
        ).all()
    )


def take_use(session: Session, invite_id: int, now: dt.datetime) -> bool:
    """Count one use of the invite if it is still usable; False if it is not (revoked, expired, used up).

    One guarded UPDATE: two newcomers using the last use of a link at once cannot both get it (the
    second UPDATE finds ``uses = max_uses`` and changes nothing).
    """
    result = session.execute(
        update(Invite)
        .where(
            Invite.id == invite_id,
            Invite.revoked.is_(False),
            Invite.expires_at > now,
            or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses),
        )
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)
