"""The Users page through AppTest: an administrator creates an account; a refused one keeps what was typed."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.pages.test_app_shell import _query, _signed_in, data_dir, seeded_demo_db  # noqa: F401

TYPED = {"users_new_username": "alice", "users_new_display_name": "Alice Liddell",
         "users_new_email": "alice@example.org", "users_new_password": "short"}


def users_page(folder: Path) -> AppTest:
    at = _signed_in(folder, "admin")
    at.switch_page("views/users.py").run()
    assert not at.exception, at.exception
    return at


def create(at: AppTest) -> AppTest:
    """Press the create form's "Create" button."""
    return next(b for b in at.button if b.label == "Create").click().run()


def test_a_refused_account_keeps_what_was_typed_and_a_created_one_empties_the_form(data_dir: Path) -> None:
    at = users_page(data_dir)
    for key, value in TYPED.items():
        at.text_input(key=key).input(value)
    at.checkbox(key="users_new_admin").check()
    create(at)
    assert not at.exception, at.exception
    assert any("password too short" in e.value for e in at.error), [e.value for e in at.error]
    assert {key: at.text_input(key=key).value for key in TYPED} == TYPED  # nothing to type again
    assert at.checkbox(key="users_new_admin").value is True
    assert not _query(data_dir, "SELECT id FROM users WHERE username = 'alice'")

    # Only the password is corrected: the retry must send the rest as typed. (AppTest applies a form's
    # clear_on_submit to the next submit, so this is where a wiped form would show: "user name '' is not valid".)
    at.text_input(key="users_new_password").input("long-enough-password")
    create(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Created alice" in s.value for s in at.success), [s.value for s in at.success]
    rows = _query(data_dir, "SELECT display_name, email, is_admin FROM users WHERE username = 'alice'")
    assert [tuple(r) for r in rows] == [("Alice Liddell", "alice@example.org", 1)]
    assert all(at.text_input(key=key).value == "" for key in TYPED)  # ready for the next account
    assert at.checkbox(key="users_new_admin").value is False
    assert "alice" in set(at.dataframe[0].value["user"])  # the table shows the new account
