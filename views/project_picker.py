"""The project selector shared by the manager pages: only projects where the user may do the action.

The chosen project is kept in session state (so moving between pages keeps it) and in the address as
``?project=ID``, as the Label page does: a reload starts a new Streamlit session with empty state, and without
the address it would fall back to the first project, so an import made after a reload could land in another
project than the one the manager was looking at.
"""
from __future__ import annotations

import streamlit as st

from core.permissions import Action, projects_allowing
from core.projects import ProjectInfo, get_project
from core.uow import UowFactory
from core.users import UserInfo
from views.state import CURRENT_PROJECT_KEY, PROJECT_PARAM


def project_in_address() -> int | None:
    """The ``?project=ID`` of the address, or None when absent or not a number."""
    raw = st.query_params.get(PROJECT_PARAM, "")
    return int(raw) if raw.isdigit() else None


def keep_in_address(project_id: int) -> None:
    """Put the shown project in the address (only when it differs: each change is a browser history entry)."""
    if st.query_params.get(PROJECT_PARAM) != str(project_id):
        st.query_params[PROJECT_PARAM] = str(project_id)


def pick_project(make_uow: UowFactory, user: UserInfo, action: Action, *, key: str) -> ProjectInfo | None:
    """A "Project" selectbox over the projects allowing ``action``; the choice in session state and address.

    Starts at the session's project, else (a new session, e.g. after a reload) at the address's; says so
    when the address names a project this page cannot show, rather than silently showing another one.
    """
    with make_uow() as uow:
        projects = {pid: get_project(uow, user, pid) for pid in projects_allowing(uow, user, action)}
    if not projects:
        st.info("You have no project where you may do this.")
        return None
    ids = list(projects)
    current = st.session_state.get(CURRENT_PROJECT_KEY)
    if current is None:
        current = project_in_address()
        if current is not None and current not in ids:
            st.warning(f"Project {current} from the address is not one you may open here; showing another.",
                       icon=":material/warning:")
    chosen = st.selectbox(
        "Project", ids, index=ids.index(current) if current in ids else 0, format_func=lambda p: projects[p].title, key=key
    )
    st.session_state[CURRENT_PROJECT_KEY] = chosen
    keep_in_address(chosen)
    return projects[chosen]
