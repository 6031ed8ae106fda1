"""The Quality page's "Act on it" section (views/widgets/annotator_actions.py) through AppTest: a manager pauses
an annotator and that annotator's Label page says so instead of handing out a task; the discard asks with the
dry-run count; the weight is set and re-scored. Each action waits for its confirmation."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

from views.state import CURRENT_PROJECT_KEY

from tests.pages.test_analytics_page import PROJECT, quality_page
from tests.pages.test_app_shell import _project_id, _query, _signed_in, _user_id, data_dir, seeded_demo_db  # noqa: F401

def choose(at: AppTest, person: int) -> AppTest:
    at.selectbox(key="analytics_person").set_value(person).run()
    assert not at.exception, at.exception
    return at


def confirm_and_press(at: AppTest, key: str, tick: str) -> AppTest:
    assert at.button(key=key).disabled, f"{key} is enabled before its confirmation"
    at.checkbox(key=f"{key}_confirm_{tick}").check().run()
    assert not at.exception, at.exception
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def label_page(folder: Path, username: str, project_id: int) -> AppTest:
    at = _signed_in(folder, username)
    at.session_state[CURRENT_PROJECT_KEY] = project_id
    at.switch_page("views/label.py").run()
    assert not at.exception, at.exception
    return at


def test_a_paused_annotator_sees_why_on_the_label_page_instead_of_a_task(data_dir: Path) -> None:
    project_id, ana = _project_id(data_dir, PROJECT), _user_id(data_dir, "annotator1")
    at = choose(quality_page(data_dir), ana)
    confirm_and_press(at, "analytics_pause", str(ana))
    assert any("is paused in this project" in s.value for s in at.success), [s.value for s in at.success]
    assert at.selectbox(key="analytics_person").value is None  # done: the next action starts from nobody
    table = next(d.value for d in at.dataframe if "standing" in d.value.columns).set_index("annotator")
    assert table.loc["Ana Annotator", "standing"].startswith("paused since ")
    assert _query(data_dir, "SELECT paused_at FROM memberships WHERE project_id = ? AND user_id = ? "
                  "AND role = 'annotator'", (project_id, ana))[0]["paused_at"]

    home = _signed_in(data_dir, "annotator1")  # My projects says so, and does not offer to start labeling there
    assert any("paused your labeling here" in c.value for c in home.caption), [c.value for c in home.caption]
    assert home.button(key=f"start_{project_id}").disabled
    labeler = label_page(data_dir, "annotator1", project_id)
    paused = [w.value for w in labeler.warning if "paused by a manager" in w.value]
    assert paused and PROJECT in paused[0], [w.value for w in labeler.warning]
    assert not [s for s in labeler.success if "Nothing left" in s.value]
    assert not _query(data_dir, "SELECT id FROM task_locks WHERE user_id = ?", (ana,))  # no task handed out

    at = choose(at, ana)  # the manager resumes her: the Label page hands out a task again
    confirm_and_press(at, "analytics_resume", str(ana))
    labeler = label_page(data_dir, "annotator1", project_id)
    assert not [w for w in labeler.warning if "paused" in w.value]
    assert _query(data_dir, "SELECT id FROM task_locks WHERE user_id = ?", (ana,))
    actions = [r["action"] for r in _query(data_dir, "SELECT action FROM audit_events ORDER BY id")]
    assert actions == ["annotator.paused", "annotator.resumed"]


def test_the_discard_asks_with_the_dry_run_count_and_requeues(data_dir: Path) -> None:
    project_id, ben = _project_id(data_dir, PROJECT), _user_id(data_dir, "annotator2")
    first = _query(data_dir, "SELECT min(date(created_at)) AS day FROM annotations WHERE project_id = ? AND "
                   "completed_by_id = ?", (project_id, ben))[0]["day"]
    day = dt.date.fromisoformat(first)
    expected = _query(data_dir, "SELECT count(*) AS n, count(DISTINCT task_id) AS tasks FROM annotations WHERE "
                      "project_id = ? AND completed_by_id = ? AND date(created_at) = ? AND NOT was_cancelled",
                      (project_id, ben, first))[0]
    at = choose(quality_page(data_dir), ben)
    at.date_input(key=f"analytics_discard_range_{ben}").set_value((day, day)).run()
    assert not at.exception, at.exception
    tick = f"{ben}_{day:%Y%m%d}_{day:%Y%m%d}"
    box = at.checkbox(key=f"analytics_discard_confirm_{tick}")
    words = f"{expected['n']} annotation{'s' if expected['n'] != 1 else ''}"
    assert words in box.label and f"on {expected['tasks']} task" in box.label, box.label
    confirm_and_press(at, "analytics_discard", tick)
    assert any("Discarded" in s.value for s in at.success), [s.value for s in at.success]
    assert not _query(data_dir, "SELECT id FROM annotations WHERE project_id = ? AND completed_by_id = ? AND "
                      "date(created_at) = ?", (project_id, ben, first))
    (event,) = _query(data_dir, "SELECT action FROM audit_events")
    assert event["action"] == "annotator.annotations_discarded"


def test_the_weight_is_set_with_a_confirmation_then_their_tasks_are_rescored(data_dir: Path) -> None:
    project_id, ben = _project_id(data_dir, PROJECT), _user_id(data_dir, "annotator2")
    at = choose(quality_page(data_dir), ben)
    assert not [b for b in at.button if b.key == "analytics_weight_set"]  # nothing to set while unchanged
    at.slider(key=f"analytics_weight_{ben}").set_value(0.5).run()
    confirm_and_press(at, "analytics_weight_set", str(ben))
    assert any("now count 0.5" in s.value for s in at.success), [s.value for s in at.success]
    assert _query(data_dir, "SELECT consensus_weight FROM memberships WHERE project_id = ? AND user_id = ? AND "
                  "role = 'annotator'", (project_id, ben))[0]["consensus_weight"] == 0.5
    at = choose(at, ben)
    confirm_and_press(at, "analytics_rescore", str(ben))
    assert any("scored again" in s.value for s in at.success), [s.value for s in at.success]
    actions = [r["action"] for r in _query(data_dir, "SELECT action FROM audit_events ORDER BY id")]
    assert actions == ["annotator.consensus_weight_changed", "annotator.tasks_rescored"]
