"""The Webhooks page through AppTest: a manager adds a webhook, sends a test, and retries a failed delivery."""
from __future__ import annotations

import json

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.secret_box import open_stored
from core.bootstrap import make_uow_factory
from core.labeling import next_task, submit_annotation
from core.settings import REPO_ROOT, load_settings
from core.webhooks import deliver_due
from storage.db import dispose_engines
from storage.models import Webhook, WebhookDelivery
from tests.core.helpers import make_project, make_user
from tests.core.webhook_receiver import Receiver, receiver  # noqa: F401 - the fixture

APP = str(REPO_ROOT / "app.py")
TIMEOUT_S = 60
POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An empty database under tmp_path (no demo, no background delivery thread: the test delivers),
    with a project, its manager and an annotator."""
    import views.services
    from tests.core.helpers import import_json

    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.setenv("QUORUM_WEBHOOK_RUNNER", "0")
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    views.services.uow_factory.clear()
    dispose_engines()
    make_uow = make_uow_factory(load_settings())
    admin = make_user(make_uow, "admin", admin=True)
    manager = make_user(make_uow, "manager")
    annotator = make_user(make_uow, "annotator")
    project = make_project(make_uow, admin, title="Hooked", members={"manager": [manager], "annotator": [annotator]})
    import_json(make_uow, admin, project.id, [{"text": "one"}, {"text": "two"}])
    yield make_uow, annotator, project
    views.services.uow_factory.clear()
    dispose_engines()


def signed_in(username: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input("password-123")
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, key: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.key == key)


def test_a_manager_adds_a_webhook_sends_a_test_and_retries_a_failed_delivery(team, receiver: Receiver) -> None:
    make_uow, annotator, project = team
    at = signed_in("manager")
    at.switch_page("views/integrations.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Webhooks"
    assert any("No webhooks yet" in i.value for i in at.info)
    # Add: the secret is shown once and is the one stored.
    at.text_input(key="webhook_add_url").input(receiver.url())
    at.multiselect(key="webhook_add_events").set_value(["annotation.created", "review.done"])
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.exception, at.exception
    with make_uow() as uow:
        hook = uow.session.scalars(select(Webhook)).one()
        assert hook.events == ["annotation.created", "review.done"]
        secret, hook_id = open_stored(hook.secret), hook.id  # stored sealed; the page shows it plain, once
    assert at.code[0].value == secret
    at.run()
    assert not at.code, "the secret is shown only once"
    # Send test: a signed ping reaches the receiver and the log shows it delivered.
    button(at, f"webhook_test_{hook_id}").click().run()
    assert not at.exception, at.exception
    assert [r.headers["X-Quorum-Event"] for r in receiver.requests] == ["ping"]
    assert any("delivered (HTTP 200)" in s.value for s in at.success)
    # A delivery refused with 404 fails at once; "Retry now" sends it again.
    receiver.answer("/hook", 404, 200)
    with make_uow() as uow:
        task = next_task(uow, annotator, project_id=project.id)
        submit_annotation(uow, annotator, task_id=task.task_id, result=POSITIVE)
        uow.commit()
    assert deliver_due(make_uow).n_failed == 1
    at.run()
    log = at.dataframe[-1].value
    assert list(log["status"]) == ["failed", "delivered"] and list(log["event"]) == ["annotation.created", "ping"]
    assert list(log["error"])[1] == ""  # no "None" where nothing went wrong
    # What a delivery sends can be read in the log.
    at.selectbox(key="webhook_payload_pick").select_index(0).run()
    assert not at.exception, at.exception
    body = json.loads(at.json[0].value)
    assert body["action"] == "annotation.created" and body["project"]["id"] == project.id, body
    button(at, "webhook_retry").click().run()
    assert not at.exception, at.exception
    with make_uow() as uow:
        statuses = [d.status for d in uow.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    assert statuses == ["delivered", "delivered"]
    assert [r.headers["X-Quorum-Event"] for r in receiver.requests] == ["ping", "annotation.created", "annotation.created"]


def test_a_training_trigger_is_added_and_an_internal_url_is_refused(team, receiver: Receiver, monkeypatch) -> None:
    make_uow, _, _ = team
    at = signed_in("manager")
    at.switch_page("views/integrations.py").run()
    monkeypatch.delenv("QUORUM_OUTBOUND_ALLOW")
    at.text_input(key="webhook_add_url").input("http://169.254.169.254/latest")
    next(b for b in at.button if b.label == "Add").click().run()
    assert any("internal address 169.254.169.254" in e.value for e in at.error)
    monkeypatch.setenv("QUORUM_OUTBOUND_ALLOW", "127.0.0.1")
    at.text_input(key="webhook_add_url").input(receiver.url("/train"))
    at.radio(key="webhook_add_kind").set_value("training")
    at.number_input(key="webhook_add_every_n").set_value(2)
    next(b for b in at.button if b.label == "Add").click().run()
    assert not at.exception, at.exception
    with make_uow() as uow:
        hook = uow.session.scalars(select(Webhook)).one()
        assert (hook.kind, hook.every_n, hook.events, hook.url) == ("training", 2, ["training.ready"], receiver.url("/train"))
        hook_id = hook.id
    table = at.dataframe[0].value
    assert list(table["events / every N"]) == ["every 2 verified"]
    # Edit it, then delete it.
    at.number_input(key=f"webhook_every_n_{hook_id}").set_value(5)
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["events / every N"]) == ["every 5 verified"]
    button(at, f"webhook_delete_{hook_id}").click().run()
    assert not at.exception, at.exception
    with make_uow() as uow:
        assert uow.session.scalars(select(Webhook)).all() == []
    assert any("No webhooks yet" in i.value for i in at.info)
