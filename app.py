"""Quorum's entry script: the sign-in gate, then a menu with only the pages the user's roles allow.

Run with ``streamlit run app.py``. Pages live in ``pages/``; what a role may do is decided in
``core.permissions`` (the menu only mirrors it, every page checks again per project).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.permissions import Action, allowed_actions
from core.sanitize import escape_markdown
from pages.services import current_user, uow_factory, write_session_cookie

# The favicon is served by Quorum itself (a Material icon name would make the browser fetch it from a font CDN).
st.set_page_config(page_title="Quorum", page_icon=str(Path(__file__).parent / "assets" / "favicon.png"), layout="wide")

user = current_user()
write_session_cookie()
if user is None:
    if st.query_params.get("invite"):  # a newcomer's invite link (core.invites): sign up and join
        navigation = st.navigation([st.Page("pages/invite.py", title="Join a project", icon=":material/person_add:")])
    else:
        navigation = st.navigation([st.Page("pages/sign_in.py", title="Sign in", icon=":material/login:")])
else:
    with uow_factory()() as uow:
        actions = allowed_actions(uow, user)
    work: list[st.Page] = [st.Page("pages/home.py", title="My projects", icon=":material/home:", default=True)]
    if Action.LABEL in actions:
        work.append(st.Page("pages/label.py", title="Label", icon=":material/edit_note:"))
    if Action.REVIEW in actions:
        work.append(st.Page("pages/review.py", title="Review", icon=":material/rate_review:"))
    sections: dict[str, list[st.Page]] = {"Work": work}
    # Manage, in the order of a manager's day: look at the data and its quality, bring data in and out,
    # then the project's people and set-up.
    manage: list[st.Page] = []
    if Action.MANAGE in actions:
        manage.append(st.Page("pages/browser.py", title="Data", icon=":material/table_view:"))
    if Action.ANALYTICS in actions:
        manage.append(st.Page("pages/analytics.py", title="Quality", icon=":material/insights:"))
    if Action.IMPORT in actions:
        manage.append(st.Page("pages/data.py", title="Import & export", icon=":material/upload_file:"))
        manage.append(st.Page("pages/cloud_storage.py", title="Cloud storage", icon=":material/cloud:"))
    if Action.MANAGE in actions:
        manage.append(st.Page("pages/members.py", title="Members", icon=":material/group:"))
        manage.append(st.Page("pages/settings.py", title="Settings", icon=":material/settings:"))
        manage.append(st.Page("pages/integrations.py", title="Webhooks", icon=":material/webhook:"))
    if manage:
        sections["Manage"] = manage
    if user.is_admin:
        sections["Admin"] = [
            st.Page("pages/new_project.py", title="New project", icon=":material/add_circle:"),
            st.Page("pages/users.py", title="Users", icon=":material/manage_accounts:"),
        ]
    with st.sidebar:
        st.caption(f"Signed in as **{escape_markdown(user.label)}**" + (" · admin" if user.is_admin else ""))
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            from pages.services import sign_out

            sign_out()
            st.rerun()
    navigation = st.navigation(sections)
navigation.run()
