"""Time ranges on a time series: dragged across the chart (the plotly box selection, injected as the
browser would send it) or picked from the series' own times; stored as Label Studio ranges."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

NUMERIC_XML = """<View>
  <TimeSeriesLabels name="events" toName="ts">
    <Label value="Peak" background="#ff0000"/><Label value="Dip" background="#0000ff"/>
  </TimeSeriesLabels>
  <TimeSeries name="ts" value="$ts" valueType="json" timeColumn="step">
    <Channel column="power" legend="Power" units="W"/>
  </TimeSeries>
  <Choices name="cause" toName="ts" perRegion="true"><Choice value="Load"/><Choice value="Fault"/></Choices>
</View>"""
NUMERIC_DATA = {"ts": {"step": [0, 1, 2, 3, 4, 5], "power": [1.0, 1.2, 5.5, 5.1, 0.4, 1.1]}}


def _script() -> None:
    import streamlit as st

    from core.config import auto_hotkeys, parse_config
    from core.media import MediaRef
    from core.templates import get_template, sample_task
    from views.widgets.base import WidgetContext
    from views.widgets.interface import render_interface

    xml = st.session_state.get("xml") or get_template("activity-segmentation").xml
    cfg = parse_config(xml)
    data = st.session_state.get("data") or sample_task(xml)["data"]
    ctx = WidgetContext(
        cfg=cfg, data=data, key_prefix="t1", hotkeys=auto_hotkeys(cfg),
        resolve_media=lambda url: MediaRef(),
    )
    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    st.session_state["result"] = render_interface(st.session_state.get("result", []), ctx)  # the page feeds back


def _app(**state: object) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _chart_key(at: AppTest, object_name: str) -> str:
    return f"t1_{object_name}_chart_{at.session_state[f't1_{object_name}_regions'].version}"


def _drag(at: AppTest, object_name: str, x0: object, x1: object) -> AppTest:
    """What the browser sends after a horizontal box drag from x0 to x1."""
    box = {"xref": "x", "yref": "y", "x": [x0, x1], "y": [0.0, 1.0]}
    at.session_state[_chart_key(at, object_name)] = {
        "selection": {"points": [], "point_indices": [], "box": [box], "lasso": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def _regions(at: AppTest) -> list[dict]:
    return [i for i in at.session_state["result"] if i["type"] == "timeserieslabels"]


def test_a_drag_makes_one_range_of_the_active_label_snapped_to_the_series_times() -> None:
    at = _app()
    at.button(key="t1_motion_target_activity_Running").click().run()
    _drag(at, "motion", "2024-05-01 08:00:15", "2024-05-01 08:00:45.5")
    (item,) = _regions(at)
    assert item["from_name"] == "activity" and item["to_name"] == "motion" and item["id"]
    assert item["value"] == {"start": "2024-05-01 08:00:20", "end": "2024-05-01 08:00:40", "instant": False,
                             "timeserieslabels": ["Running"]}
    runs = at.session_state["runs"]
    at.run()
    at.run()  # the chart's selection stays in session state: reruns must not add it again
    assert at.session_state["runs"] == runs + 2 and len(_regions(at)) == 1


def test_saved_ranges_are_drawn_as_bands_in_their_label_colour() -> None:
    at = _app()
    at.button(key="t1_motion_target_activity_Walking").click().run()
    _drag(at, "motion", "2024-05-01 08:00:05", "2024-05-01 08:00:25")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    bands = [s for s in spec["layout"].get("shapes", []) if s.get("type") == "rect"]
    assert bands and all("76, 175, 80" in s["fillcolor"] for s in bands)  # Walking is #4caf50


def test_numeric_times_snap_inside_the_drag_or_to_the_nearest_samples() -> None:
    at = _app(xml=NUMERIC_XML, data=NUMERIC_DATA)
    _drag(at, "ts", 1.6, 3.4)
    at.button(key="t1_ts_target_events_Dip").click().run()
    _drag(at, "ts", 4.1, 4.3)  # between two samples: both ends snap to the nearest one
    first, second = _regions(at)
    assert first["value"] == {"start": 2, "end": 3, "instant": False, "timeserieslabels": ["Peak"]}
    assert second["value"]["start"] == second["value"]["end"] == 4 and second["value"]["instant"] is True
    assert second["value"]["timeserieslabels"] == ["Dip"]


def test_a_dragged_range_takes_per_region_answers_and_is_deleted_from_the_list() -> None:
    at = _app(xml=NUMERIC_XML, data=NUMERIC_DATA)
    _drag(at, "ts", 0.5, 2.5)
    (region,) = _regions(at)
    # the new range is selected: its panel asks for the cause, with the Choices' own buttons
    next(b for b in at.button if b.key and b.key.startswith("t1_ts_pr_cause_") and b.key.endswith("_opt_Fault")).click().run()
    answers = [i for i in at.session_state["result"] if i["from_name"] == "cause"]
    assert answers and answers[0]["id"] == region["id"] and answers[0]["value"]["choices"] == ["Fault"]
    at.button(key=f"t1_ts_del_{region['id']}").click().run()
    assert at.session_state["result"] == []


def test_the_keyboard_path_adds_a_range_from_the_picked_times() -> None:
    at = _app()
    at.button(key="t1_motion_target_activity_Running").click().run()
    at.selectbox(key="t1_motion_start").set_value("2024-05-01 08:01:00")
    at.selectbox(key="t1_motion_end").set_value("2024-05-01 08:00:50")
    at.button(key="t1_motion_add").click().run()
    assert not at.exception, at.exception
    (item,) = _regions(at)
    assert item["value"] == {
        "start": "2024-05-01 08:00:50", "end": "2024-05-01 08:01:00", "instant": False, "timeserieslabels": ["Running"],
    }
