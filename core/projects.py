"""Projects: creation from a labeling config, settings, members, and the home page's summaries."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

from core.config import validate_config
from core.errors import ConflictError, NotFoundError, QuorumError
from core.permissions import Action, require, require_admin
from core.quality import recompute_task
from core.review_queue import resample_verification
from core.uow import UnitOfWork
from core.users import UserInfo, to_info
from storage.models import (
    PROJECT_ROLES,
    ROLE_MANAGER,
    TASK_DONE,
    TASK_OPEN,
    TASK_REVIEW,
    ConfigVersion,
    Membership,
    Project,
    User,
    utcnow,
)
from storage.repositories import audit as audit_repo
from storage.repositories import project_admin as project_admin_repo
from storage.repositories import projects as projects_repo
from storage.repositories import tasks as tasks_repo
from storage.repositories import users as users_repo

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
    verify_rate: float = 0.0  # share of agreed tasks sampled to review for verification (core.quality)
    anonymize_reviews: bool = False  # reviewers see "Annotator 1, 2, ..." instead of names (core.review_queue)

    def checked(self) -> ProjectSettings:
        """These settings if they make sense, else a QuorumError naming the setting and what it takes."""
        for name, label in _INT_FIELDS.items():
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise QuorumError(f"{label} must be a whole number (got {value!r})")
        for name, label in _BOOL_FIELDS.items():
            if not isinstance(getattr(self, name), bool):
                raise QuorumError(f"{label} must be yes or no (got {getattr(self, name)!r})")
        if not 1 <= self.overlap <= MAX_OVERLAP:
            raise QuorumError(f"annotations per task must be between 1 and {MAX_OVERLAP} (got {self.overlap})")
        maximum = self.maximum_annotations if self.maximum_annotations is not None else self.overlap
        if maximum < self.overlap:
            raise QuorumError(
                f"maximum annotations ({maximum}) must be at least the annotations per task ({self.overlap})"
            )
        if maximum > MAX_OVERLAP:
            raise QuorumError(f"maximum annotations must be at most {MAX_OVERLAP} (got {maximum})")
        for name, label in _SHARE_FIELDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise QuorumError(f"{label} must be a number (got {value!r})")
        if not 0.0 <= self.agreement_threshold <= 1.0:
            raise QuorumError(f"agreement threshold must lie in 0..1 (got {self.agreement_threshold})")
        if self.sampling not in SAMPLING_MODES:
            raise QuorumError(f"sampling {self.sampling!r} unknown; use one of {', '.join(SAMPLING_MODES)}")
        if not 0 < self.lock_ttl_s <= MAX_LOCK_TTL_S:
            raise QuorumError(
                f"lock time-to-live must be between 1 second and {MAX_LOCK_TTL_S // 3600} hours (got {self.lock_ttl_s} s)"
            )
        for name in ("honeypot_rate", "repeat_rate"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise QuorumError(f"{_SHARE_FIELDS[name]} must lie in [0, 1) (got {getattr(self, name)})")
        if self.escalation_order not in ESCALATION_ORDERS:
            raise QuorumError(f"escalation order must be one of {', '.join(ESCALATION_ORDERS)}")
        if not 0.0 <= self.verify_rate <= 1.0:
            raise QuorumError(f"{_SHARE_FIELDS['verify_rate']} must lie in 0..1 (got {self.verify_rate})")
        return ProjectSettings(**{**self.__dict__, "maximum_annotations": maximum,
                                  "agreement_threshold": float(self.agreement_threshold),
                                  "verify_rate": float(self.verify_rate),
                                  "honeypot_rate": float(self.honeypot_rate), "repeat_rate": float(self.repeat_rate)})


# What each setting is called in messages (the settings page uses the same words).
_INT_FIELDS = {"overlap": "annotations per task", "maximum_annotations": "maximum annotations",
               "lock_ttl_s": "lock time-to-live"}
_SHARE_FIELDS = {"agreement_threshold": "agreement threshold", "honeypot_rate": "honeypot share",
                 "repeat_rate": "repeat share", "verify_rate": "verification share"}
_BOOL_FIELDS = {"show_predictions": "show predictions", "allow_skip": "skipping allowed",
                "anonymize_reviews": "anonymous reviews"}
MAX_OVERLAP = 1_000  # far above any real overlap (crowd-label imports use one slot per label given)
MAX_LOCK_TTL_S = 7 * 24 * 3600
MAX_TITLE = 200  # the column's length
MAX_DESCRIPTION = 5_000
MAX_INSTRUCTIONS = 50_000


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
    # Annotations as the Quality page counts them: submitted, not skipped, imported ground truth left out.
    n_annotations: int
    my_annotations: int
    state_counts: dict[str, int] = field(default_factory=dict)
    paused_since: dt.datetime | None = None  # a manager paused the user's labeling here (no new tasks)

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
        verify_rate=project.verify_rate or 0.0,
        anonymize_reviews=bool(project.anonymize_reviews),
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


def sample_task_data(uow: UnitOfWork, actor: UserInfo, project_id: int) -> dict[str, object] | None:
    """The data of the project's first task, for previewing a config change on real data (needs
    ``Action.MANAGE``); None when the project has no task yet."""
    require(uow, actor, project_id, Action.MANAGE)
    data = tasks_repo.first_task_data(uow.session, project_id)
    return data if isinstance(data, dict) else None


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
    paused = projects_repo.paused_in(session, actor.id)
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
                paused_since=paused.get(p.id),
            )
        )
    return out


# --- settings of a running project ---------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsChange:
    """What saving the settings did: the fields that changed and what happened to the tasks."""

    project: ProjectInfo
    changed: tuple[str, ...]  # field names (ProjectSettings' and title/description/instructions)
    n_scored: int = 0  # tasks that reached their new overlap and were scored now
    n_done: int = 0  # ... of which reached agreement (state done)
    n_review: int = 0  # ... of which went to the review queue
    n_escalated: int = 0  # ... of which went back to the annotators (escalation)
    n_reopened: int = 0  # tasks waiting to be scored that need more annotations under the new overlap
    n_verification_added: int = 0  # agreed tasks a raised verification share sent to review
    n_verification_taken_back: int = 0  # undecided verification tasks a lowered share took back (done again)


def _checked_texts(uow: UnitOfWork, project_id: int, title: str, description: str, instructions: str) -> str:
    """The stripped title if title, description and instructions are acceptable; QuorumError naming the
    field otherwise."""
    title = title.strip()
    if not title:
        raise QuorumError("title: a project needs a title")
    if len(title) > MAX_TITLE:
        raise QuorumError(f"title: at most {MAX_TITLE} characters (got {len(title)})")
    clash = projects_repo.by_title(uow.session, title)
    if clash is not None and clash.id != project_id:
        raise ConflictError(f"title: a project titled {title!r} exists already")
    if len(description) > MAX_DESCRIPTION:
        raise QuorumError(f"description: at most {MAX_DESCRIPTION} characters (got {len(description)})")
    if len(instructions) > MAX_INSTRUCTIONS:
        raise QuorumError(f"instructions: at most {MAX_INSTRUCTIONS} characters (got {len(instructions)})")
    return title


def _audit_value(value: object) -> object:
    """A value as the audit trail keeps it: long texts shortened (the event says *that* they changed)."""
    return value[:200] + "…" if isinstance(value, str) and len(value) > 200 else value


def update_settings(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    title: str,
    description: str,
    instructions: str,
    settings: ProjectSettings,
    now: dt.datetime | None = None,
) -> SettingsChange:
    """Save a project's settings (managers); the caller commits.

    Every value is checked first (a QuorumError names the field; nothing is written). A new overlap or
    maximum is applied to the tasks still being labeled or waiting to be scored
    (:func:`storage.repositories.project_admin.rebalance_overlap`): tasks that now have all the
    annotations they need are scored and routed at once by :func:`core.quality.recompute_task`, and
    waiting tasks that need more go back to the annotators. Tasks in review or done keep their state, except
    that a new verification share samples the agreed tasks again (:func:`core.review_queue.resample_verification`).
    The change is written to the audit trail with old and new values.
    """
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    checked = settings.checked()
    title = _checked_texts(uow, project_id, title, description, instructions)
    before = _info(project)
    wanted: dict[str, object] = {"title": title, "description": description, "instructions": instructions,
                                 **checked.__dict__}
    current: dict[str, object] = {"title": before.title, "description": before.description,
                                  "instructions": before.instructions, **before.settings.__dict__}
    changed = {name: (current[name], value) for name, value in wanted.items() if current[name] != value}
    if not changed:
        return SettingsChange(before, ())
    now = now or utcnow()
    for name, (_, value) in changed.items():
        setattr(project, name, value)
    uow.session.flush()
    result = SettingsChange(_info(project), tuple(changed))
    if "overlap" in changed or "maximum_annotations" in changed:
        result = _apply_overlap(uow, project, result, old_overlap=before.settings.overlap, now=now)
    if "verify_rate" in changed:  # the new share applies to the tasks scored before it too
        resampled = resample_verification(uow, actor, project_id=project_id, old_rate=before.settings.verify_rate,
                                          now=now)
        result = replace(result, n_verification_added=len(resampled.to_review),
                         n_verification_taken_back=len(resampled.taken_back))
    audit_repo.record(
        uow.session, actor_id=actor.id, project_id=project_id, action="project.settings", now=now,
        detail={"changed": {name: [_audit_value(old), _audit_value(new)] for name, (old, new) in changed.items()}},
    )
    return result


def _apply_overlap(
    uow: UnitOfWork, project: Project, result: SettingsChange, *, old_overlap: int, now: dt.datetime
) -> SettingsChange:
    completed, reopened = project_admin_repo.rebalance_overlap(
        uow.session, project.id, old_overlap=old_overlap, new_overlap=project.overlap,
        maximum=project.maximum_annotations, now=now,
    )
    outcomes = [recompute_task(uow, task_id) for task_id in completed]
    return replace(
        result,
        n_scored=len(outcomes),
        n_done=sum(o.state == TASK_DONE for o in outcomes),
        n_review=sum(o.state == TASK_REVIEW for o in outcomes),
        n_escalated=sum(o.escalated for o in outcomes),
        n_reopened=len(reopened),
    )


# --- members -------------------------------------------------------------------------------------------


def _checked_role(role: str) -> str:
    if role not in PROJECT_ROLES:
        raise QuorumError(f"role: unknown role {role!r}; roles are {', '.join(PROJECT_ROLES)}")
    return role


def _keep_a_manager(uow: UnitOfWork, project_id: int, user_id: int) -> None:
    """Refuse a change that would leave the project without any manager (nobody could undo it but an
    administrator)."""
    managers = {u.id for u, role in projects_repo.members(uow.session, project_id) if role == ROLE_MANAGER}
    if managers == {user_id}:
        raise ConflictError("the project needs at least one manager: make someone else a manager first")


def add_member_by_login(uow: UnitOfWork, actor: UserInfo, *, project_id: int, login: str, role: str) -> UserInfo:
    """Give the person with this user name or e-mail a role in the project; the caller commits.

    NotFoundError when nobody has that name (the manager can send an invite link instead), ConflictError
    when they have the role already.
    """
    require(uow, actor, project_id, Action.MANAGE)
    _checked_role(role)
    login = login.strip()
    if not login:
        raise QuorumError("Enter a user name or an e-mail to add someone")
    user = users_repo.by_login(uow.session, login)
    if user is None:
        raise NotFoundError(f"Nobody is called {login!r}; create an invite link for a newcomer instead")
    if not user.is_active:
        raise ConflictError(f"{user.username}'s account is deactivated; an administrator can reactivate it")
    if projects_repo.membership(uow.session, project_id, user.id, role) is not None:
        raise ConflictError(f"{user.username} is a {role} of this project already")
    uow.session.add(Membership(project_id=project_id, user_id=user.id, role=role))
    audit_repo.record(uow.session, actor_id=actor.id, project_id=project_id, action="member.add",
                      detail={"user": user.username, "role": role})
    uow.session.flush()
    return to_info(user)


def set_member_role(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int, role: str) -> None:
    """Make ``role`` the member's only role in the project (managers); the caller commits."""
    require(uow, actor, project_id, Action.MANAGE)
    _checked_role(role)
    roles = projects_repo.roles_of(uow.session, user_id, project_id)
    if not roles:
        raise NotFoundError(f"user {user_id} is not a member of this project")
    if roles == {role}:
        return
    if role != ROLE_MANAGER:
        _keep_a_manager(uow, project_id, user_id)
    for old in roles - {role}:
        membership = projects_repo.membership(uow.session, project_id, user_id, old)
        if membership is not None:
            uow.session.delete(membership)
    if role not in roles:
        uow.session.add(Membership(project_id=project_id, user_id=user_id, role=role))
    audit_repo.record(uow.session, actor_id=actor.id, project_id=project_id, action="member.role",
                      detail={"user_id": user_id, "from": sorted(roles), "to": role})
    uow.session.flush()


