"""The project selector of the manager pages and the Review page keeps the project in the address
(``?project=ID``): a reload is a new Streamlit session with empty state, and it must come back to the project
the manager was in, not the first one (an import after a reload would otherwise go into another project)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from views.services import USER_ID_KEY
from views.state import PROJECT_PARAM
from tests.pages.test_app_shell import APP, TIMEOUT_S, _project_id, _user_id, data_dir, seeded_demo_db  # noqa: F401

OTHER = "Support call transcription"  # not the first project, which a fresh session falls back to
PICKERS = {  # page -> the key of its project selectbox
    "views/data.py": "data_project",
    "views/members.py": "members_project",
    "views/settings.py": "settings_project",
    "views/browser.py": "browser_project",
    "views/analytics.py": "analytics_project",
    "views/review.py": "review_project_select",
    "views/cloud_storage.py": "storage_project",
    "views/integrations.py": "webhooks_project",
}


def new_session(folder: Path, script: str, project: int | None = None, username: str = "manager") -> AppTest:
    """A fresh session (as after a reload) of ``username`` on ``script``, the address holding ``project``."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state[USER_ID_KEY] = _user_id(folder, username)
    if project is not None:
        at.query_params[PROJECT_PARAM] = str(project)
    at.run()
    at.switch_page(script).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("script", sorted(PICKERS))
def test_a_new_session_opens_the_project_named_in_the_address(data_dir: Path, script: str) -> None:
    other = _project_id(data_dir, OTHER)
    at = new_session(data_dir, script, other)
    assert at.selectbox(key=PICKERS[script]).value == other
    assert at.query_params[PROJECT_PARAM] == str(other)
    assert not at.warning, [w.value for w in at.warning]


def test_choosing_a_project_writes_it_into_the_address_and_a_reload_comes_back_to_it(data_dir: Path) -> None:
    other = _project_id(data_dir, OTHER)
    at = new_session(data_dir, "views/data.py")
    first = at.selectbox(key="data_project").value
    assert first != other, "the test needs a project that is not the fallback"
    assert at.query_params[PROJECT_PARAM] == str(first)  # the shown project, even when not chosen
    at.selectbox(key="data_project").set_value(other).run()
    assert not at.exception, at.exception
    assert at.query_params[PROJECT_PARAM] == str(other)

    reloaded = new_session(data_dir, "views/data.py", int(at.query_params[PROJECT_PARAM]))
    assert reloaded.selectbox(key="data_project").value == other


def test_moving_to_another_manager_page_keeps_the_project(data_dir: Path) -> None:
    other = _project_id(data_dir, OTHER)
    at = new_session(data_dir, "views/data.py")
    at.selectbox(key="data_project").set_value(other).run()
    at.query_params.clear()  # a page change in the browser may drop the query string; session state keeps it
    at.switch_page("views/members.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="members_project").value == other
    assert at.query_params[PROJECT_PARAM] == str(other)


def test_an_address_naming_a_project_the_user_may_not_open_says_so(data_dir: Path) -> None:
    at = new_session(data_dir, "views/data.py", 999_999)
    shown = at.selectbox(key="data_project").value
    assert shown != 999_999
    assert any("999999" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.query_params[PROJECT_PARAM] == str(shown)  # the address now names what is on screen
