"""Time ranges on a time series: picked from the series' own times, stored as Label Studio ranges."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script() -> None:
    import streamlit as st

    from core.config import auto_hotkeys, parse_config
    from core.media import MediaRef
    from core.templates import get_template, sample_task
    from pages.widgets.base import WidgetContext
    from pages.widgets.interface import render_interface

    xml = get_template("activity-segmentation").xml
    cfg = parse_config(xml)
    ctx = WidgetContext(
        cfg=cfg, data=sample_task(xml)["data"], key_prefix="t1", hotkeys=auto_hotkeys(cfg),
        resolve_media=lambda url: MediaRef(),
    )
    st.session_state["result"] = render_interface(st.session_state.get("start", []), ctx)


def test_an_added_range_is_a_timeserieslabels_result_with_times_from_the_series():
    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception, at.exception
    at.selectbox(key="t1_motion_activity_label").set_value("Running")
    at.selectbox(key="t1_motion_activity_start").set_value("2024-05-01 08:00:50")
    at.selectbox(key="t1_motion_activity_end").set_value("2024-05-01 08:01:00")
    at.button(key="t1_motion_activity_add").click().run()
    assert not at.exception, at.exception
    (item,) = at.session_state["result"]
    assert item["from_name"] == "activity" and item["to_name"] == "motion" and item["type"] == "timeserieslabels"
    assert item["value"] == {
        "start": "2024-05-01 08:00:50", "end": "2024-05-01 08:01:00", "instant": False, "timeserieslabels": ["Running"],
    }
    at.button(key="t1_motion_ts_remove_0").click().run()
    assert at.session_state["result"] == []
