"""Cloud storage (managers): S3 sources to import from and targets to export to, sync with a progress bar.

Entered credentials go to the server once and never come back: the page only ever says "credentials saved".
"""
from __future__ import annotations

import streamlit as st

from core.cloud_storage import (
    MODE_FILES,
    MODES,
    SOURCE,
    TARGET,
    ConnectionInfo,
    ConnectionSpec,
    add_connection,
    check_connection,
    delete_connection,
    export_to_target,
    list_connections,
    sync_connection,
    update_connection,
)
from core.errors import QuorumError
from core.exports import ALL_ANNOTATIONS, SELECTIONS, formats_for_project
from core.permissions import Action, can
from views.project_picker import pick_project
from views.services import signed_in_user, uow_factory
from views.widgets.controls import escape_markdown
from views.writes import show_flash

FLASH_KEY = "QUORUM_STORAGE_FLASH"


def count(n: int, noun: str) -> str:
    """``1 task``, ``2 tasks``: the counts a sync reports, in plain English."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


user = signed_in_user()
make_uow = uow_factory()
st.title("Cloud storage")
project = pick_project(make_uow, user, Action.IMPORT, key="storage_project")
if project is None:
    st.stop()
show_flash(FLASH_KEY, lasting=True)
st.caption(
    "S3 buckets (AWS, MinIO or any S3-compatible store) to import tasks from (sources) and to export results "
    "to (targets). Credentials are entered here (stored encrypted, never shown again); the server's own "
    "credentials serve only the buckets an administrator allowed for them (QUORUM_S3_ALLOWED_BUCKETS), and "
    "only at the server's own endpoint (QUORUM_S3_SERVER_ENDPOINT; empty: AWS)."
)


def connection_form(key: str, existing: ConnectionInfo | None) -> tuple[str, ConnectionSpec] | None:
    """The add/edit form; the (direction, spec) entered when submitted. Secret fields always start empty:
    each save moves the form to a fresh key (a counter in the session), so no typed secret lingers in a
    widget after it was sent."""
    key = f"{key}_{st.session_state.get('storage_form_round', 0)}"
    with st.form(key):
        if existing is None:
            direction = st.radio("Use", [SOURCE, TARGET], horizontal=True,
                                 format_func=lambda d: "Source: import tasks" if d == SOURCE else "Target: export results")
        else:
            direction = existing.direction
        left, right = st.columns(2)
        bucket = left.text_input("Bucket", value=existing.bucket if existing else "")
        prefix = right.text_input("Prefix", value=existing.prefix if existing else "", placeholder="images/2024/")
        regex = left.text_input("Regex filter on keys", value=existing.regex_filter if existing else "",
                                placeholder=r"\.(jpg|png)$", help="Only keys this regular expression finds are imported.")
        endpoint = right.text_input("Endpoint URL (MinIO and other S3-compatible stores)",
                                    value=existing.endpoint_url if existing else "", placeholder="https://minio.example.com")
        region = left.text_input("Region", value=existing.region if existing else "", placeholder="eu-west-1")
        mode = right.selectbox("Objects", list(MODES), format_func=MODES.__getitem__,
                               index=list(MODES).index(existing.mode if existing else MODE_FILES))
        if existing is not None and existing.credentials_saved:
            st.caption(":material/key: Credentials saved. Leave the fields below empty to keep them.")
        left, right = st.columns(2)
        key_id = left.text_input("Access key id", type="password", help=(
            "Empty: the server's own credentials, only for buckets an administrator listed in "
            "QUORUM_S3_ALLOWED_BUCKETS and only at the server's endpoint (QUORUM_S3_SERVER_ENDPOINT; "
            "empty: AWS, leave the endpoint URL empty)."))
        secret = right.text_input("Secret access key", type="password")
        token = left.text_input("Session token (optional)", type="password")
        forget = existing is not None and existing.credentials_saved and st.checkbox(
            "Forget the saved credentials (use the server's environment)")
        if not st.form_submit_button("Save" if existing else "Add connection", type="primary"):
            return None
    spec = ConnectionSpec(bucket=bucket, prefix=prefix, regex_filter=regex, endpoint_url=endpoint, region=region,
                          mode=mode, access_key_id=key_id or None, secret_access_key=secret or None,
                          session_token=token or None, clear_credentials=bool(forget))
    return direction, spec


def saved() -> None:
    """After a save: fresh, empty forms (see connection_form) and the list re-read."""
    st.session_state["storage_form_round"] = st.session_state.get("storage_form_round", 0) + 1
    st.rerun()


def run_sync(info: ConnectionInfo) -> None:
    bar = st.progress(0.0, text="Listing objects ...")

    def report(stage: str, done: int, total: int) -> None:
        if stage == "listing":
            bar.progress(0.0, text=f"Listing objects ... {done:,}")
        else:
            bar.progress(min(done / max(total, 1), 1.0), text=f"{stage.capitalize()} {done:,} of {total:,} ...")

    with make_uow() as uow:
        try:
            summary = sync_connection(uow, user, connection_id=info.id, progress=report)
            uow.commit()
        except QuorumError as exc:
            bar.empty()
            st.error(f"Nothing was imported.\n\n{exc}")
            return
    bar.progress(1.0, text="Done")
    # Shown after a rerun, so the connection's "Last sync" line below already tells this sync.
    st.session_state[FLASH_KEY] = (
        f"{count(summary.n_new, 'new object')}, {count(summary.n_tasks, 'task')} imported; "
        f"{summary.n_changed:,} changed, {summary.n_skipped:,} unchanged (skipped), "
        f"{count(summary.n_duplicates, 'duplicate')}; {summary.n_matched:,} of "
        f"{count(summary.n_listed, 'object')} matched the filter ({summary.seconds:.1f} s)."
    )
    st.rerun()


def run_export(info: ConnectionInfo) -> None:
    with make_uow() as uow:
        formats = formats_for_project(uow, user, project_id=project.id)
    left, middle, right = st.columns(3)
    fmt = left.selectbox("Format", formats, format_func=lambda f: f.title, key=f"fmt_{info.id}")
    selection = middle.selectbox("What goes out", list(SELECTIONS), format_func=SELECTIONS.__getitem__,
                                 index=list(SELECTIONS).index(ALL_ANNOTATIONS), key=f"sel_{info.id}")
    per_task = right.radio("Objects", [False, True], key=f"per_{info.id}",
                           format_func=lambda p: "One object per task" if p else "One file")
    if fmt is None or not st.button("Export now", key=f"export_{info.id}", icon=":material/cloud_upload:"):
        return
    bar = st.progress(0.0, text="Exporting ...")
    with make_uow() as uow:
        try:
            summary = export_to_target(
                uow, user, connection_id=info.id, fmt=fmt.name, per_task=per_task, selection=selection,
                progress=lambda done, total: bar.progress(min(done / max(total, 1), 1.0),
                                                          text=f"Exporting {done:,} of {total:,} tasks ..."),
            )
        except QuorumError as exc:
            bar.empty()
            st.error(str(exc))
            return
    bar.progress(1.0, text="Done")
    left_out = f" {summary.n_left_out:,} tasks without ground truth or consensus were left out." if summary.n_left_out else ""
    st.success(f"Exported {summary.n_tasks:,} tasks as {summary.format} to {len(summary.keys):,} object(s) "
               f"under {info.location}.{left_out}")


with make_uow() as uow:
    connections = list_connections(uow, user, project_id=project.id)
    may_export = can(uow, user, project.id, Action.EXPORT)
if not connections:
    st.info("No storage connection yet: add one below.")
for info in connections:
    title = f"{'Source' if info.direction == SOURCE else 'Target'} · {escape_markdown(info.location)}"
    with st.expander(title, expanded=len(connections) == 1):
        synced = f"{info.last_sync_at:%Y-%m-%d %H:%M} UTC" if info.last_sync_at else "never"
        details = [
            f"Endpoint: {info.endpoint_url or 'AWS S3'}    Region: {info.region or 'default'}",
            f"Credentials: {'credentials saved' if info.credentials_saved else 'from the server environment'}",
        ]
        if info.direction == SOURCE:
            details.append(f"Objects: {MODES[info.mode]}    Regex filter: {info.regex_filter or '(none)'}")
            last = info.last_sync or {}
            details.append(f"Last sync: {synced}" + (
                f" ({count(last.get('n_new', 0), 'new object')}, {count(last.get('n_tasks', 0), 'task')})"
                if last else ""))
        st.text("\n".join(details))  # plain text: bucket names and patterns are not markdown
        if info.refusal:
            st.warning(f"This connection cannot be used as saved: {escape_markdown(info.refusal)}.",
                       icon=":material/key_off:")
        sync_col, test_col = st.columns([1, 1])
        if test_col.button("Test connection", key=f"test_{info.id}", icon=":material/network_check:",
                           help="Reach the bucket with these settings and list a few objects; changes nothing."):
            with make_uow() as uow:
                try:
                    found = check_connection(uow, user, connection_id=info.id)
                except QuorumError as exc:
                    st.error(f"The connection does not work yet.\n\n{exc}")
                else:
                    sample = ", ".join(found.sample_keys[:3]) + (" …" if found.more or len(found.sample_keys) > 3
                                                                 else "")
                    st.success(f"Reached {found.location}: " + (f"objects there include {sample}." if sample
                                                              else "no object under this prefix yet."))
        if info.direction == SOURCE and sync_col.button("Sync now", key=f"sync_{info.id}", type="primary",
                                                        icon=":material/sync:"):
            run_sync(info)
        if info.direction == TARGET and may_export:
            run_export(info)
        edit, remove = st.tabs(["Edit", "Delete"])
        with edit:
            entered = connection_form(f"edit_{info.id}", info)
            if entered is not None:
                with make_uow() as uow:
                    try:
                        update_connection(uow, user, connection_id=info.id, spec=entered[1])
                        uow.commit()
                    except QuorumError as exc:
                        st.error(str(exc))
                    else:
                        saved()
        with remove:
            st.caption("Imported tasks stay; the record of synced objects goes.")
            if st.button("Delete this connection", key=f"delete_{info.id}", icon=":material/delete:"):
                with make_uow() as uow:
                    delete_connection(uow, user, connection_id=info.id)
                    uow.commit()
                st.rerun()

st.subheader("Add a connection")
entered = connection_form("add_connection", None)
if entered is not None:
    with make_uow() as uow:
        try:
            add_connection(uow, user, project_id=project.id, direction=entered[0], spec=entered[1])
            uow.commit()
        except QuorumError as exc:
            st.error(str(exc))
        else:
            saved()
