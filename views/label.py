"""The labeling page: one task after another, keyboard first, every change saved as a draft.

Thin by design: core.labeling hands out tasks, stores drafts and annotations; views.widgets draws the
interface from the project's config. Session state keeps only which project and task are on screen and
the widget values of that task.

Fast by design (issue 10): the project picker and title run only when the page loads or the project
changes; everything about the task on screen is one ``st.fragment``, so a click reruns only that. Choice
answers live in the browser (views/widgets/components/browser_answers.py): a key press shows at once and
reaches the draft by a plain HTTP call; the submit sends them with it, and the same fragment run stores
the annotation, takes the next task and draws it (one run per item, no second rerun).
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.errors import StreamlitAPIException

from core.annotator_actions import AnnotatorPausedError
from core.cloud_storage import project_media
from core.config import auto_hotkeys
from core.errors import ConflictError, DatabaseUnavailableError, QuorumError
from core.labeling import (
    DraftItem,
    HistoryItem,
    REPLACE_ALL_BUT,
    LabelingTask,
    MyProgress,
    SubmittedAnnotation,
    add_active_time,
    discard_my_draft,
    my_history,
    my_unanswered_drafts,
    my_progress,
    next_task,
    open_task,
    project_config,
    save_draft_part,
    skip_task,
    submit_annotation,
)
from core.results import same_answers
from core.sanitize import markdown_with_allowed_images
from core.review import mark_reviews_seen, my_reviews, send_back_notes
from core.permissions import Action, projects_allowing
from core.projects import get_project
from core.settings import load_settings
from core.uow import SHORT_BACKOFF_S, UnitOfWork, run_in_uow
from views.services import signed_in_user, uow_factory
from views.project_picker import keep_in_address, project_in_address
from views.state import CURRENT_PROJECT_KEY, CURRENT_TASK_KEY, PENDING_SUBMIT_KEY
from views.widgets.base import ResultItem, WidgetContext
from views.widgets.components.browser_answers import pending_submit, submit_bar
from views.widgets.controls import escape_markdown
from views.widgets.interface import render_interface
from views.writes import show_flash

LAST_EVENT_KEY = "QUORUM_LABEL_LAST_EVENT"
ACTIVE_TIME_KEY = "QUORUM_LABEL_ACTIVE_S"
SAVED_RESULT_KEY = "QUORUM_LABEL_SAVED_RESULT"
FLASH_KEY = "QUORUM_LABEL_FLASH"
REDRAWN_KEY = "QUORUM_LABEL_REDRAWN"  # task id -> refused submits: the widgets are drawn afresh after each
VERDICT_WORDS = {"accepted": "accepted", "fixed": "corrected by a reviewer", "rejected": "sent back",
                 "consensus": "settled by the consensus", "returned": "returned to you to correct",
                 "corrected": "returned to you, and you corrected it"}
TASK_EXTRAS_KEY = "QUORUM_LABEL_TASK_EXTRAS"
PROGRESS_KEY = "QUORUM_LABEL_PROGRESS"  # (project id, MyProgress when opened, submits, skips since)
RUN_KEY = "QUORUM_LABEL_RUN"  # counts the labeling area's runs (re-arms the submit bar after a refused submit)
ALL_IN_BROWSER_KEY = "QUORUM_LABEL_ALL_IN_BROWSER"  # the task whose every answer the browser keeps (last run)
HISTORY_POPOVER_KEY = "label_history_open"  # the "My earlier tasks" popover's open state
CLOSE_HISTORY_KEY = "QUORUM_CLOSE_HISTORY"  # set when a task was picked in it: closed on the next run
SKIPPED_HELP = ("You skipped this task: it went back to the queue for others, so there is no answer of yours to "
                "open. It may come to you again later.")
NEXT_NOW, NEXT_AFTER_RERUN = "next now", "next after a rerun"  # what label_task did with a submit or a skip
HISTORY_CACHE_KEY = "QUORUM_LABEL_HISTORY_CACHE"  # what the history popover lists, read once per task
HISTORY_STARTS_KEY = "QUORUM_LABEL_HISTORY_STARTS"  # per project: + "_<project id>"
HISTORY_PAGE = 15
MEDIA_KEY = "QUORUM_LABEL_MEDIA"  # (project id, when read, how the project's media are shown)
MEDIA_READ_EVERY_S = 60
TASK_ON_SCREEN_KEY = "QUORUM_LABEL_TASK_ON_SCREEN"  # the task last drawn: kept on screen while the database is away
PAUSED_KEY = "QUORUM_LABEL_PAUSED"  # why no task was handed out: a manager paused the labeler here (core's words)
# What a labeler reads when the database did not answer even after core.uow.run_in_uow's retries (a restart
# taking longer than a few seconds): what is kept, what to press. Never a traceback.
DB_DOWN = "The database did not answer, so nothing was saved yet. "
DB_DOWN_SUBMIT = DB_DOWN + "Your answer is kept on this page: press **Submit** again in a moment."
DB_DOWN_SKIP = DB_DOWN + "The task stays on this page: press **Skip** again in a moment."
DB_DOWN_DRAFT = "Draft not saved: the database did not answer. Your answer is kept on this page and saved with the next change or the submit."
DB_DOWN_LOAD = DB_DOWN + "Press **Try again** in a moment."
DB_DOWN_ICON = ":material/cloud_off:"
T = TypeVar("T")

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
    project_id = project_in_address()
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
keep_in_address(project_id)
project = projects[project_id]
cfg = project_config(project.config_xml)


def forget_task() -> None:
    """Leave the current task: drop its widget values and timers (the draft stays in the database)."""
    task_id = st.session_state.pop(CURRENT_TASK_KEY, None)
    for key in [k for k in st.session_state if isinstance(k, str) and task_id is not None and k.startswith(f"t{task_id}_")]:
        del st.session_state[key]
    for key in (LAST_EVENT_KEY, ACTIVE_TIME_KEY, SAVED_RESULT_KEY, PENDING_SUBMIT_KEY, ALL_IN_BROWSER_KEY):
        st.session_state.pop(key, None)


def open_earlier_task(task_id: int) -> None:
    """A task of "My earlier tasks" picked: it is the task on screen from this run on, the menu closes."""
    forget_task()
    st.session_state[CURRENT_TASK_KEY] = task_id
    st.session_state[CLOSE_HISTORY_KEY] = True


def rerun_area() -> None:
    """Run the labeling area again: the fragment alone when this run is one of its reruns, else the page (a
    fragment rerun cannot be asked for from a whole-page run, e.g. the first one after the page opened)."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def once_per_task(name: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per task on screen and project: the history popover is drawn on every run of the
    labeling area, and what it lists changes only when the labeler moves to another task."""
    key = (project_id, st.session_state.get(CURRENT_TASK_KEY), st.session_state.get(PROGRESS_KEY, (0, 0, 0, 0))[2:])
    cache = st.session_state.setdefault(HISTORY_CACHE_KEY, {})
    if cache.get("_key") != key:
        cache.clear()
        cache["_key"] = key
    if name not in cache:
        cache[name] = compute()
    return cache[name]


def earlier_tasks(verdicts: dict[int, str]) -> None:
    """The user's own annotations and skips, newest first, HISTORY_PAGE at a time with Older / Newer, each
    a button that opens the task again (for edits until it is reviewed). ``verdicts``: review verdicts by
    annotation id, shown beside the task."""
    starts = st.session_state.setdefault(f"{HISTORY_STARTS_KEY}_{project_id}", [None])  # each page's before_id

    def read() -> list[HistoryItem]:
        with make_uow() as uow:
            return my_history(uow, user, project_id=project_id, limit=HISTORY_PAGE + 1, before_id=starts[-1])

    items = once_per_task(f"history_{starts[-1]}", read)
    more, items = len(items) > HISTORY_PAGE, items[:HISTORY_PAGE]
    if not items:
        st.caption("No submitted or skipped tasks yet.")
    for item in items:
        answer = "skipped" if item.skipped else f"**{escape_markdown(item.answer or 'no answer')}**"
        label = (f"Task {item.task_id}" + (f" · {escape_markdown(item.snippet)}" if item.snippet else "")
                 + f" · {answer} · {item.updated_at.strftime('%Y-%m-%d %H:%M')}")
        if item.annotation_id in verdicts:
            label += f" · {VERDICT_WORDS.get(verdicts[item.annotation_id], verdicts[item.annotation_id])}"
        # A callback, not `if st.button(...)`: it runs before the area loads a task, so the click is not lost
        # when this list is not drawn again (the end screen, replaced by a task handed out meanwhile).
        st.button(label, key=f"hist_{item.annotation_id}", on_click=open_earlier_task, args=(item.task_id,),
                  disabled=item.skipped, help=SKIPPED_HELP if item.skipped else "Open this task again to change "
                  "your answer (until a reviewer has settled it).")
    newer, older = st.columns(2)
    if len(starts) > 1 and newer.button("Newer", key="hist_newer", icon=":material/chevron_left:"):
        starts.pop()
        rerun_area()
    if more and older.button("Older", key="hist_older", icon=":material/chevron_right:"):
        starts.append(items[-1].annotation_id)
        rerun_area()


def reviews_of_my_work() -> list[Any]:
    """What reviewers said of the user's own work (core.review keeps everyone else's out), read once per task
    on screen: the "My earlier tasks" button counts them even while closed."""

    def read() -> list[Any]:
        with make_uow() as uow:
            return my_reviews(uow, user, project_id=project_id, limit=50)

    return once_per_task("reviews", read)


def my_work() -> None:
    """The reviewers' feedback on the user's work, then their earlier tasks with each one's verdict: in the
    "My earlier tasks" menu and on the end screen."""
    reviews = reviews_of_my_work()
    if reviews:
        st.markdown("**Reviewer feedback**")
        for review in reviews[:20]:
            said = "returned to you, and you corrected it" if review.corrected else VERDICT_WORDS.get(
                review.verdict, review.verdict)
            st.caption((":red-badge[new] " if review.is_new else "") + f"Task {review.task_id} · {said}"
                       + (f": {escape_markdown(review.comment)}" if review.comment else ""))
        if any(r.is_new for r in reviews):  # looked at now: the badge goes (from the next task on)
            run_in_uow(make_uow, lambda uow: (mark_reviews_seen(uow, user, project_id=project_id), uow.commit()))
    unfinished_drafts()
    earlier_tasks({r.annotation_id: "corrected" if r.corrected else r.verdict for r in reversed(reviews)})


def unfinished_drafts() -> None:
    """The user's drafts on tasks they have not submitted (imported from Label Studio, or left behind), each a
    button that opens the task: the hand-out may never give them a task that has all its answers already."""

    def read() -> list[DraftItem]:
        with make_uow() as uow:
            return my_unanswered_drafts(uow, user, project_id=project_id, limit=HISTORY_PAGE)

    drafts = once_per_task("drafts", read)
    if not drafts:
        return
    st.markdown("**Drafts to finish**")
    for item in drafts:
        label = (f"Task {item.task_id}" + (f" · {escape_markdown(item.snippet)}" if item.snippet else "")
                 + f" · draft saved {item.saved_at.strftime('%Y-%m-%d %H:%M')}")
        st.button(label, key=f"draft_{item.task_id}", on_click=open_earlier_task, args=(item.task_id,),
                  help="Open this task with your draft to finish and submit it.")


def bar_key_of(task_id: int) -> str:
    """The submit bar's widget key of a task on this page (label_task mounts it under this key)."""
    return f"submit_t{task_id}_u{user.id}"


