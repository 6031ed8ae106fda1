"""A range dragged across a time series chart is stored with the submitted annotation, in the series'
own time values; a conditional question opens only for the answer it names (visibleWhen)."""
from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    act,
    button,
    choice,
    chosen,
    drag_across_chart,
    open_task_id,
    primary,
    run_cli,
    sign_in,
    start_labeling,
    submit_and_read_result,
    submitted_count,
)

PROJECT = "Sensor activities"
CONFIG = """<View>
  <Header value="Drag across the chart to mark an activity."/>
  <TimeSeriesLabels name="activity" toName="motion">
    <Label value="Resting" background="#9e9e9e"/>
    <Label value="Running" background="#f44336"/>
  </TimeSeriesLabels>
  <TimeSeries name="motion" value="$motion" valueType="json" timeColumn="t" timeFormat="%Y-%m-%d %H:%M:%S">
    <Channel column="acc_mag" legend="Acceleration" units="m/s²" strokeColor="#1f77b4"/>
  </TimeSeries>
  <Choices name="usable" toName="motion" required="true"><Choice value="Usable"/><Choice value="Broken"/></Choices>
  <View visibleWhen="choice-selected" whenTagName="usable" whenChoiceValue="Broken">
    <Choices name="why" toName="motion" required="true"><Choice value="Gap"/><Choice value="Noise"/></Choices>
  </View>
</View>"""
TIMES = [f"2024-05-01 08:0{m}:{s}0" for m in (0, 1) for s in range(6)]
TASK = {"motion": {"t": TIMES, "acc_mag": [0.1, 0.1, 1.3, 1.4, 1.4, 3.9, 4.1, 0.2, 0.1, 0.1, 0.2, 0.1]}}

# Where a time value lies on the page: plotly's own axis conversion (d2p) on the chart's first x axis.
X_OF_TIME_JS = """(value) => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.d2p(value), y: box.top + ya._offset + ya._length / 2};
}"""


@pytest.fixture(scope="module")
def sensor_project(app_server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("sensor")
    (folder / "config.xml").write_text(CONFIG)
    (folder / "tasks.json").write_text(json.dumps([{"data": TASK}]))
    run_cli(app_server, "project", "create", PROJECT, "--config", str(folder / "config.xml"))
    run_cli(app_server, "import", PROJECT, str(folder / "tasks.json"))
    run_cli(app_server, "project", "add-member", PROJECT, "newcomer", "annotator")
    return PROJECT


@pytest.mark.e2e
def test_a_range_dragged_across_the_chart_is_stored_in_the_series_times(app_server, page, shot, sensor_project):
    user = "newcomer"
    sign_in(page, app_server, user, "newcomer-demo")
    start_labeling(page, sensor_project)
    user_id, project_id = app_server.user_id(user), app_server.project_id(sensor_project)
    task_id = open_task_id(app_server, user_id, project_id)
    chart = page.get_by_test_id("stPlotlyChart")
    expect(chart.locator(".js-plotly-plot")).to_be_visible()
    before = submitted_count(page)
    shot("01-task")

    running = button(page, "Running")
    act(page, lambda: running.click())
    expect(primary(running)).to_be_visible()
    act(page, lambda: drag_across_chart(page, X_OF_TIME_JS, "2024-05-01 08:00:15", "2024-05-01 08:00:45"))
    expect(page.get_by_text("Regions (1)")).to_be_visible()
    expect(page.get_by_text("2024-05-01 08:00:20 → 2024-05-01 08:00:40")).to_be_visible()
    expect(chart.locator(".shapelayer path, .layer-below .shapelayer path").first).to_be_attached()
    shot("02-dragged")

    # visibleWhen: the follow-up question opens for "Broken" only, and closes again with its answer
    # ("usable" is read by a condition, so its press reruns the page; "why" is answered in the browser.)
    expect(choice(page, "Gap")).to_have_count(0)
    act(page, lambda: choice(page, "Broken").click())
    expect(choice(page, "Gap")).to_be_visible()
    choice(page, "Noise").click()
    expect(chosen(page, "Noise")).to_be_visible()
    shot("03-follow-up-open")
    act(page, lambda: choice(page, "Usable").click())
    expect(choice(page, "Gap")).to_have_count(0)
    shot("04-answered")

    stored = submit_and_read_result(page, app_server, shot, user_id=user_id, task_id=task_id, before=before,
                                    step="05-submitted")
    regions = [item for item in stored if item["type"] == "timeserieslabels"]
    assert len(regions) == 1, stored
    assert regions[0]["to_name"] == "motion" and regions[0]["from_name"] == "activity"
    assert regions[0]["value"] == {"start": "2024-05-01 08:00:20", "end": "2024-05-01 08:00:40",
                                   "instant": False, "timeserieslabels": ["Running"]}
    answers = {item["from_name"]: item["value"] for item in stored if item["type"] == "choices"}
    assert answers == {"usable": {"choices": ["Usable"]}}  # "why" was hidden again: not submitted
