"""Nothing the app shows is fetched from a third-party host: every request of sign-in, the labeling page and a
manager's pages goes to the app's own address. (A Material-icon ``page_icon`` made Streamlit's frontend point
the favicon at fonts.gstatic.com on every page load: a labeler's browser told Google which portal it used, and
an offline or firewalled site showed a broken icon.)"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import act, sign_in, wait_for_app_run

LOCAL_SCHEMES = {"data", "blob", "about"}  # never leave the browser
MANAGER_PAGES = ["Data", "Quality", "Import & export", "Members"]


def _elsewhere(urls: list[str], own: str) -> list[str]:
    """The URLs of ``urls`` that go to another host than ``own`` (scheme://host:port)."""
    mine = urlsplit(own).netloc
    return [u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and urlsplit(u).netloc != mine]


def _favicon(page: Any) -> str:
    """Where the page's favicon link points (Streamlit's frontend rewrites it from ``page_icon``)."""
    return str(page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\")?.href ?? ''"))


@pytest.mark.e2e
def test_sign_in_labeling_and_manager_pages_request_only_the_apps_own_host(app_server, page, shot):
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("websocket", lambda socket: urls.append(socket.url.replace("ws://", "http://", 1)))

    sign_in(page, app_server, "admin", "admin-demo")
    favicon = _favicon(page)
    assert urlsplit(favicon).netloc == urlsplit(app_server.url).netloc, favicon
    served = page.request.get(favicon)  # the repo's icon, really there (not a 404 behind a local address)
    assert served.ok and served.headers["content-type"].startswith("image/"), (served.status, served.headers)
    nav = page.get_by_test_id("stSidebarNav")
    act(page, lambda: nav.get_by_role("link", name="Label").click())
    expect(page.get_by_test_id("stMain").get_by_role("heading", level=3).first).to_be_visible()  # the project
    wait_for_app_run(page)
    shot("01-label")
    for title in MANAGER_PAGES:
        act(page, lambda title=title: nav.get_by_role("link", name=title).click())
        expect(page.get_by_test_id("stMain").get_by_role("heading", level=1).first).to_be_visible()
        wait_for_app_run(page)
    shot("02-manager-pages")
    page.reload()  # a fresh page load: the favicon and fonts again
    wait_for_app_run(page, timeout_ms=30_000)
    assert urlsplit(_favicon(page)).netloc == urlsplit(app_server.url).netloc, _favicon(page)

    assert urls, "no request seen: the listener is not attached"
    assert _elsewhere(urls, app_server.url) == [], sorted(set(_elsewhere(urls, app_server.url)))
