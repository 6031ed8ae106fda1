"""A labeler classifies product reviews with the keyboard only: hotkey 1/2/3, then Ctrl+Enter."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    act,
    chosen,
    finished_runs,
    open_task_id,
    progress_caption,
    sign_in,
    start_labeling,
    submitted_count,
    wait_for_app_run,
)

PROJECT = "Product review sentiment"
KEYS = {"1": "Positive", "2": "Negative", "3": "Neutral"}
USER, PASSWORD = "newcomer", "newcomer-demo"


@pytest.mark.e2e
def test_three_reviews_classified_by_keyboard_are_stored_as_three_annotations_with_those_choices(
    app_server, page, shot
):
    sign_in(page, app_server, USER, PASSWORD)
    start_labeling(page, PROJECT)
    shot("01-first-task")
    user_id = app_server.user_id(USER)
    project_id = app_server.project_id(PROJECT)
    pressed: dict[int, str] = {}  # task id -> choice pressed
    for n, key in enumerate(["2", "3", "1"], start=1):
        task_id = open_task_id(app_server, user_id, project_id)
        choice = KEYS[key]
        # A required single choice is set, never cleared, by its key: pressing it again (say on a
        # model's pre-label that already chose it) keeps it chosen. The key is answered in the browser: no
        # script run.
        runs = finished_runs(page)
        page.keyboard.press(key)
        expect(chosen(page, choice)).to_be_visible()
        if n == 1:
            page.keyboard.press(key)
            expect(chosen(page, choice)).to_be_visible()
            assert finished_runs(page) == runs, "a choice key made the page rerun"
        shot(f"{n + 1:02d}-pressed-{key}-{choice}")
        act(page, lambda: page.keyboard.press("Control+Enter"))
        expect(progress_caption(page)).to_contain_text(f"You: {n} submitted")
        wait_for_app_run(page)  # the next task's buttons are drawn after the caption
        pressed[task_id] = choice
    shot("05-after-three-submits")

    rows = app_server.query(
        "SELECT task_id, result FROM annotations WHERE completed_by_id = ? AND project_id = ? ORDER BY id",
        (user_id, project_id),
    )
    stored = {row["task_id"]: json.loads(row["result"]) for row in rows}
    assert set(stored) == set(pressed), f"annotations for tasks {sorted(stored)}, pressed on {sorted(pressed)}"
    for task_id, choice in pressed.items():
        assert [item["value"]["choices"] for item in stored[task_id] if item["from_name"] == "sentiment"] == [
            [choice]
        ], f"task {task_id}: {stored[task_id]}"
    assert len(pressed) == 3


@pytest.mark.e2e
def test_ctrl_space_skips_the_task_without_opening_the_skip_menu(app_server, page, shot):
    user = "annotator3"
    sign_in(page, app_server, user, "annotator-demo")
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id(user), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    expect(progress_caption(page)).to_contain_text("0 skipped")
    act(page, lambda: page.keyboard.press("Control+Space"))
    expect(progress_caption(page)).to_contain_text("1 skipped")
    wait_for_app_run(page)
    shot("02-skipped")
    rows = app_server.query("SELECT was_cancelled FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                            (user_id, task_id))
    assert [bool(r["was_cancelled"]) for r in rows] == [True]
    assert open_task_id(app_server, user_id, project_id) != task_id  # the next task is on screen


@pytest.mark.e2e
def test_keys_typed_in_a_text_box_choose_nothing_and_a_double_submit_stores_one_annotation(app_server, page, shot):
    user = "annotator4"
    sign_in(page, app_server, user, "annotator-demo")
    start_labeling(page, PROJECT)
    user_id, project_id = app_server.user_id(user), app_server.project_id(PROJECT)
    task_id = open_task_id(app_server, user_id, project_id)
    before = submitted_count(page)
    pressed_before = page.locator('button.qc-option[aria-pressed="true"]').count()
    page.get_by_role("button", name=re.compile("Skip")).first.click()  # the skip menu's reason box
    reason = page.get_by_role("textbox", name="Why skip? (optional)")
    expect(reason).to_be_visible()
    reason.press_sequentially("123")
    expect(reason).to_have_value("123")
    assert page.locator('button.qc-option[aria-pressed="true"]').count() == pressed_before
    shot("01-typed-in-the-reason-box")
    page.keyboard.press("Escape")  # closes the menu; the focus leaves the text box
    expect(reason).to_be_hidden()
    page.keyboard.press("2")
    expect(chosen(page, "Negative")).to_be_visible()
    page.keyboard.press("Control+Enter")
    page.keyboard.press("Control+Enter")  # a double press: one annotation, and none for the next task
    expect(progress_caption(page)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(page)
    shot("02-after-double-submit")
    rows = app_server.query("SELECT task_id, result FROM annotations WHERE completed_by_id = ? AND project_id = ?",
                            (user_id, project_id))
    new = [r for r in rows if r["task_id"] == task_id]
    assert len(new) == 1 and json.loads(new[0]["result"])[0]["value"]["choices"] == ["Negative"]
    assert open_task_id(app_server, user_id, project_id) not in {r["task_id"] for r in rows}


@pytest.mark.e2e
def test_number_keys_choose_at_once_after_switching_project_in_the_project_box(app_server, page, shot):
    """Picking a project in the "Project" box leaves the focus in it; the next number key must choose, not
    type into the box's search."""
    sign_in(page, app_server, "annotator1", "annotator-demo")
    start_labeling(page, "Objects in photos")
    box = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first  # the "Project" box
    act(page, lambda: box.click())
    act(page, lambda: page.get_by_role("option", name=PROJECT).click())
    expect(page.locator("button.qc-option").first).to_be_visible(timeout=30_000)
    wait_for_app_run(page)
    page.keyboard.press("2")
    expect(chosen(page, "Negative")).to_be_visible()
    shot("01-key-chose-after-switch")
