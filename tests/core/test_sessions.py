"""Browser sessions: a reload keeps the sign-in, signing out or deactivation ends it."""
from __future__ import annotations

import datetime as dt

from core.sessions import SESSION_TTL, end_session, start_session, user_for_token
from core.users import set_active
from storage.models import UserSession, utcnow
from tests.core.helpers import make_user


def test_a_session_token_signs_the_user_back_in_and_only_its_hash_is_stored(make_uow):
    alice = make_user(make_uow, "alice")
    with make_uow() as uow:
        token = start_session(uow, alice)
        uow.commit()
    with make_uow() as uow:
        assert user_for_token(uow, token).id == alice.id
        stored = uow.session.query(UserSession).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        assert user_for_token(uow, token + "x") is None and user_for_token(uow, None) is None


def test_a_session_expires_and_ends_on_sign_out(make_uow):
    alice = make_user(make_uow, "alice")
    with make_uow() as uow:
        token = start_session(uow, alice)
        uow.commit()
    later = utcnow() + SESSION_TTL + dt.timedelta(seconds=1)
    with make_uow() as uow:
        assert user_for_token(uow, token, now=later) is None
        end_session(uow, token)
        uow.commit()
    with make_uow() as uow:
        assert user_for_token(uow, token) is None


def test_deactivating_an_account_ends_its_sessions_at_once(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    alice = make_user(make_uow, "alice")
    with make_uow() as uow:
        token = start_session(uow, alice)
        set_active(uow, admin, user_id=alice.id, active=False)
        uow.commit()
    with make_uow() as uow:
        assert user_for_token(uow, token) is None
