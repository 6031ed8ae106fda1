"""Personal API tokens: scripts, CI and the HTTP API act as a user without a browser.

A request sends ``Authorization: Token <token>``, as Label Studio's legacy tokens do. Each user creates and
revokes their own tokens (an administrator may do both for anybody); a token is shown once, when it is made,
and the database keeps only its SHA-256 (as for sign-in sessions, ``core.sessions``, and invite links): a
leaked database cannot be turned into working tokens. A plain SHA-256 suffices because the token is 32 random
bytes, not a password a person chose.

A token carries exactly its user's roles, nothing more: :func:`authenticate` returns the user's
:class:`~core.users.UserInfo` and the API calls the same ``core`` functions with it, so every permission is
checked as for that user in the web app. It follows the account, not the password:

* deactivating the account makes its tokens stop working at once (:func:`authenticate` checks
  ``is_active`` on every request); they work again if the account is reactivated, unless revoked;
* changing the password leaves them working (as in Label Studio): a script's token is not the password,
  and a reset should not break a CI job. Revoke a token that may have leaked.

Creating and revoking are written to the audit trail (``token.create``, ``token.revoke``); the token itself
never is. Requests are limited per token by :class:`RateLimiter`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import threading
import time
from dataclasses import dataclass

from core.errors import AuthenticationError, NotFoundError, PermissionDeniedError, QuorumError
from core.uow import UnitOfWork
from core.users import UserInfo, to_info
from storage.models import ApiToken, User, utcnow
from storage.repositories import api_tokens as tokens_repo
from storage.repositories import audit as audit_repo

AUTH_SCHEME = "Token"  # Authorization: Token <token> (Label Studio's legacy token header)
PREFIX_LENGTH = 8
MAX_NAME_LENGTH = 100
MAX_TOKEN_LENGTH = 200  # a longer header value is refused before it is hashed
#: last_used_at is written at most this often per token: a busy script must not turn every read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)

RATE_ENV = "QUORUM_API_RATE_PER_MINUTE"
DEFAULT_RATE_PER_MINUTE = 600.0
DEFAULT_BURST = 120


@dataclass(frozen=True)
class ApiTokenInfo:
    """A token as lists show it: never the token itself, which is not kept; ``prefix`` tells tokens apart."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class TokenHolder:
    """Who a request's token speaks for: the token's id (the rate limiter's key) and its active user."""

    token_id: int
    user: UserInfo


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(token: ApiToken) -> ApiTokenInfo:
    return ApiTokenInfo(token.id, token.user_id, token.name, token.prefix, token.created_at, token.last_used_at,
                        token.revoked_at)


def _require_self_or_admin(actor: UserInfo, user_id: int, what: str) -> None:
    """Own tokens for everybody, anybody's for an administrator; an inactive actor does nothing."""
    if not actor.is_active:
        raise PermissionDeniedError(f"{actor.username} is deactivated")
    if actor.id != user_id and not actor.is_admin:
        raise PermissionDeniedError(f"{actor.username} may not {what} another user's API tokens")


def create_token(
    uow: UnitOfWork, actor: UserInfo, *, user_id: int, name: str, now: dt.datetime | None = None
) -> tuple[ApiTokenInfo, str]:
    """A new token for ``user_id`` (the actor's own, or anybody's for an administrator) and the token itself,
    which exists only in this return value: show it once. The caller commits. Audited as ``token.create``.

    QuorumError for a name longer than :data:`MAX_NAME_LENGTH`; NotFoundError for an unknown user;
    PermissionDeniedError for someone else's account (non-admins) or a deactivated one.
    """
    _require_self_or_admin(actor, user_id, "create")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise QuorumError(f"name: at most {MAX_NAME_LENGTH} characters (got {len(name)})")
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}")
    if not user.is_active:
        raise PermissionDeniedError(f"{user.username} is deactivated: a token would not work")
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    row = tokens_repo.add(uow.session, ApiToken(user_id=user_id, name=name, token_hash=_digest(raw),
                                                prefix=raw[:PREFIX_LENGTH], created_at=now))
    audit_repo.record(uow.session, actor_id=actor.id, project_id=None, action="token.create", now=now,
                      detail={"token_id": row.id, "user_id": user_id, "name": name, "prefix": row.prefix})
    return _info(row), raw


def list_tokens(uow: UnitOfWork, actor: UserInfo, *, user_id: int) -> list[ApiTokenInfo]:
    """The user's tokens, revoked ones included, newest first (own, or anybody's for an administrator)."""
    _require_self_or_admin(actor, user_id, "list")
    return [_info(t) for t in tokens_repo.of_user(uow.session, user_id)]


