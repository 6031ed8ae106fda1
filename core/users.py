"""Accounts: creation, sign-in with argon2-hashed passwords, and matching of OIDC or imported authors."""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import AuthenticationError, ConflictError, NotFoundError, QuorumError
from core.uow import UnitOfWork
from storage.models import User
from storage.repositories import users as users_repo

_hasher = PasswordHasher()
# A fixed hash to verify against when the user does not exist, so a wrong user name takes as long as a
# wrong password (no user enumeration by timing).


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown names against (same time as a real check), made on first use: hashing at
    import would add an argon2 run to every start of the app and the CLI."""
    return _hasher.hash("quorum-dummy-password")


USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{2,150}$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    email: str | None
    display_name: str
    is_admin: bool
    is_active: bool

    @property
    def label(self) -> str:
        """What the UI shows for this person."""
        return self.display_name or self.username


def to_info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.email, user.display_name, user.is_admin, user.is_active)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    uow: UnitOfWork,
    *,
    username: str,
    password: str | None,
    email: str | None = None,
    display_name: str = "",
    is_admin: bool = False,
    is_active: bool = True,
) -> UserInfo:
    """Create an account. ``password=None`` makes an account that cannot sign in with a password
    (imported authors, OIDC-only users)."""
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise QuorumError(
            f"user name {username!r} is not valid: use 2-150 letters, digits or . _ @ + -"
        )
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise QuorumError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    email = email.strip().lower() if email else None
    session = uow.session
    if users_repo.by_username(session, username) is not None:
        raise ConflictError(f"user name {username!r} is taken")
    if email and users_repo.by_email(session, email) is not None:
        raise ConflictError(f"e-mail {email!r} already belongs to another account")
    user = User(
        username=username,
        email=email,
        display_name=display_name.strip(),
        password_hash=hash_password(password) if password is not None else None,
        is_admin=is_admin,
        is_active=is_active,
    )
    session.add(user)
    session.flush()
    return to_info(user)


def authenticate(uow: UnitOfWork, *, username: str, password: str) -> UserInfo:
    """The user whose name (or e-mail) and password match; AuthenticationError otherwise.

    The message is the same for an unknown name and a wrong password, on purpose.
    """
    user = users_repo.by_login(uow.session, username)
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        _hasher.verify(stored, password)
        ok = user is not None and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise AuthenticationError("wrong user name or password")
    if not user.is_active:
        raise AuthenticationError("this account is deactivated; ask a manager")
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return to_info(user)


def get_user(uow: UnitOfWork, user_id: int) -> UserInfo:
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    return to_info(user)


def find_user_by_email(uow: UnitOfWork, email: str) -> UserInfo | None:
    user = users_repo.by_email(uow.session, email)
    return to_info(user) if user else None


def user_for_oidc(uow: UnitOfWork, *, email: str, name: str) -> UserInfo:
    """The account an OIDC identity signs in as: matched by e-mail, created on first sign-in.

    A new account has no project roles; a manager adds it to projects (roles never come from the IdP).
    """
    existing = find_user_by_email(uow, email)
    if existing is not None:
        if not existing.is_active:
            raise AuthenticationError("this account is deactivated; ask a manager")
        return existing
    base = re.sub(r"[^A-Za-z0-9_.@+-]", "", email.split("@")[0]) or "user"
    username = base
    n = 1
    while users_repo.by_username(uow.session, username) is not None:
        n += 1
        username = f"{base}{n}"
    return create_user(uow, username=username, password=None, email=email, display_name=name)


def list_users(uow: UnitOfWork) -> list[UserInfo]:
    return [to_info(u) for u in users_repo.all_users(uow.session)]


CLI_USERNAME = "quorum-cli"


def cli_actor(uow: UnitOfWork) -> UserInfo:
    """The account the command line acts as: an administrator without a password (it cannot sign in
    to the web app), created on first use so that every CLI action still has an author."""
    user = users_repo.by_username(uow.session, CLI_USERNAME)
    if user is None:
        return create_user(uow, username=CLI_USERNAME, password=None, display_name="Command line", is_admin=True)
    return to_info(user)


def resolve_login(uow: UnitOfWork, login: str) -> UserInfo:
    """The user a CLI argument names (user name or e-mail); NotFoundError naming it otherwise."""
    user = users_repo.by_login(uow.session, login)
    if user is None:
        raise NotFoundError(f"no user named {login!r}")
    return to_info(user)


def set_active(uow: UnitOfWork, actor: UserInfo, *, user_id: int, active: bool) -> UserInfo:
    """Activate or deactivate an account (admins only). Deactivating releases the user's task locks,
    so their tasks go straight back to the pool, and signs them out on their next page run."""
    from core.permissions import require_admin
    from storage.repositories import tasks as tasks_repo

    require_admin(actor)
    if user_id == actor.id and not active:
        raise QuorumError("you cannot deactivate your own account")
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    user.is_active = active
    if not active:
        tasks_repo.release_all_locks(uow.session, user_id)
    uow.session.flush()
    return to_info(user)


def set_password(uow: UnitOfWork, actor: UserInfo, *, user_id: int, password: str) -> None:
    """An admin sets a password (e.g. to enable an imported account); checked like a new one."""
    from core.permissions import require_admin

    require_admin(actor)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise QuorumError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    user.password_hash = hash_password(password)
    uow.session.flush()


def admin_create_user(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    username: str,
    password: str,
    email: str | None = None,
    display_name: str = "",
    is_admin: bool = False,
) -> UserInfo:
    """Create an account from the web app: only administrators may (the CLI runs as the machine's owner)."""
    from core.permissions import require_admin

    require_admin(actor)
    return create_user(
        uow, username=username, password=password, email=email or None, display_name=display_name, is_admin=is_admin
    )
