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
from core.quality import method_label, project_config
from core.review import (
    AnnotationView,
    ReviewView,
    accept_annotation,
    accept_consensus,
    fix_task,
    return_to_authors,
    review_task,
    send_back,
)
from core.review_queue import next_for_review, release_review_lock
from core.results import control_question
from core.settings import load_settings
from views.project_picker import pick_project
from views.services import signed_in_user, uow_factory
from views.widgets.base import WidgetContext
from views.widgets.controls import escape_markdown
from views.widgets.interface import render_interface
from views.widgets.review_compare import show_differences
from views.widgets.review_queue import REASON_WORDS, session_filters, show_review_queue
from views.widgets.task_view import answer_slots, columns_config, render_task_data, task_context
from views.writes import run_write, show_flash

REVIEW_TASK_KEY = "QUORUM_REVIEW_TASK"
SKIPPED_KEY = "QUORUM_REVIEW_SKIPPED"  # tasks skipped since the queue was last shown: "next" passes them over
FLASH_KEY = "QUORUM_REVIEW_FLASH"
STATE_WORDS = {"review": "waiting for review", "done": "done", "open": "being labeled", "completed": "labeled"}
SHOWN_PROJECT_KEY = "QUORUM_REVIEW_PROJECT"
CONSENSUS_SOURCE = "Consensus"

user = signed_in_user()  # app.py registers this page only for users who may use it
make_uow = uow_factory()
settings = load_settings()

st.title("Review")
project = pick_project(make_uow, user, Action.REVIEW, key="review_project_select")
if project is None:
    st.stop()
if st.session_state.get(SHOWN_PROJECT_KEY) != project.id:  # another project: start at its queue head
    st.session_state.pop(REVIEW_TASK_KEY, None)
    st.session_state[SHOWN_PROJECT_KEY] = project.id
cfg = project_config(project.config_xml)

show_flash(FLASH_KEY)


def run(action, *args, **kwargs):  # type: ignore[no-untyped-def]
    return run_write(make_uow, user, action, *args, **kwargs)


def go_to_next(after_id: int | None = None) -> None:
    """The next task of the queue as the reviewer filtered it, review-locked to them (None: back to the queue).
    ``after_id``: the task being skipped (its lock is released; it and every task skipped before it are passed
    over until the queue is shown again)."""
    skipped: list[int] = st.session_state.setdefault(SKIPPED_KEY, [])
    if after_id is not None:
        skipped.append(after_id)
    chosen = run(next_for_review, project_id=project.id, filters=session_filters(project.id),
                 after_task_id=after_id, skipped=skipped)
    if chosen is None and skipped:
        st.session_state[FLASH_KEY] = "You skipped every other task that waits: here is the queue again."
    st.session_state[REVIEW_TASK_KEY] = chosen


# --- the queue (until a task is open) -------------------------------------------------------------------
task_id = st.session_state.get(REVIEW_TASK_KEY)
if task_id is None:
    st.session_state.pop(SKIPPED_KEY, None)  # a new round through the queue
    chosen = show_review_queue(make_uow, user, project)
    if chosen is not None:
        st.session_state[REVIEW_TASK_KEY] = chosen
        st.rerun()
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


head, bar = st.columns([3, 2], vertical_alignment="center")
head.subheader(f"Task {view.task_id} · {STATE_WORDS.get(view.state, view.state)}", anchor=False)
# A row that wraps (not two fixed columns): in a narrow window the buttons go under each other, never "B…".
bar = bar.container(horizontal=True, horizontal_alignment="right")
back, skip = bar, bar
if back.button("Back to the queue", key="review_back_to_queue", icon=":material/list:"):
    run(release_review_lock, task_id=view.task_id)
    st.session_state.pop(REVIEW_TASK_KEY, None)
    st.rerun()
if skip.button("Skip for now", key="review_skip", icon=":material/skip_next:", shortcut="n",
               help="Leave this task for later and open the next one (key N)"):
    go_to_next(after_id=view.task_id)
    st.rerun()
why = REASON_WORDS.get(view.review_reason or "", "")
unsure = [a for a in view.annotations if a.flagged]
if why or unsure:  # why the task is here, before anything else
    lines = [f"**Why it is here:** {why}" if why else ""] + [
        f"{escape_markdown(a.annotator)} was not sure" + (f": “{escape_markdown(a.flag_note)}”" if a.flag_note else "")
        for a in unsure]
    st.info("  \n".join(line for line in lines if line), icon=":material/help:")
