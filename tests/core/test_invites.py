"""Invite links (core.invites): created by managers, token shown once and stored hashed, accepted once
per use by a newcomer who gets an account and the link's role."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from core.errors import ConflictError, PermissionDeniedError, QuorumError
from core.invites import (
    InviteError,
    accept_invite,
    check_invite,
    create_invite,
    list_invites,
    revoke_invite,
)
from core.permissions import roles_in
from core.users import authenticate
from storage.models import Invite, Membership, User, utcnow
from tests.core.helpers import make_project, make_user


@pytest.fixture
def project(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    manager = make_user(make_uow, "boss")
    annotator = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, members={"manager": [manager], "annotator": [annotator]})
    return manager, annotator, project


def invite(make_uow, actor, project_id, **kwargs):
    with make_uow() as uow:
        made = create_invite(uow, actor, project_id=project_id, **kwargs)
        uow.commit()
    return made


def accept(make_uow, token, username="newbie", *, password="long-enough-1", again=None, now=None):
    with make_uow() as uow:
        user = accept_invite(uow, token, username=username, email=f"{username}@example.com", password=password,
                             password_again=password if again is None else again, now=now)
        uow.commit()
    return user


def count(make_uow, model) -> int:
    with make_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_only_the_tokens_hash_is_stored_and_the_link_carries_the_token(make_uow, project):
    manager, _, p = project
    made = invite(make_uow, manager, p.id)
    with make_uow() as uow:
        stored = uow.session.scalars(select(Invite)).one().token_hash
    assert stored == hashlib.sha256(made.token.encode()).hexdigest() and made.token not in stored
    assert len(made.token) >= 40
    assert made.link("http://quorum.example/") == f"http://quorum.example/?invite={made.token}"
    assert made.invite.role == "annotator" and made.invite.status() == "active"


def test_a_newcomer_gets_an_account_and_the_invites_role(make_uow, project):
    manager, _, p = project
    made = invite(make_uow, manager, p.id, role="reviewer", max_uses=2)
    with make_uow() as uow:
        assert (check_invite(uow, made.token).project_title, check_invite(uow, made.token).role) == ("Reviews", "reviewer")
    user = accept(make_uow, made.token)
    with make_uow() as uow:
        assert roles_in(uow, user, p.id) == {"reviewer"}
        assert authenticate(uow, username="newbie", password="long-enough-1").id == user.id  # argon2, signs in
        assert [i.uses for i in list_invites(uow, manager, project_id=p.id)] == [1]


def test_a_used_up_link_refuses_the_next_newcomer_and_creates_nothing(make_uow, project):
    manager, _, p = project
    made = invite(make_uow, manager, p.id, max_uses=1)
    accept(make_uow, made.token, "first")
    users_before = count(make_uow, User)
    with pytest.raises(InviteError, match="used up"):
        accept(make_uow, made.token, "second")
    assert count(make_uow, User) == users_before


@pytest.mark.parametrize("case", ["expired", "revoked", "unknown", "empty"])
def test_expired_revoked_and_unknown_links_are_refused_with_a_clear_message(make_uow, project, case):
    manager, _, p = project
    made = invite(make_uow, manager, p.id, valid_for=dt.timedelta(hours=1))
    token, now, expected = made.token, None, "not valid"
    if case == "expired":
        now, expected = utcnow() + dt.timedelta(hours=2), "expired"
    elif case == "revoked":
        with make_uow() as uow:
            revoke_invite(uow, manager, project_id=p.id, invite_id=made.invite.id)
            uow.commit()
        expected = "revoked"
    elif case == "unknown":
        token = token[:-2] + "xx"
    else:
        token = ""
    before = (count(make_uow, User), count(make_uow, Membership))
    with make_uow() as uow:
        with pytest.raises(InviteError, match=expected):
            check_invite(uow, token, now=now)
    with pytest.raises(InviteError, match=expected):
        accept(make_uow, token, now=now)
    assert (count(make_uow, User), count(make_uow, Membership)) == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"username": "x"}, "user name"),
        ({"username": "ann"}, "taken"),
        ({"password": "short", "again": "short"}, "password"),
        ({"again": "another-password"}, "differ"),
    ],
)
def test_bad_sign_up_data_names_the_field_and_does_not_use_the_link(make_uow, project, kwargs, field):
    manager, _, p = project
    made = invite(make_uow, manager, p.id, max_uses=1)
    with pytest.raises(QuorumError, match=field):
        accept(make_uow, made.token, **kwargs)
    with make_uow() as uow:
        assert [i.uses for i in list_invites(uow, manager, project_id=p.id)] == [0]


def test_an_e_mail_of_another_account_is_refused(make_uow, project):
    manager, _, p = project
    made = invite(make_uow, manager, p.id)
    with make_uow() as uow, pytest.raises(ConflictError, match="e-mail"):
        accept_invite(uow, made.token, username="someone", email="ann@example.com", password="long-enough-1",
                      password_again="long-enough-1")


def test_only_managers_create_list_and_revoke_invites_and_bad_options_are_named(make_uow, project):
    manager, annotator, p = project
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            create_invite(uow, annotator, project_id=p.id)
        with pytest.raises(PermissionDeniedError):
            list_invites(uow, annotator, project_id=p.id)
        with pytest.raises(QuorumError, match="role"):
            create_invite(uow, manager, project_id=p.id, role="owner")
        with pytest.raises(QuorumError, match="maximum uses"):
            create_invite(uow, manager, project_id=p.id, max_uses=0)
        with pytest.raises(QuorumError, match="expiry"):
            create_invite(uow, manager, project_id=p.id, valid_for=dt.timedelta(days=365))
