"""The import wizard's core: a preview that lists every row the import would refuse (file, row, reason), an
all-or-nothing import by default, and an explicit "import the valid rows, skip the rejected" that lists what it
skipped. Also: data stored from the file's own JSON text reads back and exports exactly as json.dumps would."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.errors import ImportFormatError
from core.exports import export_project, iter_ls_tasks
from core.import_preview import preview_upload, project_variables
from core.imports import import_tasks_file
from tests.core.helpers import make_project, make_user

CSV_WITH_BAD_ROWS = b"body,stars\ngood,5\nbad,1,extra\n,3\nfine,4\n"
BODY_TO_TEXT = {"text": "body"}


@pytest.fixture
def setup(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    return admin, make_project(make_uow, admin)


def _preview(make_uow, actor, project_id, payload: bytes, filename: str, mapping=None):
    with make_uow() as uow:
        return preview_upload(uow, actor, project_id=project_id, stream=io.BytesIO(payload), filename=filename,
                              mapping=mapping)


def _import(make_uow, actor, project_id, payload: bytes, filename: str, **options):
    with make_uow() as uow:
        summary = import_tasks_file(uow, actor, project_id=project_id, stream=io.BytesIO(payload),
                                    filename=filename, **options)
        uow.commit()
    return summary


def _texts(make_uow, actor, project_id) -> list[str]:
    with make_uow() as uow:
        return [t["data"].get("text") for t in iter_ls_tasks(uow, actor, project_id=project_id)]


def test_preview_lists_every_rejected_row_with_file_row_and_reason(make_uow, setup):
    admin, project = setup
    with make_uow() as uow:
        assert project_variables(uow, admin, project_id=project.id) == ("text",)
    preview = _preview(make_uow, admin, project.id, CSV_WITH_BAD_ROWS, "reviews.csv", BODY_TO_TEXT)
    assert preview.error is None and preview.is_mappable
    assert preview.columns == ("body", "stars") and preview.suggested == {"text": None}
    assert preview.first_rows[0] == {"body": "good", "stars": "5"}
    assert (preview.n_valid, preview.n_rejected) == (3, 1)
    [row] = preview.rejected
    assert (row.filename, row.where) == ("reviews.csv", "row 2 (line 3)")
    assert row.reason == "has 3 fields, the header has 2"


def test_without_a_mapping_every_row_lacking_the_variable_is_rejected_and_named(make_uow, setup):
    admin, project = setup
    preview = _preview(make_uow, admin, project.id, b"body\na\nb\n", "r.csv")
    assert (preview.n_valid, preview.n_rejected) == (0, 2)
    assert [(r.where, "text" in r.reason) for r in preview.rejected] == [("row 1", True), ("row 2", True)]


def test_a_file_that_cannot_be_read_is_refused_whole_in_the_preview(make_uow, setup):
    admin, project = setup
    preview = _preview(make_uow, admin, project.id, b'[{"text": "a"}, {"text": }]', "bad.json")
    assert preview.error is not None and "bad.json: invalid JSON at line 1" in preview.error
    assert _preview(make_uow, admin, project.id, b"body\na\n", "r.csv", {"text": "nope"}).error.count("'nope'") == 1


def test_the_import_refuses_the_whole_file_by_default_naming_the_rejected_row(make_uow, setup):
    admin, project = setup
    with pytest.raises(ImportFormatError, match=r"(?s)nothing imported, 1 problem.*reviews\.csv, row 2 \(line 3\)"):
        _import(make_uow, admin, project.id, CSV_WITH_BAD_ROWS, "reviews.csv", mapping=BODY_TO_TEXT)
    assert _texts(make_uow, admin, project.id) == []


def test_skipping_rejected_rows_imports_the_valid_ones_and_lists_the_skipped(make_uow, setup):
    admin, project = setup
    progress: list[int] = []
    summary = _import(make_uow, admin, project.id, CSV_WITH_BAD_ROWS, "reviews.csv", mapping=BODY_TO_TEXT,
                      skip_invalid=True, progress=progress.append)
    assert (summary.n_tasks, summary.n_rejected) == (3, 1)
    assert [str(r) for r in summary.rejected] == ["reviews.csv, row 2 (line 3): has 3 fields, the header has 2"]
    assert progress[-1] == 4  # every row read, the rejected one included
    assert _texts(make_uow, admin, project.id) == ["good", "", "fine"]


def test_annotation_problems_are_rejects_found_before_anything_is_written(make_uow, setup):
    admin, project = setup
    tasks = [
        {"data": {"text": "ok"}},
        {"data": {"text": "twice"}, "annotations": [{"result": [], "completed_by": 7}, {"result": [], "completed_by": 7}]},
        {"data": {"text": "who"}, "annotations": [{"result": [], "completed_by": [1]}]},
        {"data": {"text": "pred"}, "predictions": [{"result": ["not an object"]}]},
    ]
    preview = _preview(make_uow, admin, project.id, json.dumps(tasks).encode(), "t.json")
    assert preview.n_valid == 2  # two by one author: the newest is kept, the older reported (test_ls_export_shapes)
    assert [(r.where, r.reason.split(":")[0]) for r in preview.rejected] == [
        ("task 3", "annotation 1"),
        ("task 4", "prediction 1"),
    ]


def test_a_file_with_no_valid_row_is_refused_even_when_skipping(make_uow, setup):
    admin, project = setup
    with pytest.raises(ImportFormatError, match="no valid task"):
        _import(make_uow, admin, project.id, b"body\na\n", "r.csv", skip_invalid=True)


def test_stored_data_exports_exactly_as_json_dumps_writes_it(make_uow, setup, tmp_path: Path):
    admin, project = setup
    tasks = [
        {"text": "plain"}, {"data": {"text": "café – ünïcode \u2028 line", "n": 3}}, {"text": "tab\tand \"quotes\""},
        {"text": "escaped \u00e9", "x": 1.10}, {"data": {"text": "nested", "meta": {"a": [1, None, True]}}},
    ]
    payloads = [json.dumps(tasks), json.dumps(tasks, ensure_ascii=False), json.dumps(tasks, indent=2)]
    for n, payload in enumerate(payloads):
        _import(make_uow, admin, project.id, payload.encode(), f"t{n}.json")
    out = tmp_path / "out.json"
    with make_uow() as uow:
        export_project(uow, admin, project_id=project.id, fmt="JSON", out=out)
    exported = json.loads(out.read_text())
    expected = [t.get("data", t) for t in tasks] * len(payloads)
    assert [t["data"] for t in exported] == expected
    text = out.read_text()
    for task in exported:  # as read back (jsonb orders keys its own way), written as json.dumps writes it
        assert json.dumps(task["data"], ensure_ascii=False) in text


def test_without_the_right_to_skip_row_triggers_the_import_keeps_per_row_foreign_key_checks(
    make_uow, setup, monkeypatch: pytest.MonkeyPatch
):
    from storage.repositories import imports as imports_repo

    admin, project = setup
    asked: list[bool] = []

    def may_not(session) -> bool:
        asked.append(True)
        return False

    monkeypatch.setattr(imports_repo, "_may_skip_row_triggers", may_not)
    tasks = [{"text": f"t{i}"} for i in range(2500)]  # more than one batch: two COPY statements
    assert _import(make_uow, admin, project.id, json.dumps(tasks).encode(), "t.json").n_tasks == 2500
    assert _texts(make_uow, admin, project.id) == [t["text"] for t in tasks]
    with make_uow() as uow:
        assert (uow.session.get_bind().dialect.name == "postgresql") == bool(asked)


def test_after_the_task_copy_the_transaction_checks_foreign_keys_row_by_row_again(make_uow, setup):
    from sqlalchemy import text

    admin, project = setup
    with make_uow() as uow:
        import_tasks_file(uow, admin, project_id=project.id, stream=io.BytesIO(b'[{"text": "a"}]'), filename="a.json")
        if uow.session.get_bind().dialect.name == "postgresql":
            assert uow.session.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
        uow.commit()


def test_a_database_error_while_writing_task_rows_fails_the_import_and_writes_nothing(
    make_uow, setup, monkeypatch: pytest.MonkeyPatch
):
    from sqlalchemy.exc import IntegrityError

    import core.imports

    admin, project = setup
    monkeypatch.setattr(core.imports, "TASK_OPEN", "bogus")  # breaks the tasks' known-state check constraint
    tasks = [{"text": f"t{i}"} for i in range(4500)]  # three batches: the error surfaces mid-import
    with pytest.raises(IntegrityError, match="known_state"):
        _import(make_uow, admin, project.id, json.dumps(tasks).encode(), "t.json")
    monkeypatch.undo()
    assert _texts(make_uow, admin, project.id) == []
    assert _import(make_uow, admin, project.id, json.dumps(tasks).encode(), "t.json").n_tasks == 4500


def test_plain_and_annotated_tasks_mixed_keep_file_order_and_their_own_annotations(make_uow, setup):
    admin, project = setup

    def result(i: int) -> list[dict]:
        return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [f"c{i}"]}}]

    # Runs of plain tasks (no ids needed) between runs of annotated ones, across several batches.
    tasks = [
        {"data": {"text": f"t{i}"}, "annotations": [{"result": result(i), "completed_by": None}]}
        if (i // 700) % 2 else {"text": f"t{i}"}
        for i in range(5000)
    ]
    summary = _import(make_uow, admin, project.id, json.dumps(tasks).encode(), "mixed.json")
    assert (summary.n_tasks, summary.n_annotations) == (5000, sum(1 for t in tasks if "annotations" in t))
    with make_uow() as uow:
        exported = list(iter_ls_tasks(uow, admin, project_id=project.id))
    assert [t["data"]["text"] for t in exported] == [f"t{i}" for i in range(5000)]
    for i, task in enumerate(exported):
        expected = [result(i)] if "annotations" in tasks[i] else []
        assert [a["result"] for a in task["annotations"]] == expected
    ids = [t["id"] for t in exported]
    assert ids == sorted(ids)


def test_a_row_with_several_problems_counts_once_with_its_problems_together(make_uow):
    """5 rows that each lack both variables the config reads: 5 rejected rows, not 10 problems."""
    admin = make_user(make_uow, "admin", admin=True)
    config = ('<View><Text name="review" value="$review"/><Text name="product" value="$product"/>'
              '<Choices name="s" toName="review"><Choice value="Good"/></Choices></View>')
    project = make_project(make_uow, admin, config=config)
    payload = b"comment,item\n" + b"".join(b"nice %d,phone\n" % i for i in range(5))
    preview = _preview(make_uow, admin, project.id, payload, "r.csv")
    assert (preview.n_valid, preview.n_rejected, len(preview.rejected)) == (0, 5, 5)
    assert [r.where for r in preview.rejected] == [f"row {i}" for i in range(1, 6)]
    assert all("review" in r.reason and "product" in r.reason for r in preview.rejected)
