"""Webhooks and training triggers against a real HTTP receiver on loopback, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from core.errors import ConflictError, PermissionDeniedError, QuorumError
from core.labeling import next_task, submit_annotation
from core.outbound import OutboundURLError
from core.projects import ProjectSettings, add_member, create_project
from core.review import accept_annotation, send_back
from core.uow import UowFactory
from core.users import UserInfo
from core.webhooks import (
    EVENTS,
    MAX_ATTEMPTS,
    backoff_s,
    create_webhook,
    delete_webhook,
    deliver_due,
    delivery_log,
    list_webhooks,
    queue_test,
    retry_delivery,
    send_now,
    sign,
    update_webhook,
    verified_count,
    verify_signature,
)
from storage.db import dispose_engines
from storage.models import Annotation, Task, WebhookDelivery, utcnow
from tests.core.helpers import TEXT_CONFIG, import_json, make_user
from tests.core.webhook_receiver import Receiver, receiver  # noqa: F401 - the fixture

POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
NEGATIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Negative"]}}]


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Webhook secrets are sealed: a test key, and a data folder of the test's own (no ./data/secret.key)."""
    monkeypatch.setenv("QUORUM_SECRET_KEY", "tests-webhook-secret-key")
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path / "data"))


def make_team(make_uow: UowFactory, *, overlap: int = 1, n_annotators: int = 2, n_tasks: int = 4,
              escalation_order: str = "annotators_first"):
    admin = make_user(make_uow, "admin", admin=True)
    manager = make_user(make_uow, "boss")
    reviewer = make_user(make_uow, "rev")
    annotators = [make_user(make_uow, f"ann{i}") for i in range(n_annotators)]
    with make_uow() as uow:
        project = create_project(uow, admin, title="Hooks", config_xml=TEXT_CONFIG, settings=ProjectSettings(
            overlap=overlap, maximum_annotations=max(overlap, 2), escalation_order=escalation_order))
        for user in annotators:
            add_member(uow, admin, project_id=project.id, user_id=user.id, role="annotator")
        add_member(uow, admin, project_id=project.id, user_id=manager.id, role="manager")
        add_member(uow, admin, project_id=project.id, user_id=reviewer.id, role="reviewer")
        uow.commit()
    if n_tasks:
        import_json(make_uow, admin, project.id, [{"text": f"item {i}"} for i in range(n_tasks)])
    return admin, manager, reviewer, annotators, project


def add_hook(make_uow: UowFactory, user: UserInfo, project_id: int, url: str, **kw):
    kw.setdefault("events", ["annotation.created"])
    with make_uow() as uow:
        created = create_webhook(uow, user, project_id=project_id, url=url, **kw)
        uow.commit()
    return created


def label_next(make_uow: UowFactory, user: UserInfo, project_id: int, result=POSITIVE) -> int | None:
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id)
        if task is None:
            return None
        submit_annotation(uow, user, task_id=task.task_id, result=result)
        uow.commit()
    return task.task_id


def deliveries(make_uow: UowFactory, event: str | None = None) -> list[WebhookDelivery]:
    with make_uow() as uow:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id)
        if event is not None:
            query = query.where(WebhookDelivery.event == event)
        rows = list(uow.session.scalars(query))
        uow.session.expunge_all()
    return rows


def one_delivery(make_uow: UowFactory) -> WebhookDelivery:
    rows = deliveries(make_uow)
    assert len(rows) == 1, [r.event for r in rows]
    return rows[0]


# --- signing and sending ------------------------------------------------------------------------------


def test_a_delivery_is_signed_and_the_receiver_verifies_it(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    created = add_hook(make_uow, manager, project.id, receiver.url())
    task_id = label_next(make_uow, ann, project.id)
    report = deliver_due(make_uow)
    assert (report.n_sent, report.n_delivered) == (1, 1)
    (request,) = receiver.requests
    headers = request.headers
    assert headers["X-Quorum-Event"] == "annotation.created"
    assert headers["X-Quorum-Delivery"] == str(one_delivery(make_uow).id)
    assert verify_signature(created.secret, body=request.body, timestamp=headers["X-Quorum-Timestamp"],
                            signature=headers["X-Quorum-Signature"])
    assert not verify_signature(created.secret, body=request.body + b" ", timestamp=headers["X-Quorum-Timestamp"],
                                signature=headers["X-Quorum-Signature"])
    assert not verify_signature("another secret", body=request.body, timestamp=headers["X-Quorum-Timestamp"],
                                signature=headers["X-Quorum-Signature"])
    payload = request.json
    assert payload["action"] == "annotation.created"
    assert payload["project"] == {"id": project.id, "title": "Hooks"}
    assert payload["annotation"]["task"] == task_id and payload["annotation"]["completed_by"] == ann.id
    assert payload["annotation"]["result"] == POSITIVE
    row = one_delivery(make_uow)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200) and row.delivered_at


