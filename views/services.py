"""Wired services for the pages: one migrated database per process, the signed-in user per session.

Engines and factories are created once (``st.cache_resource``); the session state holds only the
signed-in user's id and UI state, never data a user would be sad to lose.
"""
from __future__ import annotations

import json
import os

import streamlit as st

from core.analytics_cache import AnalyticsCache
from core.analytics_cache import analytics_cache as shared_analytics_cache
from core.bootstrap import make_blob_store, make_uow_factory
from core.demo import demo_accounts_to_secure, demo_sign_in_text, is_empty, seed_demo
from core.settings import load_settings
from core.uow import UowFactory
from core.webhooks import seal_plain_webhook_secrets, start_delivery_runner
from core.errors import NotFoundError
from core.sessions import (
    COOKIE_NAME,
    begin_browser_session,
    delete_expired_sessions,
    end_session,
    end_session_id,
    session_for_token,
    user_for_session,
)
from core.users import UserInfo, get_user, user_for_oidc

USER_ID_KEY = "QUORUM_USER_ID"
SESSION_ID_KEY = "QUORUM_SESSION_ID"  # the database session this tab signed in with (password sign-ins)
COOKIE_ACTION_KEY = "QUORUM_COOKIE_ACTION"  # ("set", hand-off token) or ("clear", None), sent on the next run
# Behind a reverse proxy every browser comes from the proxy's address; QUORUM_TRUST_PROXY=1 takes the client's
# address from the last X-Forwarded-For entry (the one the proxy added) instead. Only set it behind a proxy.
TRUST_PROXY_ENV = "QUORUM_TRUST_PROXY"


@st.cache_resource(show_spinner="Preparing the database ...")
def uow_factory() -> UowFactory:
    """The database brought to head, seeded with the demo on first start with an empty database."""
    settings = load_settings()
    make_uow = make_uow_factory(settings)
    if settings.seed_demo and is_empty(make_uow):
        titles = seed_demo(make_uow)
        print(f"Seeded the demo: {', '.join(titles)}\n{demo_sign_in_text()}", flush=True)
    _start_up_housekeeping(make_uow)
    start_delivery_runner(make_uow)  # webhook deliveries: one thread per process (QUORUM_WEBHOOK_RUNNER=0: none)
    shared_analytics_cache(settings.database_url, make_uow, settings.data_dir / "cache").start()
    return make_uow


def _start_up_housekeeping(make_uow: UowFactory) -> None:
    """Expired sessions go; webhook secrets stored in clear before they were sealed get sealed."""
    with make_uow() as uow:
        delete_expired_sessions(uow)
        seal_plain_webhook_secrets(uow)
        uow.commit()


def analytics_cache() -> AnalyticsCache:
    """The process's Quality-page figures for this database (core.analytics_cache), warmed at start-up."""
    settings = load_settings()
    make_uow = uow_factory()
    return shared_analytics_cache(settings.database_url, make_uow, settings.data_dir / "cache")


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
    """The signed-in user: by password (session state, checked against its database session), by the
    session cookie (a reload or a new tab) or by OIDC (``st.user``), re-read each run so a deactivated
    account, a reset password or a sign-out elsewhere loses access at once."""
    make_uow = uow_factory()
    user_id = st.session_state.get(USER_ID_KEY)
    if user_id is None and _oidc_configured() and getattr(st.user, "is_logged_in", False):
        with make_uow() as uow:
            info = user_for_oidc(uow, email=str(st.user.email), name=str(getattr(st.user, "name", "") or ""))
            uow.commit()
        st.session_state[USER_ID_KEY] = user_id = info.id
    if user_id is None:
        user_id = _restore_from_cookie(make_uow)
    if user_id is None:
        return None
    user = _live_user(make_uow, int(user_id), st.session_state.get(SESSION_ID_KEY))
    if user is None or not user.is_active:
        st.session_state.pop(USER_ID_KEY, None)
        st.session_state.pop(SESSION_ID_KEY, None)
        return None
    return user