render_task_data(cfg, view.data, media, key_prefix=f"rv{view.task_id}_data")  # the task data, once
if view.ground_truth is not None:  # apart from the annotators, and not part of their agreement
    with st.container(border=True):
        st.markdown("**Ground truth** (already on this task; resolving it again replaces it)")
        render_interface(view.ground_truth, context(f"rv{view.task_id}_truth", disabled=True, config=column_cfg))

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
if st.button("Accept the consensus", key="review_consensus", type="primary", icon=":material/done_all:",
             shortcut="a", disabled=not (view.is_resolvable and view.has_full_consensus),
             help=("Make the proposed consensus the ground truth (key A)" if view.has_full_consensus else
                   "No consensus for every question: accept one answer, or fix one")):
    if run(accept_consensus, task_id=view.task_id, override=override) is not None:
        st.session_state[FLASH_KEY] = f"Accepted the consensus for task {view.task_id}"
        go_to_next()
        st.rerun()

with st.expander("Where the answers differ", expanded=True, icon=":material/compare:"):
    show_differences(cfg, view.data, [(a.annotator, a.result) for a in view.annotations], view.consensus or None,
                     media, f"rv{view.task_id}_diff", no_consensus=view.missing)

shown: list[tuple[str, AnnotationView | None]] = [(a.annotator, a) for a in view.annotations]
if view.consensus:
    shown.append((CONSENSUS_SOURCE, None))
for column, (title, annotation) in zip(answer_slots(cfg, len(shown)), shown):
    with column, st.container(border=True):
        st.markdown(f"**{escape_markdown(title)}**")
        result = annotation.result if annotation else view.consensus
        prefix = f"rv{view.task_id}_a{annotation.annotation_id}" if annotation else f"rv{view.task_id}_consensus"
        render_interface(result, context(prefix, disabled=True, config=column_cfg))
        if annotation is not None and st.button(  # short: the column's title names whose answer it is
            "Accept", key=f"review_accept_{annotation.annotation_id}",
            help=f"Accept {escape_markdown(annotation.annotator)}'s answer as the ground truth",
            type="primary", icon=":material/check:", disabled=not view.is_resolvable, width="stretch",
        ):
            if run(accept_annotation, annotation_id=annotation.annotation_id, override=override) is not None:
                st.session_state[FLASH_KEY] = (f"Accepted {escape_markdown(annotation.annotator)}'s answer for task "
                                               f"{view.task_id}")
                go_to_next()
                st.rerun()

sent_back = [r for r in view.history if r.verdict in ("rejected", "returned")]
if sent_back:  # what reviewers asked before (a task back from its authors shows what they were asked)
    with st.expander(f"Sent back earlier ({len(sent_back)})", icon=":material/undo:",
                     expanded=view.review_reason == "returned"):
        for record in sent_back:
            how = "returned to its author" if record.verdict == "returned" else "rejected, for new annotators"
            st.caption(f"{escape_markdown(record.reviewer)}, {record.created_at:%Y-%m-%d %H:%M} ({how}): "
                       f"{escape_markdown(record.comment or '')}")
        if view.rejected:
            st.caption("Not counted now: " + ", ".join(escape_markdown(a.annotator) for a in view.rejected))

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

with st.expander("Send back", icon=":material/undo:"):
    names = {a.annotation_id: a.annotator for a in view.annotations}
    to_authors = st.radio(
        "To whom", ["authors", "others"], horizontal=True, key=f"review_back_to_{view.task_id}",
        format_func={"authors": "Their authors, to correct their answer",
                     "others": "New annotators, in place of these answers"}.get,
    ) == "authors"
    # Nothing chosen up front: sending good answers back along with the bad one must be a deliberate choice.
    rejected = st.multiselect("Whose answers", list(names), default=[], format_func=names.get,
                              key=f"review_reject_{view.task_id}", placeholder="Choose one or more annotators")
    reason = st.text_area("What should they do differently? (required; the authors read it)" if to_authors else
                          "What should the new annotators know? (required; whoever labels it next reads it, "
                          "without names: do not name anyone)", key=f"review_reason_{view.task_id}")
    if st.button("Send back", key="review_send_back", icon=":material/reply:", disabled=view.state != "review"):
        if to_authors:
            back = run(return_to_authors, task_id=view.task_id, comment=reason, annotation_ids=rejected)
            if back is not None:
                st.session_state[FLASH_KEY] = (f"Task {view.task_id} went back to {back.n_returned} author(s) to "
                                               "correct; once they resubmit it is scored again, and comes back "
                                               "here if they still disagree.")
                go_to_next()
                st.rerun()
        else:
            sent = run(send_back, task_id=view.task_id, comment=reason, annotation_ids=rejected)
            if sent is not None:
                note = "" if sent.n_possible_annotators >= sent.n_rejected else (
                    f" Only {sent.n_possible_annotators} annotator(s) of the project have not seen it yet."
                )
                st.session_state[FLASH_KEY] = (f"Task {view.task_id} went back for {sent.n_rejected} new "
                                               f"annotation(s).{note}")
                go_to_next()
                st.rerun()
