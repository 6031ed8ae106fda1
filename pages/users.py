"""Admin: accounts — create, deactivate (their locks are released), set a password."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import QuorumError
from core.users import admin_create_user, list_users, set_active, set_password
from pages.services import signed_in_user, uow_factory

user = signed_in_user()
make_uow = uow_factory()
st.title("Users")

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
    with st.form("create_user", clear_on_submit=True):
        username = st.text_input("User name")
        display_name = st.text_input("Display name")
        email = st.text_input("E-mail (optional)")
        password = st.text_input("Initial password", type="password", help="At least 8 characters.")
        is_admin = st.checkbox("Administrator")
        if st.form_submit_button("Create", type="primary"):
            with make_uow() as uow:
                try:
                    made = admin_create_user(
                        uow, user, username=username, password=password, email=email, display_name=display_name, is_admin=is_admin
                    )
                    uow.commit()
                except QuorumError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Created {made.username}. Add them to projects under Members.")
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
                        set_password(uow, user, user_id=target.id, password=new_password)
                        uow.commit()
                    except QuorumError as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"Password of {target.username} changed.")
