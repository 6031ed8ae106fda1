"""My account: who is signed in, and their personal API tokens (create, see once, revoke).

Every signed-in user reaches it (app.py links it from the sidebar). The rules live in ``core.api_tokens``:
a token is shown in the run that creates it and never again (only its hash is kept), so it is not put in
the session state either; a reload loses it, which is the point.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import streamlit as st

from core.api_tokens import AUTH_SCHEME, ApiTokenInfo, create_token, list_tokens, revoke_token
from core.sanitize import escape_markdown
from views.services import signed_in_user, uow_factory
from views.writes import run_write, show_flash

DEFAULT_BASE_URL = "http://localhost:8501"
REVOKE_PENDING_KEY = "QUORUM_ACCOUNT_REVOKE_PENDING"  # the token id whose revocation waits for a yes
FLASH_KEY = "QUORUM_ACCOUNT_FLASH"


def base_url() -> str:
    """The app's address as this browser sees it (the page's own path segment dropped)."""
    parts = urlsplit(st.context.url or DEFAULT_BASE_URL)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/").rsplit("/", 1)[0], "", ""))


def token_rows(tokens: list[ApiTokenInfo]) -> pd.DataFrame:
    def when(moment: object, empty: str) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else empty

    return pd.DataFrame([{
        "name": t.name or "—", "token": f"{t.prefix}…", "created (UTC)": when(t.created_at, ""),
        "last used (UTC)": when(t.last_used_at, "never"), "revoked (UTC)": when(t.revoked_at, ""),
    } for t in tokens])


user = signed_in_user()
make_uow = uow_factory()
st.title("My account")
st.markdown(f"**{escape_markdown(user.label)}** · user name `{user.username}`"
            + (f" · {escape_markdown(user.email)}" if user.email else "") + (" · administrator" if user.is_admin else ""))
st.caption("Your roles are per project: My projects shows them.")

st.subheader("API tokens")
st.caption("A token lets a script or a CI job use Quorum's HTTP API as you, with exactly your roles. Treat it "
           "like a password; revoke it when it is no longer needed or may have leaked. Changing your password "
           "does not revoke your tokens.")
st.code(f'curl -H "Authorization: {AUTH_SCHEME} <token>" {base_url()}/api/projects', language="bash")
st.caption(f"Every endpoint, who may call it and what it does: [{base_url()}/api/docs]({base_url()}/api/docs). "
           "Label Studio's Python SDK works with the same token: `LabelStudio(base_url=..., api_key=<token>)`.")
show_flash(FLASH_KEY, lasting=True)

with st.form("account_new_token", clear_on_submit=True):
    name = st.text_input("Name", placeholder="e.g. CI, export script", max_chars=100, key="account_token_name")
    created = None
    if st.form_submit_button("Create token", type="primary", icon=":material/key:"):
        created = run_write(make_uow, user, create_token, user_id=user.id, name=name)
if created is not None:
    _, token = created
    st.warning("Copy the token now: it will not be shown again.", icon=":material/warning:")
    st.code(token, language=None)

with make_uow() as uow:
    tokens = list_tokens(uow, user, user_id=user.id)
if not tokens:
    st.info("You have no API tokens yet.")
else:
    st.dataframe(token_rows(tokens), hide_index=True)

active = [t for t in tokens if not t.is_revoked]
pending = st.session_state.get(REVOKE_PENDING_KEY)
for token_info in active:
    label = f"{token_info.name or 'unnamed'} ({token_info.prefix}…)"
    if pending == token_info.id:
        st.warning(f"Revoke {label}? Scripts using it stop working at once.", icon=":material/warning:")
        yes, no = st.columns(2)
        if yes.button("Yes, revoke it", key="account_revoke_confirm", type="primary"):
            st.session_state.pop(REVOKE_PENDING_KEY, None)
            if run_write(make_uow, user, revoke_token, token_id=token_info.id) is not None:
                st.session_state[FLASH_KEY] = f"Revoked {label}."
                st.rerun()
        if no.button("Cancel", key="account_revoke_cancel"):
            st.session_state.pop(REVOKE_PENDING_KEY, None)
            st.rerun()
    elif st.button(f"Revoke {label}", key=f"account_revoke_{token_info.id}", icon=":material/key_off:"):
        st.session_state[REVOKE_PENDING_KEY] = token_info.id
        st.rerun()