def _restore_from_cookie(make_uow: UowFactory) -> int | None:
    """A reload or a new tab: the browser still holds this sign-in's (HttpOnly) cookie, which Streamlit
    received with the websocket's opening request. The user's id, kept in session state with the session's."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not token:
        return None
    with make_uow() as uow:
        found = session_for_token(uow, token)
    if found is None:
        return None
    session_id, user = found
    st.session_state[USER_ID_KEY] = user.id
    st.session_state[SESSION_ID_KEY] = session_id
    return user.id


def _live_user(make_uow: UowFactory, user_id: int, session_id: int | None) -> UserInfo | None:
    """The tab's user, if still allowed in: through its session when it has one (ended by a sign-out, a
    password reset or a (de)activation), else (OIDC) the account itself."""
    with make_uow() as uow:
        if session_id is not None:
            found = user_for_session(uow, int(session_id))
            return found if found is not None and found.id == user_id else None
        try:
            return get_user(uow, user_id)
        except NotFoundError:  # the account was deleted: sign out
            return None


def current_session_id() -> int | None:
    """The database session this tab is signed in with (None for OIDC sign-ins)."""
    found = st.session_state.get(SESSION_ID_KEY)
    return None if found is None else int(found)


def client_address() -> str:
    """Who is knocking, for throttling sign-in attempts: the browser's address ("local" on this machine)."""
    if os.environ.get(TRUST_PROXY_ENV, "") in ("1", "true", "yes"):
        header = st.context.headers.get("X-Forwarded-For")
        forwarded = [a.strip() for a in header.split(",") if a.strip()] if isinstance(header, str) else []
        if forwarded:
            return forwarded[-1]
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "local"  # None on localhost


def sign_in_as(user: UserInfo) -> None:
    """Sign the browser in: session state now, and (on the next run) the hand-off that makes the server set
    the HttpOnly session cookie, so a reload keeps the user."""
    with uow_factory()() as uow:
        started = begin_browser_session(uow, user)
        uow.commit()
    st.session_state[USER_ID_KEY] = user.id
    st.session_state[SESSION_ID_KEY] = started.session_id
    st.session_state[COOKIE_ACTION_KEY] = ("set", started.handoff)


def sign_out() -> None:
    """End this tab's session and the cookie's on the server; the cookie itself is cleared by
    ``/api/session/end`` on the next run (only a server response can touch an HttpOnly cookie)."""
    with uow_factory()() as uow:
        end_session_id(uow, current_session_id())
        end_session(uow, st.context.cookies.get(COOKIE_NAME))
        uow.commit()
    st.session_state.clear()
    st.session_state[COOKIE_ACTION_KEY] = ("clear", None)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def write_session_cookie() -> None:
    """Have the server set or clear the session cookie: a one-off script posts the hand-off token to
    ``/api/session/start`` (or asks ``/api/session/end``), whose response carries the HttpOnly cookie. The
    token is URL-safe base64, so it needs no escaping; it is single-use and lives for seconds."""
    action = st.session_state.pop(COOKIE_ACTION_KEY, None)
    if action is None:
        return
    kind, handoff = action
    url, body = ("/api/session/start", {"token": handoff}) if kind == "set" and handoff else ("/api/session/end", {})
    st.html(
        f"<script>fetch({json.dumps(url)}, {{method: 'POST', credentials: 'same-origin', "
        f"headers: {{'Content-Type': 'application/json'}}, body: {json.dumps(json.dumps(body))}}});</script>",
        unsafe_allow_javascript=True,
    )


def show_demo_password_warning(user: UserInfo) -> None:
    """Warn an administrator while demo accounts keep their published passwords (core decides who is told)."""
    exposed = demo_accounts_to_secure(uow_factory(), user)
    if exposed:
        names = ", ".join(f"**{a.username}**" for a in exposed)
        st.warning(
            f"Demo accounts still have their published passwords: {names}. Anyone who can reach this server "
            "can sign in as them: set new passwords or deactivate them under **Admin → Users**.",
            icon=":material/warning:",
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