def submitting_shown_task(task_id: int | None) -> LabelingTask | None:
    """The task on screen as it was shown, when this run carries its submit with the whole answer (the
    browser kept every answer): stored as shown, not re-read first.

    What the page showed is what the submit must be judged by: ``editing`` (core.labeling.submit_annotation)
    is the annotation the page showed, so a tab that showed the task as new cannot overwrite what another tab
    submitted meanwhile (a re-read would find that annotation and pass it off as the one being edited), and
    the timers count from the showing. core decides the rest (reviewed meanwhile, lock expired: accepted)."""
    shown = st.session_state.get(TASK_ON_SCREEN_KEY)
    if (task_id is None or shown is None or shown.task_id != task_id or shown.project_id != project_id
            or shown.is_reviewed or st.session_state.get(ALL_IN_BROWSER_KEY) != task_id):
        return None
    return shown if pending_submit(bar_key_of(task_id)) is not None else None


def load_task(*, reread: bool = False) -> LabelingTask | None:
    """The task to draw: the one on screen (re-read: its draft, its lock), else the next one handed out.
    ``reread``: from the database even when this run carries the shown task's submit."""
    task_id = st.session_state.get(CURRENT_TASK_KEY)
    shown = None if reread else submitting_shown_task(task_id)
    if shown is not None:  # one unit of work less per item: the submit and the next task are all this run reads
        return shown

    def load(uow: UnitOfWork) -> LabelingTask | None:
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
        return task

    st.session_state.pop(PAUSED_KEY, None)
    try:  # short: a submit on this run retries on its own
        task = run_in_uow(make_uow, load, backoff=SHORT_BACKOFF_S)
    except AnnotatorPausedError as exc:  # no new task for them here: the page says why instead of "all done"
        st.session_state[PAUSED_KEY] = str(exc)
        return None
    except DatabaseUnavailableError:
        shown = st.session_state.get(TASK_ON_SCREEN_KEY)
        if shown is not None and task_id is not None and shown.task_id == task_id:
            return shown  # the task and its answer stay on screen; a submit or skip says what to do
        st.warning(DB_DOWN_LOAD, icon=DB_DOWN_ICON)
        st.button("Try again", key="label_db_retry", icon=":material/refresh:")  # a click reruns this area
        st.stop()
    if task is not None:
        st.session_state[CURRENT_TASK_KEY] = task.task_id
        st.session_state[TASK_ON_SCREEN_KEY] = task
    return task


