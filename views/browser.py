"""The data browser (managers): a project's tasks, filtered and sorted, page by page; one task in full;
bulk actions on the chosen rows.

Thin by design: core.browser pages the tasks by keys, opens a task and runs the bulk actions (each one
transaction with its own permission check and audit event). Session state keeps only UI state: the key
of the page shown, the keys of the pages before it (for "previous"), the open task and a pending delete.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.browser import (
    AGREEMENT_ANY,
    AGREEMENT_BELOW,
    AGREEMENT_NONE,
    AGREEMENT_REACHED,
    SORT_AGREEMENT,
    SORT_ID,
    SORT_N_ANNOTATIONS,
    SORT_UPDATED,
    BrowserFilter,
    TaskDetail,
    browse_tasks,
    delete_tasks,
    deletion_preview,
    mark_ground_truth,
    requeue_tasks,
    task_detail,
)
from core.cloud_storage import project_media
from core.errors import QuorumError
from core.permissions import Action
from core.projects import list_members
from core.quality import method_label, project_config
from core.settings import load_settings
from core.vocabulary import ROLE_ANNOTATOR, TASK_STATES
from views.project_picker import pick_project
from views.services import signed_in_user, uow_factory
from views.widgets.controls import escape_markdown
from views.widgets.task_view import answer_slots, render_read_only, render_task_data
from views.writes import run_write, show_flash

AFTER_KEY = "QUORUM_BROWSER_AFTER"
PREVIOUS_KEY = "QUORUM_BROWSER_PREVIOUS"
FILTER_KEY = "QUORUM_BROWSER_FILTER"
TASK_KEY = "QUORUM_BROWSER_TASK"
DELETE_KEY = "QUORUM_BROWSER_PENDING_DELETE"
FLASH_KEY = "QUORUM_BROWSER_FLASH"
VERSION_KEY = "QUORUM_BROWSER_TABLE_VERSION"  # a new table (and no selection) after every change of rows
AGREEMENT_LABELS = {AGREEMENT_ANY: "any", AGREEMENT_BELOW: "below the threshold",
                    AGREEMENT_REACHED: "at or above the threshold", AGREEMENT_NONE: "no agreement yet"}
SORT_LABELS = {SORT_ID: "id", SORT_AGREEMENT: "agreement", SORT_N_ANNOTATIONS: "number of annotations",
               SORT_UPDATED: "last change"}
YES_NO = {"any": None, "yes": True, "no": False}

user = signed_in_user()  # app.py registers this page only for users who may use it
make_uow = uow_factory()
settings = load_settings()

st.title("Data")
project = pick_project(make_uow, user, Action.MANAGE, key="browser_project")
if project is None:
    st.stop()
cfg = project_config(project.config_xml)

show_flash(FLASH_KEY)


def run(action, *args, **kwargs):  # type: ignore[no-untyped-def]
    return run_write(make_uow, user, action, *args, **kwargs)


def new_rows() -> None:
    """The rows shown change: the selection (row positions) and "select the page" must not carry over."""
    st.session_state[VERSION_KEY] = st.session_state.get(VERSION_KEY, 0) + 1


def done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    new_rows()
    st.rerun()


# --- filters and sort ----------------------------------------------------------------------------------
with make_uow() as uow:
    annotators = {m.id: m.username for m, role in list_members(uow, user, project.id) if role == ROLE_ANNOTATOR}
with st.container(border=True):
    row1 = st.columns([2, 2, 2, 1, 1])
    states = row1[0].multiselect("State", TASK_STATES, key="browser_states")
    annotator = row1[1].selectbox("Annotator", list(annotators), index=None, format_func=annotators.get,
                                  placeholder="anyone", key="browser_annotator")
    agreement = row1[2].selectbox("Agreement", list(AGREEMENT_LABELS), format_func=AGREEMENT_LABELS.get,
                                  key="browser_agreement")
    ground_truth = row1[3].selectbox("Ground truth", list(YES_NO), key="browser_ground_truth")
    predictions = row1[4].selectbox("Predictions", list(YES_NO), key="browser_predictions")
    row2 = st.columns([4, 2, 1], vertical_alignment="bottom")
    text = row2[0].text_input("Text in the task data", key="browser_text",
                              help="Reads every task's data: slower than the other filters on big projects.")
    sort = row2[1].selectbox("Sort by", list(SORT_LABELS), format_func=SORT_LABELS.get, key="browser_sort")
    descending = row2[2].toggle("Descending", key="browser_descending")
filters = BrowserFilter(states=tuple(states), annotator_id=annotator, agreement=agreement,
                        ground_truth=YES_NO[ground_truth], has_predictions=YES_NO[predictions], text=text)
signature = (project.id, filters, sort, descending)
if st.session_state.get(FILTER_KEY) != signature:  # new filters or order: back to the first page
    for key in (AFTER_KEY, PREVIOUS_KEY, DELETE_KEY):
        st.session_state.pop(key, None)
    if st.session_state.get(FILTER_KEY, (None,))[0] != project.id:
        st.session_state.pop(TASK_KEY, None)
    st.session_state[FILTER_KEY] = signature
    new_rows()
version = st.session_state.get(VERSION_KEY, 0)

# --- the page of tasks ---------------------------------------------------------------------------------
with make_uow() as uow:
    try:
        page = browse_tasks(uow, user, project_id=project.id, filters=filters, sort=sort, descending=descending,
                            after=st.session_state.get(AFTER_KEY))
    except QuorumError as exc:
        st.error(str(exc))
        st.stop()
previous: list[Any] = st.session_state.setdefault(PREVIOUS_KEY, [])
table = pd.DataFrame(
    [
        {
            "id": r.task_id,
            "data": r.preview,
            "state": r.state,
            "annotations": f"{r.n_annotations} / {r.overlap}",
            "agreement": r.agreement,
            "annotators": ", ".join(r.annotators),
            "ground truth": r.has_ground_truth,
            "updated": r.updated_at,
        }
        for r in page.rows
    ],
    columns=["id", "data", "state", "annotations", "agreement", "annotators", "ground truth", "updated"],
)
event = st.dataframe(
    table, hide_index=True, width="stretch", key=f"browser_table_{version}", on_select="rerun", selection_mode="multi-row",
    column_config={
        "agreement": st.column_config.ProgressColumn("agreement", min_value=0.0, max_value=1.0, format="percent"),
        "ground truth": st.column_config.CheckboxColumn("ground truth"),
        "updated": st.column_config.DatetimeColumn("updated", format="YYYY-MM-DD HH:mm"),
    },
)
page_ids = [r.task_id for r in page.rows]
nav = st.columns([1.4, 1.4, 3, 2.4], vertical_alignment="center")
if nav[0].button("Previous page", key="browser_previous", icon=":material/chevron_left:", disabled=not previous):
    st.session_state[AFTER_KEY] = previous.pop()
    new_rows()
    st.rerun()
if nav[1].button("Next page", key="browser_next", icon=":material/chevron_right:", disabled=page.next_key is None):
    previous.append(st.session_state.get(AFTER_KEY))
    st.session_state[AFTER_KEY] = page.next_key
    new_rows()
    st.rerun()
nav[2].caption(f"Page {len(previous) + 1} · {len(page_ids)} task(s) shown" if page_ids else "No task matches.")
whole_page = nav[3].checkbox("Select every task on this page", key=f"browser_select_page_{version}")
selection = getattr(getattr(event, "selection", None), "rows", []) or []
chosen = page_ids if whole_page else [page_ids[i] for i in selection if i < len(page_ids)]

# --- bulk actions --------------------------------------------------------------------------------------
if chosen:
    st.markdown(f"**{len(chosen)} task(s) chosen**")
    threshold = project.settings.agreement_threshold
    weak = [r.task_id for r in page.rows if r.task_id in set(chosen) and r.agreement is not None
            and r.agreement < threshold]
    if weak:  # their consensus is what "mark as ground truth" would make the truth
        st.caption(f":orange[{len(weak)} of them agree less than the project's threshold ({threshold:.0%}): "
                   f"task(s) {', '.join(map(str, weak[:10]))}{' …' if len(weak) > 10 else ''}. Check their "
                   "consensus before making it the ground truth, or send them to review.]")
    acts = st.columns(3)
    if acts[0].button("Mark as ground truth (consensus)", key="browser_mark", icon=":material/verified:"):
        marked = run(mark_ground_truth, project_id=project.id, task_ids=chosen)
        if marked is not None:
            done(f"{len(marked.task_ids)} task(s) now have their consensus as ground truth")
    if acts[1].button("Requeue for one more annotation", key="browser_requeue", icon=":material/replay:"):
        requeued = run(requeue_tasks, project_id=project.id, task_ids=chosen)
        if requeued is not None:
            nobody = (f" Every annotator has seen task(s) {', '.join(map(str, requeued.nobody_left))} already: "
                      "add an annotator to the project." if requeued.nobody_left else "")
            done(f"{len(requeued.task_ids)} task(s) back in the labeling queue.{nobody}")
    if acts[2].button("Delete …", key="browser_delete", icon=":material/delete:"):
        with make_uow() as uow:
            try:
                st.session_state[DELETE_KEY] = (tuple(chosen), deletion_preview(uow, user, project_id=project.id,
                                                                                  task_ids=chosen))
            except QuorumError as exc:
                st.error(str(exc))
pending = st.session_state.get(DELETE_KEY)
if pending is not None:
    ids, preview = pending
    st.warning(f"Delete {preview.n_tasks} task(s) and their {preview.n_annotations} annotation(s), with their "
               "reviews, consensus and ground truth? This cannot be undone.", icon=":material/warning:")
    yes, no = st.columns(2)
    if yes.button("Yes, delete them", key="browser_delete_confirm", type="primary"):
        st.session_state.pop(DELETE_KEY, None)
        gone = run(delete_tasks, project_id=project.id, task_ids=list(ids))
        if gone is not None:
            st.session_state.pop(TASK_KEY, None)
            done(f"Deleted {gone.n_tasks} task(s) and {gone.n_annotations} annotation(s)")
    if no.button("Cancel", key="browser_delete_cancel"):
        st.session_state.pop(DELETE_KEY, None)
        st.rerun()

# --- one task ------------------------------------------------------------------------------------------
st.divider()
opened = st.selectbox("Open a task of this page", page_ids, index=None, placeholder="choose a task id, or "
                      "click one row of the table", key="browser_open")
if opened is not None:
    st.session_state[TASK_KEY] = opened
elif len(selection) == 1 and not whole_page and selection[0] < len(page_ids):
    st.session_state[TASK_KEY] = page_ids[selection[0]]  # one row clicked in the table: open it below
task_id = st.session_state.get(TASK_KEY)
if task_id is None:
    st.stop()
with make_uow() as uow:
    try:
        detail: TaskDetail = task_detail(uow, user, task_id=task_id)
    except QuorumError as exc:
        st.session_state.pop(TASK_KEY, None)
        st.error(str(exc))
        st.stop()

score = "–" if detail.agreement is None else f"{detail.agreement:.0%}"
st.subheader(f"Task {detail.task_id} · {detail.state} · agreement {score}", anchor=False)
if detail.origin:
    st.caption(escape_markdown(detail.origin))
if detail.drafts:
    st.caption("Drafts (not submitted): " + escape_markdown("; ".join(
        f"{d.author}, {d.n_items} result item(s), saved {d.saved_at:%Y-%m-%d %H:%M}" for d in detail.drafts)))
with make_uow() as uow:
    media = project_media(uow, user, project_id=project.id, settings=settings)
render_task_data(cfg, detail.data, media, key_prefix=f"br{detail.task_id}_data")
if detail.older_answers:
    with st.expander(f"Older answers kept as history ({len(detail.older_answers)})"):
        st.caption("The imported file held more than one answer by these people; the newest counts, these do not.")
        for index, older in enumerate(detail.older_answers):
            when = f"{older.created_at:%Y-%m-%d %H:%M}" if older.created_at else "no date"
            st.markdown(f"**{escape_markdown(older.author)}** · {when} · from {escape_markdown(older.file)}")
            render_read_only(cfg, detail.data, older.result, media, key_prefix=f"br{detail.task_id}_old{index}")
columns: list[tuple[str, str, list[dict[str, Any]], int | None]] = [
    (a.annotator,
     " · ".join([
         f"lead {a.lead_time_s:.0f} s" if a.lead_time_s is not None else "lead –",
         f"active {a.active_time_s:.0f} s" if a.active_time_s is not None else "active –",
         f"{a.created_at:%Y-%m-%d %H:%M}",
         ("reviewed: " + ", ".join(a.verdicts)) if a.is_reviewed else "not reviewed",
     ] + (["ground truth"] if a.is_ground_truth else [])),
     a.result, a.annotation_id)
    for a in detail.annotations
]
if detail.consensus is not None:
    columns.append(("Consensus", f"by {method_label(detail.consensus_method)}", detail.consensus, None))
if detail.ground_truth is not None:
    columns.append(("Ground truth", f"from {detail.ground_truth_source}", detail.ground_truth, None))
if not columns:  # the objects drawn in the columns (an image with boxes ...) are shown bare
    st.caption("Nobody has annotated this task yet.")
    with st.container(border=True):
        render_read_only(cfg, detail.data, [], media, key_prefix=f"br{detail.task_id}_bare")
truth_ids = {a.annotation_id for a in detail.annotations if a.is_ground_truth}
slots = answer_slots(cfg, len(columns))
for index, (slot, (title, caption, result, annotation_id)) in enumerate(zip(slots, columns)):
    with slot, st.container(border=True):
        st.markdown(f"**{escape_markdown(title)}**")
        st.caption(caption)
        render_read_only(cfg, detail.data, result, media, key_prefix=f"br{detail.task_id}_c{index}")
        if annotation_id is not None and annotation_id not in truth_ids and st.button(
            "Make this the ground truth", key=f"browser_truth_{annotation_id}", icon=":material/verified:",
            width="stretch",
        ):
            if run(mark_ground_truth, project_id=project.id, task_ids=[detail.task_id], annotation_id=annotation_id):
                done(f"{title}'s answer is the ground truth of task {detail.task_id}")
