"""My account in a real browser: the sidebar link opens it, a new API token is shown once in a code block and
listed by its prefix, and revoking it asks first."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import act, sign_in, wait_for_rows


@pytest.mark.e2e
def test_the_sidebar_link_opens_my_account_where_a_token_is_shown_once_and_revoked(app_server, page, shot):
    sign_in(page, app_server, "annotator1", "annotator-demo")
    act(page, lambda: page.get_by_test_id("stSidebar").get_by_role("link", name="My account").click())
    expect(page.get_by_role("heading", name="My account", level=1)).to_be_visible()
    page.get_by_role("textbox", name="Name").fill("e2e script")
    act(page, lambda: page.get_by_role("button", name="Create token").click())
    expect(page.get_by_text("will not be shown again")).to_be_visible()
    rows = wait_for_rows(app_server, "SELECT prefix FROM api_tokens", (), bool)
    prefix = rows[0]["prefix"]
    expect(page.get_by_test_id("stCode").filter(has_text=prefix)).to_have_count(1)  # the whole token, once
    shot("01-token-shown-once")
    act(page, lambda: page.get_by_role("button", name=f"Revoke e2e script ({prefix}…)").click())
    act(page, lambda: page.get_by_role("button", name="Yes, revoke it").click())
    expect(page.get_by_text(f"Revoked e2e script ({prefix}…).")).to_be_visible()
    expect(page.get_by_test_id("stCode").filter(has_text=prefix)).to_have_count(0)
    wait_for_rows(app_server, "SELECT revoked_at FROM api_tokens", (), lambda r: r[0]["revoked_at"] is not None)
    shot("02-revoked")