def opened_progress() -> tuple[MyProgress, int, int]:
    """The labeler's progress as counted when they opened the project, then their submits and skips since
    (honeypots and repeats included).

    Counted once per visit: the total must not move while they work, and counting open tasks on every task
    would grow with the project."""
    stored = st.session_state.get(PROGRESS_KEY)
    if stored is None or stored[0] != project_id:
        with make_uow() as uow:
            stored = (project_id, my_progress(uow, user, project_id=project_id), 0, 0)
        st.session_state[PROGRESS_KEY] = stored
    return stored[1], stored[2], stored[3]


def count_handled(task: LabelingTask, *, skipped: bool) -> None:
    """One more submit or skip in this visit (an edit of earlier work is not one, except the correction of an
    answer a reviewer returned: my_progress counted that task to do, once)."""
    pid, base, submitted, skips = st.session_state[PROGRESS_KEY]
    if task.annotation_id is not None:
        if task.task_id not in base.returned_task_ids:
            return
        base = replace(base, returned_task_ids=tuple(t for t in base.returned_task_ids if t != task.task_id))
    st.session_state[PROGRESS_KEY] = (pid, base, submitted + (not skipped), skips + skipped)


def show_progress(slot: DeltaGenerator, task_on_screen: bool) -> None:
    """ "N of M": N moves with every submit and skip; M is what there was to do when the labeler came,
    counting the quality checks the project mixes in at its rates (they are unmarked, and each is one more
    item to answer), so it stays put; it grows only if the labeler goes past it, and at the end M = N."""
    base, submitted, skipped = opened_progress()
    handled = base.handled + submitted + skipped
    checks = project.settings.honeypot_rate + project.settings.repeat_rate
    expected = base.handled + round(base.left_for_me / (1 - checks)) if checks < 0.9 else base.total
    total = max(expected, handled + 1) if task_on_screen else handled
    slot.progress(
        handled / total if total else 1.0,
        text=f"**{handled} of {total}** · You: {base.submitted + submitted} submitted, {base.skipped + skipped} skipped",
    )