def test_secrets_are_sealed_at_rest_and_plain_ones_of_older_versions_still_sign_until_sealed(
    make_uow, receiver: Receiver
) -> None:
    from core.secret_box import is_sealed
    from core.webhooks import rotate_secret, seal_plain_webhook_secrets
    from storage.models import Webhook

    _, manager, _, (ann, _), project = make_team(make_uow)
    created = add_hook(make_uow, manager, project.id, receiver.url())
    with make_uow() as uow:
        stored = uow.session.get(Webhook, created.webhook.id).secret
        assert is_sealed(stored) and created.secret not in stored
        rotated = rotate_secret(uow, manager, webhook_id=created.webhook.id)
        assert rotated not in uow.session.get(Webhook, created.webhook.id).secret
        uow.session.get(Webhook, created.webhook.id).secret = "plain-secret-of-an-older-version"  # as 0003 stored
        uow.commit()
    label_next(make_uow, ann, project.id)
    assert deliver_due(make_uow).n_delivered == 1
    request = receiver.requests[-1]
    assert verify_signature("plain-secret-of-an-older-version", body=request.body,
                            timestamp=request.headers["X-Quorum-Timestamp"], signature=request.headers["X-Quorum-Signature"])
    with make_uow() as uow:
        assert seal_plain_webhook_secrets(uow) == 1
        uow.commit()
    with make_uow() as uow:
        stored = uow.session.get(Webhook, created.webhook.id).secret
        assert is_sealed(stored) and "plain-secret" not in stored
        assert seal_plain_webhook_secrets(uow) == 0
    label_next(make_uow, ann, project.id)
    assert deliver_due(make_uow).n_delivered == 1
    request = receiver.requests[-1]
    assert verify_signature("plain-secret-of-an-older-version", body=request.body,
                            timestamp=request.headers["X-Quorum-Timestamp"], signature=request.headers["X-Quorum-Signature"])


def test_an_old_or_malformed_timestamp_does_not_verify() -> None:
    body = b'{"action":"ping"}'
    assert verify_signature("s", body=body, timestamp="1000", signature=sign("s", "1000", body), now=1100)
    assert not verify_signature("s", body=body, timestamp="1000", signature=sign("s", "1000", body), now=2000)
    assert not verify_signature("s", body=body, timestamp="soon", signature=sign("s", "soon", body))


def test_server_errors_are_retried_with_back_off_until_delivered(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, receiver.url())
    receiver.answer("/hook", 503, 500, 200)
    label_next(make_uow, ann, project.id)
    t0 = utcnow()
    assert deliver_due(make_uow, now=t0).n_retrying == 1
    row = one_delivery(make_uow)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 503)
    assert row.next_attempt_at == t0 + dt.timedelta(seconds=backoff_s(1)) == t0 + dt.timedelta(seconds=10)
    assert deliver_due(make_uow, now=t0 + dt.timedelta(seconds=9)).n_sent == 0  # not due yet
    t1 = t0 + dt.timedelta(seconds=10)
    assert deliver_due(make_uow, now=t1).n_retrying == 1
    assert one_delivery(make_uow).next_attempt_at == t1 + dt.timedelta(seconds=20)  # the back-off doubles
    assert deliver_due(make_uow, now=t1 + dt.timedelta(seconds=20)).n_delivered == 1
    row = one_delivery(make_uow)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 3, 200, None)
    assert len(receiver.requests) == 3
    assert len({r.headers["X-Quorum-Delivery"] for r in receiver.requests}) == 1  # one id across retries


