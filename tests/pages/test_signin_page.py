"""Sign-in on a network, through AppTest: the cookie is handed to the server (no script writes it), failed
attempts lock with a time to try again, demo passwords are listed or warned about only while unchanged, and
an ended session signs its tab out."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.users import get_user, set_password
from views.services import COOKIE_ACTION_KEY, SESSION_ID_KEY, USER_ID_KEY
from tests.pages.test_app_shell import (  # noqa: F401 - fixtures
    APP,
    TIMEOUT_S,
    _sign_in_form,
    _signed_in,
    _user_id,
    data_dir,
    seeded_demo_db,
)


def visitor() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()


def continued(at: AppTest) -> AppTest:
    """The run after the sign-in's st.rerun() (AppTest does not start it), with the state it left."""
    nxt = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for key in (USER_ID_KEY, SESSION_ID_KEY, COOKIE_ACTION_KEY):
        if key in at.session_state:
            nxt.session_state[key] = at.session_state[key]
    return nxt.run()


def scripts(at: AppTest) -> str:
    return " ".join(str(getattr(e, "proto", e)) for e in at.get("html"))


def set_demo_password(folder: Path, username: str, password: str) -> None:
    make_uow = make_uow_factory()
    with make_uow() as uow:
        admin = get_user(uow, _user_id(folder, "admin"))
        set_password(uow, admin, user_id=_user_id(folder, username), password=password)
        uow.commit()


def test_signing_in_hands_a_one_time_token_to_the_server_and_no_script_writes_the_cookie(data_dir: Path) -> None:
    at = _sign_in_form(visitor(), "annotator1", "annotator-demo")
    assert not at.exception, at.exception
    if COOKIE_ACTION_KEY in at.session_state:  # an AppTest that stops at the sign-in's st.rerun()
        kind, handoff = at.session_state[COOKIE_ACTION_KEY]
        assert kind == "set" and handoff
        at = continued(at)
        assert not at.exception, at.exception
    assert at.session_state[SESSION_ID_KEY]
    sent = scripts(at)  # the run after the sign-in: the hand-off goes to the server, once
    assert "/api/session/start" in sent and "token" in sent
    assert "document.cookie" not in sent
    assert COOKIE_ACTION_KEY not in at.session_state  # sent: not sent again on the next run
    assert at.title[0].value == "My projects"


def test_signing_out_asks_the_server_to_clear_the_cookie(data_dir: Path) -> None:
    """The run after sign_out() (which leaves this action; the browser test in e2e/test_journey.py clicks it)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state[COOKIE_ACTION_KEY] = ("clear", None)
    at = at.run()
    assert not at.exception, at.exception
    assert "/api/session/end" in scripts(at) and "document.cookie" not in scripts(at)
    assert at.title[0].value == "Quorum"


def test_five_wrong_passwords_lock_the_account_and_the_message_says_when_to_try_again(data_dir: Path) -> None:
    at = visitor()
    for _ in range(5):
        at = _sign_in_form(at, "admin", "not-the-password")
    assert not at.exception, at.exception
    assert "try again in" in at.error[0].value and "UTC" in at.error[0].value
    at = _sign_in_form(at, "admin", "admin-demo")  # the right one, too soon
    assert "try again in" in at.error[0].value
    assert USER_ID_KEY not in at.session_state


def test_the_demo_table_lists_only_accounts_that_keep_their_demo_password(data_dir: Path) -> None:
    set_demo_password(data_dir, "admin", "a-real-admin-password")
    listed = set(visitor().table[0].value["user"])
    assert "admin" not in listed and "annotator1" in listed


def test_no_demo_table_when_the_demo_is_off(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    at = visitor()
    assert not at.exception, at.exception
    assert not at.table and not at.dataframe


def test_an_admin_is_warned_while_demo_passwords_are_unchanged_and_others_are_not(data_dir: Path) -> None:
    warned = [w.value for w in _signed_in(data_dir, "admin").warning]
    assert any("published passwords" in w and "annotator1" in w for w in warned), warned
    assert not [w for w in _signed_in(data_dir, "manager").warning if "published" in w.value]
    for name in ("admin", "manager", "reviewer", "annotator1", "annotator2", "annotator3", "annotator4", "newcomer"):
        set_demo_password(data_dir, name, f"{name}-real-password")
    assert not [w for w in _signed_in(data_dir, "admin").warning if "published" in w.value]


def test_a_password_reset_signs_out_a_tab_that_is_signed_in(data_dir: Path) -> None:
    at = continued(_sign_in_form(visitor(), "annotator1", "annotator-demo"))
    assert at.title[0].value == "My projects"
    set_demo_password(data_dir, "annotator1", "a-new-password-1")
    at = at.run()
    assert not at.exception, at.exception
    assert USER_ID_KEY not in at.session_state and SESSION_ID_KEY not in at.session_state
    assert "My projects" not in [t.value for t in at.title]