def task_extras(task: LabelingTask) -> tuple[object, list[str]]:
    """How media are shown (per project, read again after MEDIA_READ_EVERY_S: a new S3 source counts soon) and
    what reviewers said of this task (per task): not read on every run, nor every task's media rules."""
    new_task = st.session_state.get(TASK_EXTRAS_KEY, (None,))[0] != task.task_id
    read = st.session_state.get(MEDIA_KEY)  # (project id, when read, how media are shown)
    if read is None or read[0] != project_id or (new_task and time.monotonic() - read[1] > MEDIA_READ_EVERY_S):
        with make_uow() as uow:  # only with a new task: the task on screen never waits for (or fails on) this
            st.session_state[MEDIA_KEY] = (project_id, time.monotonic(),
                                           project_media(uow, user, project_id=project_id, settings=settings))
    if new_task:
        with make_uow() as uow:
            st.session_state[TASK_EXTRAS_KEY] = (task.task_id, send_back_notes(uow, user, task_id=task.task_id))
    _, notes = st.session_state[TASK_EXTRAS_KEY]
    return st.session_state[MEDIA_KEY][2], notes


def show_notices(task: LabelingTask, notes: list[str]) -> None:
    """What the labeler should know about this task before answering: a pre-label, an edit, a review."""
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
            rerun_area()
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
            rerun_area()
    elif notes:  # a sent-back task handed to this labeler: what the reviewer asked for (comments only)
        notice.warning(f"A reviewer sent this task back: “{said}”", icon=":material/rate_review:")


