"""One labeler, the same task open in two tabs of one browser (one session cookie): the tab that still shows the
task as new cannot overwrite the answer the other tab submitted meanwhile (core.labeling.submit_annotation's
``editing=`` check, judged on the task as shown: views/label.py ``submitting_shown_task``); it says so and
stays usable on the task, and the stored answer is the first tab's. The same answer from both tabs is a plain
repeat and goes through."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    AppServer,
    act,
    chosen,
    open_task_id,
    progress_caption,
    sign_in,
    start_labeling,
    submit_button,
    submitted_count,
    wait_for_app_run,
    wait_for_rows,
)

PROJECT = "Product review sentiment"  # the demo's 3-choice text project: hotkeys 1 Positive, 2 Negative, 3 Neutral
HOTKEY = {"Positive": "1", "Negative": "2", "Neutral": "3"}
PASSWORD = "annotator-demo"
# core.labeling.submit_annotation's ConflictError, as views/label.py shows it (st.error(str(exc)))
CONFLICT = re.compile(r"you submitted this task in another tab or window at \d\d:\d\d:\d\d UTC with another answer, "
                      r"which is kept")


def open_second_tab(page: Any, server: AppServer, project_id: int) -> Any:
    """A second page of the same browser context (same session cookie) on the project's labeling page: the
    task the labeler holds comes back there (core.labeling.next_task), shown as new."""
    tab = page.context.new_page()
    tab.goto(f"{server.url}/label?project={project_id}")
    expect(tab.get_by_test_id("stMain").get_by_role("heading", name=PROJECT, level=3).first).to_be_visible(
        timeout=30_000)
    expect(submit_button(tab)).to_be_visible()
    wait_for_app_run(tab)
    return tab


def answer_by_keyboard(tab: Any, value: str, server: AppServer, user_id: int, task_id: int) -> None:
    """The choice's hotkey, then Ctrl+Enter (submit), in that tab; waits for the run the submit causes.

    Between the two, the wait a person takes anyway: until the key's draft call reached the server (sent a
    moment after the key; a submit pressed sooner drops it), so every run goes the same way. (A key that
    changes nothing, the choice being the task's pre-label already, sends no draft call.)"""
    tab.bring_to_front()
    changes = chosen(tab, value).count() == 0
    tab.keyboard.press(HOTKEY[value])
    expect(chosen(tab, value)).to_be_visible()
    if changes:
        wait_for_rows(server, "SELECT result FROM drafts WHERE user_id = ? AND task_id = ?", (user_id, task_id),
                      lambda rows: any(value in choices_of(r["result"]) for r in rows))
    act(tab, lambda: tab.keyboard.press("Control+Enter"))


def choices_of(result_json: str) -> list[str]:
    """The sentiment choices of a stored result (an annotation's or a draft's)."""
    return [c for item in json.loads(result_json) if item["from_name"] == "sentiment" for c in item["value"]["choices"]]


def stored_choices(server: AppServer, user_id: int, task_id: int) -> list[list[str]]:
    """The user's annotations of the task in the database, each as its sentiment choices."""
    rows = server.query("SELECT result FROM annotations WHERE completed_by_id = ? AND task_id = ?", (user_id, task_id))
    return [choices_of(r["result"]) for r in rows]


def both_tabs_on_one_task(page: Any, server: AppServer, user: str) -> tuple[Any, int, int]:
    """Sign in as ``user`` in tab A, start labeling, open tab B: both show the same task, as new."""
    sign_in(page, server, user, PASSWORD)
    start_labeling(page, PROJECT)
    user_id, project_id = server.user_id(user), server.project_id(PROJECT)
    task_id = open_task_id(server, user_id, project_id)
    assert task_id is not None
    assert stored_choices(server, user_id, task_id) == []  # new to this labeler
    tab_b = open_second_tab(page, server, project_id)
    assert open_task_id(server, user_id, project_id) == task_id  # tab B was given the held task, not another
    for tab in (page, tab_b):
        expect(submit_button(tab)).to_have_text(re.compile("Submit"))  # shown as new, not "Update"
    return tab_b, user_id, task_id


@pytest.mark.e2e
def test_a_tab_showing_the_task_as_new_cannot_overwrite_what_another_tab_submitted(
    app_server: AppServer, page: Any, shot: Any, tmp_path: Path
) -> None:
    tab_b, user_id, task_id = both_tabs_on_one_task(page, app_server, "annotator2")
    before = submitted_count(page)

    answer_by_keyboard(page, "Positive", app_server, user_id, task_id)  # tab A
    expect(progress_caption(page)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(page)
    assert stored_choices(app_server, user_id, task_id) == [["Positive"]]
    assert app_server.query("SELECT id FROM drafts WHERE user_id = ? AND task_id = ?", (user_id, task_id)) == []
    shot("01-tab-a-submitted-positive")

    expect(submit_button(tab_b)).to_have_text(re.compile("Submit"))  # tab B still shows the task as new
    answer_by_keyboard(tab_b, "Negative", app_server, user_id, task_id)
    alert = tab_b.get_by_test_id("stAlert").filter(has_text=CONFLICT)
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("To change it, open the task from My earlier tasks.")
    wait_for_app_run(tab_b)
    # The refused tab stays usable on the task, now an edit of the stored annotation (the bar says Update),
    # and shows the kept answer, Positive: the refused one's draft is dropped, so no later Update stores it.
    expect(tab_b.locator("button.qc-option")).to_have_count(3)
    expect(chosen(tab_b, "Positive")).to_be_visible()
    expect(submit_button(tab_b)).to_be_enabled()
    expect(submit_button(tab_b)).to_have_text(re.compile("Update"))
    screenshot = tmp_path / "tab-b-refused.png"
    tab_b.screenshot(path=str(screenshot))
    print(f"tab B screenshot: {screenshot}")

    assert stored_choices(app_server, user_id, task_id) == [["Positive"]]  # one annotation, still tab A's answer
    assert app_server.query("SELECT COUNT(*) AS n FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                            (user_id, task_id))[0]["n"] == 1


@pytest.mark.e2e
def test_the_same_answer_from_the_second_tab_is_accepted_without_a_conflict(
    app_server: AppServer, page: Any, shot: Any, tmp_path: Path
) -> None:
    tab_b, user_id, task_id = both_tabs_on_one_task(page, app_server, "annotator3")
    before = submitted_count(page)

    answer_by_keyboard(page, "Positive", app_server, user_id, task_id)  # tab A
    expect(progress_caption(page)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(page)

    expect(submit_button(tab_b)).to_have_text(re.compile("Submit"))  # tab B still shows the task as new
    answer_by_keyboard(tab_b, "Positive", app_server, user_id, task_id)  # the same answer
    # Accepted: tab B counts it (its own count since it opened) and moves on to the labeler's next task.
    expect(progress_caption(tab_b)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(tab_b)
    expect(tab_b.get_by_test_id("stAlert").filter(has_text="another tab or window")).to_have_count(0)
    expect(tab_b.get_by_test_id("stAlertContentError")).to_have_count(0)
    expect(submit_button(tab_b)).to_have_text(re.compile("Submit"))
    next_task_id = open_task_id(app_server, user_id, app_server.project_id(PROJECT))
    assert next_task_id is not None and next_task_id != task_id
    tab_b.screenshot(path=str(tmp_path / "tab-b-same-answer.png"))
    assert stored_choices(app_server, user_id, task_id) == [["Positive"]]
    assert app_server.query("SELECT id FROM drafts WHERE user_id = ? AND task_id = ?", (user_id, task_id)) == []
