"""Accounts: creation, sign-in with argon2-hashed passwords, and matching of OIDC or imported authors.

Sign-in from the web goes through :func:`sign_in`, which throttles guessing: failed attempts are counted per
account (or per typed name matching none, so a lock says nothing about which names exist) and per client
address. From the :data:`ACCOUNT_FREE_FAILURES`-th failure on (per client the :data:`CLIENT_FREE_FAILURES`-th)
each failure locks for ``60 s * 2**(failures - free)``, at most 15 minutes; a locked attempt is refused before
its password is checked (and is not counted: hammering a lock does not lengthen it). Each failure and each lock
is written to the audit log.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import AuthenticationError, ConflictError, NotFoundError, QuorumError
from core.uow import UnitOfWork, UowFactory
from storage.models import User, utcnow
from storage.repositories import audit as audit_repo
from storage.repositories import sessions as sessions_repo
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


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from (False for no or a broken hash)."""
    if not stored_hash:
        return False
    try:
        return bool(_hasher.verify(stored_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def authenticate(uow: UnitOfWork, *, username: str, password: str) -> UserInfo:
    """The user whose name (or e-mail) and password match; AuthenticationError otherwise.

    The message is the same for an unknown name and a wrong password, on purpose. Not throttled: the web
    sign-in calls :func:`sign_in`, which is.
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
    so their tasks go straight back to the pool, and signs them out on their next page run. Either way every
    session of the account ends: a reactivated account signs in afresh, an old cookie does not revive."""
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
    sessions_repo.delete_of_user(uow.session, user_id)
    audit_repo.record(uow.session, actor_id=actor.id, project_id=None,
                      action="user.activated" if active else "user.deactivated", detail={"user_id": user_id})
    uow.session.flush()
    return to_info(user)


def set_password(
    uow: UnitOfWork, actor: UserInfo, *, user_id: int, password: str, keep_session_id: int | None = None
) -> None:
    """An admin sets a password (e.g. to enable an imported account, or a reset); checked like a new one.

    Every session of the account ends, so whoever knew the old password is signed out everywhere; an admin
    changing their own passes ``keep_session_id`` (the session doing it) to stay signed in there.
    """
    from core.permissions import require_admin

    require_admin(actor)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise QuorumError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    user.password_hash = hash_password(password)
    sessions_repo.delete_of_user(uow.session, user_id, keep_id=keep_session_id if user_id == actor.id else None)
    users_repo.delete_throttle(uow.session, f"user:{user_id}")  # a reset also lifts a lock on the account
    audit_repo.record(uow.session, actor_id=actor.id, project_id=None, action="user.password_set",
                      detail={"user_id": user_id})
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


# --- sign-in with throttling ------------------------------------------------------------------------------

ACCOUNT_FREE_FAILURES = 5
CLIENT_FREE_FAILURES = 20  # one office behind one address: colleagues' typos add up
LOCK_BASE = dt.timedelta(seconds=60)
LOCK_CAP = dt.timedelta(minutes=15)
FAILURE_MEMORY = dt.timedelta(hours=1)  # a counter without attempts for this long starts again from zero


class SignInLockedError(AuthenticationError):
    """Too many failed sign-ins for the account or from the client: refused until ``retry_at`` (naive UTC)."""

    def __init__(self, retry_at: dt.datetime, now: dt.datetime) -> None:
        self.retry_at = retry_at
        self.retry_in_s = max(1, int((retry_at - now).total_seconds() + 0.999))
        super().__init__(
            f"too many failed sign-ins: try again in {_duration(self.retry_in_s)} "
            f"(at {retry_at:%H:%M:%S} UTC)"
        )


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def lock_duration(failures: int, free: int) -> dt.timedelta | None:
    """How long ``failures`` failed attempts lock for, when ``free`` are allowed: exponential, capped."""
    if failures < free:
        return None
    return min(LOCK_BASE * 2 ** min(failures - free, 20), LOCK_CAP)


@dataclass(frozen=True)
class _Attempt:
    """One sign-in attempt: who it names, from where, and what its throttle keys are."""

    login: str
    user_id: int | None
    password_hash: str | None
    is_active: bool
    client: str | None
    account_key: str
    client_key: str | None

    @property
    def keys(self) -> list[str]:
        return [self.account_key] + ([self.client_key] if self.client_key else [])

    def free_failures(self, key: str) -> int:
        return ACCOUNT_FREE_FAILURES if key == self.account_key else CLIENT_FREE_FAILURES


def _attempt(uow: UnitOfWork, login: str, client: str | None) -> _Attempt:
    user = users_repo.by_login(uow.session, login)
    account_key = f"user:{user.id}" if user is not None else f"name:{login.strip().lower()[:150]}"
    client = (client or "").strip()[:100] or None
    return _Attempt(login.strip()[:150], None if user is None else user.id, None if user is None else user.password_hash,
                    bool(user is not None and user.is_active), client, account_key,
                    f"client:{client}" if client else None)


def _claim(uow: UnitOfWork, attempt: _Attempt, now: dt.datetime) -> dict[str, dt.datetime]:
    """Count the attempt before its password is checked (so a burst of parallel guesses cannot all pass the
    check), or raise SignInLockedError while a key is locked. The locks this attempt's count started."""
    rows = users_repo.throttles_for_update(uow.session, attempt.keys, now)
    live = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    if live:
        raise SignInLockedError(max(live), now)
    started: dict[str, dt.datetime] = {}
    for row in rows:
        if row.last_attempt_at <= now - FAILURE_MEMORY:
            row.failures = 0
        row.failures += 1
        row.last_attempt_at = now
        lock = lock_duration(row.failures, attempt.free_failures(row.key))
        row.locked_until = None if lock is None else now + lock
        if row.locked_until is not None:
            started[row.key] = row.locked_until
    uow.session.flush()
    return started


def _undo_claim(uow: UnitOfWork, attempt: _Attempt) -> None:
    """The right password: the account's count starts again; the client's loses this attempt only."""
    users_repo.delete_throttle(uow.session, attempt.account_key)
    for row in users_repo.throttles(uow.session, [attempt.client_key] if attempt.client_key else []):
        row.failures = max(0, row.failures - 1)
        if lock_duration(row.failures, CLIENT_FREE_FAILURES) is None:
            row.locked_until = None


def _record_failure(uow: UnitOfWork, attempt: _Attempt, started: dict[str, dt.datetime], now: dt.datetime) -> None:
    """The failure, and any lock it started, in the audit log (the account's own id when it exists, else the
    name as typed, so an administrator sees what was tried)."""
    who = {"user_id": attempt.user_id} if attempt.user_id is not None else {"login": attempt.login}
    failures = {r.key: r.failures for r in users_repo.throttles(uow.session, attempt.keys)}
    audit_repo.record(uow.session, actor_id=None, project_id=None, action="sign_in.failed", now=now,
                      detail={**who, "client": attempt.client, "failures": failures.get(attempt.account_key, 0)})
    for key, until in started.items():
        audit_repo.record(uow.session, actor_id=None, project_id=None, action="sign_in.locked", now=now,
                          detail={**who, "client": attempt.client, "locked": key.split(":", 1)[0],
                                  "failures": failures.get(key, 0), "until": until.isoformat() + "Z"})


def _housekeeping(uow: UnitOfWork, now: dt.datetime) -> None:
    """Expired sessions and forgotten counters go (a sign-in is rare enough to pay for it)."""
    sessions_repo.delete_expired(uow.session, now)
    users_repo.delete_stale_throttles(uow.session, idle_since=now - FAILURE_MEMORY, now=now)


def sign_in(
    make_uow: UowFactory, *, login: str, password: str, client: str | None = None, now: dt.datetime | None = None
) -> UserInfo:
    """The web sign-in: :func:`authenticate`, throttled per account and per client (``client``: the
    browser's address, None when unknown). Raises SignInLockedError (saying when to try again) while locked,
    AuthenticationError for a wrong name or password or a deactivated account. Commits its own writes: a
    failure must be counted even though the caller has nothing to commit.
    """
    now = now or utcnow()
    with make_uow() as uow:
        uow.begin_write()
        attempt = _attempt(uow, login, client)
        started = _claim(uow, attempt, now)
        uow.commit()
    # argon2 takes tens of milliseconds: checked outside any transaction, so no writer waits on it.
    right = password_matches(attempt.password_hash or _dummy_hash(), password) and attempt.password_hash is not None
    with make_uow() as uow:
        uow.begin_write()
        info = _succeeded(uow, attempt, password, now) if right else None
        if info is None:
            _record_failure(uow, attempt, started, now)
        uow.commit()
    if info is None:
        if started:
            raise SignInLockedError(max(started.values()), now)
        raise AuthenticationError("wrong user name or password")
    if not info.is_active:
        raise AuthenticationError("this account is deactivated; ask a manager")
    return info


def _succeeded(uow: UnitOfWork, attempt: _Attempt, password: str, now: dt.datetime) -> UserInfo | None:
    """The right password: counters reset, housekeeping done, a stale hash upgraded, the sign-in audited."""
    _undo_claim(uow, attempt)
    _housekeeping(uow, now)
    user = uow.session.get(User, attempt.user_id)
    if user is None:
        return None
    if user.is_active:
        if _hasher.check_needs_rehash(user.password_hash or ""):
            user.password_hash = hash_password(password)
        audit_repo.record(uow.session, actor_id=user.id, project_id=None, action="sign_in",
                          detail={"client": attempt.client}, now=now)
    return to_info(user)