UNSURE_SHORTCUT = "Alt+U"


def unsure_keys(task_id: int) -> tuple[str, str]:
    """Session keys of the "I'm not sure" toggle and its note for one task."""
    return f"unsure_t{task_id}_u{user.id}", f"unsure_note_t{task_id}_u{user.id}"


def unsure_of(task: LabelingTask) -> tuple[bool, str | None]:
    """Whether the labeler marked this (new) answer "I'm not sure", and their note: sent with the submit."""
    if task.annotation_id is not None:
        return False, None
    flag_key, note_key = unsure_keys(task.task_id)
    flagged = bool(st.session_state.get(flag_key, False))
    return flagged, (st.session_state.get(note_key) or None) if flagged else None


def offers_unsure(task: LabelingTask) -> bool:
    """Whether the "I'm not sure" toggle is offered: for a new answer only."""
    return task.annotation_id is None and not task.is_reviewed


def unsure_toggle(task: LabelingTask) -> None:
    """The "I'm not sure" toggle under the submit button (Alt+U flips it, through the submit bar's key handler):
    a flagged answer sends the task to a reviewer once complete, whatever the agreement."""
    if not offers_unsure(task):
        return
    flag_key, note_key = unsure_keys(task.task_id)
    st.toggle(f"I'm not sure  {UNSURE_SHORTCUT}", key=flag_key,
              help="A reviewer will look at this task, whatever the others answer.")
    if st.session_state.get(flag_key):
        st.text_input("What makes you unsure? (optional)", key=note_key, max_chars=2000,
                      placeholder="e.g. sarcasm, or two labels fit")


def submit(task: LabelingTask, result: list[ResultItem], active_time_s: float) -> bool:
    """Store the annotation; False (and the reason shown) when core refuses it."""
    lead_time = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - task.shown_at).total_seconds()
    prediction = task.prediction if (task.prediction and task.annotation_id is None) else None

    flagged, flag_note = unsure_of(task)

    def store(uow: UnitOfWork) -> SubmittedAnnotation:
        stored = submit_annotation(
            uow, user, task_id=task.task_id, result=result, lead_time_s=lead_time, active_time_s=active_time_s,
            prediction_id=prediction.id if prediction else None, editing=task.annotation_id,
            flagged=flagged, flag_note=flag_note,
        )
        uow.commit()
        return stored

    try:  # run again if the database connection dropped (a restart): a submit is idempotent per task and user
        submitted = run_in_uow(make_uow, store)
    except DatabaseUnavailableError:
        st.error(DB_DOWN_SUBMIT, icon=DB_DOWN_ICON)
        return False
    except ConflictError as exc:  # another tab stored another answer: that one is kept and shown again
        st.error(str(exc))
        run_in_uow(make_uow, lambda uow: (discard_my_draft(uow, user, task_id=task.task_id), uow.commit()))
        redrawn = st.session_state.setdefault(REDRAWN_KEY, {})
        redrawn[task.task_id] = redrawn.get(task.task_id, 0) + 1
        return False
    except QuorumError as exc:
        st.error(str(exc))
        return False
    st.session_state[FLASH_KEY] = "Saved" if submitted.created else "Updated"
    count_handled(task, skipped=False)
    forget_task()
    return True


def do_skip(task: LabelingTask) -> bool:
    def store(uow: UnitOfWork) -> None:
        skip_task(uow, user, task_id=task.task_id, reason=st.session_state.get("skip_reason", ""))
        uow.commit()

    try:  # a skip recorded twice is recorded once
        run_in_uow(make_uow, store)
    except DatabaseUnavailableError:
        st.error(DB_DOWN_SKIP, icon=DB_DOWN_ICON)
        return False
    except QuorumError as exc:
        st.error(str(exc))
        return False
    st.session_state[FLASH_KEY] = "Skipped"
    count_handled(task, skipped=True)
    forget_task()
    st.session_state.pop("skip_reason", None)
    return True


