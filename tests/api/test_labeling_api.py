"""``POST /api/labeling/draft``: who may save, what shape the body must have, and the route over HTTP."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.labeling import parse_draft_body, routes, save_draft_request
from core.labeling import next_task
from core.sessions import COOKIE_NAME, start_session
from tests.core.helpers import import_json, make_project, make_user

CHOICE = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Negative"]}}


@pytest.fixture
def setting(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann, outsider = make_user(make_uow, "ann"), make_user(make_uow, "outsider")
    project = make_project(make_uow, admin, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"text": "a review"}])
    with make_uow() as uow:
        task = next_task(uow, ann, project_id=project.id)
        tokens = {u.username: start_session(uow, u) for u in (ann, outsider)}
        uow.commit()
    return ann, project, task, tokens


def _body(task_id: int, items=None) -> dict:
    return {"task_id": task_id, "names": ["sentiment"], "items": [CHOICE] if items is None else items}


def test_a_labeler_saves_a_draft_part_of_their_own_task(make_uow, setting):
    ann, project, task, tokens = setting
    assert save_draft_request(make_uow, tokens["ann"], _body(task.task_id)) == (200, {"saved": True, "task_id": task.task_id})
    with make_uow() as uow:
        assert next_task(uow, ann, project_id=project.id).result == [CHOICE]


@pytest.mark.parametrize("who, status", [(None, 401), ("not-a-token", 401), ("outsider", 404)])  # core hides projects one is not in
def test_a_draft_is_refused_without_a_sign_in_or_for_a_task_of_someone_else(make_uow, setting, who, status):
    _, _, task, tokens = setting
    code, answer = save_draft_request(make_uow, tokens.get(who, who), _body(task.task_id))
    assert code == status and answer["error"]


@pytest.mark.parametrize("body, field", [
    ([], "JSON object"), ({"names": ["sentiment"], "items": []}, "task_id"),
    ({"task_id": 1, "names": [], "items": []}, "names"), ({"task_id": 1, "names": ["x"], "items": "no"}, "items"),
])
def test_a_badly_shaped_body_is_refused_naming_the_field(body, field):
    with pytest.raises(ValueError, match=field):
        parse_draft_body(body)


def test_the_route_answers_over_http_and_refuses_other_content_types_and_other_origins(make_uow, setting):
    _, _, task, tokens = setting
    client = TestClient(Starlette(routes=routes(lambda: make_uow)), base_url="http://testserver")
    client.cookies.set(COOKIE_NAME, tokens["ann"])
    ok = client.post("/api/labeling/draft", content=json.dumps(_body(task.task_id)),
                     headers={"Content-Type": "application/json", "Origin": "http://testserver"})
    assert ok.status_code == 200, ok.text
    form = client.post("/api/labeling/draft", data={"task_id": str(task.task_id)})
    assert form.status_code == 415
    foreign = client.post("/api/labeling/draft", content=json.dumps(_body(task.task_id)),
                          headers={"Content-Type": "application/json", "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    bad = client.post("/api/labeling/draft", content=json.dumps(_body(task.task_id, [{**CHOICE, "value": {"choices": ["Nope"]}}])),
                      headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "Nope" in bad.json()["error"]


def test_draft_calls_of_many_labelers_at_once_all_succeed_on_sqlite(sqlite_uow):
    """Each call reads the session, then writes: begun as a read, SQLite refused the write at once while
    another labeler's write ran ("database is locked", 129 times with 20 labelers in bench/bench_felt.py)."""
    make_uow = sqlite_uow
    admin = make_user(make_uow, "admin", admin=True)
    labelers = [make_user(make_uow, f"ann{i}") for i in range(8)]
    project = make_project(make_uow, admin, members={"annotator": labelers})
    import_json(make_uow, admin, project.id, [{"text": f"review {i}"} for i in range(8)])
    calls = []
    for person in labelers:
        with make_uow() as uow:
            task = next_task(uow, person, project_id=project.id)
            calls.append((start_session(uow, person), task.task_id))
            uow.commit()

    def label(token: str, task_id: int) -> list[int]:
        return [save_draft_request(make_uow, token, _body(task_id))[0] for _ in range(15)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for codes in pool.map(lambda call: label(*call), calls) for s in codes]
    assert statuses == [200] * len(statuses)
