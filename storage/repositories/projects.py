"""Queries on projects, memberships and per-project counts."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import ROLE_ANNOTATOR, Annotation, Membership, Project, Task, User
from storage.repositories.analytics import _imported_gold


def by_title(session: Session, title: str) -> Project | None:
    return session.scalar(select(Project).where(func.lower(Project.title) == title.strip().lower()))


def project_with_roles(session: Session, project_id: int, user_id: int) -> tuple[Project | None, set[str]]:
    """The project and the user's roles in it, in one round trip (every core action asks this)."""
    rows = session.execute(
        select(Project, Membership.role)
        .outerjoin(Membership, (Membership.project_id == Project.id) & (Membership.user_id == user_id))
        .where(Project.id == project_id)
    ).all()
    if not rows:
        return None, set()
    return rows[0][0], {role for _, role in rows if role is not None}


def roles_of(session: Session, user_id: int, project_id: int) -> set[str]:
    rows = session.scalars(
        select(Membership.role).where(Membership.user_id == user_id, Membership.project_id == project_id)
    )
    return set(rows)


def projects_of(session: Session, user_id: int) -> dict[int, set[str]]:
    """project id -> the user's roles there."""
    out: dict[int, set[str]] = {}
    for project_id, role in session.execute(
        select(Membership.project_id, Membership.role).where(Membership.user_id == user_id)
    ):
        out.setdefault(project_id, set()).add(role)
    return out


def paused_in(session: Session, user_id: int) -> dict[int, Any]:
    """project id -> since when the user is paused as an annotator there (projects where they are not: absent)."""
    return dict(session.execute(
        select(Membership.project_id, Membership.paused_at)
        .where(Membership.user_id == user_id, Membership.role == ROLE_ANNOTATOR, Membership.paused_at.is_not(None))
    ).all())


def all_project_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Project.id).order_by(Project.id)))


def projects_by_ids(session: Session, ids: list[int]) -> list[Project]:
    if not ids:
        return []
    return list(session.scalars(select(Project).where(Project.id.in_(ids)).order_by(Project.title)))


def task_counts(session: Session, project_ids: list[int]) -> dict[int, dict[str, int]]:
    """project id -> {state: number of tasks}. Uses the (project_id, state, id) index."""
    out: dict[int, dict[str, int]] = {pid: {} for pid in project_ids}
    if not project_ids:
        return out
    for pid, state, n in session.execute(
        select(Task.project_id, Task.state, func.count())
        .where(Task.project_id.in_(project_ids))
        .group_by(Task.project_id, Task.state)
    ):
        out[pid][state] = n
    return out


def annotation_counts(session: Session, project_ids: list[int], user_id: int | None = None) -> dict[int, int]:
    """project id -> number of annotations (by ``user_id`` when given), as the Quality page counts them:
    submitted, not skipped, imported gold left out (:func:`storage.repositories.analytics._imported_gold`)."""
    if not project_ids:
        return {}
    query = (
        select(Annotation.project_id, func.count())
        .where(Annotation.project_id.in_(project_ids), Annotation.was_cancelled.is_(False), ~_imported_gold())
        .group_by(Annotation.project_id)
    )
    if user_id is not None:
        query = query.where(Annotation.completed_by_id == user_id)
    return dict(session.execute(query).all())


def members(session: Session, project_id: int) -> list[tuple[User, str]]:
    return list(
        session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.project_id == project_id)
            .order_by(User.username, Membership.role)
        ).all()
    )


def membership(session: Session, project_id: int, user_id: int, role: str) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.project_id == project_id, Membership.user_id == user_id, Membership.role == role
        )
    )


def delete_project(session: Session, project_id: int) -> None:
    """Delete the project row; every table that hangs off a project cascades with it (``ondelete="CASCADE"``)."""
    session.execute(delete(Project).where(Project.id == project_id))