def submitted_answer(task: LabelingTask, sent: dict[str, Any], drawn: list[ResultItem]) -> bool:
    """Store the submit bar's answer: the browser-kept items it carries over ``drawn``'s (this run's widgets);
    active time is the larger of the server's and the browser's count."""
    kept = frozenset(str(n) for n in sent.get("names") or ())
    answer = [i for i in drawn if i.get("from_name") not in kept] + [
        i for i in sent.get("items") or [] if isinstance(i, dict)]
    client_active = sent.get("active_s")
    active = st.session_state[ACTIVE_TIME_KEY]
    if isinstance(client_active, (int, float)) and client_active >= 0:
        active = max(active, task.draft_active_time_s + float(client_active))
    return submit(task, answer, active)


def label_task(task: LabelingTask) -> str | None:
    """Draw one task and handle what the labeler did on this run.

    Returns None while the task stays on screen; NEXT_NOW when it was submitted before anything of it was drawn
    (every answer was in the browser: the caller draws the next task in this same run; also when such a submit
    was refused and the task is no longer the labeler's); NEXT_AFTER_RERUN when
    it was submitted or skipped after its widgets were drawn (the labeling area runs again for the next one).
    """
    # Timers: lead time runs from when the task was shown; active time sums interaction gaps under a minute
    # (on the server between runs, in the browser between key presses and clicks; the larger counts).
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if ACTIVE_TIME_KEY not in st.session_state:
        st.session_state[ACTIVE_TIME_KEY] = task.draft_active_time_s
    st.session_state[ACTIVE_TIME_KEY] = add_active_time(
        st.session_state[ACTIVE_TIME_KEY], st.session_state.get(LAST_EVENT_KEY), now
    )
    st.session_state[LAST_EVENT_KEY] = now
    sent = pending_submit(bar_key_of(task.task_id))
    refused = False
    if sent is not None and not task.is_reviewed and st.session_state.get(ALL_IN_BROWSER_KEY) == task.task_id:
        # The bar carries the whole answer: stored before anything of this task is drawn again, so this run
        # draws only the next task.
        if submitted_answer(task, sent, []):
            return NEXT_NOW
        refused = True  # the reason is shown; the task is drawn again below it, as the database has it now
        fresh = load_task(reread=True)  # (the submit was judged by the task as shown: see submitting_shown_task)
        if fresh is None or fresh.task_id != task.task_id:
            return NEXT_NOW  # it is no longer this labeler's: the caller draws what comes next, below the reason
        task = fresh
    starting_result = task.starting_result
    # After a refused submit the widgets start afresh (new keys) from what is stored, not from the refused
    # answer the browser still holds.
    redraws = st.session_state.get(REDRAWN_KEY, {}).get(task.task_id, 0)
    key_prefix = f"t{task.task_id}_u{user.id}" + (f"_v{redraws}" if redraws else "")
    bar_key = bar_key_of(task.task_id)
    notices = st.container()
    interface = st.container(border=True)
    draft_note = st.empty()
    submit_col, skip_col, back_col = st.columns([2, 2, 3])
    with submit_col:  # mounted before the interface is drawn (shown below it): a submit is known up front
        arrived = submit_bar(key=bar_key, task=key_prefix, task_id=task.task_id,
                             label="Submit" if task.annotation_id is None else "Update", disabled=task.is_reviewed,
                             run=st.session_state.get(RUN_KEY, 0),
                             flag_selector=(f".st-key-{unsure_keys(task.task_id)[0]} input"
                                            if offers_unsure(task) else None))
        unsure_toggle(task)
    if arrived is not None and not refused and not task.is_reviewed:
        # Kept until handled: a rerun inside the interface (visibleWhen) must not lose it.
        st.session_state[PENDING_SUBMIT_KEY] = (task.task_id, arrived)
    media, notes = task_extras(task)
    ctx = WidgetContext(cfg=cfg, data=task.data, key_prefix=key_prefix, hotkeys=auto_hotkeys(cfg),
                        resolve_media=media, disabled=task.is_reviewed, task_id=task.task_id)
    with notices:
        show_notices(task, notes)
    with interface:
        result = render_interface(starting_result, ctx)
    in_browser = frozenset(ctx.in_browser)
    st.session_state[ALL_IN_BROWSER_KEY] = task.task_id if set(cfg.controls) <= in_browser else None
    mine = [item for item in result if item.get("from_name") not in in_browser]  # what this run's widgets hold
    pending = st.session_state.pop(PENDING_SUBMIT_KEY, None)
    if pending is not None and pending[0] == task.task_id and not task.is_reviewed:
        if submitted_answer(task, pending[1], result):
            return NEXT_AFTER_RERUN
    # Every change is a draft on the server: a reload, a closed tab or a lost connection resumes here. The
    # browser-kept answers save themselves (api/labeling.py); this run saves what its own widgets hold.
    if SAVED_RESULT_KEY not in st.session_state:
        st.session_state[SAVED_RESULT_KEY] = [i for i in starting_result if i.get("from_name") not in in_browser]
    if not same_answers(mine, st.session_state[SAVED_RESULT_KEY]) and not task.is_reviewed:
        def save(uow: UnitOfWork) -> None:
            save_draft_part(uow, user, task_id=task.task_id, names=in_browser, items=mine, mode=REPLACE_ALL_BUT,
                            active_time_s=st.session_state[ACTIVE_TIME_KEY])
            uow.commit()

        try:  # short: the next run saves again, and the submit carries the answer anyway
            run_in_uow(make_uow, save, backoff=SHORT_BACKOFF_S)
            st.session_state[SAVED_RESULT_KEY] = mine
            draft_note.caption(f"Draft saved {now:%H:%M:%S} UTC")
        except DatabaseUnavailableError:
            draft_note.warning(DB_DOWN_DRAFT, icon=DB_DOWN_ICON)
    if project.settings.allow_skip and task.annotation_id is None:
        with skip_col.popover("Skip  Ctrl+Space", icon=":material/skip_next:", width="stretch"):
            st.text_input("Why skip? (optional)", key="skip_reason")
            if st.button("Skip this task", key="skip_confirm") and do_skip(task):
                return NEXT_AFTER_RERUN
        # The key: a popover's buttons are not mounted while it is closed, so Ctrl+Space belongs to a button
        # kept out of sight (it skips with the reason typed, if any, like the button in the popover).
        with st.container(key="skip_by_key"):
            if st.button("Skip", key="skip_now", shortcut="Ctrl+Space") and do_skip(task):
                return NEXT_AFTER_RERUN
        st.html("<style>.st-key-skip_by_key { display: none; }</style>")
    if st.session_state.pop(CLOSE_HISTORY_KEY, False):  # a task was picked in it: out of the way
        st.session_state[HISTORY_POPOVER_KEY] = False
    reviews = reviews_of_my_work()
    n_new = sum(1 for r in reviews if r.is_new)
    history = back_col.popover("My earlier tasks" + (f" :red-badge[{n_new} new review{'s' if n_new != 1 else ''}]"
                                                     if n_new else f" · {len(reviews)} reviewed" if reviews else ""),
                               icon=":material/history:", width="stretch", key=HISTORY_POPOVER_KEY,
                               on_change="rerun")
    with history:
        if history.open:  # read only when someone looks
            my_work()
    return None


