"""The invite journey in a real browser: a manager creates a link on the Members page, a newcomer opens
it signed out, creates an account and lands signed in as an annotator of the project."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import act, nav_titles, sign_in, wait_for_app_run

PROJECT = "Product review sentiment"


@pytest.mark.e2e
def test_a_newcomer_joins_through_an_invite_link_the_manager_made(app_server, page, browser, shot):
    sign_in(page, app_server, "manager", "manager-demo")
    act(page, lambda: page.get_by_test_id("stSidebarNav").get_by_role("link", name="Members").click())
    expect(page.get_by_role("heading", name="Members", level=1)).to_be_visible()
    wait_for_app_run(page)
    form = page.get_by_test_id("stForm").filter(has_text="Valid for (days)")
    form.get_by_role("spinbutton", name="Maximum uses (0: no limit)").fill("1")
    act(page, lambda: form.get_by_role("button", name="Create a link").click())
    code = page.get_by_test_id("stCode").filter(has_text="invite=")
    expect(code).to_be_visible()
    link = code.inner_text().strip()
    shot("01-manager-made-a-link")
    assert link.startswith(app_server.url + "/?invite="), link

    newcomer = browser.new_context(viewport={"width": 1280, "height": 1000})  # signed out: no cookie
    try:
        other = newcomer.new_page()
        other.goto(link)
        expect(other.get_by_role("heading", name="Join a project", level=1)).to_be_visible(timeout=45_000)
        expect(other.get_by_text(f"You are invited to join {PROJECT} as annotator")).to_be_visible()
        wait_for_app_run(other)
        signup = other.get_by_test_id("stForm")
        signup.get_by_role("textbox", name="User name").fill("invited_one")
        signup.get_by_role("textbox", name="E-mail").fill("invited_one@example.com")
        signup.get_by_role("textbox", name="Password", exact=True).fill("invited-pass-1")
        signup.get_by_role("textbox", name="Password again").fill("invited-pass-1")
        signup.get_by_role("button", name="Create account and join").click()
        expect(other.get_by_test_id("stSidebarNav").get_by_text("My projects", exact=True)).to_be_visible()
        expect(other.get_by_role("heading", name="My projects", level=1)).to_be_visible()
        assert nav_titles(other) == ["My projects", "Label", "My work"]
        assert "invite=" not in other.url
    finally:
        newcomer.close()
    user_id = app_server.user_id("invited_one")
    roles = app_server.query("SELECT role FROM memberships WHERE user_id = ? AND project_id = ?",
                             (user_id, app_server.project_id(PROJECT)))
    assert [r["role"] for r in roles] == ["annotator"]
    assert app_server.query("SELECT uses, max_uses FROM invites")[0]["uses"] == 1

    # The link was for one use: the next visitor (signed out) is told so and gets no form.
    late = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        other = late.new_page()
        other.goto(link)
        expect(other.get_by_text("this invite link is used up", exact=False)).to_be_visible(timeout=45_000)
        expect(other.get_by_test_id("stForm")).to_have_count(0)
    finally:
        late.close()
