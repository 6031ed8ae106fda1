"""What a Label Studio task carries beside its data and annotations (issue 15, item 1): prediction and draft *ids*
(Label Studio's JSON export lists their primary keys) are skipped and reported instead of refusing the task; drafts
given in full become their authors' drafts (loaded when that person gets the task); ``inner_id``, ``file_upload``,
``created_at`` and ``updated_at`` are kept, shown in the Data page's task view and written back on export; a
person's older annotations of a task are kept as history in the audit trail; an export's user table turns author
ids into the same accounts. Fixture: tests/fixtures/ls_exports/drafts_ids_and_task_fields.json."""
from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from core.browser import task_detail
from core.errors import ImportFormatError
from core.exports import export_project, iter_ls_tasks
from core.imports import import_tasks_file, read_user_table
from core.labeling import next_task, open_task
from core.uow import UowFactory
from core.users import UserInfo, create_user
from storage.repositories import audit as audit_repo
from tests.core.helpers import make_project, make_user

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ls_exports"
FIXTURE = "drafts_ids_and_task_fields.json"


def _person(make_uow: UowFactory, username: str, email: str) -> UserInfo:
    with make_uow() as uow:
        user = create_user(uow, username=username, password="password-123", email=email)
        uow.commit()
    return user


@pytest.fixture
def team(make_uow: UowFactory) -> dict[str, Any]:
    admin = make_user(make_uow, "admin", admin=True)
    maria = _person(make_uow, "maria", "maria@example.org")
    tom = _person(make_uow, "tom", "tom@example.org")
    project = make_project(make_uow, admin, overlap=2, members={"annotator": [maria, tom]})
    return {"admin": admin, "maria": maria, "tom": tom, "project": project}


def _import(make_uow: UowFactory, actor: UserInfo, project_id: int, payload: bytes, filename: str = FIXTURE,
            **options: Any):
    with make_uow() as uow:
        summary = import_tasks_file(uow, actor, project_id=project_id, stream=io.BytesIO(payload), filename=filename,
                                    **options)
        uow.commit()
    return summary


def _time(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _source() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / FIXTURE).read_text())


def test_prediction_and_draft_ids_are_skipped_and_reported_not_refused(make_uow: UowFactory, team) -> None:
    summary = _import(make_uow, team["admin"], team["project"].id, (FIXTURES / FIXTURE).read_bytes())
    assert (summary.n_tasks, summary.n_annotations, summary.n_predictions, summary.n_drafts) == (2, 1, 0, 2)
    assert summary.n_users_created == 0  # Maria and Tom are found by e-mail
    assert "2 task(s): predictions given as ids only were skipped" in summary.notes[0]
    assert summary.notes[1] == "1 task(s): drafts given as ids only were skipped"


def test_drafts_become_their_authors_drafts(make_uow: UowFactory, team) -> None:
    _import(make_uow, team["admin"], team["project"].id, (FIXTURES / FIXTURE).read_bytes())
    source = _source()
    with make_uow() as uow:  # Tom's draft of a new answer loads when the hand-out gives him the task
        handed = next_task(uow, team["tom"], project_id=team["project"].id)
        uow.commit()
    assert handed is not None and handed.has_draft
    assert handed.result == source[0]["drafts"][0]["result"] and handed.annotation_id is None
    assert handed.draft_active_time_s == 12.0
    with make_uow() as uow:  # Maria's draft edits her submitted annotation: opening it shows the draft
        exported = list(iter_ls_tasks(uow, team["admin"], project_id=team["project"].id))
        mine = open_task(uow, team["maria"], task_id=exported[0]["id"])
    assert mine.has_draft and mine.result == source[0]["drafts"][1]["result"]
    assert mine.annotation_id == exported[0]["annotations"][0]["id"]


