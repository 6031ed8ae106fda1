"""Home: the user's projects, their progress and a Start labeling button for each."""
from __future__ import annotations

import streamlit as st

from core.projects import list_my_projects
from views.services import show_demo_password_warning, signed_in_user, uow_factory
from views.state import CURRENT_PROJECT_KEY

user = signed_in_user()  # app.py registers this page only for users who may use it
st.title("My projects")
show_demo_password_warning(user)

with uow_factory()() as uow:
    projects = list_my_projects(uow, user)

if not projects:
    st.info(
        "You are not a member of any project yet. Ask a manager to add you"
        + (", or create one under **Admin → New project**." if user.is_admin else ".")
    )
for project in projects:
    with st.container(border=True):
        head, action = st.columns([4, 1], vertical_alignment="center")
        with head:
            st.subheader(project.title, anchor=False)
            if project.description:
                st.caption(project.description)
            roles = ", ".join(sorted(project.roles)) or ("admin" if user.is_admin else "")
            st.progress(
                project.progress,
                text=f"{project.n_done} of {project.n_tasks} tasks done · {project.n_annotations} annotations"
                f" · you: {project.my_annotations} · role: {roles}",
            )
            if project.paused_since is not None:
                st.caption(f":material/pause_circle: A manager paused your labeling here on "
                           f"{project.paused_since:%Y-%m-%d} (UTC): no new tasks until they resume you; your work "
                           "is kept.")
        with action:
            if "annotator" in project.roles:
                if st.button("Start labeling", key=f"start_{project.id}", type="primary", icon=":material/play_arrow:",
                             disabled=project.paused_since is not None):
                    st.session_state[CURRENT_PROJECT_KEY] = project.id
                    st.switch_page("views/label.py")
