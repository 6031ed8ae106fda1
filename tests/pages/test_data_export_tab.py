"""The Export tab of Import & export through AppTest: the "what goes out" choice reaches the exporter."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.exports import SELECTIONS
from core.settings import load_settings
from views.services import USER_ID_KEY, uow_factory
from storage.db import dispose_engines
from tests.core.helpers import import_json, make_project, make_user

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "data.py")


@pytest.fixture
def portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    uow_factory.clear()
    dispose_engines()
    make_uow = make_uow_factory(load_settings())
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin)
    choice = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
    import_json(make_uow, admin, project.id, [
        {"data": {"text": "gold"}, "annotations": [{"completed_by": None, "result": choice, "ground_truth": True}]},
        {"data": {"text": "open"}},
    ])
    yield admin.id
    uow_factory.clear()
    dispose_engines()


def test_consensus_only_export_leaves_out_tasks_without_an_answer(portal: int) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[USER_ID_KEY] = portal
    at.run()
    assert not at.exception
    assert at.radio(key="export_selection").options == list(SELECTIONS.values())
    at.radio(key="export_selection").set_value("consensus")
    next(b for b in at.button if b.label == "Prepare export").click()
    at.run()
    assert not at.exception and not at.error
    _, path, n_tasks, n_left_out, regions_left_out = at.session_state["export_ready"]
    assert regions_left_out == ()
    assert (n_tasks, n_left_out) == (1, 1)
    assert [t["data"]["text"] for t in json.loads(Path(path).read_text())] == ["gold"]
    assert any("1 tasks without ground truth or consensus were left out" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")] == [f"Download 1 tasks ({Path(path).name})"]
    # another selection (or format, or project): the file prepared for the first one is not offered
    at.radio(key="export_selection").set_value("all").run()
    assert not at.exception
    assert not at.get("download_button")
