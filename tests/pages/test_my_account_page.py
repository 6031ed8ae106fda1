"""The My account page through AppTest: any signed-in user reaches it from the sidebar, creates an API token
that is shown once (and works), sees it listed by prefix only, and revokes it after confirming."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.api_tokens import authenticate
from core.bootstrap import make_uow_factory
from core.errors import AuthenticationError
from core.settings import load_settings
from tests.pages.test_app_shell import (  # noqa: F401 - fixtures shared with the app shell tests
    _button,
    _query,
    _signed_in,
    _user_id,
    data_dir,
    menus,
    seeded_demo_db,
)


def account_page(folder: Path, username: str) -> AppTest:
    at = _signed_in(folder, username)
    at.switch_page("views/my_account.py").run()
    assert not at.exception, at.exception
    return at


def token_user(token: str) -> str:
    with make_uow_factory(load_settings())() as uow:
        return authenticate(uow, token).username


def shown_tokens(at: AppTest) -> list[str]:
    """The code blocks that hold a token (the curl example holds only ``<token>``)."""
    return [c.value for c in at.code if "curl" not in c.value]


@pytest.mark.parametrize("username", ["annotator1", "reviewer"])
def test_every_signed_in_user_finds_my_account_beside_sign_out(data_dir: Path, menus: list[list[str]],
                                                               username: str) -> None:
    at = _signed_in(data_dir, username)
    assert not at.exception, at.exception
    assert [link.label for link in at.sidebar.get("page_link")] == ["My account"]
    assert "My account" not in menus[-1]  # a link of its own, not one more entry in each role's menu
    at = account_page(data_dir, username)
    assert at.title[0].value == "My account"
    assert any(username in m.value for m in at.markdown)
    assert any('curl -H "Authorization: Token <token>"' in c.value and c.value.endswith("/api/projects")
               for c in at.code)
    assert any("no API tokens" in i.value for i in at.info)


def test_a_token_is_shown_once_listed_by_prefix_and_revoked_after_confirming(data_dir: Path) -> None:
    at = account_page(data_dir, "annotator1")
    at.text_input(key="account_token_name").input("my script")
    _button(at, "Create token").click().run()
    assert not at.exception, at.exception
    assert any("will not be shown again" in w.value for w in at.warning)
    (token,) = shown_tokens(at)
    assert token_user(token) == "annotator1"
    rows = _query(data_dir, "SELECT id, name, prefix, token_hash FROM api_tokens")
    assert [(r["name"], r["prefix"]) for r in rows] == [("my script", token[:8])] and token != rows[0]["token_hash"]
    table = at.dataframe[0].value
    assert list(table["name"]) == ["my script"] and list(table["token"]) == [f"{token[:8]}…"]
    assert list(table["last used (UTC)"]) == ["never"]  # token_user above did not commit its last-used time

    at.run()  # any next run: the token is gone from the page for good
    assert not at.exception, at.exception
    assert shown_tokens(at) == [] and not any("will not be shown again" in w.value for w in at.warning)

    _button(at, f"Revoke my script ({token[:8]}…)").click().run()
    assert any("Revoke my script" in w.value for w in at.warning)
    _button(at, "Cancel").click().run()
    assert _query(data_dir, "SELECT revoked_at FROM api_tokens")[0]["revoked_at"] is None
    _button(at, f"Revoke my script ({token[:8]}…)").click().run()
    _button(at, "Yes, revoke it").click().run()
    assert not at.exception, at.exception
    assert _query(data_dir, "SELECT revoked_at FROM api_tokens")[0]["revoked_at"] is not None
    with pytest.raises(AuthenticationError, match="revoked"):
        token_user(token)
    at.run()
    assert at.dataframe[0].value["revoked (UTC)"][0] != ""
    assert not [b for b in at.button if b.label.startswith("Revoke ")]  # nothing left to revoke
    events = _query(data_dir, "SELECT action, actor_id FROM audit_events WHERE action LIKE 'token.%' ORDER BY id")
    me = _user_id(data_dir, "annotator1")
    assert [(e["action"], e["actor_id"]) for e in events] == [("token.create", me), ("token.revoke", me)]
