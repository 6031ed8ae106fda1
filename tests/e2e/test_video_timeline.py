"""A stretch of a video dragged across the timeline under the player is stored as a TimelineLabels frame
range (Label Studio's frames, counted from 1 at the Video tag's frameRate)."""
from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    act,
    button,
    drag_across_chart,
    open_task_id,
    primary,
    run_cli,
    sign_in,
    start_labeling,
    submit_and_read_result,
    submitted_count,
)
from tests.pages.test_video_timeline import mp4_bytes

PROJECT = "Street clips"
CONFIG = """<View>
  <Video name="video" value="$video" frameRate="25"/>
  <TimelineLabels name="events" toName="video">
    <Label value="Person enters" background="#4dabf7"/><Label value="Vehicle passes" background="#37b24d"/>
  </TimelineLabels>
</View>"""

# Where a time (seconds) lies on the page: plotly's own axis conversion on the timeline's x axis.
X_OF_SECONDS_JS = """(value) => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.d2p(value), y: box.top + ya._offset + ya._length / 2};
}"""


@pytest.fixture(scope="module")
def clips_project(app_server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("clips")
    uploads = app_server.data_dir / "media" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "street.mp4").write_bytes(mp4_bytes(10.0))  # a 10 s movie header: the timeline's length
    (folder / "config.xml").write_text(CONFIG)
    (folder / "tasks.json").write_text(json.dumps([{"data": {"video": "/data/upload/street.mp4"}}]))
    run_cli(app_server, "project", "create", PROJECT, "--config", str(folder / "config.xml"))
    run_cli(app_server, "import", PROJECT, str(folder / "tasks.json"))
    run_cli(app_server, "project", "add-member", PROJECT, "newcomer", "annotator")
    return PROJECT


@pytest.mark.e2e
def test_a_stretch_dragged_on_the_timeline_is_stored_as_a_frame_range(app_server, page, shot, clips_project):
    user = "newcomer"
    sign_in(page, app_server, user, "newcomer-demo")
    start_labeling(page, clips_project)
    user_id, project_id = app_server.user_id(user), app_server.project_id(clips_project)
    task_id = open_task_id(app_server, user_id, project_id)
    expect(page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot")).to_be_visible()
    before = submitted_count(page)
    shot("01-task")

    vehicle = button(page, "Vehicle passes")
    act(page, lambda: vehicle.click())
    expect(primary(vehicle)).to_be_visible()
    act(page, lambda: drag_across_chart(page, X_OF_SECONDS_JS, 2.0, 4.0))
    expect(page.get_by_text("Regions (1)")).to_be_visible()
    shot("02-dragged")

    stored = submit_and_read_result(page, app_server, shot, user_id=user_id, task_id=task_id, before=before,
                                    step="03-submitted")
    (item,) = stored
    assert (item["type"], item["from_name"], item["to_name"]) == ("timelinelabels", "events", "video")
    assert item["value"]["timelinelabels"] == ["Vehicle passes"]
    (frames,) = item["value"]["ranges"]
    assert abs(frames["start"] - 51) <= 1 and abs(frames["end"] - 101) <= 1, frames  # 2 s and 4 s at 25 fps
