"""The labeling page: one task after another, keyboard first, every change saved as a draft.

Thin by design: core.labeling hands out tasks, stores drafts and annotations; pages.widgets draws the
interface from the project's config. Session state keeps only which project and task are on screen and
the widget values of that task.
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from core.cloud_storage import project_media
from core.config import auto_hotkeys
from core.errors import QuorumError
from core.labeling import (
    LabelingTask,
    add_active_time,
    my_history,
    my_progress,
    next_task,
    open_task,
    project_config,
    save_draft,
    skip_task,
    submit_annotation,
)
from core.results import same_answers
from core.review import my_reviews, send_back_notes
from core.permissions import Action, projects_allowing
from core.projects import get_project
from core.settings import load_settings
from pages.services import signed_in_user, uow_factory
from pages.state import CURRENT_PROJECT_KEY, CURRENT_TASK_KEY
from pages.widgets.base import WidgetContext
from pages.widgets.controls import escape_markdown
from pages.widgets.interface import render_interface
from pages.writes import show_flash

LAST_EVENT_KEY = "QUORUM_LABEL_LAST_EVENT"
ACTIVE_TIME_KEY = "QUORUM_LABEL_ACTIVE_S"
SAVED_RESULT_KEY = "QUORUM_LABEL_SAVED_RESULT"
FLASH_KEY = "QUORUM_LABEL_FLASH"
VERDICT_WORDS = {"accepted": "accepted", "fixed": "corrected by a reviewer", "rejected": "sent back"}
TASK_EXTRAS_KEY = "QUORUM_LABEL_TASK_EXTRAS"
PROGRESS_KEY = "QUORUM_LABEL_PROGRESS"  # ((project id, task id), MyProgress)
HISTORY_STARTS_KEY = "QUORUM_LABEL_HISTORY_STARTS"  # per project: + "_<project id>"
HISTORY_PAGE = 15
PROJECT_PARAM = "project"  # in the address, so a reload (a new session) stays in the labeler's project

user = signed_in_user()
make_uow = uow_factory()
settings = load_settings()

with make_uow() as uow:
    project_ids = projects_allowing(uow, user, Action.LABEL)
    projects = {pid: get_project(uow, user, pid) for pid in project_ids}
if not projects:
    st.info("You have no project to label in. Ask a manager to add you as an annotator.")
    st.stop()

project_id = st.session_state.get(CURRENT_PROJECT_KEY)
if project_id is None:  # a reload starts a new session: the address keeps the project (?project=ID)
    raw = st.query_params.get(PROJECT_PARAM, "")
    project_id = int(raw) if raw.isdigit() else None
if project_id not in projects:
    project_id = next(iter(projects))
chosen = st.selectbox(
    "Project", list(projects), index=list(projects).index(project_id), format_func=lambda p: projects[p].title,
    key="label_project_select",
)
if chosen != project_id:
    st.session_state.pop(CURRENT_TASK_KEY, None)
project_id = chosen
st.session_state[CURRENT_PROJECT_KEY] = project_id
if st.query_params.get(PROJECT_PARAM) != str(project_id):
    st.query_params[PROJECT_PARAM] = str(project_id)
project = projects[project_id]
cfg = project_config(project.config_xml)


def forget_task() -> None:
    """Leave the current task: drop its widget values and timers (the draft stays in the database)."""
    task_id = st.session_state.pop(CURRENT_TASK_KEY, None)
    for key in [k for k in st.session_state if isinstance(k, str) and task_id is not None and k.startswith(f"t{task_id}_")]:
        del st.session_state[key]
    for key in (LAST_EVENT_KEY, ACTIVE_TIME_KEY, SAVED_RESULT_KEY):
        st.session_state.pop(key, None)


def earlier_tasks(verdicts: dict[int, str]) -> None:
    """The user's own annotations and skips, newest first, HISTORY_PAGE at a time with Older / Newer, each
    a button that opens the task again (for edits until it is reviewed). ``verdicts``: review verdicts by
    annotation id, shown beside the task."""
    starts = st.session_state.setdefault(f"{HISTORY_STARTS_KEY}_{project_id}", [None])  # each page's before_id
    with make_uow() as uow:
        items = my_history(uow, user, project_id=project_id, limit=HISTORY_PAGE + 1, before_id=starts[-1])
    more, items = len(items) > HISTORY_PAGE, items[:HISTORY_PAGE]
    if not items:
        st.caption("Nothing yet.")
    for item in items:
        label = (f"Task {item.task_id}" + (f" · {item.snippet}" if item.snippet else "")
                 + f" · {'skipped' if item.skipped else item.updated_at.strftime('%Y-%m-%d %H:%M')}")
        if item.annotation_id in verdicts:
            label += f" · {VERDICT_WORDS.get(verdicts[item.annotation_id], verdicts[item.annotation_id])}"
        if st.button(label, key=f"hist_{item.annotation_id}", disabled=item.skipped):
            forget_task()
            st.session_state[CURRENT_TASK_KEY] = item.task_id
            st.rerun()
    newer, older = st.columns(2)
    if len(starts) > 1 and newer.button("Newer", key="hist_newer", icon=":material/chevron_left:"):
        starts.pop()
        st.rerun()
    if more and older.button("Older", key="hist_older", icon=":material/chevron_right:"):
        starts.append(items[-1].annotation_id)
        st.rerun()


def my_work() -> None:
    """What reviewers said of the user's own work (core.review keeps everyone else's out), then their
    earlier tasks with each one's verdict: in the "My earlier tasks" menu and on the end screen."""
    with make_uow() as uow:
        reviews = my_reviews(uow, user, project_id=project_id, limit=50)
    if reviews:
        st.markdown("**Reviewer feedback**")
        for review in reviews[:20]:
            st.caption(f"Task {review.task_id} · {VERDICT_WORDS.get(review.verdict, review.verdict)}"
                       + (f": {escape_markdown(review.comment)}" if review.comment else ""))
    earlier_tasks({r.annotation_id: r.verdict for r in reversed(reviews)})


