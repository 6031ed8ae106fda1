"""The labeling policy over time: saving a new config version, and the history of versions.

A project's config is never edited in place. Saving a change adds a ``ConfigVersion`` row and bumps
``project.config_version``; annotations record the version they were made under (``core.labeling`` and
the imports write ``project.config_version`` into each), so exports and reviewers can tell which policy
a label followed. A change that touches existing labels, controls or data fields
(:func:`core.config_impact.config_impact`) is saved only with the manager's explicit confirmation, and
only if nobody saved another version since the manager looked at the impact.
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

from core.config_impact import ConfigImpact, config_impact
from core.errors import ConflictError, NotFoundError, QuorumError
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import ConfigVersion, utcnow
from storage.repositories import audit as audit_repo
from storage.repositories import config_versions as versions_repo


class ConfirmationRequired(QuorumError):
    """The change touches existing work; saving it needs ``confirmed=True``. Carries the impact."""

    def __init__(self, impact: ConfigImpact) -> None:
        super().__init__("this change affects existing work; confirm it to save:\n" + "\n".join(impact.summary()))
        self.impact = impact


@dataclass(frozen=True)
class VersionInfo:
    version: int
    config_xml: str
    author: str | None  # user name; None when the author's account is gone
    created_at: dt.datetime


@dataclass(frozen=True)
class SavedConfig:
    version: int
    impact: ConfigImpact


def change_config(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    config_xml: str,
    based_on_version: int,
    confirmed: bool = False,
    now: dt.datetime | None = None,
) -> SavedConfig:
    """Save ``config_xml`` as the project's next config version (managers); the caller commits.

    ``based_on_version`` is the version the manager edited: if someone saved another since, a
    ConflictError says so (their change would otherwise be overwritten unseen). An invalid config raises
    ConfigError; an unchanged one QuorumError; a change with an impact ConfirmationRequired unless
    ``confirmed``.
    """
    uow.begin_write()
    project = require(uow, actor, project_id, Action.MANAGE)
    if project.config_version != based_on_version:
        raise ConflictError(
            f"the config changed meanwhile (now version {project.config_version}, you edited version "
            f"{based_on_version}); reload it and check the impact again"
        )
    if config_xml.strip() == project.config_xml.strip():
        raise QuorumError("the config is unchanged: nothing to save")
    impact = config_impact(uow, actor, project_id=project_id, new_xml=config_xml)
    if not impact.is_empty and not confirmed:
        raise ConfirmationRequired(impact)
    now = now or utcnow()
    number = project.config_version + 1
    uow.session.add(ConfigVersion(project_id=project_id, version=number, config_xml=config_xml,
                                  created_by_id=actor.id, created_at=now))
    project.config_xml = config_xml
    project.config_version = number
    audit_repo.record(uow.session, actor_id=actor.id, project_id=project_id, action="project.config", now=now,
                      detail={"version": number, "impact": impact.summary()})
    uow.session.flush()
    return SavedConfig(number, impact)


def config_history(uow: UnitOfWork, actor: UserInfo, *, project_id: int) -> list[VersionInfo]:
    """Every config version of the project, newest first, with who saved it and when (managers)."""
    require(uow, actor, project_id, Action.MANAGE)
    return [VersionInfo(v.version, v.config_xml, author, v.created_at)
            for v, author in versions_repo.versions(uow.session, project_id)]


def version_diff(uow: UnitOfWork, actor: UserInfo, *, project_id: int, old: int, new: int) -> str:
    """A unified diff of two versions' XML ("" when they are the same text)."""
    require(uow, actor, project_id, Action.MANAGE)
    texts = []
    for number in (old, new):
        row = versions_repo.version(uow.session, project_id, number)
        if row is None:
            raise NotFoundError(f"the project has no config version {number}")
        texts.append(row.config_xml)
    return "\n".join(difflib.unified_diff(texts[0].splitlines(), texts[1].splitlines(),
                                          fromfile=f"version {old}", tofile=f"version {new}", lineterm=""))