def test_a_delivery_fails_after_the_maximum_number_of_attempts(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, receiver.url())
    receiver.answer("/hook", 500)
    label_next(make_uow, ann, project.id)
    now = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        deliver_due(make_uow, now=now)
        now += dt.timedelta(seconds=backoff_s(attempt))
    row = one_delivery(make_uow)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert f"gave up after {MAX_ATTEMPTS} attempts" in row.last_error
    assert deliver_due(make_uow, now=now + dt.timedelta(days=1)).n_sent == 0
    assert backoff_s(30) == 3600  # capped


def test_a_client_error_fails_at_once_but_429_is_retried(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, receiver.url("/gone"))
    add_hook(make_uow, manager, project.id, receiver.url("/busy"))
    receiver.answer("/gone", 404)
    receiver.answer("/busy", 429, 200)
    label_next(make_uow, ann, project.id)
    report = deliver_due(make_uow)
    assert (report.n_failed, report.n_retrying) == (1, 1)
    gone, busy = deliveries(make_uow)
    assert (gone.status, gone.attempts, gone.last_status_code, gone.last_error) == ("failed", 1, 404, "error 404")
    assert (busy.status, busy.last_status_code) == ("pending", 429)
    deliver_due(make_uow, now=utcnow() + dt.timedelta(minutes=1))
    assert len(receiver.on("/gone")) == 1  # never retried
    assert deliveries(make_uow)[1].status == "delivered"


def test_a_redirect_is_not_followed(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, receiver.url("/moved"))
    receiver.answer("/moved", 302)
    label_next(make_uow, ann, project.id)
    deliver_due(make_uow)
    row = one_delivery(make_uow)
    assert (row.status, row.last_status_code) == ("failed", 302) and "do not follow redirects" in row.last_error
    assert receiver.on("/elsewhere") == []


