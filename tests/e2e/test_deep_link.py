"""A link followed while signed out: the sign-in form at that address, then the page it names; and no module
of the app's page folder is reachable as a page of its own (Streamlit serves every file of a folder named
``pages/`` as a page: the views live in ``views/``)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import act, wait_for_app_run

PROJECT = "Product review sentiment"


@pytest.mark.e2e
def test_a_label_link_followed_signed_out_leads_to_that_projects_task_after_sign_in(app_server, page, shot):
    project_id = app_server.project_id(PROJECT)
    page.goto(f"{app_server.url}/label?project={project_id}")
    form = page.get_by_test_id("stForm")
    expect(form).to_be_visible(timeout=60_000)
    wait_for_app_run(page)
    expect(page.get_by_test_id("stDialog")).to_have_count(0)  # no "Page not found"
    assert page.url.endswith(f"/label?project={project_id}")
    shot("01-sign-in-at-the-link")
    form.get_by_role("textbox", name="User name or e-mail").fill("annotator1")
    form.get_by_role("textbox", name="Password").fill("annotator-demo")
    act(page, lambda: form.get_by_role("button", name="Sign in").click())
    expect(page.locator(".qc-option, [data-testid='stBidiComponentIsolated']").first).to_be_attached(timeout=30_000)
    expect(page.get_by_test_id("stMain").get_by_role("heading", name=PROJECT, level=3)).to_be_visible()
    assert f"/label?project={project_id}" in page.url
    shot("02-the-task-after-sign-in")


@pytest.mark.e2e
@pytest.mark.parametrize("module", ["services", "writes", "state", "project_picker"])
def test_helper_modules_are_not_pages(app_server, page, module):
    page.goto(f"{app_server.url}/{module}")
    expect(page.get_by_test_id("stForm")).to_be_visible(timeout=60_000)  # the sign-in page, nothing else
    wait_for_app_run(page)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # no list of the folder's files
    expect(page.get_by_text("Please sign in first")).to_have_count(0)  # no page script ran
