"""A newcomer's invite link (``/?invite=TOKEN``, signed out): create an account and join the project
with the link's role, then arrive signed in. Checks and writes are core.invites'."""
from __future__ import annotations

import streamlit as st

from core.errors import QuorumError
from core.invites import QUERY_PARAM, InviteError, accept_invite, check_invite
from views.services import sign_in_as, uow_factory
from views.widgets.controls import escape_markdown


def leave() -> None:
    """Back to the ordinary sign-in page."""
    st.query_params.pop(QUERY_PARAM, None)


make_uow = uow_factory()
token = st.query_params.get(QUERY_PARAM)
st.title("Join a project")
with make_uow() as uow:
    try:
        offer = check_invite(uow, token)
    except InviteError as exc:
        offer = None
        st.error(str(exc))
if offer is None:
    st.button("Go to sign in", on_click=leave, key="invite_leave")
    st.stop()

st.markdown(f"You are invited to join **{escape_markdown(offer.project_title)}** as **{offer.role}**. "
            "Create your account:")
with st.form("invite_sign_up", border=True):
    username = st.text_input("User name", key="invite_username", help="2-150 letters, digits or . _ @ + -")
    display_name = st.text_input("Your name (optional)", key="invite_display_name")
    email = st.text_input("E-mail", key="invite_email")
    password = st.text_input("Password", type="password", key="invite_password", help="At least 8 characters.")
    again = st.text_input("Password again", type="password", key="invite_password_again")
    submitted = st.form_submit_button("Create account and join", type="primary")
if submitted:
    with make_uow() as uow:
        try:
            newcomer = accept_invite(uow, token, username=username, email=email, password=password,
                                     password_again=again, display_name=display_name)
            uow.commit()
        except QuorumError as exc:
            st.error(str(exc))
        else:
            sign_in_as(newcomer)
            leave()
            st.rerun()
st.button("I have an account: sign in", on_click=leave, key="invite_have_account")