def revoke_token(
    uow: UnitOfWork, actor: UserInfo, *, token_id: int, now: dt.datetime | None = None
) -> ApiTokenInfo:
    """Make a token unusable from now on (own, or anybody's for an administrator); the caller commits.

    Audited as ``token.revoke``; revoking a revoked token changes nothing. The row stays, so lists and the
    audit trail still name it. NotFoundError for an unknown id, PermissionDeniedError for another's token.
    """
    token = uow.session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"no API token with id {token_id}")
    _require_self_or_admin(actor, token.user_id, "revoke")
    if token.revoked_at is None:
        now = now or utcnow()
        token.revoked_at = now
        audit_repo.record(uow.session, actor_id=actor.id, project_id=None, action="token.revoke", now=now,
                          detail={"token_id": token.id, "user_id": token.user_id, "name": token.name,
                                  "prefix": token.prefix})
        uow.session.flush()
    return _info(token)


def token_from_header(authorization: str | None, *, schemes: tuple[str, ...] = (AUTH_SCHEME,)) -> str | None:
    """The token of an ``Authorization: <scheme> <token>`` header value (``Token`` unless ``schemes`` says more);
    None for another scheme or none."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() in {s.lower() for s in schemes} and token else None


def check_token(uow: UnitOfWork, raw_token: str | None, *, now: dt.datetime | None = None) -> TokenHolder:
    """The token's id and its active user; AuthenticationError for an unknown or revoked token or a
    deactivated account. One lookup by the hash's unique index.

    ``last_used_at`` is written only when it is a minute old or more (:data:`LAST_USED_RESOLUTION`), with a
    guarded UPDATE, so most requests write nothing; the caller commits (a read-only request too).
    """
    found = None
    if isinstance(raw_token, str) and 0 < len(raw_token) <= MAX_TOKEN_LENGTH:
        found = tokens_repo.by_hash(uow.session, _digest(raw_token))
    if found is None:
        raise AuthenticationError("invalid API token: check that you copied all of it, or create a new one")
    if found.revoked_at is not None:
        raise AuthenticationError(f"API token {found.prefix}… was revoked: create a new one")
    user = uow.session.get(User, found.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("this account is deactivated; ask a manager")
    now = now or utcnow()
    stale_before = now - LAST_USED_RESOLUTION
    if found.last_used_at is None or found.last_used_at < stale_before:
        tokens_repo.touch(uow.session, found.id, now=now, stale_before=stale_before)
    return TokenHolder(found.id, to_info(user))


def authenticate(uow: UnitOfWork, raw_token: str | None, *, now: dt.datetime | None = None) -> UserInfo:
    """The active user a token belongs to (see :func:`check_token`, which also gives the token's id for the
    rate limiter); AuthenticationError otherwise. The caller commits."""
    return check_token(uow, raw_token, now=now).user


class RateLimiter:
    """Requests per token: a token bucket of ``burst`` requests refilled at ``rate_per_minute``.

    A script may send ``burst`` requests at once, then ``rate_per_minute`` a minute on average. In-process:
    behind several replicas each counts on its own, so the limit a token meets is per replica (sticky
    sessions keep it near the stated one); it guards the server against a runaway script, it is not a quota.
    Thread-safe (the API's routes run in a thread pool). Idle full buckets are dropped, so memory stays
    bounded by the tokens used in the last ``burst / rate`` minutes.
    """

    def __init__(self, rate_per_minute: float = DEFAULT_RATE_PER_MINUTE, burst: int = DEFAULT_BURST) -> None:
        if not rate_per_minute > 0 or burst < 1:
            raise ValueError(f"rate limit: a positive rate and a burst of at least 1 (got {rate_per_minute!r}, "
                             f"{burst!r})")
        self.rate_per_s = rate_per_minute / 60.0
        self.burst = burst
        self._buckets: dict[int, tuple[float, float]] = {}  # token id -> (tokens left, monotonic time)
        self._lock = threading.Lock()
        self._last_prune = 0.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RateLimiter:
        """The limiter with ``QUORUM_API_RATE_PER_MINUTE`` (requests a minute, default 600) and the default
        burst; ValueError naming the variable for a value that is not a positive number."""
        value = (os.environ if environ is None else environ).get(RATE_ENV, "").strip()
        if not value:
            return cls()
        try:
            rate = float(value)
        except ValueError:
            rate = float("nan")
        if not rate > 0:
            raise ValueError(f"{RATE_ENV}: a positive number of requests a minute (got {value!r})")
        return cls(rate, DEFAULT_BURST)

    def allow(self, token_id: int, *, now: float | None = None) -> float | None:
        """None if the request may go ahead (and it is counted); else the seconds to wait (Retry-After)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            left, since = self._buckets.get(token_id, (float(self.burst), now))
            left = min(float(self.burst), left + max(0.0, now - since) * self.rate_per_s)
            if left >= 1.0:
                self._buckets[token_id] = (left - 1.0, now)
                return None
            self._buckets[token_id] = (left, now)
            return (1.0 - left) / self.rate_per_s

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled (the same as no bucket), at most once per refill period."""
        full_after = self.burst / self.rate_per_s
        if now - self._last_prune < full_after:
            return
        self._last_prune = now
        for key in [k for k, (_, since) in self._buckets.items() if now - since >= full_after]:
            del self._buckets[key]
