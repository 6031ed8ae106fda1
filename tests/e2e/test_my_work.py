"""An annotator labels two reviews, opens "My work" and sees them counted there, with the weekly charts."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import act, progress_caption, sign_in, start_labeling, wait_for_app_run

PROJECT = "Product review sentiment"
USER, PASSWORD = "newcomer", "newcomer-demo"
# What the Quality page (and My work) counts: submitted, not skipped, imported ground truth left out.
COUNTED = ("SELECT COUNT(*) AS n FROM annotations a WHERE completed_by_id = ? AND NOT was_cancelled AND NOT "
           "(ground_truth AND EXISTS (SELECT 1 FROM ground_truth g WHERE g.task_id = a.task_id AND g.source = 'import'))")


@pytest.mark.e2e
def test_an_annotator_opens_my_work_after_labeling_and_sees_their_count(app_server, page, shot):
    sign_in(page, app_server, USER, PASSWORD)
    start_labeling(page, PROJECT)
    for n, key in enumerate(["1", "3"], start=1):
        page.keyboard.press(key)
        act(page, lambda: page.keyboard.press("Control+Enter"))
        expect(progress_caption(page)).to_contain_text(f"You: {n} submitted")
        wait_for_app_run(page)
    done = app_server.query(COUNTED, (app_server.user_id(USER),))[0]["n"]
    assert done == 2

    act(page, lambda: page.get_by_test_id("stSidebarNav").get_by_role("link", name="My work").click())
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="My work", level=1)).to_be_visible()
    tasks_done = page.get_by_test_id("stMetric").filter(has_text="Tasks done")
    expect(tasks_done.get_by_test_id("stMetricValue")).to_have_text(str(done))
    expect(main.get_by_role("heading", name="Progress")).to_be_visible()
    expect(main.get_by_role("heading", name="Feedback from reviewers")).to_be_visible()
    expect(main.get_by_text("No reviewer has decided on your annotations yet.")).to_be_visible()
    # Per week: annotations and times; accuracy too if a honeypot (a gold task) came among the two.
    on_gold = app_server.query(COUNTED + " AND EXISTS (SELECT 1 FROM ground_truth g WHERE g.task_id = a.task_id)",
                               (app_server.user_id(USER),))[0]["n"]
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(3 if on_gold else 2)
    wait_for_app_run(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    shot("01-my-work")
    page.get_by_test_id("stPlotlyChart").last.scroll_into_view_if_needed()
    shot("02-weekly-trend")
