"""The data browser page through AppTest on the demo database: the table, a filter, a bulk delete, and a
menu that has no such page for people who manage nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

# The demo database seeded once for the page tests, and the signed-in app (tests/pages/test_app_shell.py).
from tests.pages.test_app_shell import (  # noqa: F401 - fixtures
    PROJECT,
    _project_id,
    _query,
    _signed_in,
    data_dir,
    seeded_demo_db,
)


def browser_of(folder: Path, username: str) -> AppTest:
    at = _signed_in(folder, username)
    at.switch_page("views/browser.py").run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, key: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.key == key)


def test_the_manager_sees_the_tasks_of_the_project(data_dir: Path) -> None:
    at = browser_of(data_dir, "manager")
    assert at.title[0].value == "Data"
    picker = at.selectbox(key="browser_project")
    project_id = _project_id(data_dir, picker.format_func(picker.value))
    n_tasks = _query(data_dir, "SELECT count(*) AS n FROM tasks WHERE project_id = ?", (project_id,))[0]["n"]
    table = at.dataframe[0].value
    assert len(table) == min(n_tasks, 50)
    assert list(table["id"])[:3] == sorted(table["id"])[:3]
    assert set(table.columns) >= {"id", "data", "state", "annotations", "agreement", "annotators", "ground truth"}


def test_a_filter_narrows_the_table_and_a_confirmed_delete_removes_the_chosen_task(data_dir: Path) -> None:
    at = browser_of(data_dir, "manager")
    first = at.dataframe[0].value.iloc[0]
    at.text_input(key="browser_text").input(first["data"].split(" · ")[-1][:25]).run()
    narrowed = at.dataframe[0].value
    assert 1 <= len(narrowed) < 50 and first["id"] in set(narrowed["id"])
    next(c for c in at.checkbox if (c.key or "").startswith("browser_select_page_")).check().run()
    button(at, "browser_delete").click().run()
    assert not at.exception, at.exception
    assert "cannot be undone" in at.warning[0].value
    n_before = _query(data_dir, "SELECT count(*) AS n FROM tasks")[0]["n"]
    button(at, "browser_delete_confirm").click().run()
    assert not at.exception, at.exception
    assert _query(data_dir, "SELECT count(*) AS n FROM tasks")[0]["n"] == n_before - len(narrowed)
    assert not _query(data_dir, "SELECT id FROM tasks WHERE id = ?", (int(first["id"]),))
    assert _query(data_dir, "SELECT count(*) AS n FROM audit_events WHERE action = 'tasks.delete'")[0]["n"] == 1


def test_opening_a_task_shows_its_annotations_side_by_side(data_dir: Path) -> None:
    at = browser_of(data_dir, "manager")
    table = at.dataframe[0].value
    annotated = table[table["annotators"] != ""].iloc[0]
    at.selectbox(key="browser_open").set_value(int(annotated["id"])).run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.startswith(f"Task {annotated['id']} ·")
    truth_buttons = [b for b in at.button if (b.key or "").startswith("browser_truth_")]
    is_truth = _query(data_dir, "SELECT count(*) AS n FROM annotations WHERE task_id = ? AND ground_truth AND NOT "
                      "was_cancelled", (int(annotated["id"]),))[0]["n"]
    # every answer offers itself as the ground truth, except one that is the ground truth already
    assert len(truth_buttons) == len(annotated["annotators"].split(", ")) - is_truth
    truth_buttons[0].click().run()
    assert not at.exception, at.exception
    truths = _query(data_dir, "SELECT source FROM ground_truth WHERE task_id = ?", (int(annotated["id"]),))
    assert [t["source"] for t in truths] == ["manager"]
    assert at.dataframe[0].value.set_index("id").loc[annotated["id"], "ground truth"]


@pytest.mark.parametrize("username", ["annotator1", "reviewer"])
def test_people_who_manage_no_project_have_no_data_page(data_dir: Path, username: str) -> None:
    at = _signed_in(data_dir, username)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/browser.py")


def test_an_image_task_nobody_annotated_still_shows_its_image(data_dir: Path) -> None:
    at = browser_of(data_dir, "manager")
    image_project = _project_id(data_dir, "Objects in photos")
    at.selectbox(key="browser_project").set_value(image_project).run()
    table = at.dataframe[0].value
    bare = table[table["annotators"] == ""]
    assert len(bare), "the demo image project has tasks nobody annotated"
    at.selectbox(key="browser_open").set_value(int(bare.iloc[0]["id"])).run()
    assert not at.exception, at.exception
    assert any("Nobody has annotated this task yet." in c.value for c in at.caption)
    assert at.get("image"), "the task's image is drawn even without an annotation column"


def test_choosing_tasks_that_agree_little_warns_before_their_consensus_becomes_ground_truth(data_dir: Path) -> None:
    at = browser_of(data_dir, "manager")
    table = at.dataframe[0].value
    weak = table[table["agreement"].notna() & (table["agreement"] < 0.8)]
    assert len(weak), "the demo has tasks below the 80 % threshold"
    next(c for c in at.checkbox if (c.key or "").startswith("browser_select_page_")).check().run()
    assert not at.exception, at.exception
    warning = next(c.value for c in at.caption if "agree less than the project's threshold (80%)" in c.value)
    assert str(int(weak.iloc[0]["id"])) in warning


def test_clicking_one_row_of_the_table_opens_that_task(data_dir: Path) -> None:
    at = browser_of(data_dir, "manager")
    table = at.dataframe[0].value
    key = next(d.key for d in at.dataframe if (d.key or "").startswith("browser_table_"))
    at.session_state[key] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.startswith(f"Task {table.iloc[1]['id']} ·")
