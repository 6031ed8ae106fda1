"""Wired services for the pages: one migrated database per process, the signed-in user per session.

Engines and factories are created once (``st.cache_resource``); the session state holds only the
signed-in user's id and UI state, never data a user would be sad to lose.
"""
from __future__ import annotations

import streamlit as st

from core.bootstrap import make_blob_store, make_uow_factory
from core.demo import demo_sign_in_text, is_empty, seed_demo
from core.settings import load_settings
from core.uow import UowFactory
from core.users import UserInfo, get_user, user_for_oidc

USER_ID_KEY = "QUORUM_USER_ID"


@st.cache_resource(show_spinner="Preparing the database ...")
def uow_factory() -> UowFactory:
    """The database brought to head, seeded with the demo on first start with an empty database."""
    settings = load_settings()
    make_uow = make_uow_factory(settings)
    if settings.seed_demo and is_empty(make_uow):
        titles = seed_demo(make_uow)
        print(f"Seeded the demo: {', '.join(titles)}\n{demo_sign_in_text()}", flush=True)
    return make_uow


def current_user() -> UserInfo | None:
    """The signed-in user: by password (session state) or by OIDC (``st.user``), re-read each run so a
    deactivated account loses access at once."""
    make_uow = uow_factory()
    user_id = st.session_state.get(USER_ID_KEY)
    if user_id is None and _oidc_configured() and getattr(st.user, "is_logged_in", False):
        with make_uow() as uow:
            info = user_for_oidc(uow, email=str(st.user.email), name=str(getattr(st.user, "name", "") or ""))
            uow.commit()
        st.session_state[USER_ID_KEY] = user_id = info.id
    if user_id is None:
        return None
    with make_uow() as uow:
        try:
            user = get_user(uow, int(user_id))
        except Exception:  # the account was deleted: sign out
            user = None
    if user is None or not user.is_active:
        st.session_state.pop(USER_ID_KEY, None)
        return None
    return user


def sign_in_as(user: UserInfo) -> None:
    st.session_state[USER_ID_KEY] = user.id


def sign_out() -> None:
    st.session_state.clear()
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def oidc_configured() -> bool:
    return _oidc_configured()


@st.cache_resource
def blob_store():  # type: ignore[no-untyped-def]
    """The store uploads go to (one per process)."""
    return make_blob_store(load_settings())
