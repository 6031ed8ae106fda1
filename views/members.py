"""Members of a project (managers): add a person with a role, change a role, deactivate a member in the
project (their locks released), and invite links for newcomers."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import streamlit as st

from core.errors import QuorumError
from core.invites import CreatedInvite, create_invite, list_invites, revoke_invite
from core.permissions import Action
from core.projects import (
    PROJECT_ROLES,
    ProjectInfo,
    add_member_by_login,
    deactivate_member,
    list_members,
    set_member_role,
)
from core.sanitize import escape_markdown
from core.uow import UnitOfWork, UowFactory
from core.users import UserInfo
from views.project_picker import pick_project
from views.services import signed_in_user, uow_factory
from views.writes import show_flash

FLASH_KEY = "MEMBERS_FLASH"
DEFAULT_BASE_URL = "http://localhost:8501"


def run(make_uow: UowFactory, message: str, action: Callable[[UnitOfWork], object], *,
        reset: tuple[str, ...] = ()) -> None:
    """Do a core member action in its own unit of work: success -> flash ``message``, forget the widgets in
    ``reset`` (a confirmation must not stay ticked for the next person) and rerun; a QuorumError -> st.error
    with its message (nothing was written)."""
    with make_uow() as uow:
        try:
            action(uow)
            uow.commit()
        except QuorumError as exc:
            st.error(str(exc))
            return
    st.session_state[FLASH_KEY] = message
    for key in reset:
        st.session_state.pop(key, None)
    st.rerun()


def app_base_url() -> str:
    """The app's address as the manager's browser sees it: their page URL without the page's own path
    segment, query or fragment (a ``server.baseUrlPath`` prefix is kept)."""
    parts = urlsplit(st.context.url or DEFAULT_BASE_URL)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/").rsplit("/", 1)[0], "", ""))


def member_actions(make_uow: UowFactory, user: UserInfo, project: ProjectInfo,
                   members: dict[int, tuple[UserInfo, list[str]]]) -> None:
    def name(user_id: int) -> str:
        who, roles = members[user_id]
        return f"{who.label} ({who.username}) — {', '.join(roles)}"

    add, change, remove = st.columns(3, gap="large")
    with add, st.form("members_add", clear_on_submit=True):
        st.subheader("Add a person")
        login = st.text_input("User name or e-mail", key="members_add_login")
        role = st.selectbox("Role", PROJECT_ROLES, key="members_add_role")
        if st.form_submit_button("Add", type="primary"):
            run(make_uow, f"Added {escape_markdown(login.strip())} as {role}.",
                lambda uow: add_member_by_login(uow, user, project_id=project.id, login=login, role=role))
    with change:
        st.subheader("Change a role")
        who = st.selectbox("Member", list(members), format_func=name, key="members_role_who")
        new_role = st.selectbox("New role", PROJECT_ROLES, key="members_role_new")
        if st.button("Change role", key="members_role_save", disabled=who is None):
            run(make_uow, f"{escape_markdown(members[who][0].username)} is now {new_role}.",
                lambda uow: set_member_role(uow, user, project_id=project.id, user_id=who, role=new_role))
    with remove:
        st.subheader("Deactivate a member")
        gone = st.selectbox("Member", list(members), format_func=name, key="members_remove_who")
        sure = st.checkbox("Yes, remove them from this project", key="members_remove_sure",
                           help="Takes every role in this project from them; tasks they hold go back to the pool. "
                                "Their annotations stay.")
        if st.button("Deactivate", key="members_remove", icon=":material/person_remove:", disabled=not sure or gone is None):
            run(make_uow, f"{escape_markdown(members[gone][0].username)} no longer works in this project.",
                lambda uow: deactivate_member(uow, user, project_id=project.id, user_id=gone),
                reset=("members_remove_sure", "members_remove_who"))


def invite_links(make_uow: UowFactory, user: UserInfo, project: ProjectInfo) -> None:
    st.subheader("Invite links")
    st.caption("A newcomer who opens the link creates an account and joins this project with the link's role.")
    made: CreatedInvite | None = None
    with st.form("members_invite", clear_on_submit=True):
        a, b, c = st.columns(3)
        role = a.selectbox("Role", PROJECT_ROLES, key="invite_role")  # annotator first: the default
        days = b.number_input("Valid for (days)", 1, 90, 7, key="invite_days")
        max_uses = c.number_input("Maximum uses (0: no limit)", 0, 10_000, 0, key="invite_max_uses")
        if st.form_submit_button("Create a link", type="primary"):
            with make_uow() as uow:
                try:
                    made = create_invite(uow, user, project_id=project.id, role=role,
                                         valid_for=dt.timedelta(days=int(days)), max_uses=int(max_uses) or None)
                    uow.commit()
                except QuorumError as exc:
                    st.error(str(exc))
    if made is not None:  # the token exists only in this run: it is stored hashed
        st.success("Copy the link now: it is shown only once.")
        st.code(made.link(app_base_url()), language=None)
    with make_uow() as uow:
        invites = list_invites(uow, user, project_id=project.id)
    if not invites:
        return
    st.dataframe(pd.DataFrame([{
        "id": i.id, "role": i.role, "status": i.status(), "uses": f"{i.uses}" + (f" / {i.max_uses}" if i.max_uses else ""),
        "expires (UTC)": i.expires_at, "created by": i.created_by or "", "created (UTC)": i.created_at,
    } for i in invites]), hide_index=True)
    active = [i for i in invites if i.status() == "active"]
    if active:
        pick = st.selectbox("Link", [i.id for i in active], key="invite_revoke_pick",
                            format_func=lambda i: f"#{i} — {next(x.role for x in active if x.id == i)}")
        if st.button("Revoke", key="invite_revoke", icon=":material/link_off:"):
            run(make_uow, f"Revoked link #{pick}.",
                lambda uow: revoke_invite(uow, user, project_id=project.id, invite_id=pick))


def _members(uow: UnitOfWork, user: UserInfo, project_id: int) -> dict[int, tuple[UserInfo, list[str]]]:
    out: dict[int, tuple[UserInfo, list[str]]] = {}
    for member, role in list_members(uow, user, project_id):
        out.setdefault(member.id, (member, []))[1].append(role)
    return out


user = signed_in_user()
make_uow = uow_factory()
st.title("Members")
project = pick_project(make_uow, user, Action.MANAGE, key="members_project")
if project is None:
    st.stop()
show_flash(FLASH_KEY, lasting=True)
with make_uow() as uow:
    members = _members(uow, user, project.id)
st.dataframe(
    pd.DataFrame([{"user": m.username, "name": m.display_name, "roles": ", ".join(roles), "active account": m.is_active}
                  for m, roles in members.values()]),
    hide_index=True,
)
member_actions(make_uow, user, project, members)
st.divider()
invite_links(make_uow, user, project)
