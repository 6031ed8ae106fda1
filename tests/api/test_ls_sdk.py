"""Label Studio's own Python SDK (label-studio-sdk 2.1.2, unmodified, from the package registry) drives Quorum's
HTTP API served by uvicorn on loopback: create a project from a config, import tasks with predictions, list tasks,
create an annotation, add and list predictions, export JSON and read it back, and the calls around them."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from label_studio_sdk import LabelStudio  # requirements-nodeps.txt (scripts/test.sh installs it)
from label_studio_sdk.core.api_error import ApiError
from starlette.applications import Starlette

from api.rest.routes import routes
from core.api_tokens import create_token
from core.labeling import next_task
from core.projects import add_member
from tests.core.helpers import TEXT_CONFIG, make_user

CHOICE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(make_uow) -> Iterator[str]:
    """The API on a loopback port, in a thread of this process (the test's database)."""
    port = _free_port()
    config = uvicorn.Config(Starlette(routes=routes(lambda: make_uow)), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


def test_label_studios_sdk_runs_a_pipeline_against_quorum(make_uow, server):
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    with make_uow() as uow:
        admin_token = create_token(uow, admin, user_id=admin.id, name="pipeline")[1]
        ann_token = create_token(uow, ann, user_id=ann.id, name="labeling script")[1]
        uow.commit()
    client = LabelStudio(base_url=server, api_key=admin_token)
    assert client.users.whoami().username == "admin"

    project = client.projects.create(title="Reviews from the SDK", label_config=TEXT_CONFIG)
    assert project.id and client.projects.get(id=project.id).title == "Reviews from the SDK"
    client.projects.update(id=project.id, title="Reviews (SDK)")
    assert any(p.title == "Reviews (SDK)" for p in client.projects.list())

    tasks = [{"data": {"text": f"review {n}"}, "predictions": [{"result": CHOICE, "model_version": "m1", "score": 0.8}]}
             for n in range(5)]
    imported = client.projects.import_tasks(id=project.id, request=tasks, return_task_ids=True, commit_to_project=True)
    assert imported.task_count == 5 and len(imported.task_ids) == 5

    listed = list(client.tasks.list(project=project.id, page_size=2))  # three pages, the pager stops on an empty one
    assert [t.data["text"] for t in listed] == [f"review {n}" for n in range(5)]
    assert listed[0].predictions[0].model_version == "m1"
    assert client.tasks.get(id=listed[0].id).data == {"text": "review 0"}

    # an annotator of the project annotates the task the hand-out gave them, with their own token
    with make_uow() as uow:
        add_member(uow, admin, project_id=project.id, user_id=ann.id, role="annotator")
        held = next_task(uow, ann, project_id=project.id)
        uow.commit()
    labeler = LabelStudio(base_url=server, api_key=ann_token)
    made = labeler.annotations.create(id=held.task_id, result=CHOICE, lead_time=3.2, was_cancelled=False)
    assert made.id and made.result == CHOICE
    assert [a.id for a in labeler.annotations.list(id=held.task_id)] == [made.id]
    with pytest.raises(ApiError) as refused:  # an annotator's token reaches no one else's task
        labeler.tasks.get(id=listed[3].id if listed[3].id != held.task_id else listed[2].id)
    assert refused.value.status_code == 403

    prediction = client.predictions.create(task=listed[1].id, result=CHOICE, model_version="m2", score=0.3)
    assert prediction.model_version == "m2"
    assert [p.model_version for p in client.predictions.list(task=listed[1].id)] == ["m1", "m2"]

    exported = client.projects.exports.as_json(project.id)
    assert len(exported) == 5
    by_id = {t["id"]: t for t in exported}
    assert by_id[held.task_id]["annotations"][0]["result"] == CHOICE
    assert by_id[held.task_id]["annotations"][0]["completed_by"]["email"] == "ann@example.com"
    assert len(by_id[listed[1].id]["predictions"]) == 2

    client.tasks.delete(id=listed[4].id)
    assert len(list(client.tasks.list(project=project.id))) == 4
    client.projects.delete(id=project.id)
    with pytest.raises(ApiError) as gone:
        client.projects.get(id=project.id)
    assert gone.value.status_code == 404
