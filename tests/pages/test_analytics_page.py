"""The Quality page through AppTest: the demo manager sees the tables and charts of a demo project and acts
on an annotator's row; an annotator has no such page."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from views.widgets.heat_table import cell_colour

from tests.pages.test_app_shell import _project_id, _query, _signed_in, _user_id, data_dir, seeded_demo_db  # noqa: F401

PROJECT = "Product review sentiment"


def table_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    """The frame of the one dataframe showing ``column`` (AppTest does not expose dataframe keys)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def quality_page(folder: Path, username: str = "manager") -> AppTest:
    at = _signed_in(folder, username)
    at.switch_page("views/analytics.py").run()
    assert not at.exception, at.exception
    return at


def test_the_manager_sees_tables_and_charts_of_the_demo_project(data_dir: Path) -> None:
    at = quality_page(data_dir)
    assert at.title[0].value == "Quality"
    assert at.selectbox(key="analytics_project").format_func(at.selectbox(key="analytics_project").value) == PROJECT
    assert {m.label for m in at.metric} >= {"Annotations", "Annotators", "Tasks with ground truth"}
    annotators = table_with(at, "self_consistency")
    assert {"Ana Annotator", "Ben Annotator", "Chloe Annotator", "Dev Annotator"} <= set(annotators["annotator"])
    assert (annotators["annotations"] > 0).sum() == 4 and annotators["agreement"].notna().sum() == 4
    assert len(table_with(at, "n_gold")) >= 1  # the demo's gold task
    coefficients = table_with(at, "krippendorff_alpha")
    assert list(coefficients["control"]) == ["sentiment"] and coefficients["n_items"].iloc[0] > 0
    matrix = table_with(at, "Ana Annotator")  # the agreement matrix: annotators both ways
    assert {"Ana Annotator", "Ben Annotator"} <= set(matrix.index)
    assert all(" · n=" in v for v in matrix.to_numpy().ravel() if v), matrix  # each value with its shared tasks
    assert not at.get("plotly_chart"), "charts are drawn only when Activity is opened"
    assert at.selectbox(key="analytics_matrix").value == "Cohen's kappa: sentiment"
    at.selectbox(key="analytics_matrix").set_value("Mean pairwise agreement (all controls)").run()
    assert not at.exception, at.exception
    at.session_state["analytics_activity"] = True  # the manager opens Activity
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2, "annotations per day, lead times"


def test_each_annotator_has_one_colour_in_both_activity_charts(data_dir: Path) -> None:
    at = quality_page(data_dir)
    at.session_state["analytics_activity"] = True  # the manager opens Activity
    at.run()
    assert not at.exception, at.exception
    per_day, lead_times = (json.loads(chart.proto.spec) for chart in at.get("plotly_chart"))
    bars = {trace["name"]: trace["marker"]["color"] for trace in per_day["data"]}
    boxes = {trace["name"]: (trace["marker"]["color"], trace["line"]["color"]) for trace in lead_times["data"]}
    assert {"Ana Annotator", "Ben Annotator", "Chloe Annotator", "Dev Annotator"} <= set(bars) & set(boxes)
    for name, colour in bars.items():
        if name in boxes:
            assert boxes[name] == (colour, colour), (name, colour, boxes[name])
    assert len(set(bars.values())) == len(bars), "different annotators, different colours"


def test_the_agreement_colours_run_from_red_through_yellow_to_green() -> None:
    assert cell_colour(1.0, 0.0).startswith("background-color: rgb(26, 152, 80)")
    assert cell_colour(0.5, 0.0).startswith("background-color: rgb(255, 255, 191)")
    assert cell_colour(-1.0, -1.0).startswith("background-color: rgb(215, 48, 39)")
    assert cell_colour(0.0, -1.0).startswith("background-color: rgb(255, 255, 191)")  # kappa 0: chance
    assert cell_colour(float("nan"), 0.0) == ""