def load_task() -> LabelingTask | None:
    task_id = st.session_state.get(CURRENT_TASK_KEY)
    with make_uow() as uow:
        try:
            if task_id is not None:
                opened = open_task(uow, user, task_id=task_id)
                if opened.project_id == project_id:
                    return opened
                # The labeler came here for another project ("Start labeling" on My projects): the task
                # on screen belongs to the one they left; it stays theirs there, with its draft.
                forget_task()
        except QuorumError:
            forget_task()  # the lock expired and the task went to someone else: get a new one
        task = next_task(uow, user, project_id=project_id)
        uow.commit()
    if task is not None:
        st.session_state[CURRENT_TASK_KEY] = task.task_id
    return task


# Progress moves only when a task is submitted or skipped, i.e. when the task on screen changes: counted once
# per task, not on every click and keypress of the labeling page.
progress_key = (project_id, st.session_state.get(CURRENT_TASK_KEY))
if st.session_state.get(PROGRESS_KEY, (None,))[0] != progress_key:
    with make_uow() as uow:
        st.session_state[PROGRESS_KEY] = (progress_key, my_progress(uow, user, project_id=project_id))
progress = st.session_state[PROGRESS_KEY][1]
head_left, head_right = st.columns([3, 2], vertical_alignment="center")
head_left.markdown(f"### {escape_markdown(project.title)}")
head_right.progress(
    progress.handled / progress.total if progress.total else 1.0,
    text=f"**{progress.handled} of {progress.total}** · You: {progress.submitted} submitted, "
    f"{progress.skipped} skipped",
)
if project.instructions:
    with st.expander("Instructions", icon=":material/menu_book:", expanded=progress.submitted == 0):
        st.markdown(project.instructions)

show_flash(FLASH_KEY)

task = load_task()
if task is None:
    st.success("Nothing left for you in this project — thank you! New tasks will appear here when they arrive.", icon=":material/celebration:")
    st.caption("Your work (you can still edit what has not been reviewed):")
    my_work()
    st.stop()

# Timers: lead time runs from when the task was shown; active time sums interaction gaps under a minute.
now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
if ACTIVE_TIME_KEY not in st.session_state:
    st.session_state[ACTIVE_TIME_KEY] = task.draft_active_time_s
st.session_state[ACTIVE_TIME_KEY] = add_active_time(
    st.session_state[ACTIVE_TIME_KEY], st.session_state.get(LAST_EVENT_KEY), now
)
st.session_state[LAST_EVENT_KEY] = now

starting_result = task.result
if task.prediction is not None and not task.result and task.annotation_id is None:
    starting_result = task.prediction.result
# One notice slot that exists on every run of this task: elements above the interface must not come and
# go between runs, or Streamlit re-mounts the widgets below them (the canvas would lose fresh boxes).
notice = st.container()
if task.prediction is not None and task.annotation_id is None:
    model = (f"model **{escape_markdown(task.prediction.model_version)}**"
             + (f" (score {task.prediction.score:.2f})" if task.prediction.score is not None else ""))
    changed = bool(task.result) and not same_answers(task.result, task.prediction.result)
    notice.info(f"You started from the pre-label of {model} and changed it; submit when done." if changed
                else f"Pre-labeled by {model}. Check it, correct it if needed, and submit.",
                icon=":material/smart_toy:")
elif task.annotation_id is not None and not task.is_reviewed:
    editing, back = notice.columns([4, 1], vertical_alignment="center")
    editing.info("You are changing your earlier answer to this task: press **Update** to save the change.",
                 icon=":material/edit:")
    if back.button("Back to my next task", key="label_back_to_queue", icon=":material/arrow_forward:",
                   width="stretch"):
        forget_task()  # the draft of the change stays saved; the queue hands back the task held before
        st.rerun()

