"""The review queue section (views/widgets/review_queue.py) through AppTest on a copy of the demo database:
the reviewer sees the counts and the queue, filters it, opens a row or the next task (taking its review
lock); the Settings page saves the review settings; the Quality page shows the review statistics; the
labeling page offers "I'm not sure"."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.settings import load_settings
from storage.models import Task
from views.state import PENDING_SUBMIT_KEY
from tests.pages.test_app_shell import (  # noqa: F401 - fixtures shared with the app shell tests
    PROJECT,
    _project_id,
    _query,
    _signed_in,
    _user_id,
    data_dir,
    menus,
    seeded_demo_db,
)
from tests.pages.test_settings_page import button, open_as_manager

TIMEOUT_S = 120


def _queue_script() -> None:
    import streamlit as st

    from core.projects import get_project
    from core.users import get_user
    from views.services import uow_factory
    from views.widgets.review_queue import show_review_queue

    make_uow = uow_factory()
    with make_uow() as uow:
        user = get_user(uow, st.session_state["test_user_id"])
        project = get_project(uow, user, st.session_state["test_project_id"])
    chosen = show_review_queue(make_uow, user, project, page_size=2)
    if chosen is not None:
        st.session_state["chosen"] = chosen


def _to_review(folder: Path, project_id: int, n: int) -> list[int]:
    """Put the project's first ``n`` tasks in review (varied reasons); their ids."""
    ids = [int(r["id"]) for r in _query(folder, "SELECT id FROM tasks WHERE project_id = ? ORDER BY id LIMIT ?",
                                         (project_id, n))]
    with make_uow_factory(load_settings())() as uow:
        for i, task_id in enumerate(ids):
            uow.session.execute(update(Task).where(Task.id == task_id).values(
                state="review", review_reason=("flagged" if i == 0 else "disagreement")))
        uow.commit()
    return ids


def queue_app(folder: Path, username: str = "reviewer") -> tuple[AppTest, int]:
    project_id = _project_id(folder, PROJECT)
    at = AppTest.from_function(_queue_script, default_timeout=TIMEOUT_S)
    at.session_state["test_user_id"] = _user_id(folder, username)
    at.session_state["test_project_id"] = project_id
    at.run()
    assert not at.exception, at.exception
    return at, project_id


def test_the_reviewer_sees_counts_filters_pages_and_opens_tasks(data_dir: Path) -> None:
    project_id = _project_id(data_dir, PROJECT)
    ids = _to_review(data_dir, project_id, 3)
    at, _ = queue_app(data_dir)
    labels = {m.label for m in at.metric}
    assert {"Waiting for review", "Being labeled", "Done"} <= labels
    assert {b.label for b in at.button} >= {"Open the next task", "Open", "Next page"}
    assert {s.label for s in at.selectbox} >= {"Label", "Annotator", "Why it waits"}
    assert at.slider(key=f"review_queue_{project_id}_band").value == (0.0, 1.0)
    opens = [b for b in at.button if b.label == "Open"]
    assert len(opens) == 2  # page size 2
    at.button(key=f"review_queue_{project_id}_forward").click().run()
    assert not at.exception, at.exception
    assert len([b for b in at.button if b.label == "Open"]) >= 1
    # the reason filter narrows to the flagged task; opening it takes its review lock
    at.selectbox(key=f"review_queue_{project_id}_reason").set_value("flagged").run()
    assert not at.exception, at.exception
    assert at.session_state[f"review_queue_{project_id}_offset"] == 0
    at.button(key=f"review_queue_{project_id}_open_{ids[0]}").click().run()
    assert not at.exception, at.exception
    assert at.session_state["chosen"] == ids[0]
    lock = _query(data_dir, "SELECT user_id, kind FROM task_locks WHERE task_id = ?", (ids[0],))
    assert [(r["user_id"], r["kind"]) for r in lock] == [(_user_id(data_dir, "reviewer"), "review")]


