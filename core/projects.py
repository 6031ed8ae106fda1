"""Projects: creation from a labeling config, settings, members, and the home page's summaries."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.config import validate_config
from core.errors import ConflictError, NotFoundError, QuorumError
from core.permissions import Action, require, require_admin
from core.uow import UnitOfWork
from core.users import UserInfo, to_info
from storage.models import (
    PROJECT_ROLES,
    ROLE_MANAGER,
    TASK_DONE,
    TASK_OPEN,
    ConfigVersion,
    Membership,
    Project,
    User,
)
from storage.repositories import projects as projects_repo

SAMPLING_MODES = ("sequential", "random", "uncertainty")
ESCALATION_ORDERS = ("annotators_first", "review_first")


@dataclass(frozen=True)
class ProjectSettings:
    """What a manager tunes; defaults are those of a serious single-pass project."""

    overlap: int = 1
    maximum_annotations: int | None = None  # None: same as overlap (no escalation)
    agreement_threshold: float = 0.8
    sampling: str = "sequential"
    lock_ttl_s: int = 3600
    honeypot_rate: float = 0.0
    repeat_rate: float = 0.0
    show_predictions: bool = True
    allow_skip: bool = True
    escalation_order: str = "annotators_first"

    def checked(self) -> ProjectSettings:
        """These settings if they make sense, else a QuorumError naming the setting."""
        if self.overlap < 1:
            raise QuorumError(f"annotations per task must be at least 1 (got {self.overlap})")
        maximum = self.maximum_annotations if self.maximum_annotations is not None else self.overlap
        if maximum < self.overlap:
            raise QuorumError(
                f"maximum annotations ({maximum}) must be at least the annotations per task ({self.overlap})"
            )
        if not 0.0 <= self.agreement_threshold <= 1.0:
            raise QuorumError(f"agreement threshold must lie in 0..1 (got {self.agreement_threshold})")
        if self.sampling not in SAMPLING_MODES:
            raise QuorumError(f"sampling {self.sampling!r} unknown; use one of {', '.join(SAMPLING_MODES)}")
        if self.lock_ttl_s <= 0:
            raise QuorumError("lock time-to-live must be positive")
        for name in ("honeypot_rate", "repeat_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise QuorumError(f"{name.replace('_', ' ')} must lie in [0, 1)")
        if self.escalation_order not in ESCALATION_ORDERS:
            raise QuorumError(f"escalation order must be one of {', '.join(ESCALATION_ORDERS)}")
        return ProjectSettings(**{**self.__dict__, "maximum_annotations": maximum})


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    title: str
    description: str
    instructions: str
    config_xml: str
    config_version: int
    settings: ProjectSettings


@dataclass(frozen=True)
class ProjectSummary:
    """One row of the home page: a project, the user's roles in it, and progress."""

    id: int
    title: str
    description: str
    roles: frozenset[str]
    n_tasks: int
    n_done: int
    n_open: int
    n_annotations: int
    my_annotations: int
    state_counts: dict[str, int] = field(default_factory=dict)

    @property
    def progress(self) -> float:
        return self.n_done / self.n_tasks if self.n_tasks else 0.0


def _info(project: Project) -> ProjectInfo:
    settings = ProjectSettings(
        overlap=project.overlap,
        maximum_annotations=project.maximum_annotations,
        agreement_threshold=project.agreement_threshold,
        sampling=project.sampling,
        lock_ttl_s=project.lock_ttl_s,
        honeypot_rate=project.honeypot_rate,
        repeat_rate=project.repeat_rate,
        show_predictions=project.show_predictions,
        allow_skip=project.allow_skip,
        escalation_order=project.escalation_order,
    )
    return ProjectInfo(
        project.id,
        project.title,
        project.description,
        project.instructions,
        project.config_xml,
        project.config_version,
        settings,
    )


def create_project(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    title: str,
    config_xml: str,
    description: str = "",
    instructions: str = "",
    settings: ProjectSettings | None = None,
) -> ProjectInfo:
    """A new project with ``actor`` as its manager; the config must pass validation.

    Only administrators create projects (a manager role exists per project, so it cannot be the gate).
    """
    require_admin(actor)
    title = title.strip()
    if not title:
        raise QuorumError("a project needs a title")
    if projects_repo.by_title(uow.session, title) is not None:
        raise ConflictError(f"a project titled {title!r} exists already")
    validate_config(config_xml)
    s = (settings or ProjectSettings()).checked()
    project = Project(
        title=title,
        description=description,
        instructions=instructions,
        config_xml=config_xml,
        config_version=1,
        created_by_id=actor.id,
        **{k: v for k, v in s.__dict__.items()},
    )
    uow.session.add(project)
    uow.session.flush()
    uow.session.add(ConfigVersion(project_id=project.id, version=1, config_xml=config_xml, created_by_id=actor.id))
    uow.session.add(Membership(project_id=project.id, user_id=actor.id, role=ROLE_MANAGER))
    uow.session.flush()
    return _info(project)


def get_project(uow: UnitOfWork, actor: UserInfo, project_id: int) -> ProjectInfo:
    return _info(require(uow, actor, project_id, Action.VIEW_PROJECT))


def find_project_id(uow: UnitOfWork, title: str) -> int | None:
    project = projects_repo.by_title(uow.session, title)
    return project.id if project else None


def add_member(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int, role: str) -> None:
    """Give ``user_id`` a role in the project (idempotent)."""
    require(uow, actor, project_id, Action.MANAGE)
    if role not in PROJECT_ROLES:
        raise QuorumError(f"unknown role {role!r}; roles are {', '.join(PROJECT_ROLES)}")
    if uow.session.get(User, user_id) is None:
        raise NotFoundError(f"no user with id {user_id}")
    if projects_repo.membership(uow.session, project_id, user_id, role) is None:
        uow.session.add(Membership(project_id=project_id, user_id=user_id, role=role))
        uow.session.flush()


def remove_member(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int, role: str) -> None:
    require(uow, actor, project_id, Action.MANAGE)
    membership = projects_repo.membership(uow.session, project_id, user_id, role)
    if membership is not None:
        uow.session.delete(membership)
        uow.session.flush()


def list_members(uow: UnitOfWork, actor: UserInfo, project_id: int) -> list[tuple[UserInfo, str]]:
    require(uow, actor, project_id, Action.VIEW_PROJECT)
    return [(to_info(user), role) for user, role in projects_repo.members(uow.session, project_id)]


def list_my_projects(uow: UnitOfWork, actor: UserInfo) -> list[ProjectSummary]:
    """The projects ``actor`` belongs to (every project for an admin), with progress counts."""
    session = uow.session
    roles_by_project = projects_repo.projects_of(session, actor.id)
    ids = projects_repo.all_project_ids(session) if actor.is_admin else sorted(roles_by_project)
    projects = projects_repo.projects_by_ids(session, ids)
    counts = projects_repo.task_counts(session, ids)
    n_ann = projects_repo.annotation_counts(session, ids)
    mine = projects_repo.annotation_counts(session, ids, user_id=actor.id)
    out = []
    for p in projects:
        states = counts.get(p.id, {})
        out.append(
            ProjectSummary(
                id=p.id,
                title=p.title,
                description=p.description,
                roles=frozenset(roles_by_project.get(p.id, set())),
                n_tasks=sum(states.values()),
                n_done=states.get(TASK_DONE, 0),
                n_open=states.get(TASK_OPEN, 0),
                n_annotations=n_ann.get(p.id, 0),
                my_annotations=mine.get(p.id, 0),
                state_counts=dict(states),
            )
        )
    return out
