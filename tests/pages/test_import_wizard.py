"""The Import tab's wizard through AppTest: preview, column mapping, the reject list, the explicit choice to
skip rejected rows, the import and its summary. AppTest cannot upload files, so the test app hands the
wizard's steps file objects built from session state (the upload widget itself is Streamlit's)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.exports import iter_ls_tasks
from core.settings import load_settings
from views.import_wizard import NO_COLUMN, SKIP_KEY, SUMMARY_KEY
from views.services import USER_ID_KEY, uow_factory
from storage.db import dispose_engines
from tests.core.helpers import make_project, make_user

DATA_PAGE = str(Path(__file__).resolve().parents[2] / "views" / "data.py")
CSV = b"body,stars\ngood,5\nbad,1,extra\nfine,4\n"


def wizard_app() -> None:
    import io

    import streamlit as st

    from views.import_wizard import render_wizard_steps
    from views.services import blob_store, current_user, uow_factory

    class Upload(io.BytesIO):
        def __init__(self, name: str, content: bytes) -> None:
            super().__init__(content)
            self.name = self.file_id = name

    files = [Upload(name, content) for name, content in st.session_state["wizard_files"]]
    render_wizard_steps(uow_factory(), current_user(), st.session_state["wizard_project"], blob_store(), files)


@pytest.fixture
def portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    uow_factory.clear()
    dispose_engines()
    make_uow = make_uow_factory(load_settings())
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin)
    yield make_uow, admin, project.id
    uow_factory.clear()
    dispose_engines()


def _app(admin_id: int, project_id: int, files: list[tuple[str, bytes]]) -> AppTest:
    at = AppTest.from_function(wizard_app, default_timeout=60)
    at.session_state[USER_ID_KEY] = admin_id
    at.session_state["wizard_project"] = project_id
    at.session_state["wizard_files"] = files
    at.run()
    assert not at.exception
    return at


def _import_button(at: AppTest):
    return at.button(key="import_start")


def test_mapping_a_column_then_skipping_the_rejected_row_imports_the_rest_and_lists_it(portal) -> None:
    make_uow, admin, project_id = portal
    at = _app(admin.id, project_id, [("reviews.csv", CSV)])
    mapping = at.selectbox(key="import_map_0_reviews.csv_text")
    assert mapping.options == [NO_COLUMN, "body", "stars"] and mapping.value == NO_COLUMN
    assert _import_button(at).disabled  # every row lacks $text until it is mapped
    mapping.set_value("body").run()
    assert not at.exception
    assert any("1 row(s) would be rejected" in w.value for w in at.warning)
    [rejects] = [d for d in at.dataframe if "problem" in d.value.columns]
    assert rejects.value.to_dict("records") == [
        {"file": "reviews.csv", "row": "row 2 (line 3)", "problem": "has 3 fields, the header has 2"}
    ]
    assert _import_button(at).disabled  # all or nothing until the manager chooses otherwise
    at.checkbox(key=SKIP_KEY).check().run()
    assert not _import_button(at).disabled and _import_button(at).label == "Import 2 tasks"
    _import_button(at).click().run()
    assert not at.exception
    assert any("Imported 2 tasks, 0 annotations and 0 predictions from 1 file(s)" in s.value for s in at.success)
    assert any("1 rejected row(s) were skipped" in w.value for w in at.warning)
    with make_uow() as uow:
        imported = [t["data"] for t in iter_ls_tasks(uow, admin, project_id=project_id)]
    assert imported == [{"body": "good", "stars": "5", "text": "good"}, {"body": "fine", "stars": "4", "text": "fine"}]
    # The same file again is refused by name in the preview: imports are not repeated by accident.
    assert any("already imported" in e.value for e in at.error)


def test_a_clean_file_imports_at_once_with_its_summary(portal) -> None:
    make_uow, admin, project_id = portal
    at = _app(admin.id, project_id, [("tasks.json", b'[{"text": "a"}, {"data": {"text": "b"}}]')])
    assert at.selectbox(key="import_map_0_tasks.json_text").value == "text"  # pre-filled by name
    assert not at.warning
    _import_button(at).click().run()
    assert not at.exception
    assert at.session_state[SUMMARY_KEY][1].summaries[0].n_tasks == 2
    assert any("Imported 2 tasks" in m.value for m in at.success)
    at.session_state["wizard_files"] = [("more.json", b'[{"text": "c"}]')]  # the next upload is previewed
    at.run()
    assert not at.exception
    assert not any("Imported 2 tasks" in m.value for m in at.success)  # that report was not about this file


def test_the_data_page_shows_the_wizard_in_its_import_tab(portal) -> None:
    _, admin, _ = portal
    at = AppTest.from_file(DATA_PAGE, default_timeout=60)
    at.session_state[USER_ID_KEY] = admin.id
    at.run()
    assert not at.exception
    assert any("map columns" in m.value for m in at.markdown)
