"""The import wizard in a real browser: a manager uploads a CSV whose column is not named after the config's
variable, maps it, sees the rejected row, chooses to skip it, imports with the progress bar and reads the
summary."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import act, sign_in, wait_for_app_run

PROJECT = "Product review sentiment"  # the demo's text classification, reads $text
CSV = b"review_body,stars\nLoved it,5\nbroken row,1,extra\nNot for me,2\n"


@pytest.mark.e2e
def test_a_manager_maps_a_column_skips_a_bad_row_and_imports_the_rest(app_server, page, shot):
    sign_in(page, app_server, "manager", "manager-demo")
    act(page, lambda: page.get_by_test_id("stSidebarNav").get_by_role("link", name="Import & export").click())
    expect(page.get_by_role("heading", name="Import & export", level=1)).to_be_visible()
    wait_for_app_run(page)
    project_id = app_server.project_id(PROJECT)  # the page's first project
    before = app_server.query("SELECT COUNT(*) AS n FROM tasks WHERE project_id = ?", (project_id,))[0]["n"]

    act(page, lambda: page.locator("input[type=file]").set_input_files(
        {"name": "reviews.csv", "mimeType": "text/csv", "buffer": CSV}))
    expect(page.get_by_text("3 row(s) would be rejected", exact=False)).to_be_visible()  # nothing mapped yet
    mapping = page.get_by_test_id("stSelectbox").filter(has_text="$text")
    mapping.click()  # opens the list; choosing an option runs the app
    act(page, lambda: page.get_by_role("option", name="review_body").click())
    expect(page.get_by_text("1 row(s) would be rejected", exact=False)).to_be_visible()
    expect(page.get_by_text("has 3 fields, the header has 2")).to_be_attached()  # a cell of the canvas grid
    import_button = page.get_by_role("button", name="Import 2 tasks")
    expect(import_button).to_be_disabled()  # all or nothing until the manager chooses otherwise
    shot("01-preview-with-a-rejected-row")
    act(page, lambda: page.get_by_text("Import the 2 valid rows and skip the 1 rejected ones").click())
    expect(import_button).to_be_enabled()
    act(page, lambda: import_button.click())
    expect(page.get_by_text("Imported 2 tasks, 0 annotations and 0 predictions from 1 file(s)")).to_be_visible()
    expect(page.get_by_text("1 rejected row(s) were skipped")).to_be_visible()
    shot("02-summary")
    rows = app_server.query("SELECT data FROM tasks WHERE project_id = ? ORDER BY id", (project_id,))
    assert len(rows) == before + 2
    assert [r["data"] for r in rows[-2:]] == [
        '{"review_body": "Loved it", "stars": "5", "text": "Loved it"}',
        '{"review_body": "Not for me", "stars": "2", "text": "Not for me"}',
    ]
