"""Sign-in: user name and password (argon2-verified and throttled in core), or the configured OIDC provider."""
from __future__ import annotations

import streamlit as st

from core.demo import active_demo_accounts
from core.errors import AuthenticationError
from core.users import SignInLockedError, sign_in
from views.services import client_address, oidc_configured, sign_in_as, uow_factory

st.title("Quorum")
st.caption("Data labeling and review: label, measure agreement, resolve disagreements, export.")

left, right = st.columns([1, 1], gap="large")
with left:
    with st.form("sign_in", border=True):
        st.subheader("Sign in")
        username = st.text_input("User name or e-mail", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
    if submitted:
        try:
            user = sign_in(uow_factory(), login=username, password=password, client=client_address())
        except SignInLockedError as exc:
            st.error(str(exc), icon=":material/lock_clock:")
        except AuthenticationError as exc:
            st.error(str(exc))
        else:
            sign_in_as(user)
            st.rerun()
    if oidc_configured():
        st.button("Sign in with your organisation", on_click=st.login, icon=":material/key:")
demo_accounts = active_demo_accounts(uow_factory())
if demo_accounts:
    with right:
        st.subheader("First time here?")
        st.markdown(
            "The demo database has an account for every role. Sign in as **annotator1** to label, "
            "**reviewer** to resolve disagreements, **manager** to import and export, **admin** for everything."
        )
        st.table([{"user": a.username, "password": a.password, "role": a.role} for a in demo_accounts])