def test_task_fields_and_drafts_are_written_back_on_export(make_uow: UowFactory, team, tmp_path: Path) -> None:
    _import(make_uow, team["admin"], team["project"].id, (FIXTURES / FIXTURE).read_bytes())
    with make_uow() as uow:
        export_project(uow, team["admin"], project_id=team["project"].id, fmt="JSON", out=tmp_path / "out.json")
        as_dicts = list(iter_ls_tasks(uow, team["admin"], project_id=team["project"].id))
    written = json.loads((tmp_path / "out.json").read_text())
    assert written == json.loads(json.dumps(as_dicts))  # both export paths agree, key order aside
    for task, source in zip(written, _source(), strict=True):
        for key in ("inner_id", "file_upload", "data", "meta"):
            assert task[key] == source[key], key
        for key in ("created_at", "updated_at"):  # the same instants (Label Studio writes zero microseconds)
            assert _time(task[key]) == _time(source[key]), key
    drafts = written[0]["drafts"]
    by_author = {d["created_username"].rsplit(",", 1)[0].split()[-1]: d for d in drafts}
    assert set(by_author) == {"maria@example.org", "tom@example.org"}
    for draft in _source()[0]["drafts"]:
        email = draft["created_username"].rsplit(",", 1)[0].split()[-1]
        mine = by_author[email]
        assert (mine["result"], mine["lead_time"], _time(mine["created_at"]), _time(mine["updated_at"])) == (
            draft["result"], draft["lead_time"], _time(draft["created_at"]), _time(draft["updated_at"]))
    assert by_author["maria@example.org"]["annotation"] == written[0]["annotations"][0]["id"]
    assert by_author["tom@example.org"]["annotation"] is None
    assert written[1]["drafts"] == [] and written[1]["predictions"] == []
    # Quorum's own export imported into another project keeps the drafts and their people
    again = make_project(make_uow, team["admin"], title="Again", overlap=2)
    summary = _import(make_uow, team["admin"], again.id, (tmp_path / "out.json").read_bytes(), "out.json")
    assert summary.n_drafts == 2 and summary.n_users_created == 0


def test_the_data_page_shows_where_a_task_came_from_and_its_drafts(make_uow: UowFactory, team) -> None:
    _import(make_uow, team["admin"], team["project"].id, (FIXTURES / FIXTURE).read_bytes())
    with make_uow() as uow:
        first = next(iter(iter_ls_tasks(uow, team["admin"], project_id=team["project"].id)))
        detail = task_detail(uow, team["admin"], task_id=first["id"])
    assert detail.origin.startswith("imported as task 2201 (#7 in its project) · uploaded file 3f9c2a1b-reviews_may"
                                    ".json · created 2024-05-01 07:30")
    assert sorted((d.author, d.n_items) for d in detail.drafts) == [("maria", 1), ("tom", 1)]


def test_older_annotations_of_one_person_are_kept_in_the_audit_trail(make_uow: UowFactory, team) -> None:
    payload = (FIXTURES / "same_person_twice.json").read_bytes()
    summary = _import(make_uow, team["admin"], team["project"].id, payload, "same_person_twice.json")
    assert "kept as history" in summary.notes[0]
    older = next(a for a in json.loads(payload)[0]["annotations"] if a["id"] == 501)
    with make_uow() as uow:
        [event] = audit_repo.events_of(uow.session, team["project"].id, action_prefix="import.older_annotation")
        assert event.actor_id == team["admin"].id
        assert event.detail["author_id"] == team["maria"].id and event.detail["import_id"] == 501
        assert event.detail["result"] == older["result"] and event.detail["created_at"] == older["created_at"]


def test_an_exports_user_table_finds_authors_named_by_id(make_uow: UowFactory, team) -> None:
    users = read_user_table(io.BytesIO(json.dumps({"results": [
        {"id": 4, "email": "maria@example.org", "first_name": "Maria", "last_name": "Costa"},
        {"id": 5, "email": "TOM@example.org", "first_name": "", "last_name": ""},
    ]}).encode()), "users.json")
    result = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
    tasks = [{"data": {"text": "a"}, "annotations": [{"completed_by": 4, "result": result},
                                                    {"completed_by": 5, "result": result}]}]
    summary = _import(make_uow, team["admin"], team["project"].id, json.dumps(tasks).encode(), "ids.json",
                      users=users)
    assert summary.n_users_created == 0
    with make_uow() as uow:
        [task] = list(iter_ls_tasks(uow, team["admin"], project_id=team["project"].id))
    assert sorted(a["completed_by"]["id"] for a in task["annotations"]) == sorted([team["maria"].id, team["tom"].id])


