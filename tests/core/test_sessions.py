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


# --- the hand-off to the HttpOnly cookie, and sessions ended by account changes -----------------------------


def _begin(make_uow, user, *, now=None):
    from core.sessions import begin_browser_session

    with make_uow() as uow:
        started = begin_browser_session(uow, user, now=now)
        uow.commit()
    return started


def _redeem(make_uow, handoff, *, now=None):
    from core.sessions import redeem_handoff

    with make_uow() as uow:
        token = redeem_handoff(uow, handoff, now=now)
        uow.commit()
    return token


def test_a_hand_off_is_traded_once_for_a_cookie_token_and_the_tab_is_signed_in_by_the_session_id(make_uow):
    from core.sessions import user_for_session

    alice = make_user(make_uow, "alice")
    started = _begin(make_uow, alice)
    with make_uow() as uow:
        assert user_for_session(uow, started.session_id).id == alice.id  # the signing-in tab, before the cookie
        assert user_for_token(uow, started.handoff) is None  # the hand-off is not a cookie
        stored = uow.session.get(UserSession, started.session_id)
        assert started.handoff not in (stored.handoff_hash or "") and stored.handoff_hash
    token = _redeem(make_uow, started.handoff)
    assert token and token != started.handoff
    assert _redeem(make_uow, started.handoff) is None  # single use
    with make_uow() as uow:
        assert user_for_token(uow, token).id == alice.id
        assert uow.session.get(UserSession, started.session_id).handoff_hash is None


def test_a_hand_off_expires_in_seconds(make_uow):
    from core.sessions import HANDOFF_TTL

    alice = make_user(make_uow, "alice")
    assert HANDOFF_TTL <= dt.timedelta(minutes=1)
    started = _begin(make_uow, alice)
    assert _redeem(make_uow, started.handoff, now=utcnow() + HANDOFF_TTL + dt.timedelta(seconds=1)) is None
    assert _redeem(make_uow, "not-a-hand-off") is None and _redeem(make_uow, "") is None
    assert _redeem(make_uow, started.handoff) is not None  # still good within its seconds


def _sessions_of(make_uow, user_id):
    with make_uow() as uow:
        return uow.session.query(UserSession).filter_by(user_id=user_id).count()


def test_a_password_reset_ends_every_session_of_the_account_but_the_admins_own_current_one(make_uow):
    from core.sessions import user_for_session
    from core.users import set_password

    admin = make_user(make_uow, "admin", admin=True)
    alice = make_user(make_uow, "alice")
    with make_uow() as uow:
        old_cookie = start_session(uow, alice)
        uow.commit()
    tab = _begin(make_uow, alice)
    mine, other_of_mine = _begin(make_uow, admin), _begin(make_uow, admin)
    with make_uow() as uow:
        set_password(uow, admin, user_id=alice.id, password="a-new-password", keep_session_id=mine.session_id)
        set_password(uow, admin, user_id=admin.id, password="admins-new-password", keep_session_id=mine.session_id)
        uow.commit()
    with make_uow() as uow:
        assert user_for_token(uow, old_cookie) is None
        assert user_for_session(uow, tab.session_id) is None
        assert user_for_session(uow, mine.session_id).id == admin.id  # the admin stays signed in where they did it
        assert user_for_session(uow, other_of_mine.session_id) is None
    assert _sessions_of(make_uow, alice.id) == 0


def test_deactivating_then_reactivating_does_not_revive_an_old_cookie(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    alice = make_user(make_uow, "alice")
    with make_uow() as uow:
        token = start_session(uow, alice)
        set_active(uow, admin, user_id=alice.id, active=False)
        set_active(uow, admin, user_id=alice.id, active=True)
        uow.commit()
    with make_uow() as uow:
        assert user_for_token(uow, token) is None
        with_token = start_session(uow, alice)  # while active: a reactivation ends it too
        uow.commit()
    with make_uow() as uow:
        set_active(uow, admin, user_id=alice.id, active=True)
        uow.commit()
    with make_uow() as uow:
        assert user_for_token(uow, with_token) is None


def test_expired_sessions_are_deleted_at_start_up_and_at_sign_in(make_uow):
    from core.sessions import delete_expired_sessions
    from core.users import sign_in

    alice = make_user(make_uow, "alice")
    long_ago = utcnow() - SESSION_TTL - dt.timedelta(minutes=1)
    with make_uow() as uow:
        start_session(uow, alice, now=long_ago)
        start_session(uow, alice, now=long_ago)
        live = start_session(uow, alice)
        uow.commit()
    with make_uow() as uow:
        assert delete_expired_sessions(uow) == 2
        uow.commit()
    assert _sessions_of(make_uow, alice.id) == 1
    with make_uow() as uow:
        start_session(uow, alice, now=long_ago)
        uow.commit()
    sign_in(make_uow, login="alice", password="password-123")
    assert _sessions_of(make_uow, alice.id) == 1
    with make_uow() as uow:
        assert user_for_token(uow, live).id == alice.id
