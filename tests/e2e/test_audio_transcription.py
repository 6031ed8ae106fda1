"""A transcript typed on the audio task is stored with the submitted annotation."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    act,
    button,
    open_task_id,
    primary,
    progress_caption,
    sign_in,
    start_labeling,
    submit_button,
    submitted_count,
    wait_for_app_run,
)

PROJECT = "Support call transcription"
TRANSCRIPT = "Hello, I would like to cancel my order number 4711, please."


@pytest.mark.e2e
def test_a_typed_transcript_is_stored_with_the_submitted_annotation(app_server, page, shot):
    user = "newcomer"
    sign_in(page, app_server, user, "newcomer-demo")
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id(user), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    expect(page.get_by_test_id("stAudio")).to_be_visible()
    before = submitted_count(page)
    shot("01-task")

    area = page.get_by_test_id("stTextArea").filter(has_text="Transcript").locator("textarea")
    area.fill(TRANSCRIPT)
    clear = button(page, "Clear")
    act(page, lambda: clear.click())  # the click also commits the text area (it loses focus)
    expect(primary(clear)).to_be_visible()
    expect(area).to_have_value(TRANSCRIPT)
    shot("02-typed")

    act(page, lambda: submit_button(page).click())
    expect(progress_caption(page)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(page)
    shot("03-submitted")

    rows = app_server.query("SELECT result FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                            (user_id, task_id))
    assert len(rows) == 1
    result = {item["from_name"]: item for item in json.loads(rows[0]["result"])}
    assert result["transcription"]["value"]["text"] == [TRANSCRIPT]
    assert result["transcription"]["to_name"] == "audio"
    assert result["quality"]["value"]["choices"] == ["Clear"]