def confirm_and_press(at: AppTest, action_key: str, person: int) -> AppTest:
    """Tick the action's "Yes, ..." box for ``person`` and press the action's button."""
    at.checkbox(key=f"{action_key}_confirm_{person}").check().run()
    assert not at.exception, at.exception
    return at.button(key=action_key).click().run()


def test_the_manager_sends_an_annotators_work_to_review_and_removes_them(data_dir: Path) -> None:
    at = quality_page(data_dir)
    project_id, annotator = _project_id(data_dir, PROJECT), _user_id(data_dir, "annotator2")
    at.selectbox(key="analytics_person").set_value(annotator).run()
    confirm_and_press(at, "analytics_send_review", annotator)
    assert not at.exception, at.exception
    assert any("sent to the review queue" in s.value for s in at.success), [s.value for s in at.success]
    finished = _query(data_dir, "SELECT count(*) AS n FROM tasks t JOIN annotations a ON a.task_id = t.id "
                      "WHERE t.project_id = ? AND a.completed_by_id = ? AND t.state IN ('done', 'completed') "
                      "AND a.was_cancelled = 0 AND a.ground_truth = 0",  # gold answers are not their work
                      (project_id, annotator))[0]["n"]
    assert finished == 0
    assert at.selectbox(key="analytics_person").value is None  # done: the next action starts from nobody
    at.selectbox(key="analytics_person").set_value(annotator).run()
    confirm_and_press(at, "analytics_remove", annotator)
    assert not at.exception, at.exception
    assert not _query(data_dir, "SELECT id FROM memberships WHERE project_id = ? AND user_id = ? AND role = 'annotator'",
                      (project_id, annotator))
    actions = [r["action"] for r in _query(data_dir, "SELECT action FROM audit_events ORDER BY id")]
    assert actions == ["annotator.sent_to_review", "annotator.removed_from_project"]
    # The figures are recomputed in the background; the page shows the last ones until the new ones are ready
    # (its fragment reruns it then): wait for them as a person would, up to 20 s on a loaded machine.
    deadline = time.monotonic() + 20
    table = table_with(at, "self_consistency").set_index("annotator")
    while table.loc["Ben Annotator", "is_annotator"] and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        table = table_with(at, "self_consistency").set_index("annotator")
    assert not table.loc["Ben Annotator", "is_annotator"]


def test_nobody_is_preselected_and_nothing_happens_before_the_manager_confirms(data_dir: Path) -> None:
    """The selector starts empty (no action offered); with a person chosen, both actions stay disabled until
    their "Yes, ..." box naming the person and the project is ticked, and a tick is not carried to another
    person."""
    at = quality_page(data_dir)
    project_id = _project_id(data_dir, PROJECT)
    ben, ana = _user_id(data_dir, "annotator2"), _user_id(data_dir, "annotator1")
    assert at.selectbox(key="analytics_person").value is None
    assert not [b for b in at.button if b.key in ("analytics_remove", "analytics_send_review")]

    at.selectbox(key="analytics_person").set_value(ben).run()
    assert not at.exception, at.exception
    remove_box = at.checkbox(key=f"analytics_remove_confirm_{ben}")
    assert "Ben Annotator" in remove_box.label and "Product review sentiment" in remove_box.label.replace("\\", "")
    assert not remove_box.value
    assert at.button(key="analytics_remove").disabled and at.button(key="analytics_send_review").disabled
    assert _query(data_dir, "SELECT id FROM memberships WHERE project_id = ? AND user_id = ? AND role = 'annotator'",
                  (project_id, ben))
    assert not _query(data_dir, "SELECT id FROM audit_events WHERE action LIKE 'annotator.%'")

    at.checkbox(key=f"analytics_remove_confirm_{ben}").check().run()
    assert not at.button(key="analytics_remove").disabled
    assert at.button(key="analytics_send_review").disabled  # each action has its own confirmation
    at.selectbox(key="analytics_person").set_value(ana).run()
    assert not at.checkbox(key=f"analytics_remove_confirm_{ana}").value
    assert at.button(key="analytics_remove").disabled


