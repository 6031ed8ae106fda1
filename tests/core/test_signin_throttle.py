"""Sign-in throttling (core.users.sign_in): per account and per client, exponential locks, the audit log."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from core.errors import AuthenticationError
from core.users import (
    ACCOUNT_FREE_FAILURES,
    CLIENT_FREE_FAILURES,
    FAILURE_MEMORY,
    LOCK_CAP,
    SignInLockedError,
    set_active,
    set_password,
    sign_in,
)
from storage.models import AuditEvent, utcnow
from tests.core.helpers import make_user

T0 = dt.datetime(2026, 12, 1, 12, 0, 0)
RIGHT, WRONG = "password-123", "wrong-password"


def attempt(make_uow, password: str, at: dt.datetime, *, login: str = "admin", client: str | None = "10.0.0.7"):
    return sign_in(make_uow, login=login, password=password, client=client, now=at)


def fail(make_uow, at: dt.datetime, **kw) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        attempt(make_uow, WRONG, at, **kw)
    return caught.value


def audit(make_uow, action: str) -> list[AuditEvent]:
    with make_uow() as uow:
        rows = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        uow.session.expunge_all()
    return rows


def test_thirty_wrong_admin_passwords_in_34_s_then_the_right_one_is_refused_saying_when(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    errors = [fail(make_uow, T0 + dt.timedelta(seconds=i * 34 / 30)) for i in range(30)]
    plain = [e for e in errors if not isinstance(e, SignInLockedError)]
    assert len(plain) == ACCOUNT_FREE_FAILURES - 1  # the 5th failure already locks
    with pytest.raises(SignInLockedError, match=r"try again in \d+ seconds \(at \d\d:\d\d:\d\d UTC\)") as locked:
        attempt(make_uow, RIGHT, T0 + dt.timedelta(seconds=35))
    assert locked.value.retry_at > T0 + dt.timedelta(seconds=35) and locked.value.retry_in_s > 0
    assert attempt(make_uow, RIGHT, locked.value.retry_at).id == admin.id  # once the lock ends, it works
    failed, locks = audit(make_uow, "sign_in.failed"), audit(make_uow, "sign_in.locked")
    assert len(failed) == ACCOUNT_FREE_FAILURES and all(e.detail["user_id"] == admin.id for e in failed)
    assert [e.detail["failures"] for e in failed] == [1, 2, 3, 4, 5]
    assert failed[0].detail["client"] == "10.0.0.7" and failed[0].actor_id is None
    assert len(locks) == 1 and locks[0].detail["locked"] == "user" and locks[0].detail["until"].endswith("Z")
    assert [e.actor_id for e in audit(make_uow, "sign_in")] == [admin.id]


def test_locks_grow_exponentially_up_to_a_cap_and_the_right_password_starts_the_count_again(make_uow):
    make_user(make_uow, "admin", admin=True)
    now = T0
    for _ in range(ACCOUNT_FREE_FAILURES - 1):
        fail(make_uow, now)
    waits = []
    for _ in range(6):
        locked = fail(make_uow, now)
        assert isinstance(locked, SignInLockedError)
        waits.append(locked.retry_in_s)
        now = locked.retry_at
    assert waits == [60, 120, 240, 480, int(LOCK_CAP.total_seconds()), int(LOCK_CAP.total_seconds())]
    attempt(make_uow, RIGHT, now)
    for _ in range(ACCOUNT_FREE_FAILURES - 1):  # a fresh count: four failures lock nothing
        assert not isinstance(fail(make_uow, now), SignInLockedError)


def test_failures_are_forgotten_after_an_hour_without_attempts(make_uow):
    make_user(make_uow, "admin", admin=True)
    for _ in range(ACCOUNT_FREE_FAILURES - 1):
        fail(make_uow, T0)
    later = T0 + FAILURE_MEMORY + dt.timedelta(seconds=1)
    for _ in range(ACCOUNT_FREE_FAILURES - 1):
        assert not isinstance(fail(make_uow, later), SignInLockedError)


def test_a_name_that_matches_no_account_is_locked_the_same_way(make_uow):
    """No user enumeration: an unknown name answers exactly like a known one, lock included."""
    make_user(make_uow, "admin", admin=True)
    known = [str(fail(make_uow, T0, login="admin")) for _ in range(ACCOUNT_FREE_FAILURES)]
    unknown = [str(fail(make_uow, T0, login="ghost")) for _ in range(ACCOUNT_FREE_FAILURES)]
    assert known == unknown
    assert audit(make_uow, "sign_in.failed")[-1].detail["login"] == "ghost"


def test_the_account_is_one_count_whether_named_by_user_name_or_email(make_uow):
    make_user(make_uow, "admin", admin=True)
    for i in range(ACCOUNT_FREE_FAILURES - 1):
        fail(make_uow, T0, login="admin@example.com" if i % 2 else "ADMIN")
    assert isinstance(fail(make_uow, T0, login="admin@example.com"), SignInLockedError)


def test_one_client_guessing_across_many_accounts_is_locked_but_other_clients_are_not(make_uow):
    victim = make_user(make_uow, "victim")
    for i in range(CLIENT_FREE_FAILURES - 1):
        assert not isinstance(fail(make_uow, T0, login=f"user{i}"), SignInLockedError)
    assert isinstance(fail(make_uow, T0, login="someone-else"), SignInLockedError)
    with pytest.raises(SignInLockedError):  # even the right password of a fresh account, from that client
        attempt(make_uow, RIGHT, T0, login="victim")
    assert attempt(make_uow, RIGHT, T0, login="victim", client="10.0.0.8").id == victim.id
    assert audit(make_uow, "sign_in.locked")[-1].detail["locked"] == "client"


def test_many_right_sign_ins_from_one_office_address_lock_nothing(make_uow):
    for i in range(3):
        make_user(make_uow, f"colleague{i}")
    for n in range(CLIENT_FREE_FAILURES + 5):
        attempt(make_uow, RIGHT, T0, login=f"colleague{n % 3}")


def test_parallel_guesses_cannot_all_slip_past_the_check(make_uow):
    """Each attempt is counted before its password is checked, so a burst gets no more than the free ones."""
    make_user(make_uow, "admin", admin=True)

    def guess(_: int) -> AuthenticationError:
        with pytest.raises(AuthenticationError) as caught:
            sign_in(make_uow, login="admin", password=WRONG, client="10.0.0.9")
        return caught.value

    with ThreadPoolExecutor(max_workers=6) as pool:
        errors = list(pool.map(guess, range(12)))
    assert len([e for e in errors if not isinstance(e, SignInLockedError)]) == ACCOUNT_FREE_FAILURES - 1
    assert len(audit(make_uow, "sign_in.failed")) == ACCOUNT_FREE_FAILURES
    with pytest.raises(SignInLockedError):
        sign_in(make_uow, login="admin", password=RIGHT)


def test_a_password_reset_lifts_the_accounts_lock(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    alice = make_user(make_uow, "alice")
    for _ in range(ACCOUNT_FREE_FAILURES):
        fail(make_uow, utcnow(), login="alice")
    with make_uow() as uow:
        set_password(uow, admin, user_id=alice.id, password="a-new-password")
        uow.commit()
    assert sign_in(make_uow, login="alice", password="a-new-password", client="10.0.0.1").id == alice.id
    assert audit(make_uow, "user.password_set")[-1].detail == {"user_id": alice.id}


def test_a_deactivated_account_is_told_so_and_the_right_password_is_not_counted_as_a_failure(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    bob = make_user(make_uow, "bob")
    with make_uow() as uow:
        set_active(uow, admin, user_id=bob.id, active=False)
        uow.commit()
    for _ in range(ACCOUNT_FREE_FAILURES + 1):
        with pytest.raises(AuthenticationError, match="deactivated"):
            attempt(make_uow, RIGHT, T0, login="bob")
    assert audit(make_uow, "sign_in.failed") == [] and audit(make_uow, "sign_in") == []
    assert [e.action for e in audit(make_uow, "user.deactivated")] == ["user.deactivated"]
