"""The app shell through AppTest (no browser): sign-in, the menu each role gets, home -> label, submit.

Every test gets its own data folder (``QUORUM_DATA_DIR``) holding a copy of a demo database seeded
once per session, and starts with an empty ``uow_factory`` cache and no cached engines, so no test sees
another's database.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from views.services import USER_ID_KEY, uow_factory
from views.state import CURRENT_PROJECT_KEY, CURRENT_TASK_KEY, PENDING_SUBMIT_KEY
from storage.db import dispose_engines

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT_S = 60
PROJECT = "Product review sentiment"

# What each demo role finds in the menu (app.py registers only the pages core.permissions allows).
MENUS = {
    "annotator1": ["My projects", "Label", "My work"],
    "reviewer": ["My projects", "Review"],
    "manager": ["My projects", "Review", "My work", "Data", "Quality", "Import & export", "Cloud storage", "Members",
                "Settings", "Webhooks"],
    "admin": ["My projects", "Label", "Review", "My work", "Data", "Quality", "Import & export", "Cloud storage",
              "Members", "Settings", "Webhooks", "New project", "Users"],
}
PASSWORDS = {"annotator1": "annotator-demo", "newcomer": "newcomer-demo", "reviewer": "reviewer-demo",
             "manager": "manager-demo", "admin": "admin-demo"}


@pytest.fixture(scope="session")
def seeded_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo database, seeded once (argon2 and four imports are slow) and copied for each test."""
    from core.bootstrap import make_uow_factory
    from core.demo import seed_demo
    from core.settings import load_settings

    folder = tmp_path_factory.mktemp("demo-seed")
    mp = pytest.MonkeyPatch()
    mp.setenv("QUORUM_DATA_DIR", str(folder))
    mp.delenv("QUORUM_DATABASE_URL", raising=False)
    try:
        dispose_engines()
        seed_demo(make_uow_factory(load_settings()))
    finally:
        dispose_engines()
        mp.undo()
    yield folder / "quorum.db"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded_demo_db: Path) -> Iterator[Path]:
    """A fresh data folder with its own copy of the demo database, and no cached factory or engine."""
    shutil.copy(seeded_demo_db, tmp_path / "quorum.db")
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    uow_factory.clear()
    dispose_engines()
    yield tmp_path
    uow_factory.clear()
    dispose_engines()


