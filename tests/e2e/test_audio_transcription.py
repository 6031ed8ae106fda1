"""A transcript typed on the audio task is stored with the submitted annotation."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    submit_and_read_result,
    act,
    choice,
    chosen,
    open_task_id,
    sign_in,
    start_labeling,
    submitted_count,
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
    act(page, lambda: choice(page, "Clear").click())  # the click also commits the text area (it loses focus)
    expect(chosen(page, "Clear")).to_be_visible()
    expect(area).to_have_value(TRANSCRIPT)
    shot("02-typed")

    stored = submit_and_read_result(page, app_server, shot, user_id=user_id, task_id=task_id, before=before,
                                    step="03-submitted")
    result = {item["from_name"]: item for item in stored}
    assert result["transcription"]["value"]["text"] == [TRANSCRIPT]
    assert result["transcription"]["to_name"] == "audio"
    assert result["quality"]["value"]["choices"] == ["Clear"]
