"""Admin: accounts — create, deactivate (their locks are released), set a password. Deactivating,
activating and setting a password end every session of the account (core.users)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import QuorumError
from core.users import admin_create_user, list_users, set_active, set_password
from views.services import current_session_id, show_demo_password_warning, signed_in_user, uow_factory
from views.writes import run_write, show_flash

NEW_ACCOUNT_EMPTY = {"users_new_username": "", "users_new_display_name": "", "users_new_email": "",
                     "users_new_password": "", "users_new_admin": False}  # the create form's fields, emptied
CREATED_FLASH_KEY = "QUORUM_USERS_CREATED"
CLEAR_NEW_ACCOUNT_KEY = "QUORUM_USERS_CLEAR_FORM"

user = signed_in_user()
make_uow = uow_factory()
st.title("Users")
show_demo_password_warning(user)

with make_uow() as uow:
    users = list_users(uow)
st.dataframe(
    pd.DataFrame(
        [
            {"user": u.username, "name": u.display_name, "e-mail": u.email or "", "admin": u.is_admin, "active": u.is_active}
            for u in users
        ]
    ),
    hide_index=True,
)

add, manage = st.columns(2, gap="large")
with add:
    st.subheader("Create an account")
    show_flash(CREATED_FLASH_KEY, lasting=True)
    # Not cleared on submit: a refused account (name taken, short password ...) keeps what was typed, to be
    # corrected rather than typed again. The fields are emptied once the account exists, in the run after it:
    # values set before the widgets are drawn are what the browser shows too (deleting the keys would not be).
    if st.session_state.pop(CLEAR_NEW_ACCOUNT_KEY, False):
        st.session_state.update(NEW_ACCOUNT_EMPTY)
    with st.form("create_user", clear_on_submit=False):
        username = st.text_input("User name", key="users_new_username")
        display_name = st.text_input("Display name", key="users_new_display_name")
        email = st.text_input("E-mail (optional)", key="users_new_email")
        password = st.text_input("Initial password", type="password", help="At least 8 characters.",
                                 key="users_new_password")
        is_admin = st.checkbox("Administrator", key="users_new_admin")
        if st.form_submit_button("Create", type="primary"):
            made = run_write(make_uow, user, admin_create_user, username=username, password=password, email=email,
                             display_name=display_name, is_admin=is_admin)
            if made is not None:
                st.session_state[CLEAR_NEW_ACCOUNT_KEY] = True
                st.session_state[CREATED_FLASH_KEY] = f"Created {made.username}. Add them to projects under Members."
                st.rerun()  # the emptied form, and the table above with the new account
with manage:
    st.subheader("Change an account")
    by_name = {u.username: u for u in users}
    picked = st.selectbox("Account", list(by_name), key="users_pick")
    target = by_name.get(picked)
    if target is not None:
        if target.is_active:
            if st.button("Deactivate", icon=":material/person_off:", disabled=target.id == user.id):
                with make_uow() as uow:
                    set_active(uow, user, user_id=target.id, active=False)
                    uow.commit()
                st.rerun()
        elif st.button("Activate", icon=":material/person:"):
            with make_uow() as uow:
                set_active(uow, user, user_id=target.id, active=True)
                uow.commit()
            st.rerun()
        with st.form("set_password", clear_on_submit=True):
            new_password = st.text_input("New password", type="password")
            if st.form_submit_button("Set password"):
                with make_uow() as uow:
                    try:
                        set_password(uow, user, user_id=target.id, password=new_password,
                                     keep_session_id=current_session_id())
                        uow.commit()
                    except QuorumError as exc:
                        st.error(str(exc))
                    else:
                        ended = "your other sign-ins are ended" if target.id == user.id else "signed out everywhere"
                        st.success(f"Password of {target.username} changed; {ended}.")
