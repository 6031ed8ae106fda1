"""The session cookie in a real browser: set by the server HttpOnly and SameSite=Lax (no script can read it),
it keeps the sign-in across a reload; signing out clears it, and a reload then shows the sign-in page."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.sessions import COOKIE_NAME
from tests.e2e.helpers import act, open_app, sign_in, wait_for_app_run


def session_cookies(page) -> list[dict]:  # type: ignore[no-untyped-def]
    return [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]


@pytest.mark.e2e
def test_the_server_sets_an_httponly_cookie_that_survives_a_reload_and_sign_out_clears_it(app_server, page, shot):
    with page.expect_response(lambda r: r.url.endswith("/api/session/start")) as started:
        sign_in(page, app_server, "annotator1", "annotator-demo")  # the run after it posts the hand-off
    assert started.value.status == 200
    (cookie,) = session_cookies(page)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert COOKIE_NAME not in page.evaluate("document.cookie")  # scripts cannot read it

    page.reload()
    expect(page.get_by_text("Signed in as", exact=False)).to_be_visible(timeout=30_000)
    wait_for_app_run(page)
    shot("01-still-signed-in-after-reload")

    with page.expect_response(lambda r: r.url.endswith("/api/session/end")) as ended:
        act(page, lambda: page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click())
    assert ended.value.status == 200
    expect(page.get_by_test_id("stForm")).to_be_visible()
    assert session_cookies(page) == []
    open_app(page, app_server)
    expect(page.get_by_test_id("stForm")).to_be_visible()
    expect(page.get_by_text("Signed in as", exact=False)).to_have_count(0)
