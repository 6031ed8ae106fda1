"""The review page: the queue of tasks the annotators could not settle, one task at a time.

Thin by design: core.review lists the queue, builds the view of a task and records the resolutions
(accept an annotation, fix and accept, send back); core.quality scores tasks imports completed. The page
shows the task data once, then every annotation side by side, read-only, through the same widgets the
labeling page uses. Session state keeps only which task is open and the queue page.
"""
from __future__ import annotations

import streamlit as st

from core.cloud_storage import project_media
from core.config import LabelingConfig
from core.errors import QuorumError
from core.permissions import Action
from core.quality import method_label, project_config, recompute_project, waiting_count
from core.review import (
    AnnotationView,
    ReviewView,
    accept_annotation,
    fix_task,
    next_for_review,
    review_queue,
    review_task,
    send_back,
)
from core.results import control_question
from core.settings import load_settings
from views.project_picker import pick_project
from views.services import signed_in_user, uow_factory
from views.widgets.base import WidgetContext
from views.widgets.controls import escape_markdown
from views.widgets.interface import render_interface
from views.widgets.task_view import answer_slots, columns_config, render_task_data, task_context
from views.writes import run_write, show_flash

REVIEW_TASK_KEY = "QUORUM_REVIEW_TASK"
QUEUE_AFTER_KEY = "QUORUM_REVIEW_QUEUE_AFTER"
QUEUE_PREVIOUS_KEY = "QUORUM_REVIEW_QUEUE_PREVIOUS"
FLASH_KEY = "QUORUM_REVIEW_FLASH"
STATE_WORDS = {"review": "waiting for review", "done": "done", "open": "being labeled", "completed": "labeled"}
SHOWN_PROJECT_KEY = "QUORUM_REVIEW_PROJECT"
QUEUE_PAGE = 20
CONSENSUS_SOURCE = "Consensus"

user = signed_in_user()  # app.py registers this page only for users who may use it
make_uow = uow_factory()
settings = load_settings()

st.title("Review")
project = pick_project(make_uow, user, Action.REVIEW, key="review_project_select")
if project is None:
    st.stop()
if st.session_state.get(SHOWN_PROJECT_KEY) != project.id:  # another project: start at its queue head
    for key in (REVIEW_TASK_KEY, QUEUE_AFTER_KEY, QUEUE_PREVIOUS_KEY):
        st.session_state.pop(key, None)
    st.session_state[SHOWN_PROJECT_KEY] = project.id
cfg = project_config(project.config_xml)

show_flash(FLASH_KEY)


def run(action, *args, **kwargs):  # type: ignore[no-untyped-def]
    return run_write(make_uow, user, action, *args, **kwargs)


def go_to_next(after_id: int | None = None) -> None:
    with make_uow() as uow:
        st.session_state[REVIEW_TASK_KEY] = next_for_review(uow, user, project_id=project.id, after_id=after_id)


# --- the queue -----------------------------------------------------------------------------------------
with make_uow() as uow:
    waiting = waiting_count(uow, user, project.id)
    queue = review_queue(uow, user, project_id=project.id, limit=QUEUE_PAGE,
                         after_id=st.session_state.get(QUEUE_AFTER_KEY))
counts = queue.state_counts
cols = st.columns(4)
cols[0].metric("Waiting for review", counts.get("review", 0))
cols[1].metric("Being labeled", counts.get("open", 0))
cols[2].metric("Done", counts.get("done", 0))
cols[3].metric("Not scored yet", waiting)
if waiting:
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.info(f"{waiting} task(s) reached their overlap (e.g. through an import) but have no agreement score yet.")
    if right.button("Score them now", key="review_score_waiting", icon=":material/calculate:"):
        summary = run(recompute_project, project.id)
        if summary is not None:
            st.session_state[FLASH_KEY] = (
                f"Scored {summary.n_tasks}: {summary.n_done} done, {summary.n_review} to review, "
                f"{summary.n_reopened} back to annotators"
            )
            st.rerun()

with st.expander(f"Queue ({queue.n_waiting} task(s), oldest first)", icon=":material/list:"):
    if not queue.items:
        st.caption("Nothing waits for review.")
    for item in queue.items:
        agreement = "–" if item.agreement is None else f"{item.agreement:.0%}"
        if st.button(
            f"Task {item.task_id} · agreement {agreement} · {item.n_annotations} annotations · "
            f"since {item.waiting_since:%Y-%m-%d %H:%M}",
            key=f"review_queue_{item.task_id}",
        ):
            st.session_state[REVIEW_TASK_KEY] = item.task_id
            st.rerun()
    back, forward = st.columns(2)
    previous: list = st.session_state.setdefault(QUEUE_PREVIOUS_KEY, [])
    if previous and back.button("Previous page", key="review_queue_back"):
        st.session_state[QUEUE_AFTER_KEY] = previous.pop()
        st.rerun()
    if queue.next_after_id is not None and forward.button("Next page", key="review_queue_next"):
        previous.append(st.session_state.get(QUEUE_AFTER_KEY))
        st.session_state[QUEUE_AFTER_KEY] = queue.next_after_id
        st.rerun()

task_id = st.session_state.get(REVIEW_TASK_KEY)
if task_id is None:
    if queue.n_waiting and st.button("Open the next task", type="primary", key="review_open_next",
                                     icon=":material/play_arrow:"):
        go_to_next()
        st.rerun()
    if not queue.n_waiting:
        st.success("The review queue is empty.", icon=":material/celebration:")
    st.stop()

with make_uow() as uow:
    try:
        view: ReviewView = review_task(uow, user, task_id=task_id)
    except QuorumError as exc:
        st.session_state.pop(REVIEW_TASK_KEY, None)
        st.error(str(exc))
        st.stop()


