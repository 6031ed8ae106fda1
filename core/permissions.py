"""Who may do what: checked in core on every action, not only by hiding menu entries.

Roles are per project (annotator, reviewer, manager); an admin may do everything. Each action names the
roles that allow it, in one table, so a page, the CLI and a test ask the same question.
"""
from __future__ import annotations

from enum import Enum

from core.errors import NotFoundError, PermissionDeniedError
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import ROLE_ANNOTATOR, ROLE_MANAGER, ROLE_REVIEWER, Project
from storage.repositories import projects as projects_repo


class Action(Enum):
    VIEW_PROJECT = "view the project"
    LABEL = "label tasks"
    REVIEW = "review annotations"
    SEE_ALL_ANNOTATIONS = "see other people's annotations"
    MANAGE = "change the project's settings and members"
    IMPORT = "import data"
    EXPORT = "export results"
    ANALYTICS = "see quality analytics"


ALLOWED_ROLES: dict[Action, frozenset[str]] = {
    Action.VIEW_PROJECT: frozenset({ROLE_ANNOTATOR, ROLE_REVIEWER, ROLE_MANAGER}),
    Action.LABEL: frozenset({ROLE_ANNOTATOR}),
    Action.REVIEW: frozenset({ROLE_REVIEWER, ROLE_MANAGER}),
    Action.SEE_ALL_ANNOTATIONS: frozenset({ROLE_REVIEWER, ROLE_MANAGER}),
    Action.MANAGE: frozenset({ROLE_MANAGER}),
    Action.IMPORT: frozenset({ROLE_MANAGER}),
    Action.EXPORT: frozenset({ROLE_MANAGER}),
    Action.ANALYTICS: frozenset({ROLE_MANAGER}),
}


def roles_in(uow: UnitOfWork, user: UserInfo, project_id: int) -> set[str]:
    return projects_repo.roles_of(uow.session, user.id, project_id)


def can(uow: UnitOfWork, user: UserInfo, project_id: int, action: Action) -> bool:
    if not user.is_active:
        return False
    if user.is_admin:
        return True
    return bool(roles_in(uow, user, project_id) & ALLOWED_ROLES[action])


def require(uow: UnitOfWork, user: UserInfo, project_id: int, action: Action) -> Project:
    """The project, if ``user`` may do ``action`` in it; PermissionDeniedError or NotFoundError if not.

    A user who is not a member gets "not found" rather than "forbidden", so project names do not leak.
    """
    project, roles = projects_repo.project_with_roles(uow.session, project_id, user.id)
    return allowed_project(project, roles, user, project_id, action)


def allowed_project(project: Project | None, roles: set[str], user: UserInfo, project_id: int, action: Action) -> Project:
    """:func:`require`'s decision on a project row and roles read already: a caller that needs more of the
    membership (the hand-out reads the annotator's pause with it, core.annotator_actions) reads them in its
    own single query and asks the same question."""
    if project is None:
        raise NotFoundError(f"no project with id {project_id}")
    if not user.is_active:
        raise PermissionDeniedError(f"{user.username} is deactivated")
    if user.is_admin:
        return project
    if not roles:
        raise NotFoundError(f"no project with id {project_id}")
    if not roles & ALLOWED_ROLES[action]:
        needed = " or ".join(sorted(ALLOWED_ROLES[action]))
        raise PermissionDeniedError(
            f"{user.username} may not {action.value} in project {project.title!r}: needs the {needed} role"
        )
    return project


def require_admin(user: UserInfo) -> None:
    if not (user.is_active and user.is_admin):
        raise PermissionDeniedError(f"{user.username} is not an administrator")


def allowed_actions(uow: UnitOfWork, user: UserInfo) -> frozenset[Action]:
    """Every action the user may do in at least one project: the app registers only the pages these
    allow, so a forbidden page is never in the menu (and each page still checks per project)."""
    if not user.is_active:
        return frozenset()
    if user.is_admin:
        return frozenset(Action)
    roles: set[str] = set()
    for project_roles in projects_repo.projects_of(uow.session, user.id).values():
        roles |= project_roles
    return frozenset(action for action, allowed in ALLOWED_ROLES.items() if roles & allowed)


def projects_allowing(uow: UnitOfWork, user: UserInfo, action: Action) -> list[int]:
    """Ids of the projects where ``user`` may do ``action``."""
    if not user.is_active:
        return []
    if user.is_admin:
        return projects_repo.all_project_ids(uow.session)
    return sorted(
        pid for pid, roles in projects_repo.projects_of(uow.session, user.id).items() if roles & ALLOWED_ROLES[action]
    )