@st.fragment
def labeling_area() -> None:
    """The task on screen, its answer and its buttons: the only part of the page a click reruns."""
    st.session_state[RUN_KEY] = st.session_state.get(RUN_KEY, 0) + 1
    progress_slot = st.empty()
    task = load_task()
    # No placeholder around the task: the elements of the task on screen must keep their place from run to
    # run (a canvas re-mounted would lose a fresh box). NEXT_NOW means nothing of the old task was drawn.
    for _ in range(2):
        if task is None:
            break
        moved = label_task(task)
        if moved is None:
            break
        if moved == NEXT_AFTER_RERUN:
            rerun_area()  # the labeling area alone runs again for the next task (on the server: no round trip)
        task = load_task()
    show_progress(progress_slot, task is not None)
    show_flash(FLASH_KEY)  # a toast ("Saved"): drawn outside the page's flow, so its place does not matter
    if task is None:
        paused = st.session_state.get(PAUSED_KEY)
        if paused:
            st.warning(paused, icon=":material/pause_circle:")
        else:
            st.success("Nothing left for you in this project — thank you! New tasks will appear here when they "
                       "arrive.", icon=":material/celebration:")
        st.caption("Your work (you can still edit what has not been reviewed):")
        my_work()


st.markdown(f"### {escape_markdown(project.title)}")
if project.instructions:
    # In the sidebar: open on a labeler's first visit, yet never pushing the task below the fold.
    with st.sidebar.expander("Instructions", icon=":material/menu_book:",
                             expanded=opened_progress()[0].submitted == 0):
        st.markdown(markdown_with_allowed_images(project.instructions))  # images only from allowed hosts
labeling_area()
