"""Quorum's Label Studio-compatible HTTP API over HTTP (Starlette's test client): tokens, the subset of endpoints,
who may reach what, and errors as Label Studio writes them. Label Studio's own SDK drives it in test_ls_sdk.py."""
from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.rest.routes import routes
from core.api_tokens import create_token
from core.labeling import next_task
from tests.core.helpers import TEXT_CONFIG, make_project, make_user

CHOICE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


@pytest.fixture
def api(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    boss, ann, bea, outsider = (make_user(make_uow, name) for name in ("boss", "ann", "bea", "outsider"))
    project = make_project(make_uow, admin, overlap=2, members={"manager": [boss], "annotator": [ann, bea]})
    other = make_project(make_uow, admin, title="Other")
    tokens = {}
    with make_uow() as uow:
        for user in (admin, boss, ann, bea, outsider):
            tokens[user.username] = create_token(uow, user, user_id=user.id, name="test")[1]
        uow.commit()
    client = TestClient(Starlette(routes=routes(lambda: make_uow)))
    people = {"admin": admin, "boss": boss, "ann": ann, "bea": bea, "outsider": outsider}
    return client, tokens, project, other, people


def _as(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Token {tokens[who]}"}


def test_no_token_a_wrong_token_and_the_session_cookie_are_refused(api):
    client, tokens, project, _, _ = api
    assert client.get("/health").json() == {"status": "UP"}
    for headers in ({}, {"Authorization": "Token nope"}, {"Authorization": "Basic YWRtaW46eA=="}):
        answer = client.get("/api/projects/", headers=headers)
        assert answer.status_code == 401 and answer.json()["status_code"] == 401 and answer.json()["detail"]
    answer = client.get("/api/projects/", cookies={"quorum_session": "anything"})
    assert answer.status_code == 401


def test_a_project_is_created_read_changed_listed_and_deleted(api):
    client, tokens, _, _, _ = api
    made = client.post("/api/projects/", headers=_as(tokens, "admin"),
                       json={"title": "From a script", "label_config": TEXT_CONFIG, "maximum_annotations": 3})
    assert made.status_code == 201, made.text
    project = made.json()
    assert (project["title"], project["maximum_annotations"], project["task_number"]) == ("From a script", 3, 0)
    assert client.get(f"/api/projects/{project['id']}/", headers=_as(tokens, "admin")).json()["label_config"] == TEXT_CONFIG
    changed = client.patch(f"/api/projects/{project['id']}", headers=_as(tokens, "admin"),
                           json={"title": "Renamed", "description": "now with a description"})
    assert changed.status_code == 200 and changed.json()["title"] == "Renamed"
    listed = client.get("/api/projects/?page=1&page_size=2", headers=_as(tokens, "admin")).json()
    assert listed["count"] == 3 and len(listed["results"]) == 2 and listed["next"] == 2
    assert client.delete(f"/api/projects/{project['id']}/", headers=_as(tokens, "admin")).status_code == 204
    assert client.get(f"/api/projects/{project['id']}/", headers=_as(tokens, "admin")).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "No config"}, "label_config"),
    ({"title": "Bad", "label_config": "<View><Choices name='c' toName='nothing'/></View>"}, "label_config"),
    ({"title": "Odd", "label_config": TEXT_CONFIG, "maximum_annotations": "two"}, "maximum_annotations"),
    ({"title": "Odd", "label_config": TEXT_CONFIG, "colour_scheme": "dark"}, "colour_scheme"),
])
def test_a_bad_project_field_is_named_as_label_studio_names_it(api, body, field):
    client, tokens, _, _, _ = api
    answer = client.post("/api/projects/", headers=_as(tokens, "admin"), json=body)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["validation_errors"]


def test_only_administrators_create_projects_and_a_stranger_does_not_see_one(api):
    client, tokens, project, _, _ = api
    answer = client.post("/api/projects/", headers=_as(tokens, "boss"), json={"title": "Mine", "label_config": TEXT_CONFIG})
    assert answer.status_code == 403
    assert client.get(f"/api/projects/{project.id}/", headers=_as(tokens, "outsider")).status_code in (403, 404)
    assert [p["id"] for p in client.get("/api/projects/", headers=_as(tokens, "outsider")).json()["results"]] == []