# How media are shown and what reviewers said of this task do not change while it is open: read once per
# task, not on every rerun (each click and keypress reruns the page).
if st.session_state.get(TASK_EXTRAS_KEY, (None,))[0] != task.task_id:
    with make_uow() as uow:
        st.session_state[TASK_EXTRAS_KEY] = (
            task.task_id,
            project_media(uow, user, project_id=project_id, settings=settings),
            send_back_notes(uow, user, task_id=task.task_id),
        )
_, media, notes = st.session_state[TASK_EXTRAS_KEY]
said = " · ".join(escape_markdown(n) for n in notes)
if task.annotation_id is not None and task.is_reviewed:  # the labeler's own answer, frozen by a review
    notice.info(
        "A reviewer has looked at your answer to this task, so it is shown as you submitted it and can no "
        "longer change."
        + (" They sent the task back: another annotator labels it anew and nothing more is needed from you. "
           f"Keep their comment in mind for the next tasks: “{said}”" if notes else ""),
        icon=":material/rate_review:",
    )
    if st.button("Back to my next task", key="label_back_to_queue", icon=":material/arrow_forward:"):
        forget_task()
        st.rerun()
elif notes:  # a sent-back task handed to this labeler: what the reviewer asked for (comments only)
    notice.warning(f"A reviewer sent this task back: “{said}”", icon=":material/rate_review:")
ctx = WidgetContext(
    cfg=cfg,
    data=task.data,
    key_prefix=f"t{task.task_id}_u{user.id}",
    hotkeys=auto_hotkeys(cfg),
    resolve_media=media,
    disabled=task.is_reviewed,
)
with st.container(border=True):
    result = render_interface(starting_result, ctx)

# Every change is a draft on the server: a reload, a closed tab or a lost connection resumes here.
if SAVED_RESULT_KEY not in st.session_state:
    st.session_state[SAVED_RESULT_KEY] = starting_result
if not same_answers(result, st.session_state[SAVED_RESULT_KEY]) and not task.is_reviewed:
    with make_uow() as uow:
        save_draft(uow, user, task_id=task.task_id, result=result, active_time_s=st.session_state[ACTIVE_TIME_KEY])
        uow.commit()
    st.session_state[SAVED_RESULT_KEY] = result
    st.caption(f"Draft saved {now:%H:%M:%S} UTC")


def do_submit() -> bool:
    lead_time = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - task.shown_at).total_seconds()
    prediction = task.prediction if (task.prediction and task.annotation_id is None) else None
    with make_uow() as uow:
        try:
            submitted = submit_annotation(
                uow,
                user,
                task_id=task.task_id,
                result=result,
                lead_time_s=lead_time,
                active_time_s=st.session_state.get(ACTIVE_TIME_KEY),
                prediction_id=prediction.id if prediction else None,
            )
            uow.commit()
        except QuorumError as exc:
            st.error(str(exc))
            return False
    st.session_state[FLASH_KEY] = "Saved" if submitted.created else "Updated"
    forget_task()
    return True


def do_skip() -> bool:
    with make_uow() as uow:
        try:
            skip_task(uow, user, task_id=task.task_id, reason=st.session_state.get("skip_reason", ""))
            uow.commit()
        except QuorumError as exc:
            st.error(str(exc))
            return False
    st.session_state[FLASH_KEY] = "Skipped"
    forget_task()
    st.session_state.pop("skip_reason", None)
    return True


# Buttons are read in the run after the click, when `result` already holds every widget's latest value
# (a callback would see the previous run's). Submit is idempotent in core, so a double press is harmless.
submit_col, skip_col, back_col = st.columns([2, 2, 3])
if submit_col.button(
    "Submit" if task.annotation_id is None else "Update",
    type="primary",
    icon=":material/send:",
    shortcut="Ctrl+Enter",
    disabled=task.is_reviewed,
    key="submit",
    width="stretch",
) and do_submit():
    st.rerun()
if project.settings.allow_skip and task.annotation_id is None:
    with skip_col.popover("Skip  Ctrl+Space", icon=":material/skip_next:", width="stretch"):
        st.text_input("Why skip? (optional)", key="skip_reason")
        if st.button("Skip this task", key="skip_confirm") and do_skip():
            st.rerun()
    # The key: a popover's buttons are not mounted while it is closed, so Ctrl+Space belongs to a button
    # kept out of sight (it skips with the reason typed, if any, like the button in the popover).
    with st.container(key="skip_by_key"):
        if st.button("Skip", key="skip_now", shortcut="Ctrl+Space") and do_skip():
            st.rerun()
    st.html("<style>.st-key-skip_by_key { display: none; }</style>")
with back_col.popover("My earlier tasks", icon=":material/history:", width="stretch"):
    my_work()