@pytest.fixture
def menus(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records the page titles app.py hands to ``st.navigation`` on each run (AppTest shows no menu)."""
    seen: list[list[str]] = []
    original = st.navigation

    def recording(pages: Any, **kwargs: Any) -> Any:
        groups = pages.values() if isinstance(pages, dict) else [pages]
        seen.append([page.title for group in groups for page in group if page.visibility != "hidden"])
        return original(pages, **kwargs)

    monkeypatch.setattr(st, "navigation", recording)
    return seen


def _query(folder: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(folder / "quorum.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _user_id(folder: Path, username: str) -> int:
    return int(_query(folder, "SELECT id FROM users WHERE username = ?", (username,))[0]["id"])


def _project_id(folder: Path, title: str) -> int:
    return int(_query(folder, "SELECT id FROM projects WHERE title = ?", (title,))[0]["id"])


def _signed_in(folder: Path, username: str) -> AppTest:
    """The app with ``username`` already signed in (the session state the sign-in form leaves)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state[USER_ID_KEY] = _user_id(folder, username)
    return at.run()


def _sign_in_form(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    return at.button[0].click().run()  # the form's only submit button, "Sign in"


def _button(at: AppTest, label: str) -> Any:
    found = [b for b in at.button if b.label == label]
    assert len(found) == 1, f"{len(found)} buttons labelled {label!r}: {[b.label for b in at.button]}"
    return found[0]


def test_a_visitor_sees_the_sign_in_page_with_the_demo_accounts(data_dir: Path, menus: list[list[str]]) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    assert at.title[0].value == "Quorum"
    assert [t.label for t in at.text_input] == ["User name or e-mail", "Password"]
    assert menus[-1] == ["Sign in"]
    shown = [*at.table, *at.dataframe]  # the demo accounts' user / password / role grid
    assert len(shown) == 1
    assert {"admin", "manager", "reviewer", "annotator1", "newcomer"} <= set(shown[0].value["user"])


def test_a_wrong_password_shows_an_error_and_keeps_the_visitor_signed_out(
    data_dir: Path, menus: list[list[str]]
) -> None:
    at = _sign_in_form(AppTest.from_file(APP, default_timeout=TIMEOUT_S).run(), "annotator1", "not-the-password")
    assert not at.exception
    assert len(at.error) == 1
    assert USER_ID_KEY not in at.session_state
    assert menus[-1] == ["Sign in"]


def test_the_right_password_signs_in_and_opens_my_projects(data_dir: Path, menus: list[list[str]]) -> None:
    at = _sign_in_form(AppTest.from_file(APP, default_timeout=TIMEOUT_S).run(), "annotator1", "annotator-demo")
    assert not at.exception
    assert at.session_state[USER_ID_KEY] == _user_id(data_dir, "annotator1")
    # The sign-in page ends its run with st.rerun(); AppTest does not start the next run as a browser
    # does, so continue in a new run with the session state the sign-in left.
    signed_in = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    signed_in.session_state[USER_ID_KEY] = at.session_state[USER_ID_KEY]
    at = signed_in.run()
    assert not at.exception
    assert menus[-1] == MENUS["annotator1"]
    assert at.title[0].value == "My projects"


@pytest.mark.parametrize("username", sorted(MENUS))
def test_each_demo_role_sees_exactly_the_pages_it_may_use(
    data_dir: Path, menus: list[list[str]], username: str
) -> None:
    at = _signed_in(data_dir, username)
    assert not at.exception, at.exception
    assert menus[-1] == MENUS[username]


def test_the_reviewer_has_no_label_page(data_dir: Path, menus: list[list[str]]) -> None:
    at = _signed_in(data_dir, "reviewer")
    assert "Label" not in menus[-1]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("views/label.py")  # not registered for this user, so it cannot be opened


def test_start_labeling_on_the_home_page_opens_the_labeling_page(data_dir: Path, menus: list[list[str]]) -> None:
    at = _signed_in(data_dir, "newcomer")
    project_id = _project_id(data_dir, PROJECT)
    at.button(key=f"start_{project_id}").click().run()
    assert not at.exception, at.exception
    assert at.session_state[CURRENT_PROJECT_KEY] == project_id
    mounted = _components(at)
    assert "quorum.submit_bar" in mounted.values(), mounted
    assert [m.value for m in at.markdown if m.value == f"### {PROJECT}"]
    choices = [json.loads(c.proto.json) for c in _component_elements(at) if c.proto.component_name == "quorum.choice_buttons"]
    assert [[o["value"] for o in c["options"]] for c in choices] == [["Positive", "Negative", "Neutral"]]
    assert [o["hotkey"] for o in choices[0]["options"]] == ["1", "2", "3"]


def test_the_labeling_page_stores_a_submitted_choice(data_dir: Path, menus: list[list[str]]) -> None:
    at = _signed_in(data_dir, "newcomer")
    project_id = _project_id(data_dir, PROJECT)
    at.button(key=f"start_{project_id}").click().run()
    user_id = _user_id(data_dir, "newcomer")
    task_id = _query(data_dir, "SELECT task_id FROM task_locks WHERE user_id = ?", (user_id,))[0]["task_id"]
    choice = "Neutral"
    # What the submit bar sends (browser_answers.py): the answers kept in the browser, with the submit.
    item = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [choice]}}
    at.session_state[PENDING_SUBMIT_KEY] = (task_id, {"seq": 1, "items": [item], "names": ["sentiment"], "active_s": 4.5})
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    rows = _query(data_dir, "SELECT result FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                  (user_id, task_id))
    assert len(rows) == 1
    assert [i["value"]["choices"] for i in json.loads(rows[0]["result"])] == [[choice]]
    assert not _query(data_dir, "SELECT id FROM drafts WHERE user_id = ? AND task_id = ?", (user_id, task_id))
    assert _query(data_dir, "SELECT active_time_s FROM annotations WHERE task_id = ? AND completed_by_id = ?",
                  (task_id, user_id))[0]["active_time_s"] >= 4.5  # the browser's count of active time
    assert at.session_state[CURRENT_TASK_KEY] != task_id  # the next task is on screen


def test_the_progress_total_stays_put_while_the_labeler_works(data_dir: Path, menus: list[list[str]]) -> None:
    """"N of M": N moves with each submit, M stays what there was to do, quality checks included (it went
    7 -> 8 -> 9 once, the demo's honeypots and repeats coming on top)."""
    at = _signed_in(data_dir, "newcomer")
    project_id = _project_id(data_dir, PROJECT)
    at.button(key=f"start_{project_id}").click().run()
    user_id = _user_id(data_dir, "newcomer")
    seen: list[tuple[int, int]] = []
    item = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}
    for _ in range(6):
        text = [p.proto.text for p in at.get("progress")][0]
        handled, total = (int(n) for n in text.split("**")[1].split(" of "))
        seen.append((handled, total))
        held = _query(data_dir, "SELECT task_id FROM task_locks WHERE user_id = ?", (user_id,))
        if not held:
            break
        at.session_state[PENDING_SUBMIT_KEY] = (held[0]["task_id"], {"items": [item], "names": ["sentiment"]})
        at.run()
        assert not at.exception, at.exception
    assert len({total for _, total in seen}) == 1, seen
    assert [h for h, _ in seen] == list(range(seen[0][0], seen[0][0] + len(seen))), seen  # one more per submit