def _import(client, tokens, project_id, tasks, who="boss"):
    return client.post(f"/api/projects/{project_id}/import?return_task_ids=true", headers=_as(tokens, who),
                       content=json.dumps(tasks), )


def test_import_with_predictions_then_tasks_are_listed_page_by_page(api):
    client, tokens, project, _, _ = api
    tasks = [{"data": {"text": f"review {n}"}, "predictions": [{"result": CHOICE, "model_version": "m1", "score": 0.9}]}
             for n in range(5)]
    answer = _import(client, tokens, project.id, tasks)
    assert answer.status_code == 201, answer.text
    imported = answer.json()
    assert (imported["task_count"], imported["prediction_count"]) == (5, 5) and len(imported["task_ids"]) == 5
    again = _import(client, tokens, project.id, tasks)  # a request is not a file: the same tasks again are new tasks
    assert again.status_code == 201
    pages = [client.get(f"/api/tasks/?project={project.id}&page={n}&page_size=4&fields=all",
                        headers=_as(tokens, "boss")).json() for n in (1, 2, 3, 4)]
    assert [len(p["tasks"]) for p in pages] == [4, 4, 2, 0] and pages[0]["total"] == 10
    first = pages[0]["tasks"][0]
    assert first["data"] == {"text": "review 0"} and first["predictions"][0]["model_version"] == "m1"
    assert client.get(f"/api/tasks/{first['id']}/", headers=_as(tokens, "boss")).json()["id"] == first["id"]


def test_a_bad_import_names_the_task_and_imports_nothing(api):
    client, tokens, project, _, _ = api
    answer = _import(client, tokens, project.id, [{"data": {"text": "fine"}}, {"data": "not an object"}])
    assert answer.status_code == 400 and "item 2" in answer.json()["detail"]
    assert client.get(f"/api/tasks/?project={project.id}", headers=_as(tokens, "boss")).json()["total"] == 0
    assert _import(client, tokens, project.id, [{"data": {"text": "x"}}], who="ann").status_code == 403


def test_an_annotator_annotates_through_the_api_and_sees_only_their_own_work(api, make_uow):
    client, tokens, project, other, people = api
    _import(client, tokens, project.id, [{"data": {"text": "one"}}, {"data": {"text": "two"}}])
    with make_uow() as uow:  # the hand-out gives ann a task, bea another
        held = next_task(uow, people["ann"], project_id=project.id)
        uow.commit()
    task_id = held.task_id
    made = client.post(f"/api/tasks/{task_id}/annotations/", headers=_as(tokens, "ann"),
                       json={"result": CHOICE, "lead_time": 2.5, "was_cancelled": False, "ground_truth": False})
    assert made.status_code == 201, made.text
    annotation = made.json()
    assert annotation["result"] == CHOICE and annotation["completed_by"]["id"] == people["ann"].id
    # bea gets her task from the API's hand-out (overlap 2: the same task, which has room for her)
    handed = client.get(f"/api/projects/{project.id}/next", headers=_as(tokens, "bea"))
    assert handed.status_code == 200 and handed.json()["id"] == task_id and handed.json()["annotations"] == []
    bea = client.post(f"/api/tasks/{task_id}/annotations/", headers=_as(tokens, "bea"),
                      json={"result": [{**CHOICE[0], "value": {"choices": ["Negative"]}}]})
    assert bea.status_code == 201
    # ann sees her task with her answer only; not bea's, not the task she never had, not another project
    mine = client.get(f"/api/tasks/?project={project.id}", headers=_as(tokens, "ann")).json()
    assert [t["id"] for t in mine["tasks"]] == [task_id]
    assert [a["id"] for a in mine["tasks"][0]["annotations"]] == [annotation["id"]]
    listed = client.get(f"/api/tasks/{task_id}/annotations/", headers=_as(tokens, "ann")).json()
    assert isinstance(listed, list) and [a["id"] for a in listed] == [annotation["id"]]
    assert client.get(f"/api/annotations/{bea.json()['id']}/", headers=_as(tokens, "ann")).status_code == 403
    assert client.get(f"/api/tasks/?project={other.id}", headers=_as(tokens, "ann")).status_code in (403, 404)
    assert client.get(f"/api/projects/{project.id}/export?exportType=JSON", headers=_as(tokens, "ann")).status_code == 403
    # the manager sees both answers; changing ann's is hers alone
    both = client.get(f"/api/tasks/{task_id}/annotations/", headers=_as(tokens, "boss")).json()
    assert len(both) == 2
    assert client.patch(f"/api/annotations/{annotation['id']}/", headers=_as(tokens, "boss"),
                        json={"result": CHOICE}).status_code == 403
    changed = client.patch(f"/api/annotations/{annotation['id']}/", headers=_as(tokens, "ann"),
                           json={"result": [{**CHOICE[0], "value": {"choices": ["Neutral"]}}]})
    assert changed.status_code == 200 and changed.json()["result"][0]["value"]["choices"] == ["Neutral"]


