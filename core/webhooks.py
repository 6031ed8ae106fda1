"""Webhooks and training triggers: who is called, what is recorded, and how it is delivered.

**Subscriptions.** A manager (``Action.MANAGE``) adds a webhook to a project: a URL that the outbound
allow-list accepts (:func:`core.outbound.check_outbound_url`, checked on save *and* before each send) and
either

* kind ``events``: a list of :data:`EVENTS`, each change of that kind is POSTed to the URL; or
* kind ``training``: a *training trigger*, called once ``every_n`` new verified items exist since its last
  call (see :func:`verified_count`).

Each webhook gets a random secret, shown once when it is created (or rotated) and used to sign requests. It is
stored sealed (:mod:`core.secret_box`, like S3 keys): a database dump does not let anyone forge requests.
Secrets stored in clear by older versions are still used, and sealed by :func:`seal_plain_webhook_secrets`
(run at start-up).

**The outbox.** :func:`enqueue` writes one ``pending`` row in ``webhook_deliveries`` per subscribed webhook
*in the caller's transaction*: an event is recorded if and only if its change commits, and a labeler's
submit never waits on somebody else's server. :func:`deliver_due` (a thread of the app, or
``python cli.py webhooks deliver --loop``) sends what is due, outside any transaction, and writes the
outcome: 2xx delivered; 429, 5xx and network errors retried after ``10 s * 2**(attempt - 1)`` (capped at
an hour) up to :data:`MAX_ATTEMPTS`; any other 4xx, a redirect or a refused URL failed at once.

**Verifying a request (receiver side).** Every request carries

* ``X-Quorum-Event``: the event name; ``X-Quorum-Delivery``: the delivery id (retries repeat it, so a
  receiver can drop duplicates);
* ``X-Quorum-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Quorum-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + raw body`` keyed with the
  webhook's secret.

A receiver recomputes the HMAC over the *raw* body bytes (before parsing the JSON), compares in constant
time and rejects timestamps older than a few minutes (replays)::

    from core.webhooks import verify_signature
    ok = verify_signature(secret, body=request_body, timestamp=headers["X-Quorum-Timestamp"],
                          signature=headers["X-Quorum-Signature"])

(the same ten lines in any language: ``hmac(sha256, secret, f"{ts}.{body}") == sig[7:]``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from core.errors import ConflictError, NotFoundError, QuorumError
from core.outbound import check_outbound_url
from core.outbound_http import SendResult, post
from core.permissions import Action, require
from core.secret_box import SecretBoxError, is_sealed, open_stored, seal
from core.uow import UnitOfWork, UowFactory, is_database_outage
from core.users import UserInfo
from storage.models import Project, Webhook, WebhookDelivery, utcnow
from storage.repositories import webhooks as repo
from storage.repositories.webhooks import STATUS_DELIVERED, STATUS_FAILED, STATUS_PENDING

log = logging.getLogger(__name__)

EVENTS = ("task.created", "annotation.created", "annotation.updated", "consensus.reached", "review.done")
TRAINING_EVENT = "training.ready"
PING_EVENT = "ping"
KIND_EVENTS = "events"
KIND_TRAINING = "training"
KINDS = (KIND_EVENTS, KIND_TRAINING)

MAX_ATTEMPTS = 8  # 10+20+40+...+640 s: about 21 minutes of retries before a delivery is failed
BACKOFF_BASE_S = 10
BACKOFF_CAP_S = 3600
SEND_TIMEOUT_S = 5.0
# A claimed delivery is not due again for LEASE_S: far longer than a round of DELIVERY_BATCH sends of at most
# SEND_TIMEOUT_S each takes (100 s), so no other worker sends it meanwhile; a worker that dies mid-round
# leaves its claims to be retried once the lease ends.
LEASE_S = 600
DELIVERY_BATCH = 20
SIGNATURE_TOLERANCE_S = 300
MAX_URL_LENGTH = 2048
USER_AGENT = "Quorum-Webhooks/1"

Sender = Callable[[str, bytes, dict[str, str]], SendResult]


# --- what the pages and the CLI get -----------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookInfo:
    id: int
    project_id: int
    url: str
    kind: str
    events: tuple[str, ...]
    every_n: int | None
    last_count: int  # training triggers: the verified count at the last call (or at creation)
    is_active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: WebhookInfo
    secret: str  # shown once; only the receiver needs it afterwards


@dataclass(frozen=True)
class DeliveryView:
    id: int
    webhook_id: int
    url: str
    event: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class DeliveryReport:
    n_sent: int  # attempts made in this round
    n_delivered: int
    n_retrying: int
    n_failed: int


def _info(hook: Webhook) -> WebhookInfo:
    return WebhookInfo(hook.id, hook.project_id, hook.url, hook.kind, tuple(hook.events or ()), hook.every_n,
                       hook.last_count, hook.is_active, hook.created_at)


def _view(delivery: WebhookDelivery, url: str) -> DeliveryView:
    d = delivery
    return DeliveryView(d.id, d.webhook_id, url, d.event, d.status, d.attempts, d.next_attempt_at,
                        d.last_status_code, d.last_error, d.created_at, d.delivered_at)


# --- subscriptions ----------------------------------------------------------------------------------------


def _checked_url(url: str) -> str:
    text = (url or "").strip()
    if len(text) > MAX_URL_LENGTH:
        raise QuorumError(f"webhook URL is too long ({len(text)} characters, at most {MAX_URL_LENGTH})")
    return check_outbound_url(text, purpose="webhook").url


def _checked_events(events: list[str] | tuple[str, ...]) -> list[str]:
    chosen = list(dict.fromkeys(e.strip() for e in events if e.strip()))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise QuorumError(f"unknown webhook event {', '.join(map(repr, unknown))}; choose from {', '.join(EVENTS)}")
    if not chosen:
        raise QuorumError(f"choose at least one event for the webhook: {', '.join(EVENTS)}")
    return chosen


def _checked_every_n(every_n: int | None) -> int:
    if every_n is None or isinstance(every_n, bool) or int(every_n) != every_n or every_n < 1:
        raise QuorumError(f"a training trigger needs 'every N verified items' of at least 1 (got {every_n!r})")
    return int(every_n)


def _forget_subscribers(uow: UnitOfWork, project_id: int) -> None:
    """After a webhook changed: drop this unit of work's cached subscribers and refresh the project's
    ``has_webhooks`` flag, which lets every other submit skip the webhook lookup."""
    uow.session.info.get(_SUBSCRIBERS_KEY, {}).pop(project_id, None)
    repo.refresh_has_webhooks(uow.session, project_id)


def create_webhook(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    project_id: int,
    url: str,
    kind: str = KIND_EVENTS,
    events: list[str] | tuple[str, ...] = (),
    every_n: int | None = None,
    is_active: bool = True,
) -> CreatedWebhook:
    """Add a webhook (kind ``events``) or a training trigger (kind ``training``); the caller commits.

    A training trigger starts counting from the project's verified count now, so its first call comes
    after ``every_n`` items verified from here on. Raises OutboundURLError for a URL the allow-list
    refuses, QuorumError for unknown events or a bad ``every_n``.
    """
    require(uow, user, project_id, Action.MANAGE)
    if kind not in KINDS:
        raise QuorumError(f"webhook kind must be one of {', '.join(KINDS)} (got {kind!r})")
    checked_url = _checked_url(url)
    if kind == KIND_TRAINING:
        chosen, n, last = [TRAINING_EVENT], _checked_every_n(every_n), verified_count(uow, project_id)
    else:
        chosen, n, last = _checked_events(events), None, 0
    secret = secrets.token_urlsafe(32)
    hook = Webhook(project_id=project_id, url=checked_url, secret=seal(secret), events=chosen, is_active=is_active,
                   kind=kind, every_n=n, last_count=last, created_at=utcnow())
    uow.session.add(hook)
    uow.session.flush()
    _forget_subscribers(uow, project_id)
    return CreatedWebhook(_info(hook), secret)


def _hook(uow: UnitOfWork, user: UserInfo, webhook_id: int) -> Webhook:
    hook = uow.session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFoundError(f"no webhook with id {webhook_id}")
    require(uow, user, hook.project_id, Action.MANAGE)
    return hook


def update_webhook(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    webhook_id: int,
    url: str | None = None,
    events: list[str] | tuple[str, ...] | None = None,
    every_n: int | None = None,
    is_active: bool | None = None,
) -> WebhookInfo:
    """Change what is given (None: unchanged); checked like :func:`create_webhook`. The caller commits."""
    hook = _hook(uow, user, webhook_id)
    if url is not None:
        hook.url = _checked_url(url)
    if events is not None and hook.kind == KIND_EVENTS:
        hook.events = _checked_events(events)
    if every_n is not None:
        if hook.kind != KIND_TRAINING:
            raise QuorumError(f"webhook {webhook_id} is not a training trigger; 'every N' does not apply")
        hook.every_n = _checked_every_n(every_n)
    if is_active is not None:
        hook.is_active = bool(is_active)
    uow.session.flush()
    _forget_subscribers(uow, hook.project_id)
    return _info(hook)


def rotate_secret(uow: UnitOfWork, user: UserInfo, *, webhook_id: int) -> str:
    """A new secret for the webhook (shown once); deliveries sent from the commit on use it."""
    hook = _hook(uow, user, webhook_id)
    secret = secrets.token_urlsafe(32)
    hook.secret = seal(secret)
    uow.session.flush()
    return secret


def seal_plain_webhook_secrets(uow: UnitOfWork) -> int:
    """Seal the secrets that older versions stored in clear; how many (the caller commits). When all are
    sealed already it only reads, so a database without webhooks never creates a key file."""
    plain = [h for h in repo.hooks_with_secrets(uow.session) if not is_sealed(h.secret)]
    for hook in plain:
        hook.secret = seal(hook.secret)
    uow.session.flush()
    return len(plain)


def delete_webhook(uow: UnitOfWork, user: UserInfo, *, webhook_id: int) -> int:
    """Remove the webhook and its delivery log (pending deliveries are dropped); its id. The caller commits."""
    hook = _hook(uow, user, webhook_id)
    project_id = hook.project_id
    uow.session.delete(hook)
    uow.session.flush()
    _forget_subscribers(uow, project_id)
    return webhook_id


def list_webhooks(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> list[WebhookInfo]:
    require(uow, user, project_id, Action.MANAGE)
    return [_info(h) for h in repo.hooks_of(uow.session, project_id)]


# --- the outbox -------------------------------------------------------------------------------------------

_SUBSCRIBERS_KEY = "quorum_webhook_subscribers"


def _subscribers(uow: UnitOfWork, project_id: int) -> list[Any]:
    """The project's active webhooks, read once per unit of work (a submit or an import may emit several
    events; a recompute of a whole project emits one per task)."""
    cache: dict[int, list[Any]] = uow.session.info.setdefault(_SUBSCRIBERS_KEY, {})
    if project_id not in cache:
        project = uow.session.get(Project, project_id)  # in the identity map after the permission check
        has_hooks = project is not None and project.has_webhooks
        cache[project_id] = repo.active_hooks(uow.session, project_id) if has_hooks else []
    return cache[project_id]


def wants(uow: UnitOfWork, project_id: int, event: str) -> bool:
    """Whether an active webhook of the project subscribes to ``event`` (lets callers skip building payloads)."""
    return any(h.kind == KIND_EVENTS and event in (h.events or ()) for h in _subscribers(uow, project_id))


def iso_utc(moment: dt.datetime | None) -> str | None:
    """A naive-UTC timestamp as ISO 8601 with its zone (``...Z``), for payloads."""
    return None if moment is None else moment.isoformat() + "Z"


def _body(uow: UnitOfWork, project_id: int, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"action": event, "project": {"id": project_id, "title": repo.project_title(uow.session, project_id)},
            **payload}


def _write(uow: UnitOfWork, project_id: int, hook_ids: list[int], event: str, body: dict[str, Any]) -> list[int]:
    now = utcnow()
    body = {**body, "created_at": iso_utc(now)}
    return repo.add_deliveries(uow.session, [
        {"webhook_id": hook_id, "project_id": project_id, "event": event, "payload": body, "next_attempt_at": now,
         "created_at": now}
        for hook_id in hook_ids
    ])


def enqueue(uow: UnitOfWork, project_id: int, event: str, payload: dict[str, Any]) -> int:
    """Record ``event`` for every active webhook of the project subscribed to it; how many were recorded.

    Runs in the caller's transaction (the change and its event commit together or not at all) and
    sends nothing. The body is ``{"action": event, "project": {"id", "title"}, **payload, "created_at"}``.
    """
    if event not in EVENTS:
        raise QuorumError(f"unknown webhook event {event!r}")
    hook_ids = [h.id for h in _subscribers(uow, project_id) if h.kind == KIND_EVENTS and event in (h.events or ())]
    if not hook_ids:
        return 0
    return len(_write(uow, project_id, hook_ids, event, _body(uow, project_id, event, payload)))


# --- training triggers ------------------------------------------------------------------------------------

_PENDING_CHECKS_KEY = "quorum_training_checks"


def verified_count(uow: UnitOfWork, project_id: int) -> int:
    """The project's *verified items*: tasks in state ``done``.

    A task is done when the quality engine reached a consensus at or above the agreement threshold
    (or it had a single annotation), or a reviewer accepted or fixed it (ground truth). This is the one
    definition training triggers count; exports of "consensus and ground truth" ship the same tasks.
    """
    return repo.verified_count(uow.session, project_id)


def note_verified(uow: UnitOfWork, project_id: int) -> None:
    """Call after a change that may have verified items of the project (same unit of work).

    The training triggers of the project are checked once, right before the transaction commits
    (a SQLAlchemy ``before_commit`` hook on this session): a recompute that settles 10,000 tasks costs
    one count, not 10,000, and the check runs with every verification of this transaction visible.
    """
    if not any(h.kind == KIND_TRAINING for h in _subscribers(uow, project_id)):
        return
    session = uow.session
    pending: set[int] | None = session.info.get(_PENDING_CHECKS_KEY)
    if pending is None:
        pending = session.info[_PENDING_CHECKS_KEY] = set()
        sa_event.listen(session, "before_commit", _run_training_checks)
    pending.add(project_id)


def _run_training_checks(session: Session) -> None:
    pending: set[int] = session.info.get(_PENDING_CHECKS_KEY) or set()
    projects = sorted(pending)
    pending.clear()  # a later commit of the same session checks only what it verifies itself
    session.flush()
    subscribers: dict[int, list[Any]] = session.info.get(_SUBSCRIBERS_KEY, {})
    for project_id in projects:
        hooks = subscribers.get(project_id)
        for hook in repo.active_hooks(session, project_id) if hooks is None else hooks:
            if hook.kind == KIND_TRAINING:  # its row is read again, locked, before anything is decided
                _check_training_hook(session, project_id, hook.id)


def _check_training_hook(session: Session, project_id: int, hook_id: int) -> bool:
    """Enqueue one ``training.ready`` if ``every_n`` items were verified since the last call.

    On PostgreSQL the webhook row is locked first (FOR NO KEY UPDATE), and the count that follows (a new
    snapshot under READ COMMITTED) sees every verification committed before the lock was granted: two
    concurrent submits can neither both fire nor both miss a multiple of ``every_n``. The UPDATE guarded by
    ``last_count = :old`` is the second line of defence (a stale read can never fire twice).
    """
    row = repo.lock_training_hook(session, hook_id)
    if row is None or not row.is_active or not row.every_n:
        return False
    count = repo.verified_count(session, project_id)
    if count - row.last_count < row.every_n:
        return False
    if not repo.advance_last_count(session, hook_id, old=row.last_count, new=count):
        return False
    title = repo.project_title(session, project_id)
    now = utcnow()
    body = {
        "action": TRAINING_EVENT,
        "project": {"id": project_id, "title": title},
        "verified_count": count,
        "previous_count": row.last_count,
        "new_verified": count - row.last_count,
        "every_n": row.every_n,
        "verified": "tasks in state done (consensus reached, or accepted/fixed by a reviewer)",
        "export": {
            "cli": f"python cli.py export {json.dumps(title)} --format JSON --out export.json",
            "formats": ["JSON", "JSON_MIN", "CSV", "TSV", "COCO", "YOLO", "YOLO_OBB", "VOC", "CONLL2003",
                        "ASR_MANIFEST"],
        },
        "created_at": iso_utc(now),
    }
    repo.add_deliveries(session, [{"webhook_id": hook_id, "project_id": project_id, "event": TRAINING_EVENT,
                                   "payload": body, "next_attempt_at": now, "created_at": now}])
    return True


# --- signing ----------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``: the X-Quorum-Signature header."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_signature(
    secret: str,
    *,
    body: bytes,
    timestamp: str,
    signature: str,
    now: float | None = None,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
) -> bool:
    """The receiver's check: the signature matches the raw ``body`` and the timestamp is recent.

    ``now``: Unix seconds (default: the clock). A timestamp more than ``tolerance_s`` away from it is
    refused, so a captured request cannot be replayed later.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, str(sent_at), body), signature or "")


