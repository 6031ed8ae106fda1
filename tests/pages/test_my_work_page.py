"""The My work page through AppTest: an annotator sees their own figures (and no one else's), a manager picks
an annotator of their projects."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from streamlit.testing.v1 import AppTest

from views.state import CURRENT_PROJECT_KEY, CURRENT_TASK_KEY

from tests.pages.test_app_shell import _project_id, _query, _signed_in, _user_id, data_dir, menus, seeded_demo_db  # noqa: F401

PROJECT = "Product review sentiment"
NA = "—"


def my_work_page(folder: Path, username: str) -> AppTest:
    at = _signed_in(folder, username)
    at.switch_page("views/my_work.py").run()
    assert not at.exception, at.exception
    return at


def table_with(at: AppTest, column: str):  # type: ignore[no-untyped-def]
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def counted(folder: Path, username: str, title: str) -> int:
    """What the Quality page counts: submitted, not skipped, imported ground truth left out."""
    return int(_query(folder, """
        SELECT count(*) AS n FROM annotations a JOIN projects p ON p.id = a.project_id
        WHERE a.completed_by_id = ? AND p.title = ? AND NOT a.was_cancelled
          AND NOT (a.ground_truth AND EXISTS (SELECT 1 FROM ground_truth g WHERE g.task_id = a.task_id
                                              AND g.source = 'import'))""",
                      (_user_id(folder, username), title))[0]["n"])


def test_an_annotator_sees_their_own_progress_accuracy_and_trend(data_dir: Path, menus: list[list[str]]) -> None:
    at = my_work_page(data_dir, "annotator2")
    assert "My work" in menus[-1]
    assert at.title[0].value == "My work"
    assert all(s.label != "Annotator" for s in at.selectbox), "an annotator has nobody else to pick"
    progress = table_with(at, "left").set_index("project")
    assert progress.loc[PROJECT, "annotations"] == counted(data_dir, "annotator2", PROJECT)
    assert len(progress) == 4  # the four demo projects
    assert "None" not in progress.to_numpy().astype(str)
    accuracy = table_with(at, "measure").set_index("project")
    assert accuracy.loc[PROJECT, "measure"] == "accuracy" and accuracy.loc[PROJECT, "value"].endswith("%")
    # The transcription project has no gold task: "—", and the caption says why.
    assert accuracy.loc["Support call transcription", "value"] == NA
    assert any("none of the tasks labeled here has a ground truth yet" in c.value for c in at.caption)
    assert "None" not in accuracy.to_numpy().astype(str)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 3, "annotations, times and accuracy per week"
    for chart in charts:
        layout = chart["layout"]
        assert layout["xaxis"]["title"]["text"] == "week (starting Monday, UTC)"
        assert layout["yaxis"]["title"]["text"] in {"annotations", "median time per annotation (s)",
                                                    "score on gold tasks"}
    times = {trace["name"] for trace in charts[1]["data"]}
    assert times == {"lead time", "active time"}, "the demo records active time"


def test_an_annotator_with_a_review_decision_sees_it_and_can_open_the_task(data_dir: Path, menus: list[list[str]]) -> None:
    user_id, reviewer = _user_id(data_dir, "annotator1"), _user_id(data_dir, "reviewer")
    row = _query(data_dir, "SELECT id, task_id, project_id FROM annotations WHERE completed_by_id = ? AND NOT was_cancelled "
                 "ORDER BY id LIMIT 1", (user_id,))[0]
    conn = sqlite3.connect(data_dir / "quorum.db")
    conn.execute("INSERT INTO reviews (task_id, annotation_id, reviewer_id, verdict, comment, created_at) "
                 "VALUES (?, ?, ?, 'returned', 'Look at the **last** sentence', '2026-11-27 09:00:00')",
                 (row["task_id"], row["id"], reviewer))
    conn.commit()
    conn.close()
    at = my_work_page(data_dir, "annotator1")
    said = [m.value for m in at.markdown if f"Task {row['task_id']}" in m.value]
    assert len(said) == 1 and "returned to you to correct" in said[0]
    assert r"\*\*last\*\*" in said[0], "the reviewer's comment is escaped, not rendered as markdown"
    [open_button] = [b for b in at.button if b.label == "Open"]
    open_button.click().run()
    assert not at.exception, at.exception
    assert at.session_state[CURRENT_TASK_KEY] == row["task_id"]
    assert at.session_state[CURRENT_PROJECT_KEY] == row["project_id"]


def test_a_manager_picks_an_annotator_of_their_projects(data_dir: Path, menus: list[list[str]]) -> None:
    at = my_work_page(data_dir, "manager")
    assert "My work" in menus[-1]
    person = at.selectbox(key="my_work_person")
    assert person.options[:4] == ["Ana Annotator", "Ben Annotator", "Chloe Annotator", "Dev Annotator"]
    person.set_value(_user_id(data_dir, "annotator3")).run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader if s.value.startswith("Work of")] == ["Work of Chloe Annotator"]
    progress = table_with(at, "left").set_index("project")
    assert progress.loc[PROJECT, "annotations"] == counted(data_dir, "annotator3", PROJECT)
    # A manager looks; the Label page is the annotator's: no "Open" buttons for someone else's tasks.
    assert not [b for b in at.button if b.label == "Open"]


def test_a_reviewer_has_no_my_work_page(data_dir: Path, menus: list[list[str]]) -> None:
    _signed_in(data_dir, "reviewer")
    assert "My work" not in menus[-1]


def test_opening_a_task_drops_the_same_label_page_state_the_label_page_drops() -> None:
    """views/my_work.py names the Label page's per-task session keys (a page script cannot be imported): each
    must still be one views/label.py's forget_task drops, or an opened task would inherit the last one's timers."""
    from views.state import PENDING_SUBMIT_KEY

    label_page = (Path(__file__).resolve().parents[2] / "views" / "label.py").read_text(encoding="utf-8")
    my_work_page_text = (Path(__file__).resolve().parents[2] / "views" / "my_work.py").read_text(encoding="utf-8")
    for key in ("QUORUM_LABEL_LAST_EVENT", "QUORUM_LABEL_ACTIVE_S", "QUORUM_LABEL_SAVED_RESULT",
                "QUORUM_LABEL_ALL_IN_BROWSER"):
        assert f'"{key}"' in label_page and f'"{key}"' in my_work_page_text, key
    assert "PENDING_SUBMIT_KEY" in my_work_page_text and PENDING_SUBMIT_KEY
