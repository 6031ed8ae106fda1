"""Members of a project and their roles (managers)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import QuorumError
from core.permissions import Action
from core.projects import PROJECT_ROLES, add_member, list_members, remove_member
from core.users import list_users
from pages.project_picker import pick_project
from pages.services import current_user, uow_factory

user = current_user()
assert user is not None
make_uow = uow_factory()
st.title("Members")
project = pick_project(make_uow, user, Action.MANAGE, key="members_project")
if project is None:
    st.stop()

with make_uow() as uow:
    members = list_members(uow, user, project.id)
    everyone = [u for u in list_users(uow) if u.is_active and u.username != "quorum-cli"]
st.dataframe(
    pd.DataFrame([{"user": m.username, "name": m.display_name, "role": role, "active": m.is_active} for m, role in members]),
    hide_index=True,
)
add_col, remove_col = st.columns(2, gap="large")
with add_col, st.form("add_member"):
    st.subheader("Add a member")
    who = st.selectbox("Person", everyone, format_func=lambda u: f"{u.label} ({u.username})")
    role = st.selectbox("Role", PROJECT_ROLES)
    if st.form_submit_button("Add", type="primary") and who is not None:
        with make_uow() as uow:
            try:
                add_member(uow, user, project_id=project.id, user_id=who.id, role=role)
                uow.commit()
            except QuorumError as exc:
                st.error(str(exc))
            else:
                st.rerun()
with remove_col:
    st.subheader("Remove a role")
    options = [(m, role) for m, role in members]
    picked = st.selectbox("Member and role", options, format_func=lambda mr: f"{mr[0].username} — {mr[1]}", key="remove_pick")
    if picked and st.button("Remove", icon=":material/person_remove:"):
        with make_uow() as uow:
            remove_member(uow, user, project_id=project.id, user_id=picked[0].id, role=picked[1])
            uow.commit()
        st.rerun()
