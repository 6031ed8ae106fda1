"""Label Studio exports in the shapes teams' own exports have (issue 15, items 1 and 6): two submitted annotations by
one person on a task, a cloud-storage annotation file, bad text and numbers in task data, JSON nested too deeply,
and the command line's --skip-invalid. Fixtures: tests/fixtures/ls_exports/."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import cli
from core.errors import ImportFormatError
from core.exports import iter_ls_tasks
from core.import_preview import preview_upload
from core.imports import import_tasks_file
from storage.db import dispose_engines
from tests.core.helpers import TEXT_CONFIG, make_project, make_user

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ls_exports"


@pytest.fixture
def setup(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    return admin, make_project(make_uow, admin, overlap=2)


def _import(make_uow, actor, project_id, payload: bytes, filename: str, **options):
    with make_uow() as uow:
        summary = import_tasks_file(uow, actor, project_id=project_id, stream=io.BytesIO(payload),
                                    filename=filename, **options)
        uow.commit()
    return summary


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _exported(make_uow, actor, project_id) -> list[dict]:
    with make_uow() as uow:
        return list(iter_ls_tasks(uow, actor, project_id=project_id))


def _choices(annotation: dict) -> list[str]:
    return [c for item in annotation["result"] for c in item["value"]["choices"]]


def test_two_submitted_annotations_by_one_person_keep_the_newest_and_say_which_were_kept_out(make_uow, setup):
    admin, project = setup
    summary = _import(make_uow, admin, project.id, _fixture("same_person_twice.json"), "same_person_twice.json")
    assert (summary.n_tasks, summary.n_annotations) == (2, 3)
    note, accounts = summary.notes
    assert note.startswith("1 older annotation(s) by the same person kept as history")
    assert accounts.startswith(f"{summary.n_users_created} author(s) matched no account by e-mail")
    assert "task 1101, user maria@example.org" in note
    tasks = {t["data"]["text"]: t for t in _exported(make_uow, admin, project.id)}
    phone = tasks["The battery lasts two days, great phone."]
    # round trip: the newest of Maria's two and Tom's come back with their results as the file had them
    source = json.loads(_fixture("same_person_twice.json"))
    kept = [a for a in source[0]["annotations"] if a["id"] != 501]
    assert sorted(a["result"][0]["value"]["choices"] for a in phone["annotations"]) == \
        sorted(a["result"][0]["value"]["choices"] for a in kept)
    assert sorted(_choices(a) for a in phone["annotations"]) == [["Positive"], ["Positive"]]
    screen = tasks["Screen cracked after a week."]
    assert [a["result"] for a in screen["annotations"]] == [source[1]["annotations"][0]["result"]]


def test_the_file_order_decides_between_annotations_without_times(make_uow, setup):
    admin, project = setup
    first = {"completed_by": 3, "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                             "value": {"choices": ["Negative"]}}]}
    second = {"completed_by": 3, "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                              "value": {"choices": ["Neutral"]}}]}
    payload = json.dumps([{"data": {"text": "a"}, "annotations": [first, second]}]).encode()
    summary = _import(make_uow, admin, project.id, payload, "untimed.json")
    assert summary.n_annotations == 1 and "task 1, user 3" in summary.notes[0]
    [task] = _exported(make_uow, admin, project.id)
    assert [_choices(a) for a in task["annotations"]] == [["Neutral"]]


def test_a_cloud_storage_annotation_file_imports_as_its_task_with_that_annotation(make_uow, setup):
    admin, project = setup
    # Label Studio names the object after the annotation's id, without an extension
    summary = _import(make_uow, admin, project.id, _fixture("cloud_storage_annotation.json"), "88")
    assert (summary.n_tasks, summary.n_annotations) == (1, 1)
    source = json.loads(_fixture("cloud_storage_annotation.json"))
    [task] = _exported(make_uow, admin, project.id)
    assert task["data"] == source["task"]["data"]
    [annotation] = task["annotations"]
    assert annotation["result"] == source["result"]


@pytest.mark.parametrize(("name", "field"), [
    ("bad_text_surrogate.json", "data.text holds an unpaired UTF-16 surrogate"),
    ("bad_text_nul.json", "data.text holds a NUL character"),
])
def test_unstorable_text_is_refused_naming_the_task_and_field(make_uow, setup, name, field):
    admin, project = setup
    with pytest.raises(ImportFormatError, match=rf"(?s)nothing imported.*{name}, item 2: {field}"):
        _import(make_uow, admin, project.id, _fixture(name), name)
    assert _exported(make_uow, admin, project.id) == []
    summary = _import(make_uow, admin, project.id, _fixture(name), name, skip_invalid=True)
    assert summary.n_rejected == 1 and summary.rejected[0].where == "item 2"
    assert all("\x00" not in t["data"]["text"] for t in _exported(make_uow, admin, project.id))


@pytest.mark.parametrize(("name", "word"), [("bad_number_nan.json", "NaN"), ("bad_number_infinity.json", "Infinity")])
def test_nan_and_infinity_are_refused_naming_the_task(make_uow, setup, name, word):
    admin, project = setup
    item = "item 2" if "nan" in name else "item 1"
    with pytest.raises(ImportFormatError, match=rf"{word} is not valid JSON.*\(in {item}\)"):
        _import(make_uow, admin, project.id, _fixture(name), name)
    assert _exported(make_uow, admin, project.id) == []


@pytest.mark.parametrize("payload", [
    b"[" * 100_000 + b"]" * 100_000,
    b'[{"data": {"text": "a", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}]",
])
@pytest.mark.parametrize("filename", ["deep.json", "deep.jsonl"])
def test_json_nested_too_deeply_is_refused_with_a_message_not_a_recursion_error(make_uow, setup, payload, filename):
    admin, project = setup
    with pytest.raises(ImportFormatError, match="nested too deeply"):
        _import(make_uow, admin, project.id, payload, filename)
    with make_uow() as uow:
        preview = preview_upload(uow, admin, project_id=project.id, stream=io.BytesIO(payload), filename=filename)
    assert preview.error is not None and "nested too deeply" in preview.error
    assert _exported(make_uow, admin, project.id) == []


def test_the_command_line_skips_invalid_tasks_on_request_and_lists_them(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path / "data"))
    try:
        config = tmp_path / "config.xml"
        config.write_text(TEXT_CONFIG)
        assert cli.main(["project", "create", "Reviews", "--config", str(config)]) == 0
        capsys.readouterr()
        bad = str(FIXTURES / "bad_text_surrogate.json")
        assert cli.main(["import", "Reviews", bad]) != 0
        assert "item 2: data.text holds an unpaired UTF-16 surrogate" in capsys.readouterr().err
        assert cli.main(["import", "Reviews", bad, "--skip-invalid"]) == 0
        out = capsys.readouterr().out
        assert "bad_text_surrogate.json: 2 tasks" in out
        assert "skipped 1 invalid task(s)" in out and "skipped item 2: data.text holds an unpaired" in out
        assert cli.main(["import", "Reviews", str(FIXTURES / "same_person_twice.json")]) == 0
        out = capsys.readouterr().out
        assert "1 older annotation(s) by the same person kept as history" in out
        assert "task 1101, user maria@example.org" in out
    finally:
        dispose_engines()
