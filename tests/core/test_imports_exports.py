"""Imports are all-or-nothing and say where a file is wrong; exports give back what came in."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.errors import ConflictError, ImportFormatError
from core.exports import export_project, iter_ls_tasks
from core.imports import import_tasks_file
from core.projects import list_my_projects
from tests.conftest import shared_path
from tests.core.helpers import import_json, make_project, make_user

IMAGE_CONFIG = """<View><Image name="image" value="$image"/>
<Choices name="label" toName="image"><Choice value="Cat"/><Choice value="Dog"/></Choices></View>"""


def _import_bytes(make_uow, actor, project_id, payload: bytes, filename: str):
    with make_uow() as uow:
        summary = import_tasks_file(uow, actor, project_id=project_id, stream=io.BytesIO(payload), filename=filename)
        uow.commit()
    return summary


def _n_tasks(make_uow, user) -> int:
    with make_uow() as uow:
        return sum(p.n_tasks for p in list_my_projects(uow, user))


@pytest.fixture
def setup(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin)
    return admin, project


def test_json_csv_tsv_txt_and_jsonl_all_become_tasks(make_uow, setup):
    admin, project = setup
    assert _import_bytes(make_uow, admin, project.id, json.dumps([{"text": "a"}, {"data": {"text": "b"}}]).encode(), "a.json").n_tasks == 2
    assert _import_bytes(make_uow, admin, project.id, b"text,extra\nc,1\nd,2\n", "b.csv").n_tasks == 2
    assert _import_bytes(make_uow, admin, project.id, b"text\textra\ne\t1\n", "c.tsv").n_tasks == 1
    assert _import_bytes(make_uow, admin, project.id, b"f\ng\n\nh\n", "d.txt").n_tasks == 3
    assert _import_bytes(make_uow, admin, project.id, b'{"text": "i"}\n{"text": "j"}\n', "e.jsonl").n_tasks == 2
    assert _n_tasks(make_uow, admin) == 10


def test_a_malformed_row_names_the_row_and_nothing_is_imported(make_uow, setup):
    admin, project = setup
    payload = b'[{"text": "ok"}, {"text": "ok2"}, {"text": }]'
    with pytest.raises(ImportFormatError, match=r"bad\.json"):
        _import_bytes(make_uow, admin, project.id, payload, "bad.json")
    with pytest.raises(ImportFormatError, match="line 3"):
        _import_bytes(make_uow, admin, project.id, b"text,extra\nok,1\nbad,1,2\n", "bad.csv")
    assert _n_tasks(make_uow, admin) == 0


def test_a_task_missing_a_config_variable_is_named_and_aborts_the_whole_file(make_uow, setup):
    admin, project = setup
    tasks = [{"text": f"t{i}"} for i in range(3000)] + [{"body": "no text here"}]
    with pytest.raises(ImportFormatError, match=r"task 3001.*text"):
        import_json(make_uow, admin, project.id, tasks)
    assert _n_tasks(make_uow, admin) == 0  # the first 3000 (more than one batch) were rolled back too


def test_wrong_encoding_and_empty_files_are_refused_clearly(make_uow, setup):
    admin, project = setup
    with pytest.raises(ImportFormatError, match="UTF-8"):
        _import_bytes(make_uow, admin, project.id, "text\ncafé\n".encode("latin-1"), "latin.csv")
    with pytest.raises(ImportFormatError, match="no tasks"):
        _import_bytes(make_uow, admin, project.id, b"", "empty.json")
    with pytest.raises(ImportFormatError, match="no tasks"):
        _import_bytes(make_uow, admin, project.id, b"[]", "empty-list.json")


def test_the_same_file_twice_is_a_duplicate_import(make_uow, setup):
    admin, project = setup
    payload = json.dumps([{"text": "a"}]).encode()
    _import_bytes(make_uow, admin, project.id, payload, "a.json")
    with pytest.raises(ConflictError, match="already imported"):
        _import_bytes(make_uow, admin, project.id, payload, "copy-of-a.json")
    assert _n_tasks(make_uow, admin) == 1


def test_imported_annotations_keep_their_authors_by_email_or_as_inactive_users(make_uow, setup):
    admin, project = setup
    known = make_user(make_uow, "known")
    result = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
    tasks = [
        {
            "data": {"text": "a"},
            "annotations": [
                {"completed_by": {"id": 7, "email": "known@example.com"}, "result": result, "lead_time": 3.5},
                {"completed_by": 42, "result": result, "ground_truth": True},
            ],
        }
    ]
    summary = import_json(make_uow, admin, project.id, tasks)
    assert summary.n_annotations == 2 and summary.n_users_created == 1
    with make_uow() as uow:
        (task,) = list(iter_ls_tasks(uow, admin, project_id=project.id))
    authors = sorted(a["completed_by"]["id"] for a in task["annotations"])
    assert known.id in authors and len(set(authors)) == 2
    assert any(a["ground_truth"] for a in task["annotations"])
    assert {a["lead_time"] for a in task["annotations"]} == {3.5, None}


def test_json_export_streams_every_task_with_results_as_they_were(make_uow, setup, tmp_path: Path):
    admin, project = setup
    result = [{"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Neutral"]}}]
    tasks = [{"data": {"text": f"t{i}"}, "annotations": [{"completed_by": None, "result": result}]} for i in range(4500)]
    import_json(make_uow, admin, project.id, tasks)
    out = tmp_path / "export.json"
    with make_uow() as uow:
        written = export_project(uow, admin, project_id=project.id, fmt="JSON", out=out)
    exported = json.loads(out.read_text())
    assert written.n_tasks == 4500 == len(exported)
    assert [t["data"]["text"] for t in exported] == [f"t{i}" for i in range(4500)]
    assert all(t["annotations"][0]["result"] == result for t in exported)


def test_a_label_studio_export_round_trips_through_import_and_export(make_uow, tmp_path: Path):
    source = shared_path("ls-examples", "sdk__yolo-export__data.json")
    config = shared_path("ls-examples", "sdk__yolo-export__label_config.xml").read_text()
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin, title="LS", config=config)
    original = json.loads(source.read_text())
    _import_bytes(make_uow, admin, project.id, source.read_bytes(), source.name)
    out = tmp_path / "again.json"
    with make_uow() as uow:
        export_project(uow, admin, project_id=project.id, fmt="JSON", out=out)
    again = json.loads(out.read_text())
    assert [t["data"] for t in again] == [t["data"] for t in original]
    assert [[a["result"] for a in t["annotations"]] for t in again] == [[a["result"] for a in t["annotations"]] for t in original]