def test_an_internal_url_is_refused_on_save_and_again_before_sending(
    make_uow, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    monkeypatch.delenv("QUORUM_OUTBOUND_ALLOW")
    for url in (receiver.url(), "http://169.254.169.254/latest/meta-data", "http://10.0.0.7/hook", "ftp://x.org/"):
        with pytest.raises(OutboundURLError):
            add_hook(make_uow, manager, project.id, url)
    monkeypatch.setenv("QUORUM_OUTBOUND_ALLOW", "127.0.0.1")
    hook = add_hook(make_uow, manager, project.id, receiver.url()).webhook
    with make_uow() as uow, pytest.raises(OutboundURLError):
        update_webhook(uow, manager, webhook_id=hook.id, url="http://192.168.1.1/")
    label_next(make_uow, ann, project.id)
    monkeypatch.delenv("QUORUM_OUTBOUND_ALLOW")  # the administrator closes the allow-list meanwhile
    assert deliver_due(make_uow).n_failed == 1
    row = one_delivery(make_uow)
    assert row.status == "failed" and row.attempts == 1 and "internal address 127.0.0.1" in row.last_error
    assert receiver.requests == []


def test_a_closed_port_is_a_network_error_that_is_retried(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, "http://127.0.0.1:9/nobody-listens")
    label_next(make_uow, ann, project.id)
    assert deliver_due(make_uow).n_retrying == 1
    row = one_delivery(make_uow)
    assert row.status == "pending" and row.last_status_code is None and row.last_error


def test_two_workers_never_send_one_delivery_twice(make_uow, receiver: Receiver) -> None:
    _, manager, _, annotators, project = make_team(make_uow, n_tasks=10)
    hook = add_hook(make_uow, manager, project.id, receiver.url()).webhook
    with make_uow() as uow:
        for _ in range(24):
            queue_test(uow, manager, webhook_id=hook.id)
        uow.commit()
    barrier = threading.Barrier(2)

    def work() -> None:
        barrier.wait()
        while deliver_due(make_uow, limit=3).n_sent:
            pass

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    ids = [r.headers["X-Quorum-Delivery"] for r in receiver.requests]
    assert len(ids) == 24 and len(set(ids)) == 24
    assert {d.status for d in deliveries(make_uow)} == {"delivered"}


# --- events from the real flows ---------------------------------------------------------------------------


def test_import_submit_edit_consensus_and_review_emit_their_events(make_uow, receiver: Receiver) -> None:
    admin, manager, reviewer, (ann0, ann1), project = make_team(
        make_uow, overlap=2, n_tasks=0, escalation_order="review_first")
    add_hook(make_uow, manager, project.id, receiver.url(), events=list(EVENTS))
    add_hook(make_uow, manager, project.id, receiver.url("/off"), events=list(EVENTS), is_active=False)
    summary = import_json(make_uow, admin, project.id, [{"text": "a"}, {"text": "b"}])
    (created,) = deliveries(make_uow, "task.created")
    with make_uow() as uow:
        ids = sorted(uow.session.scalars(select(Task.id).where(Task.project_id == project.id)))
    assert created.payload["tasks"] == {"count": 2, "first_id": ids[0], "last_id": ids[1], "ids": ids}
    assert created.payload["import"] == {"batch_id": summary.batch_id, "filename": "tasks.json"}
    # Agreement: both say Positive on the first task -> consensus reached.
    first = label_next(make_uow, ann0, project.id)
    assert label_next(make_uow, ann1, project.id) == first
    with make_uow() as uow:  # an edit of one's submitted answer before review
        submit_annotation(uow, ann0, task_id=first, result=POSITIVE)
        uow.commit()
    # Disagreement on the second -> review; the reviewer accepts one answer.
    second = label_next(make_uow, ann0, project.id)
    label_next(make_uow, ann1, project.id, NEGATIVE)
    with make_uow() as uow:  # a submit that is rolled back emits nothing
        submit_annotation(uow, ann0, task_id=second, result=NEGATIVE)
    # The edit re-opened the settled task's consensus, which was reached again: a second event.
    consensus, again = deliveries(make_uow, "consensus.reached")
    assert consensus.payload["task"] == again.payload["task"] == {"id": first, "state": "done"}
    assert consensus.payload["consensus"]["result"][0]["value"] == {"choices": ["Positive"]}
    assert consensus.payload["consensus"]["agreement"] == 1.0
    with make_uow() as uow:
        accepted = uow.session.scalar(select(Annotation.id).where(Annotation.task_id == second,
                                                                  Annotation.completed_by_id == ann1.id))
    with make_uow() as uow:
        accept_annotation(uow, reviewer, annotation_id=accepted, comment="Negative it is")
        uow.commit()
    (review,) = deliveries(make_uow, "review.done")
    assert review.payload["review"] == {"verdict": "accepted", "reviewer": reviewer.id, "annotations": [accepted],
                                        "comment": "Negative it is"}
    assert review.payload["task"] == {"id": second, "state": "done"}
    assert review.payload["ground_truth"]["result"] == NEGATIVE
    assert [d.event for d in deliveries(make_uow)].count("annotation.created") == 4
    assert len(deliveries(make_uow, "annotation.updated")) == 1
    assert {d.webhook_id for d in deliveries(make_uow)} == {created.webhook_id}  # the inactive hook got nothing
    report = deliver_due(make_uow)
    assert report.n_delivered == len(deliveries(make_uow)) == 9
    assert sorted(r.headers["X-Quorum-Event"] for r in receiver.requests) == sorted(
        ["task.created"] + ["annotation.created"] * 4 + ["annotation.updated"] + ["consensus.reached"] * 2
        + ["review.done"])


def test_a_webhook_gets_only_the_events_it_subscribed_to(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, receiver.url(), events=["consensus.reached"])
    label_next(make_uow, ann, project.id)
    assert [d.event for d in deliveries(make_uow)] == ["consensus.reached"]


def test_send_back_is_a_review_event_that_verifies_nothing(make_uow, receiver: Receiver) -> None:
    _, manager, reviewer, (ann0, ann1), project = make_team(
        make_uow, overlap=2, n_tasks=1, escalation_order="review_first")
    add_hook(make_uow, manager, project.id, receiver.url(), events=["review.done"])
    add_hook(make_uow, manager, project.id, receiver.url("/train"), kind="training", every_n=1)
    task_id = label_next(make_uow, ann0, project.id)
    label_next(make_uow, ann1, project.id, NEGATIVE)
    with make_uow() as uow:
        send_back(uow, reviewer, task_id=task_id, comment="read the guide")
        uow.commit()
    (review,) = deliveries(make_uow)
    assert review.payload["review"]["verdict"] == "rejected" and review.payload["task"]["state"] == "open"


# --- training triggers ------------------------------------------------------------------------------------


def training_calls(make_uow: UowFactory) -> list[dict]:
    return [d.payload for d in deliveries(make_uow, "training.ready")]


def test_the_training_trigger_fires_once_per_every_n_verified_items(make_uow, receiver: Receiver) -> None:
    admin, manager, reviewer, (ann, _), project = make_team(make_uow, n_tasks=8)
    label_next(make_uow, ann, project.id)  # verified before the trigger exists: not counted
    hook = add_hook(make_uow, manager, project.id, receiver.url("/train"), kind="training", every_n=3).webhook
    assert (hook.last_count, hook.events) == (1, ("training.ready",))
    for _ in range(7):
        label_next(make_uow, ann, project.id)
    calls = training_calls(make_uow)
    assert [(c["verified_count"], c["previous_count"], c["new_verified"]) for c in calls] == [(4, 1, 3), (7, 4, 3)]
    assert calls[0]["export"]["cli"] == 'python cli.py export "Hooks" --format JSON --out export.json'
    with make_uow() as uow:
        assert verified_count(uow, project.id) == 8
        assert list_webhooks(uow, manager, project_id=project.id)[0].last_count == 7
    deliver_due(make_uow)
    assert [r.json["verified_count"] for r in receiver.on("/train")] == [4, 7]


def test_a_review_resolution_counts_towards_the_training_trigger(make_uow, receiver: Receiver) -> None:
    _, manager, reviewer, (ann0, ann1), project = make_team(
        make_uow, overlap=2, n_tasks=2, escalation_order="review_first")
    add_hook(make_uow, manager, project.id, receiver.url("/train"), kind="training", every_n=2)
    agreed = label_next(make_uow, ann0, project.id)
    label_next(make_uow, ann1, project.id)
    disputed = label_next(make_uow, ann0, project.id)
    label_next(make_uow, ann1, project.id, NEGATIVE)
    assert agreed != disputed and training_calls(make_uow) == []
    with make_uow() as uow:
        chosen = uow.session.scalar(select(Annotation.id).where(Annotation.task_id == disputed).limit(1))
        accept_annotation(uow, reviewer, annotation_id=chosen)
        uow.commit()
    assert [c["verified_count"] for c in training_calls(make_uow)] == [2]


def test_two_concurrent_submitters_fire_the_trigger_exactly_once_per_every_n(make_uow, receiver: Receiver) -> None:
    n_tasks, every_n = 24, 4
    _, manager, _, annotators, project = make_team(make_uow, n_tasks=n_tasks, n_annotators=2)
    add_hook(make_uow, manager, project.id, receiver.url("/train"), kind="training", every_n=every_n)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(user: UserInfo) -> None:
        barrier.wait()
        try:
            while label_next(make_uow, user, project.id) is not None:
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(u,)) for u in annotators]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not errors, errors
    counts = sorted(c["verified_count"] for c in training_calls(make_uow))
    assert counts == list(range(every_n, n_tasks + 1, every_n))


