"""The Export tab of Import & export through AppTest: the "what goes out" choice reaches the exporter, and
image formats offer the consensus first and zip one set per annotator for every annotation."""
from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.exports import SELECTIONS
from core.formats import get_format
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
    _, path, n_tasks, n_left_out, regions_left_out, sets = at.session_state["export_ready"]
    assert sets == ()
    assert regions_left_out == ()
    assert (n_tasks, n_left_out) == (1, 1)
    assert [t["data"]["text"] for t in json.loads(Path(path).read_text())] == ["gold"]
    assert any("1 tasks without ground truth or consensus were left out" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")] == [f"Download 1 tasks ({Path(path).name})"]
    # another selection (or format, or project): the file prepared for the first one is not offered
    at.radio(key="export_selection").set_value("all").run()
    assert not at.exception
    assert not at.get("download_button")


IMAGE_CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels></View>"""


@pytest.fixture
def photo_portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An image project: two photos, each boxed by ann and bob; no consensus computed yet."""
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    uow_factory.clear()
    dispose_engines()
    make_uow = make_uow_factory(load_settings())
    admin = make_user(make_uow, "admin", admin=True)
    for name in ("ann", "bob"):
        make_user(make_uow, name)
    project = make_project(make_uow, admin, title="Photos", config=IMAGE_CONFIG)

    def box(x: int) -> list[dict]:
        return [{"from_name": "box", "to_name": "image", "type": "rectanglelabels", "original_width": 640,
                 "original_height": 480, "value": {"x": x, "y": 5, "width": 20, "height": 20,
                                                   "rectanglelabels": ["Car"]}}]

    import_json(make_uow, admin, project.id, [
        {"data": {"image": f"/data/upload/p{i}.jpg"},
         "annotations": [{"completed_by": {"email": "ann@example.com"}, "result": box(10)},
                         {"completed_by": {"email": "bob@example.com"}, "result": box(12)}]}
        for i in range(2)
    ])
    yield admin.id
    uow_factory.clear()
    dispose_engines()


def test_image_formats_offer_the_consensus_and_zip_one_set_per_annotator(photo_portal: int) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[USER_ID_KEY] = photo_portal
    at.run()
    assert not at.exception
    assert at.selectbox(key="export_format").value.name == "JSON" and at.radio(key="export_selection").value == "all"
    for name, offered in (("COCO", "consensus"), ("JSON_MIN", "all"), ("VOC", "consensus"), ("YOLO", "consensus")):
        # image formats offer the consensus, text formats every annotation with its author
        at.selectbox(key="export_format").set_value(get_format(name)).run()
        assert not at.exception and at.radio(key="export_selection").value == offered, name
    at.radio(key="export_selection").set_value("all").run()
    next(b for b in at.button if b.label == "Prepare export").click()
    at.run()
    assert not at.exception and not at.error
    made_for, path, n_tasks, n_left_out, _, sets = at.session_state["export_ready"]
    assert made_for[1:] == ("YOLO", "all") and (n_tasks, n_left_out, sets) == (2, 0, ("ann", "bob"))
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    assert {"annotators.json", "by_annotator/ann/classes.txt", "by_annotator/ann/labels/p0.txt",
            "by_annotator/bob/labels/p1.txt"} <= names
    assert any("One set per annotator" in c.value and "ann, bob" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")] == [f"Download 2 tasks ({Path(path).name})"]
    assert not [w for w in at.warning if "holds nothing" in w.value]


@pytest.fixture
def choice_only_portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An image project whose annotators chose a scene and drew no box (issue 15, item 5)."""
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    uow_factory.clear()
    dispose_engines()
    make_uow = make_uow_factory(load_settings())
    admin = make_user(make_uow, "admin", admin=True)
    make_user(make_uow, "ann")
    config = IMAGE_CONFIG.replace(
        "</View>", '<Choices name="scene" toName="image"><Choice value="Street"/></Choices></View>')
    project = make_project(make_uow, admin, title="Photos", config=config)
    scene = [{"from_name": "scene", "to_name": "image", "type": "choices", "value": {"choices": ["Street"]}}]
    import_json(make_uow, admin, project.id, [
        {"data": {"image": f"/data/upload/p{i}.jpg"},
         "annotations": [{"completed_by": {"email": "ann@example.com"}, "result": scene, "ground_truth": True}]}
        for i in range(2)
    ])
    yield admin.id
    uow_factory.clear()
    dispose_engines()


@pytest.mark.parametrize(("name", "selection", "reason"), [
    ("YOLO", "all", "YOLO export holds nothing: no task has a labelled region"),  # a zip of one set per annotator
    ("VOC", "consensus", "Pascal VOC XML export holds nothing: no task has a labelled box"),  # a zip
    ("COCO", "consensus", "COCO export holds nothing: no task has a labelled region"),  # one file
])
def test_an_export_holding_nothing_is_said_so_above_its_download(choice_only_portal: int, name: str, selection: str,
                                                                 reason: str) -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[USER_ID_KEY] = choice_only_portal
    at.run()
    at.selectbox(key="export_format").set_value(get_format(name)).run()
    at.radio(key="export_selection").set_value(selection).run()
    next(b for b in at.button if b.label == "Prepare export").click()
    at.run()
    assert not at.exception and not at.error
    _, path, n_tasks, _, _, _ = at.session_state["export_ready"]
    assert n_tasks == 2
    warnings = [w.value.replace("\\", "") for w in at.warning if "holds nothing" in w.value]  # escaped markdown
    assert len(warnings) == 1 and warnings[0].startswith(reason), warnings
    assert [b.label for b in at.get("download_button")] == [f"Download the empty export ({Path(path).name})"]
