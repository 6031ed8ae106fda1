"""Personal API tokens (core.api_tokens): shown once and stored hashed, acting with exactly their user's
roles, refused when revoked or when the account is deactivated, last use written at most once a minute,
every write audited, and a per-token rate limit."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from core.api_tokens import (
    LAST_USED_RESOLUTION,
    RATE_ENV,
    RateLimiter,
    authenticate,
    check_token,
    create_token,
    list_tokens,
    revoke_token,
    token_from_header,
)
from core.errors import AuthenticationError, NotFoundError, PermissionDeniedError, QuorumError
from core.users import set_active, set_password
from storage.models import ApiToken, AuditEvent
from tests.core.helpers import make_user

T0 = dt.datetime(2026, 12, 7, 9, 0, 0)


@pytest.fixture
def people(make_uow):
    return make_user(make_uow, "root", admin=True), make_user(make_uow, "alice"), make_user(make_uow, "bob")


def create(make_uow, actor, user_id, name="CI", now=T0):
    with make_uow() as uow:
        made = create_token(uow, actor, user_id=user_id, name=name, now=now)
        uow.commit()
    return made


def auth(make_uow, token, now=T0):
    with make_uow() as uow:
        user = authenticate(uow, token, now=now)
        uow.commit()
    return user


def revoke(make_uow, actor, token_id):
    with make_uow() as uow:
        info = revoke_token(uow, actor, token_id=token_id)
        uow.commit()
    return info


def stored(make_uow) -> list[ApiToken]:
    with make_uow() as uow:
        rows = list(uow.session.scalars(select(ApiToken).order_by(ApiToken.id)))
        uow.session.expunge_all()
    return rows


def audit(make_uow, prefix="token.") -> list[AuditEvent]:
    with make_uow() as uow:
        rows = [e for e in uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id)) if e.action.startswith(prefix)]
        uow.session.expunge_all()
    return rows


def test_a_new_token_is_returned_once_and_only_its_hash_and_prefix_are_stored(make_uow, people):
    _, alice, _ = people
    info, token = create(make_uow, alice, alice.id, name="  export script ")
    assert len(token) >= 43 and info.prefix == token[:8] and info.name == "export script"
    (row,) = stored(make_uow)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert (row.user_id, row.prefix, row.created_at, row.last_used_at, row.revoked_at) == (alice.id, token[:8], T0,
                                                                                          None, None)
    with make_uow() as uow:
        listed = list_tokens(uow, alice, user_id=alice.id)
    assert listed == [info] and token not in repr(listed)  # lists never carry the token


def test_the_token_authenticates_as_its_user_with_exactly_their_roles(make_uow, people):
    root, alice, _ = people
    _, token = create(make_uow, alice, alice.id)
    assert auth(make_uow, token) == alice and not auth(make_uow, token).is_admin
    _, root_token = create(make_uow, root, root.id)
    assert auth(make_uow, root_token).is_admin  # an admin's token is an admin's, and only theirs is


def test_unknown_malformed_and_revoked_tokens_are_refused(make_uow, people):
    _, alice, _ = people
    info, token = create(make_uow, alice, alice.id)
    for bad in ("", "nope", token + "x", token[:-1], "x" * 5000, None):
        with pytest.raises(AuthenticationError, match="invalid API token"):
            auth(make_uow, bad)
    revoke(make_uow, alice, info.id)
    with pytest.raises(AuthenticationError, match=f"{info.prefix}.*revoked"):
        auth(make_uow, token)


def test_a_deactivated_users_tokens_stop_working_and_a_password_change_keeps_them(make_uow, people):
    root, alice, _ = people
    _, token = create(make_uow, alice, alice.id)
    with make_uow() as uow:
        set_password(uow, root, user_id=alice.id, password="a-brand-new-password")
        uow.commit()
    assert auth(make_uow, token).id == alice.id  # as in Label Studio: the token is not the password
    with make_uow() as uow:
        set_active(uow, root, user_id=alice.id, active=False)
        uow.commit()
    with pytest.raises(AuthenticationError, match="deactivated"):
        auth(make_uow, token)
    with make_uow() as uow, pytest.raises(PermissionDeniedError, match="deactivated"):
        create_token(uow, root, user_id=alice.id, name="x")


def test_last_used_is_written_at_most_once_a_minute(make_uow, people):
    _, alice, _ = people
    _, token = create(make_uow, alice, alice.id)
    auth(make_uow, token, now=T0)
    assert stored(make_uow)[0].last_used_at == T0
    auth(make_uow, token, now=T0 + dt.timedelta(seconds=59))
    auth(make_uow, token, now=T0 + LAST_USED_RESOLUTION - dt.timedelta(microseconds=1))
    assert stored(make_uow)[0].last_used_at == T0  # no write for requests within the minute
    later = T0 + LAST_USED_RESOLUTION + dt.timedelta(seconds=1)
    auth(make_uow, token, now=later)
    assert stored(make_uow)[0].last_used_at == later


def test_a_read_within_the_minute_writes_nothing(make_uow, people):
    _, alice, _ = people
    _, token = create(make_uow, alice, alice.id)
    auth(make_uow, token, now=T0)
    with make_uow() as uow:
        holder = check_token(uow, token, now=T0 + dt.timedelta(seconds=10))
        assert not uow.session.dirty and not uow.session.new
    assert holder.user.id == alice.id and holder.token_id == stored(make_uow)[0].id


def test_someone_else_cannot_revoke_or_list_my_tokens_but_an_admin_can(make_uow, people):
    root, alice, bob = people
    info, token = create(make_uow, alice, alice.id)
    with make_uow() as uow, pytest.raises(PermissionDeniedError, match="bob may not revoke"):
        revoke_token(uow, bob, token_id=info.id)
    with make_uow() as uow, pytest.raises(PermissionDeniedError, match="bob may not list"):
        list_tokens(uow, bob, user_id=alice.id)
    with make_uow() as uow, pytest.raises(PermissionDeniedError, match="bob may not create"):
        create_token(uow, bob, user_id=alice.id, name="mine now")
    assert auth(make_uow, token).id == alice.id  # still working
    assert revoke(make_uow, root, info.id).is_revoked
    with make_uow() as uow:
        assert [t.is_revoked for t in list_tokens(uow, root, user_id=alice.id)] == [True]
    with make_uow() as uow, pytest.raises(NotFoundError):
        revoke_token(uow, root, token_id=info.id + 100)


def test_an_admin_creates_a_token_for_somebody_else_which_acts_as_that_person(make_uow, people):
    root, _, bob = people
    info, token = create(make_uow, root, bob.id, name="bob's CI")
    assert info.user_id == bob.id and auth(make_uow, token) == bob
    with make_uow() as uow, pytest.raises(NotFoundError):
        create_token(uow, root, user_id=bob.id + 100, name="x")
    with make_uow() as uow, pytest.raises(QuorumError, match="at most 100"):
        create_token(uow, root, user_id=bob.id, name="x" * 101)


def test_creating_and_revoking_are_audited_without_the_token(make_uow, people):
    root, alice, _ = people
    info, token = create(make_uow, root, alice.id, name="nightly")
    revoke(make_uow, alice, info.id)
    revoke(make_uow, alice, info.id)  # already revoked: nothing changes, nothing more is written
    events = audit(make_uow)
    assert [(e.action, e.actor_id, e.project_id) for e in events] == [("token.create", root.id, None),
                                                                       ("token.revoke", alice.id, None)]
    for event in events:
        assert event.detail == {"token_id": info.id, "user_id": alice.id, "name": "nightly", "prefix": info.prefix}
        assert token not in str(event.detail)


def test_the_authorization_header_takes_label_studios_token_scheme():
    assert token_from_header("Token abc.def") == "abc.def"
    assert token_from_header("  token   abc ") == "abc"
    assert token_from_header("Bearer abc") is None
    assert token_from_header("Token ") is None and token_from_header(None) is None and token_from_header("") is None


def test_the_rate_limiter_allows_the_burst_then_says_how_long_to_wait():
    limiter = RateLimiter(rate_per_minute=60, burst=3)  # one request a second after the burst
    assert [limiter.allow(1, now=100.0) for _ in range(3)] == [None, None, None]
    wait = limiter.allow(1, now=100.0)
    assert wait == pytest.approx(1.0)
    assert limiter.allow(2, now=100.0) is None  # per token: another token has its own bucket
    assert limiter.allow(1, now=100.5) == pytest.approx(0.5)
    assert limiter.allow(1, now=101.0) is None
    assert limiter.allow(1, now=101.0) is not None
    assert [limiter.allow(1, now=200.0) for _ in range(3)] == [None, None, None]  # refilled, never above the burst
    assert limiter.allow(1, now=200.0) is not None


def test_the_rate_limiter_defaults_and_environment():
    default = RateLimiter.from_env({})
    assert (default.rate_per_s, default.burst) == (10.0, 120)
    assert [default.allow(7, now=0.0) for _ in range(120)] == [None] * 120
    assert default.allow(7, now=0.0) == pytest.approx(0.1)
    assert RateLimiter.from_env({RATE_ENV: "30"}).rate_per_s == 0.5
    for bad in ("0", "-5", "lots", "nan"):
        with pytest.raises(ValueError, match=RATE_ENV):
            RateLimiter.from_env({RATE_ENV: bad})


def test_idle_buckets_are_dropped():
    limiter = RateLimiter(rate_per_minute=60, burst=2)
    for token_id in range(100):
        limiter.allow(token_id, now=10.0)
    limiter.allow(1000, now=100.0)
    assert set(limiter._buckets) == {1000}