# --- management, permissions, the log ----------------------------------------------------------------------


def test_an_annotator_or_reviewer_cannot_manage_webhooks(make_uow, receiver: Receiver) -> None:
    _, manager, reviewer, (ann, _), project = make_team(make_uow)
    hook = add_hook(make_uow, manager, project.id, receiver.url()).webhook
    for user in (ann, reviewer):
        with make_uow() as uow:
            with pytest.raises(PermissionDeniedError):
                create_webhook(uow, user, project_id=project.id, url=receiver.url(), events=["review.done"])
            with pytest.raises(PermissionDeniedError):
                list_webhooks(uow, user, project_id=project.id)
            with pytest.raises(PermissionDeniedError):
                update_webhook(uow, user, webhook_id=hook.id, is_active=False)
            with pytest.raises(PermissionDeniedError):
                delivery_log(uow, user, project_id=project.id)
            with pytest.raises(PermissionDeniedError):
                queue_test(uow, user, webhook_id=hook.id)


def test_bad_settings_are_refused_with_a_message_naming_them(make_uow, receiver: Receiver) -> None:
    _, manager, _, _, project = make_team(make_uow, n_tasks=0)
    with make_uow() as uow:
        with pytest.raises(QuorumError, match="unknown webhook event 'task.deleted'"):
            create_webhook(uow, manager, project_id=project.id, url=receiver.url(), events=["task.deleted"])
        with pytest.raises(QuorumError, match="at least one event"):
            create_webhook(uow, manager, project_id=project.id, url=receiver.url(), events=[])
        with pytest.raises(QuorumError, match="every N"):
            create_webhook(uow, manager, project_id=project.id, url=receiver.url(), kind="training", every_n=0)
    with make_uow() as uow:
        assert list_webhooks(uow, manager, project_id=project.id) == []