@pytest.mark.parametrize(("payload", "message"), [
    (b"{not json", "users.json: the user table must be a JSON list of users"),
    (b'{"count": 2}', "users.json: the user table must be a JSON list of users"),
    (b'[{"id": 1, "email": "a@b.c"}, 7]', "users.json: user 2 of the user table must be an object, not int"),
])
def test_a_user_table_that_is_not_one_is_refused_naming_the_file(payload: bytes, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        read_user_table(io.BytesIO(payload), "users.json")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("inner_id", "seven", "'inner_id' must be a whole number"),
    ("created_at", 5, "'created_at' must be text"),
])
def test_task_fields_of_the_wrong_kind_are_refused_naming_the_task(make_uow: UowFactory, team, field, value,
                                                                   message) -> None:
    tasks = [{"data": {"text": "fine"}}, {"data": {"text": "odd"}, field: value}]
    with pytest.raises(ImportFormatError, match=rf"fields.json, item 2: {message}"):
        _import(make_uow, team["admin"], team["project"].id, json.dumps(tasks).encode(), "fields.json")


def test_a_draft_on_a_task_that_has_all_its_answers_is_listed_opened_and_submitted(make_uow: UowFactory, team) -> None:
    from core.labeling import my_unanswered_drafts, submit_annotation
    from core.review import send_back_notes

    one_answer = make_project(make_uow, team["admin"], title="One answer", overlap=1,
                              members={"annotator": [team["maria"], team["tom"]]})
    _import(make_uow, team["admin"], one_answer.id, (FIXTURES / FIXTURE).read_bytes())  # Maria's answer fills 2201
    with make_uow() as uow:
        [item] = my_unanswered_drafts(uow, team["tom"], project_id=one_answer.id)
        assert my_unanswered_drafts(uow, team["maria"], project_id=one_answer.id) == []  # hers edits her answer
        opened = open_task(uow, team["tom"], task_id=item.task_id)
        assert opened.has_draft and opened.result == _source()[0]["drafts"][0]["result"]
        assert send_back_notes(uow, team["tom"], task_id=item.task_id) == []  # the Label page reads them too
        submit_annotation(uow, team["tom"], task_id=item.task_id, result=opened.result)
        uow.commit()
    with make_uow() as uow:
        assert my_unanswered_drafts(uow, team["tom"], project_id=one_answer.id) == []
        [task] = [t for t in iter_ls_tasks(uow, team["admin"], project_id=one_answer.id) if t["id"] == item.task_id]
    assert len(task["annotations"]) == 2  # the task made room for Tom's answer, as for a late submit


def test_the_data_page_shows_the_older_answers_an_import_kept_as_history(make_uow: UowFactory, team) -> None:
    _import(make_uow, team["admin"], team["project"].id, (FIXTURES / "same_person_twice.json").read_bytes(),
            "same_person_twice.json")
    with make_uow() as uow:
        first = next(iter(iter_ls_tasks(uow, team["admin"], project_id=team["project"].id)))
        detail = task_detail(uow, team["admin"], task_id=first["id"])
    older = json.loads((FIXTURES / "same_person_twice.json").read_text())[0]["annotations"][0]
    [kept] = detail.older_answers
    assert (kept.author, kept.result, kept.file) == ("maria", older["result"], "same_person_twice.json")


def test_an_author_known_by_id_keeps_one_account_through_export_and_import_again(make_uow: UowFactory, team,
                                                                                  tmp_path: Path) -> None:
    tasks = [{"data": {"text": "a"}, "annotations": [{"completed_by": 77, "result": []}]}]
    first = _import(make_uow, team["admin"], team["project"].id, json.dumps(tasks).encode(), "ids.json")
    assert first.n_users_created == 1 and "ls-user-77" in first.notes[-1]
    with make_uow() as uow:
        export_project(uow, team["admin"], project_id=team["project"].id, fmt="JSON", out=tmp_path / "out.json")
    again = make_project(make_uow, team["admin"], title="Again")
    for _ in range(2):  # each round trip finds the same inactive account
        summary = _import(make_uow, team["admin"], again.id, (tmp_path / "out.json").read_bytes(), "out.json",
                          repeatable=True)
        assert summary.n_users_created == 0


def test_a_storage_annotation_naming_its_author_by_id_finds_them_by_the_email_beside_it(make_uow: UowFactory,
                                                                                       team) -> None:
    item = {"id": 88, "completed_by": 7, "created_username": " tom@example.org, 7", "was_cancelled": False,
            "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                        "value": {"choices": ["Negative"]}}],
            "task": {"id": 5, "data": {"text": "Screen cracked."}}}
    summary = _import(make_uow, team["admin"], team["project"].id, json.dumps(item).encode(), "88")
    assert summary.n_users_created == 0
    with make_uow() as uow:
        [task] = list(iter_ls_tasks(uow, team["admin"], project_id=team["project"].id))
    assert task["annotations"][0]["completed_by"]["id"] == team["tom"].id
