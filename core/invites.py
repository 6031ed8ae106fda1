"""Invite links: a manager lets newcomers create an account and join a project with a role.

The link carries a random token (32 bytes from ``secrets``, URL-safe), shown to the manager once; the
database keeps only its SHA-256 (as for sign-in sessions, ``core.sessions``), so a leaked database
cannot be turned into working links. A link has a role (annotator unless the manager chooses another),
an expiry and optionally a maximum number of uses; a manager can revoke it. Accepting a link checks
everything again and counts the use with a guarded UPDATE in the same transaction that creates the
account and the membership: an expired, revoked, used-up or unknown link creates nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from core.errors import NotFoundError, QuorumError
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo, create_user
from storage.models import PROJECT_ROLES, ROLE_ANNOTATOR, Invite, Membership, Project, utcnow
from storage.repositories import audit as audit_repo
from storage.repositories import invites as invites_repo

QUERY_PARAM = "invite"
DEFAULT_TTL = dt.timedelta(days=7)
MAX_TTL = dt.timedelta(days=90)
MAX_TOKEN_LENGTH = 200


class InviteError(QuorumError):
    """An invite link that cannot be used; the message says why, for the newcomer to read."""


@dataclass(frozen=True)
class InviteInfo:
    id: int
    project_id: int
    role: str
    created_by: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    max_uses: int | None
    uses: int
    revoked: bool

    def status(self, now: dt.datetime | None = None) -> str:
        """"active", "revoked", "expired" or "used up"."""
        if self.revoked:
            return "revoked"
        if self.expires_at <= (now or utcnow()):
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used up"
        return "active"


@dataclass(frozen=True)
class CreatedInvite:
    """A new invite and its token: the only time the token exists outside the manager's link."""

    invite: InviteInfo
    token: str

    def link(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/?{QUERY_PARAM}={self.token}"


@dataclass(frozen=True)
class InviteCheck:
    """What the invite page shows a newcomer before they sign up."""

    project_title: str
    role: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(invite: Invite, created_by: str | None = None) -> InviteInfo:
    return InviteInfo(invite.id, invite.project_id, invite.role, created_by, invite.created_at, invite.expires_at,
                      invite.max_uses, invite.uses, invite.revoked)


def create_invite(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    role: str = ROLE_ANNOTATOR,
    valid_for: dt.timedelta = DEFAULT_TTL,
    max_uses: int | None = None,
    now: dt.datetime | None = None,
) -> CreatedInvite:
    """A new invite link for the project (managers); the caller commits and shows the token once."""
    require(uow, actor, project_id, Action.MANAGE)
    if role not in PROJECT_ROLES:
        raise QuorumError(f"role: unknown role {role!r}; roles are {', '.join(PROJECT_ROLES)}")
    if not dt.timedelta(minutes=5) <= valid_for <= MAX_TTL:
        raise QuorumError(f"expiry: a link is valid for 5 minutes to {MAX_TTL.days} days")
    if max_uses is not None and (isinstance(max_uses, bool) or not isinstance(max_uses, int) or max_uses < 1):
        raise QuorumError(f"maximum uses: a whole number of at least 1, or none for no limit (got {max_uses!r})")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    invite = invites_repo.add(uow.session, Invite(
        project_id=project_id, role=role, token_hash=_digest(token), created_by_id=actor.id, created_at=now,
        expires_at=now + valid_for, max_uses=max_uses, uses=0, revoked=False,
    ))
    audit_repo.record(uow.session, actor_id=actor.id, project_id=project_id, action="invite.create", now=now,
                      detail={"invite_id": invite.id, "role": role, "max_uses": max_uses,
                              "expires_at": invite.expires_at.isoformat()})
    return CreatedInvite(_info(invite, actor.username), token)


def list_invites(uow: UnitOfWork, actor: UserInfo, *, project_id: int) -> list[InviteInfo]:
    """The project's invites, newest first (managers). Tokens are not among them: they were never kept."""
    require(uow, actor, project_id, Action.MANAGE)
    return [_info(invite, creator) for invite, creator in invites_repo.of_project(uow.session, project_id)]


def revoke_invite(uow: UnitOfWork, actor: UserInfo, *, project_id: int, invite_id: int) -> None:
    """Make a link unusable from now on (managers); the caller commits. Accounts made with it stay."""
    require(uow, actor, project_id, Action.MANAGE)
    invite = uow.session.get(Invite, invite_id)
    if invite is None or invite.project_id != project_id:
        raise NotFoundError(f"the project has no invite {invite_id}")
    if not invite.revoked:
        invite.revoked = True
        audit_repo.record(uow.session, actor_id=actor.id, project_id=project_id, action="invite.revoke",
                          detail={"invite_id": invite_id})
        uow.session.flush()


def _usable(uow: UnitOfWork, token: str | None, now: dt.datetime) -> Invite:
    """The invite a token belongs to if it can be used now; InviteError saying why not otherwise."""
    invite = None
    if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH:
        invite = invites_repo.by_hash(uow.session, _digest(token))
    if invite is None:
        raise InviteError("this invite link is not valid: check that you copied all of it, or ask for a new one")
    status = _info(invite).status(now)
    if status != "active":
        raise InviteError(f"this invite link is {status}: ask the project's manager for a new one")
    return invite


def check_invite(uow: UnitOfWork, token: str | None, *, now: dt.datetime | None = None) -> InviteCheck:
    """The project and role a link offers, if it is usable; InviteError otherwise. Changes nothing."""
    invite = _usable(uow, token, now or utcnow())
    project = uow.session.get(Project, invite.project_id)
    assert project is not None  # invites cascade with their project
    return InviteCheck(project.title, invite.role)


def accept_invite(
    uow: UnitOfWork,
    token: str | None,
    *,
    username: str,
    email: str,
    password: str,
    password_again: str,
    display_name: str = "",
    now: dt.datetime | None = None,
) -> UserInfo:
    """Create the newcomer's account (argon2 via ``core.users``) and give it the invite's role in its
    project, in one transaction; the caller commits and signs the newcomer in.

    InviteError for a link that cannot be used; QuorumError / ConflictError naming the field for bad
    sign-up data. Either way nothing is created and the link's use is not counted.
    """
    uow.begin_write()
    now = now or utcnow()
    invite = _usable(uow, token, now)
    if password != password_again:
        raise QuorumError("password: the two passwords differ")
    email = email.strip()
    if not email or "@" not in email or len(email) > 254:
        raise QuorumError("e-mail: enter a valid e-mail address")
    user = create_user(uow, username=username, password=password, email=email, display_name=display_name)
    if not invites_repo.take_use(uow.session, invite.id, now):
        raise InviteError("this invite link was used up a moment ago: ask the project's manager for a new one")
    uow.session.add(Membership(project_id=invite.project_id, user_id=user.id, role=invite.role))
    audit_repo.record(uow.session, actor_id=user.id, project_id=invite.project_id, action="invite.accept", now=now,
                      detail={"invite_id": invite.id, "user": user.username, "role": invite.role})
    uow.session.flush()
    return user
