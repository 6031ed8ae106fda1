"""The project selector shared by the manager pages: only projects where the user may do the action."""
from __future__ import annotations

import streamlit as st

from core.permissions import Action, projects_allowing
from core.projects import ProjectInfo, get_project
from core.uow import UowFactory
from core.users import UserInfo
from pages.state import CURRENT_PROJECT_KEY


def pick_project(make_uow: UowFactory, user: UserInfo, action: Action, *, key: str) -> ProjectInfo | None:
    with make_uow() as uow:
        projects = {pid: get_project(uow, user, pid) for pid in projects_allowing(uow, user, action)}
    if not projects:
        st.info("You have no project where you may do this.")
        return None
    ids = list(projects)
    current = st.session_state.get(CURRENT_PROJECT_KEY)
    chosen = st.selectbox(
        "Project", ids, index=ids.index(current) if current in ids else 0, format_func=lambda p: projects[p].title, key=key
    )
    st.session_state[CURRENT_PROJECT_KEY] = chosen
    return projects[chosen]
