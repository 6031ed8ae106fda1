"""People keep their identity (issue 15, item 2): an imported ``completed_by`` in any of Label Studio's shapes
finds the same Quorum user by e-mail, and Quorum's own export carries the e-mail so that importing it into this or
another Quorum keeps the authors; JSON_MIN and CSV name the author by e-mail, as Label Studio's converter does."""
from __future__ import annotations

import csv
import io
import json
from functools import partial
from pathlib import Path

from sqlalchemy import select

from core.exports import export_project, iter_ls_tasks
from core.imports import _AuthorResolver, import_tasks_file
from core.uow import UnitOfWork, UowFactory
from storage.db import make_engine, session_factory, upgrade_to_head
from storage.models import User
from tests.core.helpers import import_json, make_project, make_user

RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


def _authors(make_uow: UowFactory, admin, project_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    with make_uow() as uow:
        return [a["completed_by"]["id"] for t in iter_ls_tasks(uow, admin, project_id=project_id)
                for a in t["annotations"]]


def _users(make_uow: UowFactory) -> dict[str, tuple[str | None, str, bool, str | None]]:
    """{username: (email, display name, active, password hash)}"""
    with make_uow() as uow:
        return {u.username: (u.email, u.display_name, u.is_active, u.password_hash)
                for u in uow.session.scalars(select(User))}


def test_every_shape_of_completed_by_finds_the_same_person_by_email(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    ana = make_user(make_uow, "ana")  # ana@example.com
    project = make_project(make_uow, admin)
    tasks = [  # an older Label Studio export's object (e-mail in another case), an e-mail, then the object's id alone
        {"data": {"text": "a"}, "annotations": [{"result": RESULT, "completed_by": {
            "id": 3, "email": "Ana@Example.com", "first_name": "Ana", "last_name": "Souza"}}]},
        {"data": {"text": "b"}, "annotations": [{"result": RESULT, "completed_by": "ana@example.com"}]},
        {"data": {"text": "c"}, "annotations": [{"result": RESULT, "completed_by": 3}]},
    ]
    summary = import_json(make_uow, admin, project.id, tasks)
    assert summary.n_annotations == 3 and summary.n_users_created == 0
    assert _authors(make_uow, admin, project.id) == [ana.id, ana.id, ana.id]
    assert "ls-user-3" not in _users(make_uow)


def test_an_id_is_matched_through_the_exports_user_table(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    ana = make_user(make_uow, "ana")
    with make_uow() as uow:
        resolver = _AuthorResolver(uow, admin)
        resolver.add_user_table([{"id": 3, "email": "ana@example.com", "first_name": "Ana", "last_name": ""},
                                 {"id": 4, "email": "", "first_name": "Nobody"}])
        assert resolver(3, where="t") == ana.id and resolver("3", where="t") == ana.id
        assert resolver(4, where="t") not in (ana.id, admin.id)  # no e-mail: an account of its own, as before
        assert resolver.created == 1
        uow.commit()
    assert _users(make_uow)["ls-user-4"][2] is False


def test_unknown_authors_stay_inactive_without_a_password_and_keep_their_name(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    project = make_project(make_uow, admin)
    tasks = [{"data": {"text": "a"}, "annotations": [{"result": RESULT, "completed_by": {
        "id": 9, "email": "bea@lab.org", "first_name": "Bea", "last_name": "Lima"}}]},
        {"data": {"text": "b"}, "annotations": [{"result": RESULT, "completed_by": 9}]}]
    summary = import_json(make_uow, admin, project.id, tasks)
    assert summary.n_users_created == 1
    assert _users(make_uow)["bea"] == ("bea@lab.org", "Bea Lima", False, None)
    (bea,) = set(_authors(make_uow, admin, project.id))
    assert bea not in (admin.id,) and len(_authors(make_uow, admin, project.id)) == 2


def _labeled_by_two(make_uow: UowFactory):  # type: ignore[no-untyped-def]
    admin = make_user(make_uow, "admin", admin=True)
    ana, bo = make_user(make_uow, "ana"), make_user(make_uow, "bo")
    project = make_project(make_uow, admin, overlap=2)
    import_json(make_uow, admin, project.id, [{"data": {"text": "a"}, "annotations": [
        {"result": RESULT, "completed_by": "ana@example.com", "created_at": "2025-01-02T10:00:00Z"},
        {"result": RESULT, "completed_by": "bo@example.com", "created_at": "2025-01-02T09:00:00Z"}]}])
    return admin, ana, bo, project


def test_json_export_writes_completed_by_as_label_studio_with_the_email(make_uow: UowFactory, tmp_path: Path) -> None:
    admin, ana, bo, project = _labeled_by_two(make_uow)
    with make_uow() as uow:
        export_project(uow, admin, project_id=project.id, fmt="JSON", out=tmp_path / "out.json")
        via_dicts = [a["completed_by"] for t in iter_ls_tasks(uow, admin, project_id=project.id) for a in t["annotations"]]
    written = [a["completed_by"] for a in json.loads((tmp_path / "out.json").read_text())[0]["annotations"]]
    assert written == via_dicts == [
        {"id": ana.id, "email": "ana@example.com", "first_name": "", "last_name": ""},
        {"id": bo.id, "email": "bo@example.com", "first_name": "", "last_name": ""},
    ]


def test_json_min_and_csv_annotator_is_the_email(make_uow: UowFactory, tmp_path: Path) -> None:
    admin, _ana, _bo, project = _labeled_by_two(make_uow)
    with make_uow() as uow:
        export_project(uow, admin, project_id=project.id, fmt="JSON_MIN", out=tmp_path / "min.json")
        export_project(uow, admin, project_id=project.id, fmt="CSV", out=tmp_path / "out.csv")
    records = json.loads((tmp_path / "min.json").read_text())
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = {"ana@example.com", "bo@example.com"}
    assert {r["annotator"] for r in records} == expected and {r["annotator"] for r in rows} == expected


def test_quorum_export_reimported_into_the_same_or_a_fresh_quorum_keeps_the_authors(
    make_uow: UowFactory, tmp_path: Path
) -> None:
    admin, ana, bo, project = _labeled_by_two(make_uow)
    with make_uow() as uow:
        export_project(uow, admin, project_id=project.id, fmt="JSON", out=tmp_path / "out.json")
    payload = (tmp_path / "out.json").read_bytes()

    again = make_project(make_uow, admin, title="Again", overlap=2)  # the same Quorum
    with make_uow() as uow:
        summary = import_tasks_file(uow, admin, project_id=again.id, stream=io.BytesIO(payload), filename="out.json")
        uow.commit()
    assert summary.n_users_created == 0 and _authors(make_uow, admin, again.id) == [ana.id, bo.id]

    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")  # another Quorum: other ids for the same people
    upgrade_to_head(engine)
    try:
        other: UowFactory = partial(UnitOfWork, session_factory(engine))
        other_admin = make_user(other, "root", admin=True)
        make_user(other, "filler")
        other_bo, other_ana = make_user(other, "bo"), make_user(other, "ana")
        assert (other_ana.id, other_bo.id) != (ana.id, bo.id)
        moved = make_project(other, other_admin, overlap=2)
        with other() as uow:
            summary = import_tasks_file(uow, other_admin, project_id=moved.id, stream=io.BytesIO(payload),
                                        filename="out.json")
            uow.commit()
        assert summary.n_users_created == 0
        assert _authors(other, other_admin, moved.id) == [other_ana.id, other_bo.id]
        assert not any(name.startswith("ls-user-") for name in _users(other))
    finally:
        engine.dispose()
