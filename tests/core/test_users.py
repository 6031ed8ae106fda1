"""Accounts: argon2 hashes, sign-in, uniqueness, OIDC matching."""
from __future__ import annotations

import pytest

from core.errors import AuthenticationError, ConflictError, QuorumError
from core.users import authenticate, cli_actor, create_user, user_for_oidc
from storage.models import User


def test_password_is_stored_as_an_argon2_hash_never_in_clear(make_uow):
    with make_uow() as uow:
        user = create_user(uow, username="alice", password="s3cret-password")
        uow.commit()
    with make_uow() as uow:
        stored = uow.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert "s3cret-password" not in stored


def test_sign_in_accepts_the_right_password_by_name_or_email_and_refuses_a_wrong_one(make_uow):
    with make_uow() as uow:
        create_user(uow, username="alice", password="s3cret-password", email="Alice@Example.com")
        uow.commit()
    with make_uow() as uow:
        assert authenticate(uow, username="ALICE", password="s3cret-password").username == "alice"
        assert authenticate(uow, username="alice@example.com", password="s3cret-password").username == "alice"
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            authenticate(uow, username="alice", password="nope-nope-nope")
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            authenticate(uow, username="nobody", password="s3cret-password")


def test_a_deactivated_account_cannot_sign_in(make_uow):
    with make_uow() as uow:
        user = create_user(uow, username="bob", password="s3cret-password")
        uow.session.get(User, user.id).is_active = False
        uow.commit()
    with make_uow() as uow, pytest.raises(AuthenticationError, match="deactivated"):
        authenticate(uow, username="bob", password="s3cret-password")


def test_user_names_are_unique_whatever_their_case_and_emails_too(make_uow):
    with make_uow() as uow:
        create_user(uow, username="carol", password="password-123", email="c@example.com")
        with pytest.raises(ConflictError, match="taken"):
            create_user(uow, username="Carol", password="password-123")
        with pytest.raises(ConflictError, match="e-mail"):
            create_user(uow, username="carol2", password="password-123", email="C@example.com")


def test_short_passwords_and_odd_user_names_are_refused(make_uow):
    with make_uow() as uow:
        with pytest.raises(QuorumError, match="too short"):
            create_user(uow, username="dave", password="short")
        with pytest.raises(QuorumError, match="not valid"):
            create_user(uow, username="<script>", password="password-123")


def test_an_account_without_password_cannot_sign_in(make_uow):
    with make_uow() as uow:
        cli_actor(uow)
        uow.commit()
    with make_uow() as uow, pytest.raises(AuthenticationError):
        authenticate(uow, username="quorum-cli", password="")


def test_oidc_identity_matches_an_existing_email_or_creates_an_account_without_roles(make_uow):
    with make_uow() as uow:
        existing = create_user(uow, username="erin", password="password-123", email="erin@example.com")
        assert user_for_oidc(uow, email="ERIN@example.com", name="Erin").id == existing.id
        new = user_for_oidc(uow, email="frank@example.com", name="Frank F")
        assert new.username == "frank" and new.display_name == "Frank F" and not new.is_admin
