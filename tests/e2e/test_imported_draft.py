"""A Label Studio draft imported for a labeler whose task already has all its answers: the Label page lists it
under "Drafts to finish" in My earlier tasks, opens it with the draft's answer, and submits it (issue 15)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import act, chosen, run_cli, sign_in, start_labeling, submit_button, wait_for_app_run, wait_for_rows

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ls_exports" / "drafts_ids_and_task_fields.json"
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""
PROJECT = "Reviews from Label Studio"
PASSWORD = "tom-password-123"


@pytest.mark.e2e
def test_an_imported_draft_on_a_full_task_is_listed_opened_and_submitted(app_server, page, shot):
    config = app_server.data_dir / "imported-draft-config.xml"
    config.write_text(CONFIG)
    run_cli(app_server, "users", "create", "tom", "--email", "tom@example.org", "--password", PASSWORD)
    run_cli(app_server, "users", "create", "maria", "--email", "maria@example.org", "--password", PASSWORD)
    run_cli(app_server, "project", "create", PROJECT, "--config", str(config), "--overlap", "1")
    for person in ("tom", "maria"):
        run_cli(app_server, "project", "add-member", PROJECT, person, "annotator")
    run_cli(app_server, "import", PROJECT, str(FIXTURE))  # Maria's answer fills the task Tom has a draft of
    tom = app_server.user_id("tom")
    [drafted] = app_server.query("SELECT task_id FROM drafts WHERE user_id = ?", (tom,))
    task_id = int(drafted["task_id"])

    sign_in(page, app_server, "tom", PASSWORD)
    start_labeling(page, PROJECT)  # the hand-out gives the other task: this one has all its answers
    act(page, lambda: page.get_by_role("button", name=re.compile("^My earlier tasks")).click())
    expect(page.get_by_text("Drafts to finish", exact=True)).to_be_visible()
    shot("01-drafts-to-finish")
    act(page, lambda: page.get_by_role("button", name=re.compile(rf"^Task {task_id} · Delivery was late")).click())
    expect(chosen(page, "Negative")).to_be_visible()  # the draft's answer
    expect(page.get_by_test_id("stException")).to_have_count(0)
    wait_for_app_run(page)
    shot("02-draft-opened")
    act(page, lambda: submit_button(page).click())
    rows = wait_for_rows(app_server, "SELECT result FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                         (tom, task_id), lambda r: len(r) == 1)
    assert '"Negative"' in rows[0]["result"]
    expect(page.get_by_test_id("stException")).to_have_count(0)
    shot("03-submitted")