# --- delivery ---------------------------------------------------------------------------------------------


def backoff_s(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed ones: 10, 20, 40 ... capped at an hour."""
    return int(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


def default_sender(url: str, body: bytes, headers: dict[str, str]) -> SendResult:
    return post(url, body, headers, timeout_s=SEND_TIMEOUT_S, purpose="webhook")


def _outcome(result: SendResult, attempts: int, now: dt.datetime) -> dict[str, Any]:
    """The delivery's new columns after one attempt (see the module docstring for the rules)."""
    code = result.status_code
    values: dict[str, Any] = {"last_status_code": code, "last_error": result.error}
    if code is not None and 200 <= code < 300:
        return {**values, "status": STATUS_DELIVERED, "delivered_at": now, "last_error": None}
    if code is not None and 300 <= code < 400:
        where = f" to {result.location}" if result.location else ""
        return {**values, "status": STATUS_FAILED,
                "last_error": f"the receiver redirected{where}; webhooks do not follow redirects, use the final URL"}
    if result.refused or (code is not None and 400 <= code < 500 and code != 429):
        return {**values, "status": STATUS_FAILED}
    if attempts >= MAX_ATTEMPTS:
        return {**values, "status": STATUS_FAILED,
                "last_error": f"gave up after {attempts} attempts; last: {result.error or code}"}
    return {**values, "status": STATUS_PENDING, "next_attempt_at": now + dt.timedelta(seconds=backoff_s(attempts))}


def _claim(make_uow: UowFactory, now: dt.datetime, limit: int, ids: list[int] | None) -> list[Any]:
    with make_uow() as uow:
        if not repo.any_due(uow.session, now, ids):
            return []
    with make_uow() as uow:
        uow.begin_write()
        claimed = repo.claim_due(uow.session, now=now, lease_until=now + dt.timedelta(seconds=LEASE_S),
                                 limit=limit, ids=ids)
        uow.commit()
    return claimed


def _send_signed(send: Sender, delivery_id: int, event: str, url: str, stored_secret: str, body: bytes) -> SendResult:
    """One attempt, signed with the webhook's secret (opened from its sealed form just for this)."""
    timestamp = str(int(time.time()))
    try:
        signature = sign(open_stored(stored_secret), timestamp, body)
    except SecretBoxError as exc:  # the key changed: retried (it may come back) until the secret is rotated
        return SendResult(None, str(exc))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Quorum-Event": event,
        "X-Quorum-Delivery": str(delivery_id),
        "X-Quorum-Timestamp": timestamp,
        "X-Quorum-Signature": signature,
    }
    try:
        return send(url, body, headers)
    except Exception as exc:  # noqa: BLE001 - a broken sender must not lose the claim's bookkeeping
        log.exception("webhook sender failed on delivery %s", delivery_id)
        return SendResult(None, f"{type(exc).__name__}: {exc}")


