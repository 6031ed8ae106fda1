"""Queries of webhooks and their outbox (``webhook_deliveries``): subscribers, claims, results, the log.

A delivery is *claimed* by one statement that raises its ``attempts`` and pushes ``next_attempt_at`` to a
lease in the future, so no other worker sees it as due while it is being sent (PostgreSQL picks the rows
with ``FOR UPDATE SKIP LOCKED``; SQLite ignores that clause and relies on the claim's write lock). The
result is written with a guard on ``attempts``: a late answer to an expired lease never overwrites the
outcome of a newer attempt.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import TASK_DONE, Project, Task, Webhook, WebhookDelivery

STATUS_PENDING = "pending"
STATUS_DELIVERED = "delivered"
STATUS_FAILED = "failed"

_HOOK_COLUMNS = (Webhook.id, Webhook.kind, Webhook.events, Webhook.every_n)


def active_hooks(session: Session, project_id: int) -> list[Row[Any]]:
    """(id, kind, events, every_n) of the project's active webhooks (a handful; no index needed)."""
    return list(session.execute(select(*_HOOK_COLUMNS).where(Webhook.project_id == project_id, Webhook.is_active)))


def refresh_has_webhooks(session: Session, project_id: int) -> None:
    """Set the project's ``has_webhooks`` flag from its webhooks (after one was added, changed or removed)."""
    session.flush()
    active = select(Webhook.id).where(Webhook.project_id == project_id, Webhook.is_active).exists()
    session.execute(update(Project).where(Project.id == project_id).values(has_webhooks=active))
    project = session.get(Project, project_id)
    if project is not None:
        session.refresh(project, ["has_webhooks"])


def project_title(session: Session, project_id: int) -> str:
    project = session.get(Project, project_id)  # usually in the identity map already (permission check)
    return project.title if project is not None else ""


def hooks_with_secrets(session: Session) -> list[Webhook]:
    """Every webhook with a secret (the start-up sweep that seals secrets stored in clear)."""
    return list(session.scalars(select(Webhook).where(Webhook.secret != "").order_by(Webhook.id)))


def hooks_of(session: Session, project_id: int) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.project_id == project_id).order_by(Webhook.id)))


def add_deliveries(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert outbox rows (webhook_id, project_id, event, payload, next_attempt_at, created_at); their ids."""
    if not rows:
        return []
    values = [{"status": STATUS_PENDING, "attempts": 0, **row} for row in rows]
    return list(session.scalars(insert(WebhookDelivery).returning(WebhookDelivery.id), values))


def verified_count(session: Session, project_id: int) -> int:
    """Tasks of the project in state ``done``: served by the (project_id, state, id) index."""
    return int(session.scalar(
        select(func.count()).select_from(Task).where(Task.project_id == project_id, Task.state == TASK_DONE)
    ) or 0)


def lock_training_hook(session: Session, hook_id: int) -> Row[Any] | None:
    """(last_count, every_n, is_active) of a training webhook, its row locked until commit on PostgreSQL.

    ``FOR NO KEY UPDATE`` serialises the projects' training checks without blocking the ``FOR KEY SHARE``
    lock PostgreSQL takes when a delivery row referencing the webhook is inserted. On SQLite the caller's
    write transaction already excludes every other writer.
    """
    query = select(Webhook.last_count, Webhook.every_n, Webhook.is_active).where(Webhook.id == hook_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    return session.execute(query).first()


def advance_last_count(session: Session, hook_id: int, *, old: int, new: int) -> bool:
    """Set ``last_count`` to ``new`` if it is still ``old``; False when another transaction moved it."""
    result = session.execute(
        update(Webhook).where(Webhook.id == hook_id, Webhook.last_count == old).values(last_count=new)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _due(now: dt.datetime, ids: list[int] | None) -> Any:
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.status == STATUS_PENDING, WebhookDelivery.next_attempt_at <= now
    )
    if ids is not None:
        query = query.where(WebhookDelivery.id.in_(ids))
    return query


def any_due(session: Session, now: dt.datetime, ids: list[int] | None = None) -> bool:
    """A cheap read before the claim, so an idle runner never takes SQLite's write lock."""
    return session.scalar(_due(now, ids).limit(1)) is not None


def claim_due(
    session: Session, *, now: dt.datetime, lease_until: dt.datetime, limit: int, ids: list[int] | None = None
) -> list[tuple[int, int, str, dict[str, Any], str, str]]:
    """Claim up to ``limit`` due deliveries (oldest due first) for one sending round.

    Returns (id, attempts after the claim, event, payload, url, secret) per claimed delivery.
    """
    picked = (
        _due(now, ids).order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(picked))
        .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=lease_until)
        .returning(WebhookDelivery.id, WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return []
    attempts = dict(claimed)
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.payload, Webhook.url, Webhook.secret)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.id.in_(list(attempts)))
        .order_by(WebhookDelivery.id)
    ).all()
    return [(r.id, attempts[r.id], r.event, r.payload, r.url, r.secret) for r in rows]


def record_result(session: Session, delivery_id: int, *, attempts: int, values: dict[str, Any]) -> bool:
    """Write an attempt's outcome if the delivery is still on that attempt (see the module docstring)."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempts == attempts,
            WebhookDelivery.status == STATUS_PENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def delivery_log(
    session: Session, project_id: int, *, limit: int, webhook_id: int | None = None, before_id: int | None = None
) -> list[Row[Any]]:
    """(delivery, url) of the project, newest first, paged by id."""
    query = (
        select(WebhookDelivery, Webhook.url)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.project_id == project_id)
    )
    if webhook_id is not None:
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def delivery_with_url(session: Session, delivery_id: int) -> Row[Any] | None:
    return session.execute(
        select(WebhookDelivery, Webhook.url)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.id == delivery_id)
    ).first()


def status_counts(session: Session, project_id: int) -> dict[str, int]:
    return {
        status: n
        for status, n in session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.project_id == project_id)
            .group_by(WebhookDelivery.status)
        )
    }


def batch_task_ids(session: Session, batch_id: int, *, limit: int) -> tuple[int, int | None, int | None, list[int]]:
    """(count, first id, last id, up to ``limit`` ids) of the tasks an import batch wrote (indexed)."""
    n, first, last = session.execute(
        select(func.count(), func.min(Task.id), func.max(Task.id)).where(Task.import_batch_id == batch_id)
    ).one()
    ids = list(session.scalars(
        select(Task.id).where(Task.import_batch_id == batch_id).order_by(Task.id).limit(limit)
    )) if n and n <= limit else []
    return int(n or 0), first, last, ids
