"""The journey labeler -> reviewer -> manager, as far as the app goes today, on a first start.

This module starts the app on an empty data folder, so the demo seeding on first use is part of it.
"""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    act,
    choice,
    chosen,
    nav_titles,
    progress_caption,
    sign_in,
    start_labeling,
    submit_button,
    submitted_count,
    wait_for_app_run,
)

FIRST_START = True  # no copied database: the app seeds the demo itself
PROJECT = "Product review sentiment"
MANAGER_PAGES = {"Import & export", "Members"}
ADMIN_PAGES = {"New project", "Users"}


def _sign_out(page) -> None:
    act(page, lambda: page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click())
    expect(page.get_by_test_id("stForm")).to_be_visible()
    wait_for_app_run(page)


@pytest.mark.e2e
def test_a_labeler_submits_then_the_manager_sees_the_data_pages_and_the_reviewer_does_not(
    app_server, page, shot
):
    # The labeler: classifies one review and submits.
    sign_in(page, app_server, "annotator3", "annotator-demo")
    shot("01-labeler-home")
    assert nav_titles(page) == ["My projects", "Label", "My work"]
    start_labeling(page, PROJECT)
    before = submitted_count(page)
    picked = next(c for c in ("Neutral", "Negative") if chosen(page, c).count() == 0)
    choice(page, picked).click()
    expect(chosen(page, picked)).to_be_visible()
    act(page, lambda: submit_button(page).click())
    expect(progress_caption(page)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(page)
    shot("02-labeler-submitted")
    labeler_id = app_server.user_id("annotator3")
    newest = app_server.query(
        "SELECT result FROM annotations WHERE completed_by_id = ? ORDER BY id DESC LIMIT 1", (labeler_id,)
    )
    assert json.loads(newest[0]["result"])[0]["value"]["choices"] == [picked]
    _sign_out(page)

    # The manager: sees the projects, and the import & export page.
    sign_in(page, app_server, "manager", "manager-demo", go=False)
    menu = nav_titles(page)
    shot("03-manager-home")
    assert MANAGER_PAGES <= set(menu), menu
    assert "Label" not in menu and not ADMIN_PAGES & set(menu), menu
    expect(page.get_by_role("heading", name="My projects", level=1)).to_be_visible()
    for title in ("Product review sentiment", "News named entities", "Objects in photos", "Support call transcription"):
        expect(page.get_by_test_id("stMain").get_by_role("heading", name=title)).to_be_visible()
    # The labeler's annotation is counted on the manager's home page, as the Quality page counts: submitted, not
    # skipped, imported ground truth left out.
    n_annotations = app_server.query(
        "SELECT COUNT(*) AS n FROM annotations a WHERE project_id = ? AND NOT was_cancelled AND NOT (ground_truth AND "
        "EXISTS (SELECT 1 FROM ground_truth g WHERE g.task_id = a.task_id AND g.source = 'import'))",
        (app_server.project_id(PROJECT),)
    )[0]["n"]
    row = page.get_by_test_id("stHorizontalBlock").filter(has=page.get_by_role("heading", name=PROJECT))
    expect(row.get_by_text(f"{n_annotations} annotations", exact=False)).to_be_visible()
    act(page, lambda: page.get_by_test_id("stSidebarNav").get_by_role("link", name="Import & export").click())
    expect(page.get_by_role("heading", name="Import & export", level=1)).to_be_visible()
    expect(page.get_by_role("tab", name="Import")).to_be_visible()
    expect(page.get_by_role("tab", name="Export")).to_be_visible()
    wait_for_app_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    shot("04-manager-import-export")
    _sign_out(page)

    # The reviewer: no labeling page, none of the manager's or admin's pages.
    sign_in(page, app_server, "reviewer", "reviewer-demo", go=False)
    menu = nav_titles(page)
    shot("05-reviewer-home")
    assert "My projects" in menu
    assert "Label" not in menu, menu
    assert not (MANAGER_PAGES | ADMIN_PAGES) & set(menu), menu