def deliver_due(
    make_uow: UowFactory,
    *,
    now: dt.datetime | None = None,
    send: Sender | None = None,
    limit: int = DELIVERY_BATCH,
    delivery_ids: list[int] | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` due deliveries (only ``delivery_ids`` when given) and record each outcome.

    The claim is its own short transaction; requests go out with no transaction open (a slow receiver
    never holds a database lock); each outcome is written in its own transaction. ``now`` (naive UTC)
    decides what is due and when retries come (tests pass it); ``send`` replaces the HTTP sender.
    """
    now = now or utcnow()
    send = send or default_sender
    claimed = _claim(make_uow, now, limit, delivery_ids)
    counts = {STATUS_DELIVERED: 0, STATUS_PENDING: 0, STATUS_FAILED: 0}
    for delivery_id, attempts, event, payload, url, secret in claimed:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        result = _send_signed(send, delivery_id, event, url, secret, body)
        values = _outcome(result, attempts, now)
        with make_uow() as uow:
            uow.begin_write()
            if repo.record_result(uow.session, delivery_id, attempts=attempts, values=values):
                counts[values["status"]] += 1
            uow.commit()
    return DeliveryReport(len(claimed), counts[STATUS_DELIVERED], counts[STATUS_PENDING], counts[STATUS_FAILED])


# --- the delivery log, retries and test pings ---------------------------------------------------------------


def delivery_log(
    uow: UnitOfWork, user: UserInfo, *, project_id: int, limit: int = 50, webhook_id: int | None = None,
    before_id: int | None = None,
) -> list[DeliveryView]:
    """The project's deliveries, newest first (``before_id`` pages on)."""
    require(uow, user, project_id, Action.MANAGE)
    rows = repo.delivery_log(uow.session, project_id, limit=limit, webhook_id=webhook_id, before_id=before_id)
    return [_view(delivery, url) for delivery, url in rows]


def delivery_counts(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> dict[str, int]:
    require(uow, user, project_id, Action.MANAGE)
    return repo.status_counts(uow.session, project_id)


def get_delivery(uow: UnitOfWork, user: UserInfo, *, delivery_id: int) -> DeliveryView:
    row = repo.delivery_with_url(uow.session, delivery_id)
    if row is None:
        raise NotFoundError(f"no webhook delivery with id {delivery_id}")
    require(uow, user, row[0].project_id, Action.MANAGE)
    return _view(row[0], row[1])


def delivery_payload(uow: UnitOfWork, user: UserInfo, *, delivery_id: int) -> dict[str, Any]:
    """The JSON body a delivery sends (what the receiver gets, before signing), for the delivery log."""
    delivery = uow.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFoundError(f"no webhook delivery with id {delivery_id}")
    require(uow, user, delivery.project_id, Action.MANAGE)
    return dict(delivery.payload or {})


def retry_delivery(uow: UnitOfWork, user: UserInfo, *, delivery_id: int) -> int:
    """Put a failed delivery back in the queue, due now, with a fresh round of attempts; its id.
    The caller commits (then :func:`send_now` sends it at once, or the runner within seconds)."""
    delivery = uow.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFoundError(f"no webhook delivery with id {delivery_id}")
    require(uow, user, delivery.project_id, Action.MANAGE)
    if delivery.status != STATUS_FAILED:
        raise ConflictError(f"delivery {delivery_id} is {delivery.status}; only failed deliveries can be retried")
    delivery.status, delivery.attempts, delivery.next_attempt_at = STATUS_PENDING, 0, utcnow()
    uow.session.flush()
    return delivery_id


def queue_test(uow: UnitOfWork, user: UserInfo, *, webhook_id: int) -> int:
    """Record a ``ping`` delivery for one webhook (whatever its events or state); its id. The caller commits."""
    hook = _hook(uow, user, webhook_id)
    body = _body(uow, hook.project_id, PING_EVENT, {
        "webhook": {"id": hook.id, "kind": hook.kind, "events": list(hook.events or ())},
        "message": "A test from Quorum: this URL receives the project's webhook deliveries.",
    })
    return _write(uow, hook.project_id, [hook.id], PING_EVENT, body)[0]


def send_now(make_uow: UowFactory, user: UserInfo, *, delivery_id: int, send: Sender | None = None) -> DeliveryView:
    """Deliver one queued delivery at once (a test ping, a retry) and return how it went."""
    with make_uow() as uow:
        get_delivery(uow, user, delivery_id=delivery_id)  # permission check before anything is sent
    deliver_due(make_uow, send=send, delivery_ids=[delivery_id])
    with make_uow() as uow:
        return get_delivery(uow, user, delivery_id=delivery_id)


# --- the background runner --------------------------------------------------------------------------------

RUNNER_ENV = "QUORUM_WEBHOOK_RUNNER"  # "0": no delivery thread in the app (run the CLI worker instead)
RUNNER_INTERVAL_S = 3.0


class DeliveryRunner:
    """A daemon thread calling :func:`deliver_due` every ``interval_s`` seconds until stopped.

    Several app processes may each run one: the claim makes sure no delivery is sent twice.
    """

    def __init__(self, make_uow: UowFactory, *, interval_s: float = RUNNER_INTERVAL_S, send: Sender | None = None) -> None:
        self._make_uow = make_uow
        self._interval_s = interval_s
        self._send = send
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quorum-webhooks", daemon=True)

    def start(self) -> DeliveryRunner:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        last_error = ""
        while not self._stop.is_set():
            try:
                report = deliver_due(self._make_uow, send=self._send)
                last_error = ""
            except Exception as exc:  # noqa: BLE001 - the thread must survive a database hiccup
                problem = "database unavailable" if is_database_outage(exc) else str(exc)
                if problem != last_error:  # log a persisting problem once, not every few seconds
                    if is_database_outage(exc):  # expected during a restart: one line, no traceback
                        log.warning("webhook deliveries paused: the database cannot be reached; retrying every "
                                    "%.0f s", self._interval_s)
                    else:
                        log.exception("webhook delivery round failed")
                    last_error = problem
                report = None
            if report is None or report.n_sent < DELIVERY_BATCH:  # a full batch: more may be due at once
                self._stop.wait(self._interval_s)


_runner_lock = threading.Lock()
_runner: DeliveryRunner | None = None


def start_delivery_runner(make_uow: UowFactory, *, interval_s: float = RUNNER_INTERVAL_S) -> DeliveryRunner | None:
    """The process's delivery thread for ``make_uow`` (the previous one, for another database, is stopped).

    None when ``QUORUM_WEBHOOK_RUNNER=0`` (deliveries are then left to ``python cli.py webhooks deliver --loop``).
    """
    global _runner
    if os.environ.get(RUNNER_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    with _runner_lock:
        if _runner is not None:
            _runner.stop(timeout_s=0.1)
        _runner = DeliveryRunner(make_uow, interval_s=interval_s).start()
        return _runner