def deactivate_member(uow: UnitOfWork, actor: UserInfo, *, project_id: int, user_id: int) -> int:
    """Take every role in the project from a member and release the tasks they hold here, so those go
    straight back to the pool; returns how many locks were released. Their annotations stay (they are
    the project's history). The caller commits. Deactivating the whole account is
    :func:`core.users.set_active` (administrators), which releases their locks everywhere.
    """
    uow.begin_write()
    require(uow, actor, project_id, Action.MANAGE)
    roles = projects_repo.roles_of(uow.session, user_id, project_id)
    if not roles:
        raise NotFoundError(f"user {user_id} is not a member of this project")
    _keep_a_manager(uow, project_id, user_id)
    for role in roles:
        membership = projects_repo.membership(uow.session, project_id, user_id, role)
        if membership is not None:
            uow.session.delete(membership)
    released = tasks_repo.release_all_locks(uow.session, user_id, project_id=project_id)
    audit_repo.record(uow.session, actor_id=actor.id, project_id=project_id, action="member.deactivate",
                      detail={"user_id": user_id, "roles": sorted(roles), "locks_released": released})
    uow.session.flush()
    return released


# --- deleting a project --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectDeleted:
    project_id: int
    title: str
    n_tasks: int


def delete_project(uow: UnitOfWork, actor: UserInfo, *, project_id: int) -> ProjectDeleted:
    """Delete a project with everything in it (tasks, annotations, drafts, reviews, members, storage
    connections, webhooks: the database cascades); administrators only, as only they create projects. The
    audit event outlives the project (it names the project in its detail, not by the foreign key that would
    delete it with the project). The caller commits."""
    uow.begin_write()
    require_admin(actor)
    project = projects_repo.projects_by_ids(uow.session, [project_id])
    if not project:
        raise NotFoundError(f"no project with id {project_id}")
    n_tasks = sum(projects_repo.task_counts(uow.session, [project_id])[project_id].values())
    title = project[0].title
    projects_repo.delete_project(uow.session, project_id)
    audit_repo.record(uow.session, actor_id=actor.id, project_id=None, action="project.delete",
                      detail={"project_id": project_id, "title": title, "n_tasks": n_tasks})
    uow.session.flush()
    return ProjectDeleted(project_id, title, n_tasks)
