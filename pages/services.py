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
from core.webhooks import start_delivery_runner
from core.errors import NotFoundError
from core.sessions import COOKIE_NAME, SESSION_TTL, end_session, start_session, user_for_token
from core.users import UserInfo, get_user, user_for_oidc

USER_ID_KEY = "QUORUM_USER_ID"
TOKEN_KEY = "QUORUM_SESSION_TOKEN"
COOKIE_ACTION_KEY = "QUORUM_COOKIE_ACTION"  # ("set", token) or ("clear", None), written on the next run


@st.cache_resource(show_spinner="Preparing the database ...")
def uow_factory() -> UowFactory:
    """The database brought to head, seeded with the demo on first start with an empty database."""
    settings = load_settings()
    make_uow = make_uow_factory(settings)
    if settings.seed_demo and is_empty(make_uow):
        titles = seed_demo(make_uow)
        print(f"Seeded the demo: {', '.join(titles)}\n{demo_sign_in_text()}", flush=True)
    start_delivery_runner(make_uow)  # webhook deliveries: one thread per process (QUORUM_WEBHOOK_RUNNER=0: none)
    return make_uow


def signed_in_user() -> UserInfo:
    """The signed-in user for a page that needs one; anyone else gets a pointer to the sign-in page.

    app.py only routes signed-in people to pages, but a page's script can still be asked for directly (a
    stale link, or a click in the instant before app.py's navigation replaces Streamlit's default one).
    """
    user = current_user()
    if user is None:
        st.info("Please sign in first.", icon=":material/login:")
        st.markdown("[Go to the sign-in page](/)")  # a plain link: this script may not be app.py's page
        st.stop()
    return user


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
        token = st.context.cookies.get(COOKIE_NAME)
        if token:  # a reload or a new tab: the browser still holds this sign-in's cookie
            with make_uow() as uow:
                restored = user_for_token(uow, token)
            if restored is not None:
                st.session_state[USER_ID_KEY] = user_id = restored.id
                st.session_state[TOKEN_KEY] = token
    if user_id is None:
        return None
    with make_uow() as uow:
        try:
            user: UserInfo | None = get_user(uow, int(user_id))
        except NotFoundError:  # the account was deleted: sign out
            user = None
    if user is None or not user.is_active:
        st.session_state.pop(USER_ID_KEY, None)
        return None
    return user


def sign_in_as(user: UserInfo) -> None:
    """Sign the browser in: session state now, and a session cookie so a reload keeps the user."""
    with uow_factory()() as uow:
        token = start_session(uow, user)
        uow.commit()
    st.session_state[USER_ID_KEY] = user.id
    st.session_state[TOKEN_KEY] = token
    st.session_state[COOKIE_ACTION_KEY] = ("set", token)


def sign_out() -> None:
    with uow_factory()() as uow:
        end_session(uow, st.session_state.get(TOKEN_KEY) or st.context.cookies.get(COOKIE_NAME))
        uow.commit()
    st.session_state.clear()
    st.session_state[COOKIE_ACTION_KEY] = ("clear", None)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def write_session_cookie() -> None:
    """Set or clear the session cookie in the browser (a one-off script; cookies cannot be set from the
    server side of a Streamlit run). The token is URL-safe base64, so it needs no escaping."""
    action = st.session_state.pop(COOKIE_ACTION_KEY, None)
    if action is None:
        return
    kind, token = action
    if kind == "set" and token:
        value, max_age = token, int(SESSION_TTL.total_seconds())
    else:
        value, max_age = "", 0
    st.html(
        "<script>document.cookie = "
        f"'{COOKIE_NAME}={value}; path=/; max-age={max_age}; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


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
