"""Quorum's entry script: the sign-in gate, then a menu with only the pages the user's roles allow.

Served by ``streamlit run serve.py`` (st.App: these pages plus the HTTP routes of api/). The views live in
``views/`` (not ``pages/``, which Streamlit would serve file by file); what a role may do is decided in
``core.permissions`` (the menu only mirrors it, every page checks again per project).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.permissions import Action, allowed_actions
from core.sanitize import escape_markdown
from core.uow import is_database_outage
from views.db_outage import show_database_outage
from views.services import current_user, uow_factory, write_session_cookie

# The favicon is served by Quorum itself (a Material icon name would make the browser fetch it from a font CDN).
st.set_page_config(page_title="Quorum", page_icon=str(Path(__file__).parent / "assets" / "favicon.png"), layout="wide")

#: Streamlit makes the scrolling main area (stMain) focusable and marks its keyboard focus with a grey inset box
#: the height of the window, stuck below the header (``stMain:focus-visible::before``). A click on blank page
#: focuses stMain, the next key (a labeling shortcut: 1, 2, Ctrl+Enter) makes it :focus-visible, and the box
#: then frames the whole page and cuts through the content scrolling under its top edge. Not drawn: the page
#: still scrolls with the keys, and every control (buttons, choices, fields) keeps its own focus ring.
GLOBAL_STYLE = "<style>[data-testid='stMain']:focus-visible::before { content: none; box-shadow: none; }</style>"
st.html(GLOBAL_STYLE)

#: The url paths of the pages below (st.Page's default: the file's name), for links followed while signed out.
DEEP_LINK_PATHS = ("label", "review", "my_work", "browser", "analytics", "data", "cloud_storage", "members",
                   "settings", "integrations", "new_project", "users", "my_account")


def _run() -> None:
    """Sign-in gate, menu by role, then the chosen page."""
    user = current_user()
    write_session_cookie()
    if user is None:
        if st.query_params.get("invite"):  # a newcomer's invite link (core.invites): sign up and join
            navigation = st.navigation([st.Page("views/invite.py", title="Join a project", icon=":material/person_add:")])
        else:
            # A signed-out visitor who followed a link (/review, /label?project=3) gets the sign-in form at that
            # address: after signing in, the same address is the page they asked for (if their roles allow it).
            sign_in = [st.Page("views/sign_in.py", title="Sign in", icon=":material/login:", default=True)]
            sign_in += [st.Page("views/sign_in.py", title="Sign in", url_path=path, visibility="hidden")
                        for path in DEEP_LINK_PATHS]
            navigation = st.navigation(sign_in, position="hidden")
    else:
        with uow_factory()() as uow:
            actions = allowed_actions(uow, user)
        work: list[st.Page] = [st.Page("views/home.py", title="My projects", icon=":material/home:", default=True)]
        if Action.LABEL in actions:
            work.append(st.Page("views/label.py", title="Label", icon=":material/edit_note:"))
        if Action.REVIEW in actions:
            work.append(st.Page("views/review.py", title="Review", icon=":material/rate_review:"))
        # One's own figures (an annotator), or the people of one's projects (a manager); core.my_work decides whose.
        if Action.LABEL in actions or Action.ANALYTICS in actions:
            work.append(st.Page("views/my_work.py", title="My work", icon=":material/person_check:"))
        # Every signed-in user's own account (API tokens): linked beside "Sign out", not a menu entry per role.
        account = st.Page("views/my_account.py", title="My account", icon=":material/account_circle:",
                          visibility="hidden")
        work.append(account)
        sections: dict[str, list[st.Page]] = {"Work": work}
        # Manage, in the order of a manager's day: look at the data and its quality, bring data in and out,
        # then the project's people and set-up.
        manage: list[st.Page] = []
        if Action.MANAGE in actions:
            manage.append(st.Page("views/browser.py", title="Data", icon=":material/table_view:"))
        if Action.ANALYTICS in actions:
            manage.append(st.Page("views/analytics.py", title="Quality", icon=":material/insights:"))
        if Action.IMPORT in actions:
            manage.append(st.Page("views/data.py", title="Import & export", icon=":material/upload_file:"))
            manage.append(st.Page("views/cloud_storage.py", title="Cloud storage", icon=":material/cloud:"))
        if Action.MANAGE in actions:
            manage.append(st.Page("views/members.py", title="Members", icon=":material/group:"))
            manage.append(st.Page("views/settings.py", title="Settings", icon=":material/settings:"))
            manage.append(st.Page("views/integrations.py", title="Webhooks", icon=":material/webhook:"))
        if manage:
            sections["Manage"] = manage
        if user.is_admin:
            sections["Admin"] = [
                st.Page("views/new_project.py", title="New project", icon=":material/add_circle:"),
                st.Page("views/users.py", title="Users", icon=":material/manage_accounts:"),
            ]
        # After st.navigation: a page link is checked against the pages registered (the run that signs in
        # still had the sign-in page's, at the same addresses).
        navigation = st.navigation(sections)
        with st.sidebar:
            st.caption(f"Signed in as **{escape_markdown(user.label)}**" + (" · admin" if user.is_admin else ""))
            st.page_link(account, label="My account", icon=":material/account_circle:")
            if st.button("Sign out", icon=":material/logout:", key="sign_out"):
                from views.services import sign_out

                sign_out()
                st.rerun()
    navigation.run()


try:
    _run()
except Exception as exc:  # only an outage is handled here; anything else is re-raised as it was
    if not is_database_outage(exc):
        raise
    show_database_outage()
