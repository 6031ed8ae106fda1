"""Alt+U on the Label page flips "I'm not sure" (through the submit bar's key handler in the browser), and the
flag travels with the submit."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import AppServer, act, chosen, open_task_id, sign_in, start_labeling, wait_for_app_run, wait_for_rows

PROJECT = "Product review sentiment"  # the demo's 3-choice text project: hotkey 1 is Positive


@pytest.mark.e2e
def test_alt_u_marks_the_answer_not_sure_and_the_submit_stores_the_flag(app_server: AppServer, page: Any) -> None:
    sign_in(page, app_server, "annotator1", "annotator-demo")
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id("annotator1"), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    assert task_id is not None
    toggle = page.locator(f".st-key-unsure_t{task_id}_u{user_id} input")  # views/label.py unsure_keys
    expect(toggle).not_to_be_checked()
    page.keyboard.press("1")
    expect(chosen(page, "Positive")).to_be_visible()
    act(page, lambda: page.keyboard.press("Alt+u"))
    expect(toggle).to_be_checked()
    wait_for_app_run(page)
    act(page, lambda: page.keyboard.press("Control+Enter"))
    rows = wait_for_rows(app_server, "SELECT flagged FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                         (user_id, task_id), lambda rows: len(rows) == 1)
    assert bool(rows[0]["flagged"])
