"""A reload in the middle of a task (choice made, not submitted) keeps the labeler signed in and brings
the same task and choice back."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    choice,
    chosen,
    open_task_id,
    sign_in,
    start_labeling,
    submit_button,
    wait_for_app_run,
    wait_for_rows,
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
    picked = next(c for c in ("Negative", "Neutral") if chosen(page, c).count() == 0)
    choice(page, picked).click()
    expect(chosen(page, picked)).to_be_visible()
    shot("01-chosen-before-reload")
    # The browser sends the draft by itself (no rerun): the database gets it shortly after the click.
    wait_for_rows(app_server, "SELECT result FROM drafts WHERE user_id = ? AND task_id = ?", (user_id, task_id),
                  lambda rows: bool(rows) and [i["value"]["choices"] for i in json.loads(rows[0]["result"])
                                               if i["from_name"] == "sentiment"] == [[picked]])

    page.reload()  # a new Streamlit session: widget state gone, the sign-in kept by its cookie
    expect(submit_button(page)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Signed in as", exact=False)).to_be_visible()
    wait_for_app_run(page)
    shot("02-after-reload")
    expect(page.get_by_text(review, exact=True)).to_be_visible()
    expect(chosen(page, picked)).to_be_visible()
    for other in [c for c in ("Positive", "Negative", "Neutral") if c != picked]:
        expect(choice(page, other)).to_have_attribute("aria-pressed", "false")
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


@pytest.mark.e2e
def test_a_key_pressed_just_before_a_reload_is_in_the_draft_after_it(app_server, page, shot):
    user = "annotator2"
    sign_in(page, app_server, user, "annotator-demo")
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id(user), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    picked = next(c for c in ("Negative", "Neutral") if chosen(page, c).count() == 0)
    page.keyboard.press({"Negative": "2", "Neutral": "3"}[picked])
    expect(chosen(page, picked)).to_be_visible()
    page.reload()  # at once: the draft call is still waiting for its quarter second; leaving the page sends it
    expect(submit_button(page)).to_be_visible(timeout=30_000)
    wait_for_app_run(page)
    assert open_task_id(app_server, user_id, project_id) == task_id
    expect(chosen(page, picked)).to_be_visible()
    shot("01-after-reload")