def test_annotations_are_made_by_annotators_and_deleted_by_managers(api, make_uow):
    client, tokens, project, _, people = api
    ids = _import(client, tokens, project.id, [{"data": {"text": "one"}}]).json()["task_ids"]
    refused = client.post(f"/api/tasks/{ids[0]}/annotations/", headers=_as(tokens, "boss"), json={"result": CHOICE})
    assert refused.status_code == 403 and "import" in refused.json()["detail"]
    client.get(f"/api/projects/{project.id}/next", headers=_as(tokens, "ann"))  # the hand-out gives ann the task
    bad = client.post(f"/api/tasks/{ids[0]}/annotations/", headers=_as(tokens, "ann"),
                      json={"result": [{**CHOICE[0], "value": {"choices": ["Maybe"]}}]})
    assert bad.status_code == 400 and "Maybe" in bad.json()["detail"]
    made = client.post(f"/api/tasks/{ids[0]}/annotations/", headers=_as(tokens, "ann"), json={"result": CHOICE}).json()
    assert client.delete(f"/api/annotations/{made['id']}/", headers=_as(tokens, "ann")).status_code == 403
    assert client.delete(f"/api/annotations/{made['id']}/", headers=_as(tokens, "boss")).status_code == 204
    assert client.get(f"/api/tasks/{ids[0]}/annotations/", headers=_as(tokens, "boss")).json() == []


def test_predictions_are_added_and_listed(api):
    client, tokens, project, _, _ = api
    ids = _import(client, tokens, project.id, [{"data": {"text": "one"}}]).json()["task_ids"]
    made = client.post("/api/predictions/", headers=_as(tokens, "boss"),
                       json={"task": ids[0], "result": CHOICE, "model_version": "m2", "score": 0.4})
    assert made.status_code == 201 and made.json()["model_version"] == "m2"
    assert client.post("/api/predictions/", headers=_as(tokens, "ann"),
                       json={"task": ids[0], "result": CHOICE}).status_code == 403
    bad = client.post("/api/predictions/", headers=_as(tokens, "boss"), json={"result": CHOICE})
    assert bad.status_code == 400 and "task" in bad.json()["validation_errors"]
    for query in (f"task={ids[0]}", f"project={project.id}"):
        listed = client.get(f"/api/predictions/?{query}", headers=_as(tokens, "boss")).json()
        assert [p["score"] for p in listed] == [0.4]


def test_the_export_is_streamed_and_other_formats_come_as_files(api):
    client, tokens, project, _, _ = api
    _import(client, tokens, project.id, [{"data": {"text": f"r{n}"}} for n in range(3)])
    answer = client.get(f"/api/projects/{project.id}/export?export_type=JSON&download_all_tasks=true",
                        headers=_as(tokens, "boss"))
    assert answer.status_code == 200 and [t["data"]["text"] for t in answer.json()] == ["r0", "r1", "r2"]
    csv = client.get(f"/api/projects/{project.id}/export?exportType=CSV", headers=_as(tokens, "boss"))
    assert csv.status_code == 200 and "r1" in csv.text
    coco = client.get(f"/api/projects/{project.id}/export?exportType=COCO", headers=_as(tokens, "boss"))
    assert coco.status_code == 400 and "COCO" in coco.json()["detail"]
    odd = client.get(f"/api/projects/{project.id}/export?exportType=PDF", headers=_as(tokens, "boss"))
    assert odd.status_code == 400 and "exportType" in odd.json()["validation_errors"]