def test_test_ping_retry_now_and_delete(make_uow, receiver: Receiver) -> None:
    _, manager, _, (ann, _), project = make_team(make_uow)
    hook = add_hook(make_uow, manager, project.id, receiver.url()).webhook
    with make_uow() as uow:
        ping_id = queue_test(uow, manager, webhook_id=hook.id)
        uow.commit()
    ping = send_now(make_uow, manager, delivery_id=ping_id)
    assert (ping.event, ping.status, ping.last_status_code) == ("ping", "delivered", 200)
    assert receiver.requests[-1].json["message"].startswith("A test from Quorum")
    receiver.answer("/hook", 410, 200)
    label_next(make_uow, ann, project.id)
    deliver_due(make_uow)
    with make_uow() as uow:
        log = delivery_log(uow, manager, project_id=project.id)
    assert [(d.event, d.status) for d in log] == [("annotation.created", "failed"), ("ping", "delivered")]
    with make_uow() as uow, pytest.raises(ConflictError):
        retry_delivery(uow, manager, delivery_id=ping_id)
    with make_uow() as uow:
        retry_delivery(uow, manager, delivery_id=log[0].id)
        uow.commit()
    retried = send_now(make_uow, manager, delivery_id=log[0].id)
    assert (retried.status, retried.attempts, retried.last_status_code) == ("delivered", 1, 200)
    with make_uow() as uow:
        delete_webhook(uow, manager, webhook_id=hook.id)
        uow.commit()
    with make_uow() as uow:
        assert list_webhooks(uow, manager, project_id=project.id) == []
    assert deliveries(make_uow) == []


def test_the_cli_delivers_what_is_due(make_uow, database_url, receiver: Receiver, monkeypatch, capsys) -> None:
    import cli

    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, receiver.url())
    label_next(make_uow, ann, project.id)
    monkeypatch.setenv("QUORUM_DATABASE_URL", database_url)
    try:
        assert cli.main(["webhooks", "deliver", "--json"]) == 0
    finally:
        dispose_engines()  # the CLI's process-wide engine must not outlive the test database
    assert '"n_delivered": 1' in capsys.readouterr().out
    assert len(receiver.requests) == 1


def test_the_background_runner_delivers_without_being_asked(make_uow, receiver: Receiver) -> None:
    import time

    from core.webhooks import DeliveryRunner

    _, manager, _, (ann, _), project = make_team(make_uow)
    add_hook(make_uow, manager, project.id, receiver.url())
    runner = DeliveryRunner(make_uow, interval_s=0.05).start()
    try:
        label_next(make_uow, ann, project.id)
        deadline = time.monotonic() + 20
        while one_delivery(make_uow).status != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    assert one_delivery(make_uow).status == "delivered" and not runner.is_running
    assert [r.headers["X-Quorum-Event"] for r in receiver.requests] == ["annotation.created"]


def test_the_runner_says_once_in_one_line_that_the_database_is_away(caplog: pytest.LogCaptureFixture) -> None:
    """During an outage the delivery thread logs one warning without a traceback, not one per round."""
    import time

    from core.errors import DatabaseUnavailableError
    from core.webhooks import DeliveryRunner

    def unreachable():
        raise DatabaseUnavailableError()

    caplog.set_level("INFO", logger="core.webhooks")
    runner = DeliveryRunner(unreachable, interval_s=0.01).start()  # type: ignore[arg-type]
    time.sleep(0.3)
    runner.stop()
    records = [r for r in caplog.records if r.name == "core.webhooks"]
    assert len(records) == 1 and records[0].levelname == "WARNING" and records[0].exc_info is None
    assert "cannot be reached" in records[0].getMessage()
