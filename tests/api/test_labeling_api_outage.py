"""``POST /api/labeling/draft`` while PostgreSQL is away (issue 11): 503 with a JSON error the page can ignore,
then 200 once the database is back; a restart in between is not even noticed."""
from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.labeling import RETRY_AFTER_S, routes, save_draft_request
from core.labeling import next_task
from core.sessions import COOKIE_NAME, start_session
from tests.core.test_db_outage import CHOICE, pg_labeling  # noqa: F401 - the fixture

HEADERS = {"Content-Type": "application/json", "Origin": "http://testserver"}


def _setting(lab):  # type: ignore[no-untyped-def]
    with lab.make_uow() as uow:
        task = next_task(uow, lab.user, project_id=lab.project_id)
        token = start_session(uow, lab.user)
        uow.commit()
    return task, {"task_id": task.task_id, "names": ["sentiment"], "items": [CHOICE]}, token


def test_the_draft_route_answers_503_json_while_the_database_is_down_and_200_after(pg_labeling):  # noqa: F811
    lab = pg_labeling
    task, body, token = _setting(lab)
    client = TestClient(Starlette(routes=routes(lambda: lab.make_uow)), base_url="http://testserver")
    client.cookies.set(COOKIE_NAME, token)
    with lab.outage.down():
        status, answer = save_draft_request(lab.make_uow, token, body)
        assert status == 503 and answer["retry"] is True and "database did not answer" in answer["error"]
        over_http = client.post("/api/labeling/draft", content=json.dumps(body), headers=HEADERS)
        assert over_http.status_code == 503
        assert over_http.headers["content-type"] == "application/json"
        assert over_http.headers["retry-after"] == str(RETRY_AFTER_S)
        assert over_http.json()["retry"] is True and "Traceback" not in over_http.text
    ok = client.post("/api/labeling/draft", content=json.dumps(body), headers=HEADERS)
    assert ok.status_code == 200 and ok.json() == {"saved": True, "task_id": task.task_id}
    with lab.make_uow() as uow:
        assert next_task(uow, lab.user, project_id=lab.project_id).result == [CHOICE]


def test_the_draft_route_does_not_notice_a_restart(pg_labeling):  # noqa: F811
    lab = pg_labeling
    task, body, token = _setting(lab)
    assert save_draft_request(lab.make_uow, token, body)[0] == 200
    lab.outage.restart()
    assert save_draft_request(lab.make_uow, token, body) == (200, {"saved": True, "task_id": task.task_id})
