"""A reload in the middle of a task (choice made, not submitted) keeps the labeler signed in and brings
the same task and choice back."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    act,
    button,
    is_selected,
    open_task_id,
    primary,
    secondary,
    sign_in,
    start_labeling,
    submit_button,
    wait_for_app_run,
)

PROJECT = "Product review sentiment"
USER, PASSWORD = "newcomer", "newcomer-demo"


@pytest.mark.e2e
def test_a_reload_before_submitting_restores_the_chosen_label_from_the_draft(app_server, page, shot):
    sign_in(page, app_server, USER, PASSWORD)
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id(USER), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    review = json.loads(app_server.query("SELECT data FROM tasks WHERE id = ?", (task_id,))[0]["data"])["text"]
    # Choose the option that is not already shown selected (a model pre-label may have chosen one).
    choice = next(c for c in ("Negative", "Neutral") if not is_selected(button(page, c)))
    act(page, lambda: button(page, choice).click())
    expect(primary(button(page, choice))).to_be_visible()
    expect(page.get_by_text("Draft saved", exact=False)).to_be_visible()
    wait_for_app_run(page)
    shot("01-chosen-before-reload")
    drafts = app_server.query("SELECT result FROM drafts WHERE user_id = ? AND task_id = ?", (user_id, task_id))
    assert [i["value"]["choices"] for i in json.loads(drafts[0]["result"])] == [[choice]]

    page.reload()  # a new Streamlit session: widget state gone, the sign-in kept by its cookie
    expect(submit_button(page)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Signed in as", exact=False)).to_be_visible()
    wait_for_app_run(page)
    shot("02-after-reload")
    expect(page.get_by_text(review, exact=True)).to_be_visible()
    expect(primary(button(page, choice))).to_be_visible()
    others = [c for c in ("Positive", "Negative", "Neutral") if c != choice]
    for other in others:
        expect(secondary(button(page, other))).to_be_visible()
    assert not app_server.query("SELECT id FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                                (user_id, task_id))


@pytest.mark.e2e
def test_a_reload_stays_in_the_project_the_labeler_was_working_in(app_server, page, shot):
    other = "Support call transcription"  # not the first project, which a fresh session would fall back to
    sign_in(page, app_server, USER, PASSWORD)
    start_labeling(page, other)
    user_id, project_id = app_server.user_id(USER), app_server.project_id(other)
    task_id = open_task_id(app_server, user_id, project_id)
    assert f"project={project_id}" in page.url
    page.reload()
    expect(submit_button(page)).to_be_visible(timeout=30_000)
    wait_for_app_run(page)
    shot("03-after-reload-other-project")
    expect(page.get_by_role("heading", name=other).first).to_be_visible()
    assert open_task_id(app_server, user_id, project_id) == task_id