def test_open_the_next_task_hands_out_a_task_another_reviewer_does_not_hold(data_dir: Path) -> None:
    project_id = _project_id(data_dir, PROJECT)
    _to_review(data_dir, project_id, 2)
    first, _ = queue_app(data_dir)
    first.button(key=f"review_queue_{project_id}_next").click().run()
    assert not first.exception, first.exception
    taken = first.session_state["chosen"]
    other, _ = queue_app(data_dir, "manager")  # a manager reviews too
    other.button(key=f"review_queue_{project_id}_next").click().run()
    assert not other.exception, other.exception
    assert other.session_state["chosen"] != taken
    other.button(key=f"review_queue_{project_id}_open_{taken}").click().run()  # held: not opened
    assert any("is reviewing task" in w.value for w in other.warning), [w.value for w in other.warning]


def test_the_settings_page_saves_the_review_settings(data_dir: Path, menus: list[list[str]]) -> None:
    at, project_id = open_as_manager(data_dir, "views/settings.py")
    at.slider(key=f"settings_{project_id}_verify_rate").set_value(20)
    at.toggle(key=f"settings_{project_id}_anonymize_reviews").set_value(True)
    button(at, "Save settings").click().run()
    assert not at.exception, at.exception
    row = _query(data_dir, "SELECT verify_rate, anonymize_reviews FROM projects WHERE id = ?", (project_id,))[0]
    assert (row["verify_rate"], row["anonymize_reviews"]) == (0.2, 1)
    # saving something else keeps them
    at.number_input(key=f"settings_{project_id}_threshold").set_value(0.7)
    button(at, "Save settings").click().run()
    row = _query(data_dir, "SELECT verify_rate, anonymize_reviews FROM projects WHERE id = ?", (project_id,))[0]
    assert (row["verify_rate"], row["anonymize_reviews"]) == (0.2, 1)


def test_anonymous_reviews_hide_names_and_the_annotator_filter(data_dir: Path) -> None:
    project_id = _project_id(data_dir, PROJECT)
    _to_review(data_dir, project_id, 1)
    with make_uow_factory(load_settings())() as uow:
        from storage.models import Project

        uow.session.execute(update(Project).where(Project.id == project_id).values(anonymize_reviews=True))
        uow.commit()
    at, _ = queue_app(data_dir)
    assert "Annotator" not in {s.label for s in at.selectbox}
    shown = " ".join(m.value for m in at.markdown)
    assert "Ana Annotator" not in shown


def test_the_quality_page_shows_the_review_statistics_when_opened(data_dir: Path) -> None:
    at = _signed_in(data_dir, "manager")
    at.switch_page("views/analytics.py").run()
    assert not at.exception, at.exception
    at.session_state["analytics_review"] = True
    at.run()
    assert not at.exception, at.exception
    assert "Review decisions" in {m.label for m in at.metric} or any(
        "No task has been reviewed" in c.value for c in at.caption)


def test_the_labeling_page_offers_i_am_not_sure_and_sends_it_with_the_submit(data_dir: Path) -> None:
    at = _signed_in(data_dir, "newcomer")
    project_id = _project_id(data_dir, PROJECT)
    at.button(key=f"start_{project_id}").click().run()
    assert not at.exception, at.exception
    user_id = _user_id(data_dir, "newcomer")
    task_id = _query(data_dir, "SELECT task_id FROM task_locks WHERE user_id = ?", (user_id,))[0]["task_id"]
    toggles = [t for t in at.toggle if t.label.startswith("I'm not sure")]
    assert len(toggles) == 1 and not toggles[0].value
    toggles[0].set_value(True).run()
    assert not at.exception, at.exception
    note = next(t for t in at.text_input if t.label.startswith("What makes you unsure"))
    note.input("sarcasm?").run()
    item = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Neutral"]}}
    at.session_state[PENDING_SUBMIT_KEY] = (task_id, {"seq": 1, "items": [item], "names": ["sentiment"]})
    at.run()
    assert not at.exception, at.exception
    rows = _query(data_dir, "SELECT flagged, flag_note FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                  (user_id, task_id))
    assert [(r["flagged"], r["flag_note"]) for r in rows] == [(1, "sarcasm?")]
