"""The members page through AppTest: add a person by name (an unknown name is refused), change a role,
deactivate a member, create an invite link (shown once) and revoke it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from tests.pages.test_app_shell import (  # noqa: F401 - fixtures shared with the app shell tests
    _query,
    _user_id,
    data_dir,
    menus,
    seeded_demo_db,
)
from tests.pages.test_settings_page import open_as_manager


def members_page(folder: Path) -> tuple[AppTest, int]:
    return open_as_manager(folder, "views/members.py")


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def roles(folder: Path, username: str, project_id: int) -> list[str]:
    rows = _query(folder, "SELECT role FROM memberships WHERE user_id = ? AND project_id = ? ORDER BY role",
                  (_user_id(folder, username), project_id))
    return [r["role"] for r in rows]


def test_adding_an_unknown_person_is_refused_and_a_known_one_is_added(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = members_page(data_dir)
    at.text_input(key="members_add_login").input("nobody-here")
    button(at, "Add").click().run()
    assert any("Nobody is called" in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="members_add_login").input("newcomer")
    at.selectbox(key="members_add_role").set_value("reviewer")
    button(at, "Add").click().run()
    assert not at.exception, at.exception
    assert roles(data_dir, "newcomer", project_id) == ["annotator", "reviewer"]


def test_changing_a_role_and_deactivating_a_member(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = members_page(data_dir)
    at.selectbox(key="members_role_who").set_value(_user_id(data_dir, "annotator4"))
    at.selectbox(key="members_role_new").set_value("reviewer")
    button(at, "Change role").click().run()
    assert not at.exception, at.exception
    assert roles(data_dir, "annotator4", project_id) == ["reviewer"]
    at.selectbox(key="members_remove_who").set_value(_user_id(data_dir, "newcomer"))
    assert button(at, "Deactivate").disabled  # not before the manager ticks "Yes"
    at.checkbox(key="members_remove_sure").check().run()
    button(at, "Deactivate").click().run()
    assert not at.exception, at.exception
    assert roles(data_dir, "newcomer", project_id) == []
    # the confirmation does not stay ticked for whoever the list now shows first
    assert not at.checkbox(key="members_remove_sure").value
    assert button(at, "Deactivate").disabled


def test_an_invite_link_is_shown_once_stored_hashed_and_can_be_revoked(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = members_page(data_dir)
    button(at, "Create a link").click().run()
    assert not at.exception, at.exception
    links = [c.value for c in at.code if "?invite=" in c.value]
    assert len(links) == 1
    token = links[0].split("?invite=", 1)[1]
    row = _query(data_dir, "SELECT id, role, token_hash, revoked FROM invites WHERE project_id = ?", (project_id,))[0]
    assert row["role"] == "annotator" and token not in row["token_hash"]
    at.run()  # the next run no longer shows the token
    assert not [c for c in at.code if "?invite=" in c.value]
    button(at, "Revoke").click().run()
    assert _query(data_dir, "SELECT revoked FROM invites WHERE id = ?", (row["id"],))[0]["revoked"] == 1


def test_names_in_the_members_messages_show_as_typed_not_as_markdown(data_dir: Path, menus: list[list[str]]) -> None:
    from core.bootstrap import make_uow_factory
    from core.settings import load_settings
    from core.users import create_user

    with make_uow_factory(load_settings())() as uow:  # user names may hold _ . @ + -: "__x__" is bold in Markdown
        create_user(uow, username="__bold__", password="password-123", email="bold@example.com",
                    display_name="**Bold** [x](javascript:alert(1)) <img src=x>")
        uow.commit()
    at, project_id = members_page(data_dir)
    at.text_input(key="members_add_login").input("__bold__")
    button(at, "Add").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Added \\_\\_bold\\_\\_ as annotator."]
    names = at.dataframe[0].value["name"].tolist()  # a table cell is text: the name as typed
    assert "**Bold** [x](javascript:alert(1)) <img src=x>" in names
