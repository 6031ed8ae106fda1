"""The project settings page through AppTest: a manager saves settings (a bad value is refused with its
field named), saves a config change after confirming its impact; a non-manager cannot open the page."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from views.state import CURRENT_PROJECT_KEY
from tests.pages.test_app_shell import (  # noqa: F401 - fixtures shared with the app shell tests
    PROJECT,
    _project_id,
    _query,
    _signed_in,
    data_dir,
    menus,
    seeded_demo_db,
)


def open_as_manager(folder: Path, script: str) -> tuple[AppTest, int]:
    """The demo manager on ``script`` (a page path) with the sentiment project picked: (app, project id)."""
    at = _signed_in(folder, "manager")
    project_id = _project_id(folder, PROJECT)
    at.session_state[CURRENT_PROJECT_KEY] = project_id
    at.switch_page(script).run()
    assert not at.exception, at.exception
    return at, project_id


def settings_page(folder: Path) -> tuple[AppTest, int]:
    return open_as_manager(folder, "views/settings.py")


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def test_a_manager_sees_every_setting_of_the_project(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = settings_page(data_dir)
    assert at.title[0].value == "Settings"
    assert "Settings" in menus[-1]
    labels = {w.label for w in [*at.number_input, *at.selectbox, *at.checkbox, *at.text_input, *at.text_area]}
    assert {"Annotations per task", "Maximum annotations (escalation)", "Agreement threshold", "Escalation order",
            "Sampling (task order)", "Lock time-to-live (minutes)", "Honeypot share", "Repeat share (self-consistency)",
            "Show predictions", "Skipping allowed", "Title", "Description", "Instructions for labelers (markdown)",
            "Labeling config (XML)"} <= labels


def test_a_bad_value_shows_an_error_naming_it_and_saves_nothing(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = settings_page(data_dir)
    before = _query(data_dir, "SELECT overlap, maximum_annotations FROM projects WHERE id = ?", (project_id,))[0]
    at.number_input(key=f"settings_{project_id}_overlap").set_value(4)
    at.number_input(key=f"settings_{project_id}_maximum").set_value(2)
    button(at, "Save settings").click().run()
    assert not at.exception, at.exception
    assert any("maximum annotations" in e.value for e in at.error), [e.value for e in at.error]
    after = _query(data_dir, "SELECT overlap, maximum_annotations FROM projects WHERE id = ?", (project_id,))[0]
    assert tuple(after) == tuple(before)


def test_saving_writes_the_settings_and_reports_what_changed(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = settings_page(data_dir)
    at.number_input(key=f"settings_{project_id}_threshold").set_value(0.65)
    at.selectbox(key=f"settings_{project_id}_sampling").set_value("random")
    at.text_area(key=f"settings_{project_id}_instructions").input("# Read carefully\n<script>alert(1)</script>")
    button(at, "Save settings").click().run()
    assert not at.exception, at.exception
    row = _query(data_dir, "SELECT agreement_threshold, sampling, instructions FROM projects WHERE id = ?", (project_id,))[0]
    assert (row["agreement_threshold"], row["sampling"]) == (0.65, "random")
    assert row["instructions"].startswith("# Read carefully")
    # st.rerun() after saving: the next run shows the report once
    assert any("agreement threshold" in s.value for s in at.success), [s.value for s in at.success]
    assert any(m.value.startswith("# Read carefully") for m in at.markdown)  # the preview, as markdown only


def test_a_config_change_that_removes_a_used_label_needs_confirmation(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = settings_page(data_dir)
    xml = _query(data_dir, "SELECT config_xml FROM projects WHERE id = ?", (project_id,))[0]["config_xml"]
    removed = re.search(r'<Choice value="([^"]+)"[^>]*/>', xml)
    assert removed is not None
    at.text_area(key=f"settings_xml_{project_id}_1").input(xml.replace(removed.group(0), "")).run()
    assert not at.exception, at.exception
    assert any("removed from" in w.value and "annotation" in w.value for w in at.warning), [w.value for w in at.warning]
    assert button(at, "Save as version 2").disabled
    at.session_state["settings_tab"] = "Labeling config"  # the tab the manager is on
    at.checkbox(key=f"settings_xml_{project_id}_1_confirm").check().run()
    button(at, "Save as version 2").click().run()
    assert not at.exception, at.exception
    assert at.session_state["settings_tab"] == "Labeling config"  # the save's rerun keeps them there
    row = _query(data_dir, "SELECT config_version, config_xml FROM projects WHERE id = ?", (project_id,))[0]
    assert row["config_version"] == 2 and removed.group(0) not in row["config_xml"]
    assert len(_query(data_dir, "SELECT id FROM config_versions WHERE project_id = ?", (project_id,))) == 2


@pytest.mark.parametrize("username", ["annotator1", "reviewer"])
def test_a_non_manager_cannot_reach_the_settings_page(data_dir: Path, menus: list[list[str]], username: str) -> None:
    at = _signed_in(data_dir, username)
    assert "Settings" not in menus[-1]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/settings.py")


def test_the_config_preview_runs_on_one_of_the_projects_own_tasks_and_can_be_tried(
    data_dir: Path, menus: list[list[str]]
) -> None:
    at, project_id = settings_page(data_dir)
    first = _query(data_dir, "SELECT data FROM tasks WHERE project_id = ? ORDER BY id LIMIT 1", (project_id,))[0]
    text = json.loads(first["data"])["text"]
    assert any(c.value.startswith("Preview on one of the project's tasks") for c in at.caption)
    shown = " ".join(str(h.proto.body) for h in at.get("html"))  # Text is drawn as escaped HTML
    assert html.escape(text) in shown, text
    tried = [b for b in at.button if b.label == "Positive" and not b.disabled]
    assert tried, "the preview's choices can be pressed"