def _component_elements(at: AppTest) -> list[Any]:
    """The Components v2 elements of the page (AppTest shows them as unknown elements)."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if getattr(node, "type", None) == "bidi_component":
            found.append(node)
        for child in getattr(node, "children", {}).values() if isinstance(getattr(node, "children", None), dict) else []:
            walk(child)

    walk(at._tree)
    return found


def _components(at: AppTest) -> dict[str, str]:
    return {c.proto.id: c.proto.component_name for c in _component_elements(at)}


def test_my_earlier_tasks_pages_through_all_of_a_labelers_work(data_dir: Path, menus: list[list[str]]) -> None:
    """Older / Newer walk the whole history, not only the newest page; each entry reopens its task."""
    from core.bootstrap import make_uow_factory
    from core.labeling import HistoryItem, my_history, next_task, submit_annotation
    from core.settings import load_settings
    from core.users import get_user
    from tests.core.helpers import import_json

    project_id = _project_id(data_dir, PROJECT)
    make_uow = make_uow_factory(load_settings())
    with make_uow() as uow:
        me = get_user(uow, _user_id(data_dir, "newcomer"))
        admin = get_user(uow, _user_id(data_dir, "admin"))
    import_json(make_uow, admin, project_id, [{"text": f"More to label {i}"} for i in range(30)])
    mine: list[HistoryItem] = []
    while len(mine) < 17:  # the demo mixes in honeypots and repeats; count what the history holds
        with make_uow() as uow:
            task = next_task(uow, me, project_id=project_id)
            assert task is not None
            choice = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}
            submit_annotation(uow, me, task_id=task.task_id, result=[choice])
            uow.commit()
        with make_uow() as uow:
            mine = my_history(uow, me, project_id=project_id, limit=100)
    dispose_engines()

    at = _signed_in(data_dir, "newcomer")
    at.button(key=f"start_{project_id}").click().run()
    shown = lambda: [b.key for b in at.button if b.key and b.key.startswith("hist_") and b.key[5:].isdigit()]  # noqa: E731
    assert shown() == []  # closed: nothing is read or drawn
    at.session_state["label_history_open"] = True  # the labeler opens "My earlier tasks"
    at.run()
    assert shown() == [f"hist_{item.annotation_id}" for item in mine[:15]]
    assert "**Positive**" in at.button(key=f"hist_{mine[0].annotation_id}").label  # what was answered, at a glance
    assert not [b for b in at.button if b.key == "hist_newer"]
    at.button(key="hist_older").click().run()
    assert not at.exception, at.exception
    assert shown() == [f"hist_{item.annotation_id}" for item in mine[15:]]
    assert not [b for b in at.button if b.key == "hist_older"]
    at.button(key=f"hist_{mine[16].annotation_id}").click().run()
    assert not at.exception, at.exception
    assert at.session_state[CURRENT_TASK_KEY] == mine[16].task_id
    assert at.session_state["label_history_open"] is False and shown() == []  # picked: the menu closes
    at.session_state["label_history_open"] = True
    at.run()
    at.button(key="hist_newer").click().run()
    assert shown() == [f"hist_{item.annotation_id}" for item in mine[:15]]


@pytest.mark.parametrize("page", ["views/label.py", "views/users.py", "views/settings.py", "views/browser.py"])
def test_a_page_asked_for_directly_without_a_sign_in_points_to_it_and_shows_nothing(
    data_dir: Path, page: str
) -> None:
    at = AppTest.from_file(str(Path(APP).parent / page), default_timeout=TIMEOUT_S).run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["Please sign in first."]
    assert not at.dataframe and not at.title


def test_start_labeling_another_project_hands_out_a_task_of_that_project(data_dir: Path, menus: list[list[str]]) -> None:
    """The task on screen belongs to the project the labeler left: coming back through My projects for
    another one must hand out a task of that one (it was shown with the old task, and saved a draft on it)."""
    at = _signed_in(data_dir, "newcomer")
    first, second = _project_id(data_dir, PROJECT), _project_id(data_dir, "Support call transcription")
    at.button(key=f"start_{first}").click().run()
    held = at.session_state[CURRENT_TASK_KEY]
    assert _query(data_dir, "SELECT project_id FROM tasks WHERE id = ?", (held,))[0]["project_id"] == first
    at.switch_page("views/home.py").run()
    at.button(key=f"start_{second}").click().run()
    assert not at.exception, at.exception
    now = at.session_state[CURRENT_TASK_KEY]
    assert _query(data_dir, "SELECT project_id FROM tasks WHERE id = ?", (now,))[0]["project_id"] == second
    assert not _query(data_dir, "SELECT id FROM drafts WHERE task_id = ? AND result = '[]'", (held,))


def test_an_earlier_task_picked_on_the_end_screen_opens_even_when_new_work_arrived(data_dir: Path) -> None:
    """The end screen lists the labeler's work; new tasks imported meanwhile must not swallow the click (the
    area loads a task before the list is drawn again)."""
    from core.bootstrap import make_uow_factory
    from core.labeling import my_history, next_task, submit_annotation
    from core.settings import load_settings
    from core.users import get_user
    from tests.core.helpers import import_json

    project_id = _project_id(data_dir, PROJECT)
    # No self-check repeats or honeypots: one drawn at random after the last task would make the end screen
    # a task screen (the test failed about one run in four).
    conn = sqlite3.connect(data_dir / "quorum.db")
    with conn:
        conn.execute("UPDATE projects SET repeat_rate = 0, honeypot_rate = 0 WHERE id = ?", (project_id,))
    conn.close()
    make_uow = make_uow_factory(load_settings())
    with make_uow() as uow:
        me, admin = get_user(uow, _user_id(data_dir, "newcomer")), get_user(uow, _user_id(data_dir, "admin"))
    while True:  # the newcomer labels everything there is
        with make_uow() as uow:
            task = next_task(uow, me, project_id=project_id)
            if task is None:
                break
            choice = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}
            submit_annotation(uow, me, task_id=task.task_id, result=[choice])
            uow.commit()
    with make_uow() as uow:
        earlier = my_history(uow, me, project_id=project_id, limit=5)[1]
    dispose_engines()
    at = _signed_in(data_dir, "newcomer")
    at.button(key=f"start_{project_id}").click().run()
    assert any("Nothing left" in s.value for s in at.success)
    import_json(make_uow, admin, project_id, [{"text": "Fresh work arrived"}])  # the next run could hand it out
    dispose_engines()
    at.button(key=f"hist_{earlier.annotation_id}").click().run()
    assert not at.exception, at.exception
    assert at.session_state[CURRENT_TASK_KEY] == earlier.task_id


def test_a_database_outage_shows_a_reconnecting_page_not_a_generic_error(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With the database unreachable (a PostgreSQL port nobody listens on), the app says so in words and
    polls, instead of Streamlit's generic "An error occurred"."""
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUORUM_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/quorum?connect_timeout=2")
    uow_factory.clear()
    dispose_engines()
    try:
        at = AppTest.from_file(APP, default_timeout=30).run()
        assert not at.exception
        assert [t.value for t in at.title] == ["Quorum is reconnecting"]
        assert "cannot be reached" in at.warning[0].value
    finally:
        uow_factory.clear()
        dispose_engines()
