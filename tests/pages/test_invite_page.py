"""The invite page through AppTest: a signed-out visitor with ``?invite=TOKEN`` creates an account, joins
the project with the link's role and arrives signed in; a bad link shows why and creates nothing."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.invites import create_invite
from core.settings import load_settings
from core.users import resolve_login
from views.services import USER_ID_KEY
from tests.pages.test_app_shell import (  # noqa: F401 - fixtures shared with the app shell tests
    APP,
    PROJECT,
    TIMEOUT_S,
    _project_id,
    _query,
    _user_id,
    data_dir,
    menus,
    seeded_demo_db,
)


def make_invite(folder: Path, *, role: str = "annotator", max_uses: int | None = None) -> str:
    with make_uow_factory(load_settings())() as uow:
        manager = resolve_login(uow, "manager")
        made = create_invite(uow, manager, project_id=_project_id(folder, PROJECT), role=role,
                             valid_for=dt.timedelta(days=1), max_uses=max_uses)
        uow.commit()
    return made.token


def open_link(token: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["invite"] = token
    return at.run()


def fill(at: AppTest, username: str, password: str = "newcomer-pass-1", again: str | None = None) -> AppTest:
    at.text_input(key="invite_username").input(username)
    at.text_input(key="invite_email").input(f"{username}@example.com")
    at.text_input(key="invite_password").input(password)
    at.text_input(key="invite_password_again").input(password if again is None else again)
    return next(b for b in at.button if b.label == "Create account and join").click().run()


def test_a_newcomer_signs_up_through_the_link_and_joins_as_annotator(data_dir: Path, menus: list[list[str]]) -> None:
    at = open_link(make_invite(data_dir, max_uses=1))
    assert not at.exception, at.exception
    assert menus[-1] == ["Join a project"]
    assert any(PROJECT in m.value and "annotator" in m.value for m in at.markdown)
    at = fill(at, "fresh_face")
    assert not at.exception, at.exception
    user_id = _user_id(data_dir, "fresh_face")
    assert at.session_state[USER_ID_KEY] == user_id
    roles = _query(data_dir, "SELECT role FROM memberships WHERE user_id = ? AND project_id = ?",
                   (user_id, _project_id(data_dir, PROJECT)))
    assert [r["role"] for r in roles] == ["annotator"]
    assert "invite" not in at.query_params  # the link's token leaves the address bar
    # The page ends with st.rerun(), which AppTest does not follow: continue with the session it left.
    signed_in = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    signed_in.session_state[USER_ID_KEY] = user_id
    assert not signed_in.run().exception
    assert menus[-1] == ["My projects", "Label", "My work"]  # signed in, with the annotator's menu
    assert _query(data_dir, "SELECT uses FROM invites")[0]["uses"] == 1


def test_an_unknown_link_says_so_and_offers_no_form(data_dir: Path, menus: list[list[str]]) -> None:
    users_before = len(_query(data_dir, "SELECT id FROM users"))
    at = open_link("not-a-real-token")
    assert not at.exception, at.exception
    assert any("not valid" in e.value for e in at.error)
    assert not [t for t in at.text_input if t.key == "invite_username"]
    assert len(_query(data_dir, "SELECT id FROM users")) == users_before


def test_a_used_up_link_and_differing_passwords_create_nothing(data_dir: Path, menus: list[list[str]]) -> None:
    token = make_invite(data_dir, max_uses=1)
    at = fill(open_link(token), "first_one", again="another-password")
    assert any("differ" in e.value for e in at.error), [e.value for e in at.error]
    assert not _query(data_dir, "SELECT id FROM users WHERE username = 'first_one'")
    fill(open_link(token), "first_one")
    at = open_link(token)
    assert any("used up" in e.value for e in at.error), [e.value for e in at.error]
    assert not [t for t in at.text_input if t.key == "invite_username"]