def test_an_annotator_has_no_quality_page(data_dir: Path) -> None:
    at = _signed_in(data_dir, "annotator1")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/analytics.py")


def test_while_new_figures_are_computed_the_last_ones_are_shown_and_marked(data_dir: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A big project's figures take seconds: the page shows the last ones at once, says they are being
    refreshed, and shows the new ones when they are ready (core.analytics_cache)."""
    import sqlite3
    import threading

    from core import analytics_cache as cache_module

    at = quality_page(data_dir)
    assert not [c for c in at.caption if "Figures as of" in c.value]
    release, real = threading.Event(), cache_module.compute_project_analytics

    def slow(uow, *, project_id):  # type: ignore[no-untyped-def]
        release.wait(20)
        return real(uow, project_id=project_id)

    monkeypatch.setattr(cache_module, "compute_project_analytics", slow)
    ben = _user_id(data_dir, "annotator2")
    with sqlite3.connect(data_dir / "quorum.db") as conn:  # Ben leaves: the data moved
        conn.execute("DELETE FROM memberships WHERE user_id = ? AND role = 'annotator'", (ben,))
    at.run()
    assert not at.exception, at.exception
    assert [c for c in at.caption if "Figures as of" in c.value and "being computed" in c.value]
    assert table_with(at, "self_consistency").set_index("annotator").loc["Ben Annotator", "is_annotator"]
    release.set()
    for _ in range(50):  # the page's fragment polls every second; here the test reruns the page itself
        time.sleep(0.1)
        at.run()
        if not [c for c in at.caption if "Figures as of" in c.value]:
            break
    assert not at.exception, at.exception
    assert not [c for c in at.caption if "Figures as of" in c.value]
    assert not table_with(at, "self_consistency").set_index("annotator").loc["Ben Annotator", "is_annotator"]


def test_a_never_computed_project_shows_a_first_look_at_once_then_the_full_figures(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a big project nobody computed yet, the page does not wait for the whole computation: it shows
    volume and speed read without the answers, says the rest is coming, and fills in when it is ready."""
    import threading

    from core import analytics_cache as cache_module

    release, real = threading.Event(), cache_module.compute_project_analytics

    def slow(uow, *, project_id):  # type: ignore[no-untyped-def]
        release.wait(20)
        return real(uow, project_id=project_id)

    monkeypatch.setattr(cache_module, "compute_project_analytics", slow)
    at = quality_page(data_dir)
    assert [i for i in at.info if "A first look" in i.value]
    first = table_with(at, "self_consistency").set_index("annotator")
    assert first.loc["Ana Annotator", "annotations"] > 0 and first["accuracy"].isna().all()
    release.set()
    for _ in range(50):
        time.sleep(0.1)
        at.run()
        if not [i for i in at.info if "A first look" in i.value]:
            break
    assert not at.exception, at.exception
    full = table_with(at, "self_consistency").set_index("annotator")
    assert full.loc["Ana Annotator", "annotations"] == first.loc["Ana Annotator", "annotations"]
    assert full["agreement"].notna().sum() == 4


def test_the_manager_narrows_the_figures_and_sees_all_projects(data_dir: Path) -> None:
    at = quality_page(data_dir)
    whole = table_with(at, "self_consistency").set_index("annotator")
    at.selectbox(key="analytics_label").set_value("Negative").run()
    assert not at.exception, at.exception
    narrowed = table_with(at, "self_consistency").set_index("annotator")
    assert narrowed["annotations"].sum() < whole["annotations"].sum()
    assert [c for c in at.caption if "Narrowed to label Negative" in c.value]
    at.segmented_control(key="analytics_scope").set_value("All my projects").run()
    assert not at.exception, at.exception
    across = table_with(at, "projects").set_index("annotator")
    assert across.loc["Ana Annotator", "projects"] >= 2  # the demo has several projects Ana labels in
    assert across.loc["Ana Annotator", "annotations"] >= whole.loc["Ana Annotator", "annotations"]


def test_figures_that_cannot_be_known_show_a_dash_and_the_tables_download_as_csv(data_dir: Path) -> None:
    at = quality_page(data_dir)
    frame = next(d for d in at.dataframe if "self_consistency" in d.value.columns)
    sent = frame.proto.SerializeToString()  # the grid's data and its display values, as the browser gets them
    assert "—".encode() in sent  # e.g. no active time recorded for the imported annotations
    keys = {b.key for b in at.get("download_button")} if at.get("download_button") else set()
    assert {"analytics_annotators_csv", "analytics_accuracy_csv"} <= keys, keys


def test_the_project_and_per_label_sections_draw_when_opened(data_dir: Path) -> None:
    at = quality_page(data_dir)
    at.session_state["analytics_project_overview"] = True
    at.session_state["analytics_per_label"] = True
    at.session_state["analytics_trend"] = True
    at.run()
    assert not at.exception, at.exception
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = {(c["layout"].get("xaxis", {}).get("title", {}) or {}).get("text") for c in charts}
    assert "median lead time (s)" in titles  # the speed-vs-quality scatter
    assert not any("lead_time_s" in json.dumps(c["layout"]) for c in charts)  # axis titles in words
    assert any(t and "day" in t for t in titles if t), titles  # the burn-down over days
    burn_down = next(c for c in charts if c["layout"]["yaxis"]["title"]["text"] == "tasks remaining")
    assert burn_down["layout"]["xaxis"]["dtick"] % 86_400_000 == 0  # whole days: no date repeated under hours
    keys = {b.key for b in at.get("download_button")}
    assert {"analytics_weekly_csv"} <= keys and any(k.startswith("analytics_confusion") for k in keys), keys
    # One colour per person in every chart: the scatter's Ana is the weekly lines' Ana.
    colours: dict[str, set[str]] = {}
    for chart in charts:
        for trace in chart["data"]:
            colour = (trace.get("marker") or {}).get("color") or (trace.get("line") or {}).get("color")
            if trace.get("name") == "Ana Annotator" and isinstance(colour, str):
                colours.setdefault("Ana Annotator", set()).add(colour)
    assert len(colours.get("Ana Annotator", set())) == 1, colours


def test_an_actions_report_stays_through_the_pages_own_reruns(data_dir: Path) -> None:
    """The page reruns by itself when new figures arrive; the report of what an action did must not vanish
    with that rerun (it did after about a second)."""
    at = quality_page(data_dir)
    annotator = _user_id(data_dir, "annotator2")
    at.selectbox(key="analytics_person").set_value(annotator).run()
    confirm_and_press(at, "analytics_send_review", annotator)
    for _ in range(2):  # e.g. refresh_when_ready's rerun once the figures moved
        at.run()
        assert any("sent to the review queue" in s.value for s in at.success), [s.value for s in at.success]


def test_the_annotator_csv_has_the_tables_titles_and_rounded_numbers() -> None:
    import pandas as pd
    import streamlit as st

    from views.widgets.annotator_charts import csv_bytes

    frame = pd.DataFrame({"annotator": ["Ana"], "user_id": [3], "lead_median_s": [23.615000000000002],
                          "reviewed": [2]})
    config = {"annotator": st.column_config.TextColumn("Annotator"), "user_id": None,
              "lead_median_s": st.column_config.NumberColumn("Lead time, median"), "reviewed": "Reviewed"}
    assert csv_bytes(frame, config).decode().splitlines() == ['Annotator,"Lead time, median",Reviewed',
                                                               "Ana,23.615,2"]