def test_whoami_version_and_endpoints_outside_the_subset(api):
    client, tokens, _, _, people = api
    me = client.get("/api/current-user/whoami", headers=_as(tokens, "ann")).json()
    assert (me["id"], me["username"], me["email"]) == (people["ann"].id, "ann", "ann@example.com")
    assert client.get("/api/version/", headers=_as(tokens, "ann")).json()["edition"] == "Community"
    answer = client.get("/api/ml/", headers=_as(tokens, "ann"))
    assert answer.status_code == 501 and "/api/docs" in answer.json()["detail"]


def test_every_write_through_the_api_is_audited_with_its_token(api, make_uow):
    from storage.repositories import audit as audit_repo

    client, tokens, project, _, people = api
    _import(client, tokens, project.id, [{"data": {"text": "one"}}])
    client.patch(f"/api/projects/{project.id}/", headers=_as(tokens, "boss"), json={"description": "changed"})
    client.get(f"/api/projects/{project.id}/", headers=_as(tokens, "boss"))  # a read writes nothing
    with make_uow() as uow:
        events = [(e.actor_id, e.detail) for e in audit_repo.events_of(uow.session, project.id, action_prefix="api.write")]
    assert [(d["method"], d["path"]) for _, d in reversed(events)] == [
        ("POST", f"/api/projects/{project.id}/import"), ("PATCH", f"/api/projects/{project.id}/")]
    assert {actor for actor, _ in events} == {people["boss"].id} and all(d["token_id"] for _, d in events)


def test_a_json_export_larger_than_one_chunk_is_one_valid_array(api, monkeypatch):
    import api.rest.routes as rest_routes

    client, tokens, project, _, _ = api
    monkeypatch.setattr(rest_routes, "EXPORT_CHUNK_BYTES", 300)  # a few tasks per chunk
    _import(client, tokens, project.id, [{"data": {"text": f"review number {n}"}} for n in range(25)])
    answer = client.get(f"/api/projects/{project.id}/export?exportType=JSON", headers=_as(tokens, "boss"))
    assert [t["data"]["text"] for t in answer.json()] == [f"review number {n}" for n in range(25)]


def test_an_annotator_answers_only_what_the_hand_out_gave_them(api):
    client, tokens, project, _, _ = api
    ids = _import(client, tokens, project.id, [{"data": {"text": "one"}}, {"data": {"text": "two"}}]).json()["task_ids"]
    # by counting through task ids: refused, with the way to a task
    refused = client.post(f"/api/tasks/{ids[1]}/annotations/", headers=_as(tokens, "ann"), json={"result": CHOICE})
    assert refused.status_code == 403 and f"/api/projects/{project.id}/next" in refused.json()["detail"]
    given = client.get(f"/api/projects/{project.id}/next/", headers=_as(tokens, "ann")).json()
    made = client.post(f"/api/tasks/{given['id']}/annotations/", headers=_as(tokens, "ann"), json={"result": CHOICE})
    assert made.status_code == 201
    # the other task next, then nothing is left for ann
    second = client.get(f"/api/projects/{project.id}/next", headers=_as(tokens, "ann")).json()
    assert second["id"] != given["id"]
    client.post(f"/api/tasks/{second['id']}/annotations/", headers=_as(tokens, "ann"), json={"result": CHOICE})
    done = client.get(f"/api/projects/{project.id}/next", headers=_as(tokens, "ann"))
    assert done.status_code == 404 and "no more tasks" in done.json()["detail"]


def test_a_task_of_a_project_one_is_not_in_is_not_found_without_naming_its_project(api):
    client, tokens, _, other, _ = api
    ids = _import(client, tokens, other.id, [{"data": {"text": "secret"}}], who="admin").json()["task_ids"]
    answer = client.get(f"/api/tasks/{ids[0]}/", headers=_as(tokens, "ann"))
    assert answer.status_code == 404 and answer.json()["detail"] == f"no task with id {ids[0]}"
