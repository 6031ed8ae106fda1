"""Demo accounts on a network: listed on the sign-in page only while the demo is on and their password is
still the published one; administrators are warned while any is."""
from __future__ import annotations

import pytest

import core.demo
from core.demo import DEMO_ACCOUNTS, DEMO_DOMAIN, active_demo_accounts, demo_accounts_to_secure
from core.users import create_user, set_active, set_password


@pytest.fixture
def demo_users(make_uow):
    core.demo._still_demo_password.cache_clear()
    with make_uow() as uow:
        users = {a.username: create_user(uow, username=a.username, password=a.password, email=f"{a.username}@{DEMO_DOMAIN}",
                                         is_admin=a.role == "admin") for a in DEMO_ACCOUNTS}
        uow.commit()
    return users


def names(accounts) -> list[str]:
    return [a.username for a in accounts]


def test_only_accounts_that_keep_their_demo_password_are_listed_and_only_while_the_demo_is_on(make_uow, demo_users):
    admin = demo_users["admin"]
    assert names(active_demo_accounts(make_uow, demo_enabled=True)) == names(DEMO_ACCOUNTS)
    with make_uow() as uow:
        set_password(uow, admin, user_id=demo_users["annotator1"].id, password="a-real-password")
        set_active(uow, admin, user_id=demo_users["newcomer"].id, active=False)
        uow.commit()
    listed = names(active_demo_accounts(make_uow, demo_enabled=True))
    assert "annotator1" not in listed and "newcomer" not in listed and "admin" in listed
    assert active_demo_accounts(make_uow, demo_enabled=False) == []


def test_the_demo_is_off_when_quorum_no_demo_is_set(make_uow, demo_users, monkeypatch):
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    assert active_demo_accounts(make_uow) == []
    monkeypatch.delenv("QUORUM_NO_DEMO")
    assert "admin" in names(active_demo_accounts(make_uow))


def test_each_password_is_checked_once_per_stored_hash(make_uow, demo_users, monkeypatch):
    calls: list[str] = []
    real = core.demo.password_matches
    monkeypatch.setattr(core.demo, "password_matches", lambda stored, pw: calls.append(pw) or real(stored, pw))
    for _ in range(3):
        active_demo_accounts(make_uow, demo_enabled=True)
    assert len(calls) == len(DEMO_ACCOUNTS)
    with make_uow() as uow:
        set_password(uow, demo_users["admin"], user_id=demo_users["reviewer"].id, password="reviewer-demo")  # same text
        uow.commit()
    assert "reviewer" in names(active_demo_accounts(make_uow, demo_enabled=True))  # a new hash: checked again
    assert len(calls) == len(DEMO_ACCOUNTS) + 1


def test_administrators_and_only_they_are_told_which_demo_passwords_are_unchanged(make_uow, demo_users):
    admin, manager = demo_users["admin"], demo_users["manager"]
    assert names(demo_accounts_to_secure(make_uow, admin)) == names(DEMO_ACCOUNTS)
    assert demo_accounts_to_secure(make_uow, manager) == []
    with make_uow() as uow:
        for a in DEMO_ACCOUNTS:
            set_password(uow, admin, user_id=demo_users[a.username].id, password=f"{a.username}-changed-1")
        uow.commit()
    assert demo_accounts_to_secure(make_uow, admin) == []