# --- one task ------------------------------------------------------------------------------------------
with make_uow() as uow:
    media = project_media(uow, user, project_id=project.id, settings=settings)


def context(key_prefix: str, *, disabled: bool, config: LabelingConfig) -> WidgetContext:
    return task_context(config, view.data, media, key_prefix=key_prefix, disabled=disabled)


column_cfg = columns_config(cfg)
head, skip = st.columns([4, 1], vertical_alignment="center")
head.subheader(f"Task {view.task_id} · {STATE_WORDS.get(view.state, view.state)}", anchor=False)
if skip.button("Skip for now", key="review_skip", icon=":material/skip_next:"):
    go_to_next(after_id=view.task_id)
    st.rerun()
if view.ground_truth is not None:
    st.info("This task has a ground truth already; resolving it again replaces it.", icon=":material/verified:")

render_task_data(cfg, view.data, media, key_prefix=f"rv{view.task_id}_data")  # the task data, once

score = "–" if view.agreement is None else f"{view.agreement:.0%}"
st.markdown(f"**Agreement {score}** · consensus by {method_label(view.consensus_method)}"
            + (f" · no consensus for **{', '.join(view.missing)}**" if view.missing else ""))
if view.controls:
    st.dataframe(
        [
            {
                "question": control_question(cfg, c.name),
                "agreement": c.agreement,
                "consensus": "yes" if c.has_consensus else "no (a tie, or no way to combine)",
                "answers given": " · ".join(f"{answer} ×{n}" for answer, n in c.answers),
            }
            for c in view.controls
        ],
        hide_index=True,
        width="stretch",
        column_config={"agreement": st.column_config.ProgressColumn("agreement", min_value=0.0, max_value=1.0,
                                                                    format="percent")},
    )

override = view.ground_truth is not None
shown: list[tuple[str, AnnotationView | None]] = [(a.annotator, a) for a in view.annotations]
if view.consensus:
    shown.append((CONSENSUS_SOURCE, None))
for column, (title, annotation) in zip(answer_slots(cfg, len(shown)), shown):
    with column, st.container(border=True):
        st.markdown(f"**{escape_markdown(title)}**")
        result = annotation.result if annotation else view.consensus
        prefix = f"rv{view.task_id}_a{annotation.annotation_id}" if annotation else f"rv{view.task_id}_consensus"
        render_interface(result, context(prefix, disabled=True, config=column_cfg))
        if annotation is not None and st.button(
            f"Accept {escape_markdown(annotation.annotator)}'s answer", key=f"review_accept_{annotation.annotation_id}",
            type="primary", icon=":material/check:", disabled=not view.is_resolvable, width="stretch",
        ):
            if run(accept_annotation, annotation_id=annotation.annotation_id, override=override) is not None:
                st.session_state[FLASH_KEY] = (f"Accepted {escape_markdown(annotation.annotator)}'s answer for task "
                                               f"{view.task_id}")
                go_to_next()
                st.rerun()

if view.rejected:
    with st.expander(f"{len(view.rejected)} annotation(s) sent back earlier", icon=":material/undo:"):
        for record in view.history:
            if record.verdict == "rejected":
                st.caption(f"{escape_markdown(record.reviewer)}, {record.created_at:%Y-%m-%d %H:%M}: "
                           f"{escape_markdown(record.comment or '')}")
        st.caption("Rejected: " + ", ".join(escape_markdown(a.annotator) for a in view.rejected))

with st.expander("Fix and accept", icon=":material/edit:"):
    sources = ([CONSENSUS_SOURCE] if view.consensus else []) + [a.annotator for a in view.annotations]
    by_name = {a.annotator: a for a in view.annotations}
    source = st.radio("Start from", sources, horizontal=True, format_func=escape_markdown,  # labels are markdown
                      key=f"review_fix_source_{view.task_id}") if sources else None
    base = by_name.get(source) if source else None
    start = base.result if base else view.consensus
    with st.container(border=True):
        fixed = render_interface(
            start, context(f"rv{view.task_id}_fix_{base.annotation_id if base else 'c'}", disabled=False, config=column_cfg)
        )
    fix_comment = st.text_input("Note (optional)", key=f"review_fix_comment_{view.task_id}")
    # Read in the run after the click, when `fixed` holds every widget's latest value (as on the label page).
    if st.button("Accept the fixed answer", key="review_fix_submit", type="primary", icon=":material/task_alt:",
                 disabled=not view.is_resolvable):
        done = run(fix_task, task_id=view.task_id, result=fixed, comment=fix_comment, override=override,
                   based_on_annotation_id=base.annotation_id if base else None)
        if done is not None:
            st.session_state[FLASH_KEY] = f"Stored your answer for task {view.task_id}"
            go_to_next()
            st.rerun()

with st.expander("Send back to annotators", icon=":material/undo:"):
    names = {a.annotation_id: a.annotator for a in view.annotations}
    # Nothing chosen up front: rejecting good answers along with the bad one must be a deliberate choice.
    rejected = st.multiselect("Annotations to reject", list(names), default=[], format_func=names.get,
                              key=f"review_reject_{view.task_id}")
    reason = st.text_area("What should the annotators do differently? (required)", key=f"review_reason_{view.task_id}")
    if st.button("Send back", key="review_send_back", icon=":material/reply:", disabled=view.state != "review"):
        sent = run(send_back, task_id=view.task_id, comment=reason, annotation_ids=rejected)
        if sent is not None:
            note = "" if sent.n_possible_annotators >= sent.n_rejected else (
                f" Only {sent.n_possible_annotators} annotator(s) of the project have not seen it yet."
            )
            st.session_state[FLASH_KEY] = f"Task {view.task_id} went back for {sent.n_rejected} new annotation(s).{note}"
            go_to_next()
            st.rerun()
