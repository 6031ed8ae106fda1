"""Webhooks and training triggers of a project (managers): add, edit, test, delete; the delivery log."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import QuorumError
from core.permissions import Action
from core.webhooks import (
    EVENTS,
    KIND_EVENTS,
    KIND_TRAINING,
    MAX_ATTEMPTS,
    create_webhook,
    delete_webhook,
    delivery_counts,
    delivery_log,
    delivery_payload,
    list_webhooks,
    queue_test,
    retry_delivery,
    rotate_secret,
    send_now,
    update_webhook,
    verified_count,
)
from views.project_picker import pick_project
from views.services import signed_in_user, uow_factory
from views.widgets.controls import escape_markdown
from views.writes import run_write

NEW_SECRET_KEY = "WEBHOOKS_NEW_SECRET"  # (webhook id, secret): shown once on the run after it was made
NOTICE_KEY = "WEBHOOKS_NOTICE"  # the outcome of a test or a retry, shown after the rerun
KIND_LABELS = {KIND_EVENTS: "Webhook (events)", KIND_TRAINING: "Training trigger"}
LOG_SIZE = 50

user = signed_in_user()
make_uow = uow_factory()
st.title("Webhooks")
project = pick_project(make_uow, user, Action.MANAGE, key="webhooks_project")
if project is None:
    st.stop()


def deliver(delivery_id: int, what: str) -> None:
    """Send one queued delivery now and keep its outcome for the next run."""
    try:
        view = send_now(make_uow, user, delivery_id=delivery_id)
    except QuorumError as exc:
        st.error(str(exc))
        return
    code = f"HTTP {view.last_status_code}" if view.last_status_code else "no answer"
    error = f" — {escape_markdown(view.last_error)}" if view.last_error else ""  # the receiver's words: untrusted
    st.session_state[NOTICE_KEY] = (view.status == "delivered", f"{what}: {view.status} ({code}){error}")
    st.rerun()


with make_uow() as uow:
    hooks = list_webhooks(uow, user, project_id=project.id)
    log = delivery_log(uow, user, project_id=project.id, limit=LOG_SIZE)
    counts = delivery_counts(uow, user, project_id=project.id)
    n_verified = verified_count(uow, project.id)

st.caption(
    "Quorum POSTs JSON to these URLs when something happens in the project, signed with the webhook's secret "
    "(header `X-Quorum-Signature: sha256=HMAC(secret, timestamp + \".\" + body)`, timestamp in "
    "`X-Quorum-Timestamp`). Failed calls are retried with back-off. A **training trigger** is called once "
    f"N new items are verified (tasks *done*: consensus reached or reviewed); this project has {n_verified} now."
)
new_secret = st.session_state.pop(NEW_SECRET_KEY, None)
if new_secret:
    st.success(f"Secret of webhook {new_secret[0]}: copy it now, it is not shown again.", icon=":material/key:")
    st.code(new_secret[1], language=None)
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    (st.success if notice[0] else st.warning)(notice[1])

if hooks:
    st.dataframe(pd.DataFrame([{
        "id": h.id,
        "kind": KIND_LABELS[h.kind],
        "URL": h.url,
        "events / every N": ", ".join(h.events) if h.kind == KIND_EVENTS else f"every {h.every_n} verified",
        "counted at last call": h.last_count if h.kind == KIND_TRAINING else None,
        "active": h.is_active,
    } for h in hooks]), hide_index=True)
else:
    st.info("No webhooks yet: add one below.")

with st.expander("Add a webhook or a training trigger", expanded=not hooks, icon=":material/add_link:"):
    with st.form("webhook_add", clear_on_submit=False):
        url = st.text_input("URL", placeholder="https://example.com/quorum-hook", key="webhook_add_url")
        kind = st.radio("Kind", list(KIND_LABELS), format_func=KIND_LABELS.get, horizontal=True, key="webhook_add_kind")
        events = st.multiselect("Events (webhooks)", EVENTS, default=["annotation.created"], key="webhook_add_events")
        every_n = st.number_input("Every N newly verified items (training triggers)", min_value=1, value=50, step=1,
                                  key="webhook_add_every_n")
        active = st.checkbox("Active", value=True, key="webhook_add_active")
        if st.form_submit_button("Add", type="primary", icon=":material/add:"):
            created = run_write(make_uow, user, create_webhook, project_id=project.id, url=url, kind=kind,
                                events=events, every_n=int(every_n), is_active=active)
            if created:
                st.session_state[NEW_SECRET_KEY] = (created.webhook.id, created.secret)
                st.rerun()

for hook in hooks:
    title = f"{KIND_LABELS[hook.kind]} {hook.id}: {escape_markdown(hook.url)}" + ("" if hook.is_active else " (off)")
    with st.expander(title, icon=":material/webhook:"):
        with st.form(f"webhook_edit_{hook.id}"):
            new_url = st.text_input("URL", value=hook.url, key=f"webhook_url_{hook.id}")
            if hook.kind == KIND_EVENTS:
                new_events = st.multiselect("Events", EVENTS, default=list(hook.events), key=f"webhook_events_{hook.id}")
                new_every_n = None
            else:
                new_events = None
                new_every_n = int(st.number_input("Every N newly verified items", min_value=1, value=hook.every_n or 50,
                                                  step=1, key=f"webhook_every_n_{hook.id}"))
            new_active = st.checkbox("Active", value=hook.is_active, key=f"webhook_active_{hook.id}")
            if st.form_submit_button("Save", icon=":material/save:") and run_write(
                make_uow, user, update_webhook, webhook_id=hook.id, url=new_url, events=new_events,
                every_n=new_every_n, is_active=new_active,
            ):
                st.rerun()
        test_col, secret_col, delete_col = st.columns(3)
        if test_col.button("Send test", icon=":material/send:", key=f"webhook_test_{hook.id}"):
            ping_id = run_write(make_uow, user, queue_test, webhook_id=hook.id)
            if ping_id:
                deliver(ping_id, f"Test of webhook {hook.id}")
        if secret_col.button("New secret", icon=":material/key:", key=f"webhook_rotate_{hook.id}"):
            secret = run_write(make_uow, user, rotate_secret, webhook_id=hook.id)
            if secret:
                st.session_state[NEW_SECRET_KEY] = (hook.id, secret)
                st.rerun()
        with delete_col.popover("Delete", icon=":material/delete:"):
            st.write("Delete this webhook and its delivery log?")
            if st.button("Delete", type="primary", key=f"webhook_delete_{hook.id}") and run_write(
                make_uow, user, delete_webhook, webhook_id=hook.id
            ):
                st.rerun()

st.subheader("Deliveries")
pending_col, delivered_col, failed_col = st.columns(3)
pending_col.metric("Pending", counts.get("pending", 0))
delivered_col.metric("Delivered", counts.get("delivered", 0))
failed_col.metric("Failed", counts.get("failed", 0))
if not log:
    st.caption("Nothing sent yet.")
else:
    st.dataframe(pd.DataFrame([{
        "id": d.id,
        "event": d.event,
        "webhook": d.webhook_id,
        "status": d.status,
        "attempts": f"{d.attempts}/{MAX_ATTEMPTS}",
        "code": d.last_status_code,
        "error": d.last_error or "",
        "created": d.created_at,
        "next attempt": d.next_attempt_at if d.status == "pending" else None,
        "delivered": d.delivered_at,
    } for d in log]), hide_index=True)
    shown = st.selectbox("Show what a delivery sends", log, index=None, key="webhook_payload_pick",
                         placeholder="Choose a delivery ...",
                         format_func=lambda d: f"{d.id} · {d.event} · {d.status} · {d.url}")
    if shown is not None:
        with make_uow() as uow:
            st.json(delivery_payload(uow, user, delivery_id=shown.id), expanded=2)
    failed = [d for d in log if d.status == "failed"]
    if failed:
        retry_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
        chosen = retry_col.selectbox(
            "Failed delivery", failed, key="webhook_retry_pick",
            format_func=lambda d: f"{d.id} · {d.event} · {d.last_status_code or 'no answer'} · {d.url}",
        )
        if button_col.button("Retry now", icon=":material/replay:", key="webhook_retry") and chosen is not None:
            if run_write(make_uow, user, retry_delivery, delivery_id=chosen.id):
                deliver(chosen.id, f"Retry of delivery {chosen.id}")
