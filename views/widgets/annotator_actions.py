"""The Quality page's "Act on it" section: what a manager can do about one annotator of the project.

Thin: every action is a core.annotator_actions service (which checks the manager's right, writes the audit
event and refuses bad input without changing anything); this module only lays the actions out and asks for
confirmation. Nobody is pre-selected, and each action stays disabled until its "Yes, ..." box -- naming the
person, the project and what will happen -- is ticked; a tick belongs to one person (and, for a discard, to
one date range), so it is not carried to the next. After an action the page reruns with a lasting message
(the page shows ``FLASH_KEY``, views.writes.show_flash) and the choice of person emptied.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.annotator_actions import (
    DiscardPreview,
    consensus_weights,
    discard_annotations,
    discard_preview,
    pause_annotator,
    paused_annotators,
    remove_annotator,
    rescore_annotator_tasks,
    resume_annotator,
    send_annotations_to_review,
    set_consensus_weight,
)
from core.errors import QuorumError
from core.sanitize import escape_markdown
from core.uow import UowFactory
from core.users import UserInfo

FLASH_KEY = "QUORUM_ANALYTICS_FLASH"  # the Quality page shows it (lasting) at its top
PERSON_KEY = "analytics_person"  # the selector of whom to act on
CLEAR_PERSON_KEY = "QUORUM_ANALYTICS_CLEAR_PERSON"  # set by an action: the selector is emptied on the next run
WEIGHT_STEP = 0.05  # the slider's step, and its lowest value (a weight must stay above 0)
DEFAULT_RANGE_DAYS = 7


def _act(make_uow: UowFactory, user: UserInfo, *, label: str, icon: str, key: str, tick: str, confirm: str,
         run: Callable[[Any], Any], message: Callable[[Any], str], caption: str = "") -> None:
    """A button (``key``) that runs ``run(uow)`` (a core action) once ``confirm`` is ticked -- a box keyed
    ``<key>_confirm_<tick>``, ``tick`` naming the person (and what else the tick is for), so it is not carried
    to another --; then commits and reruns with ``message(outcome)``, the choice cleared. A refused action
    shows core's reason and changes nothing."""
    if caption:
        st.caption(caption)
    sure = st.checkbox(confirm, key=f"{key}_confirm_{tick}")
    if st.button(label, icon=icon, key=key, disabled=not sure):
        try:
            with make_uow() as uow:
                outcome = run(uow)
                uow.commit()
        except QuorumError as exc:
            st.error(str(exc))
        else:
            st.session_state[FLASH_KEY] = message(outcome)
            st.session_state[CLEAR_PERSON_KEY] = True
            st.rerun()


def _discard_words(preview: DiscardPreview) -> str:
    """ "42 annotations and 3 skips on 40 tasks" """
    parts = [f"{preview.n_annotations} annotation{'s' if preview.n_annotations != 1 else ''}"]
    if preview.n_skips:
        parts.append(f"{preview.n_skips} skip{'s' if preview.n_skips != 1 else ''}")
    return " and ".join(parts) + f" on {preview.n_tasks} task{'s' if preview.n_tasks != 1 else ''}"


def annotator_actions(make_uow: UowFactory, user: UserInfo, project: Any, people: pd.DataFrame) -> None:
    """Render the whole "Act on it" section for ``project`` (an object with ``id`` and ``title``).

    ``people``: the Quality page's annotator table (core.analytics: ``user_id``, ``annotator`` -- the name
    shown --, ``annotations``, ``is_annotator``); whoever has annotations or the annotator role may be chosen.
    """
    st.subheader("Act on it")
    active = people[(people["annotations"] > 0) | people["is_annotator"]]
    choices = [int(uid) for uid in active["user_id"]]
    if not choices:
        st.caption("Nobody has labeled in this project yet.")
        return
    names = {int(uid): str(name) for uid, name in zip(people["user_id"], people["annotator"])}
    roles = {int(uid): bool(flag) for uid, flag in zip(people["user_id"], people["is_annotator"])}
    # Nobody pre-selected: every action changes someone's standing, so the manager names the person on purpose
    # (a default first row would put whoever sorts first one click away from removal). After an action the
    # choice is emptied, in the run after it: a value set before the widget is drawn is what the browser shows.
    if st.session_state.pop(CLEAR_PERSON_KEY, False):
        st.session_state[PERSON_KEY] = None
    person = st.selectbox("Annotator", choices, index=None, placeholder="Choose an annotator",
                          format_func=lambda uid: names.get(uid, str(uid)), key=PERSON_KEY)
    if person is None:
        st.caption("Choose whom to act on; each action then asks you to confirm.")
        return
    person = int(person)
    name, where = escape_markdown(names.get(person, str(person))), escape_markdown(project.title)
    try:
        with make_uow() as uow:
            paused_at = paused_annotators(uow, user, project.id).get(person)
            weight = consensus_weights(uow, user, project.id).get(person)
    except QuorumError as exc:
        st.error(str(exc))
        return
    is_annotator = roles.get(person, False)
    if not is_annotator:
        st.caption(f"{name} is no longer an annotator of this project: their work can still be sent to review "
                   "or discarded.")
    elif paused_at is not None or (weight is not None and weight != 1.0):
        status = [f"paused since {paused_at:%Y-%m-%d %H:%M} UTC" if paused_at is not None else "",
                  f"their votes count {weight:g} in the consensus" if weight is not None and weight != 1.0 else ""]
        st.caption(f"{name}: " + "; ".join(s for s in status if s) + ".")

    def on_person(action: Callable[..., Any]) -> Callable[[Any], Any]:
        return lambda uow: action(uow, user, project_id=project.id, user_id=person)

    remove_col, review_col = st.columns(2)
    if is_annotator:
        with remove_col:
            _act(make_uow, user, label="Remove from this project", icon=":material/person_remove:",
                 key="analytics_remove", tick=str(person),
                 caption="Takes the annotator role in this project and releases their tasks; their annotations stay.",
                 confirm=f"Yes, remove **{name}** from **{where}**", run=on_person(remove_annotator),
                 message=lambda removed: (f"{name} is no longer an annotator of this project; "
                                          f"{removed.locks_released} held task(s) released."))
    with review_col:
        _act(make_uow, user, label="Send their annotations to review", icon=":material/rate_review:",
             key="analytics_send_review", tick=str(person),
             caption="Sends every finished task they annotated to the review queue.",
             confirm=f"Yes, send the finished tasks of **{name}** to review",
             run=on_person(send_annotations_to_review),
             message=lambda sent: (f"{sent.n_sent} task(s) of {name} sent to the review queue "
                                   f"({sent.n_already} were waiting there already, {sent.n_still_labeling} are "
                                   "still being labeled)."))
    if is_annotator:
        pause_col, weight_col = st.columns(2)
        with pause_col:
            if paused_at is None:
                _act(make_uow, user, label="Pause in this project", icon=":material/pause_circle:",
                     key="analytics_pause", tick=str(person),
                     caption="No new tasks are handed to them here until resumed; their work, drafts and the task "
                             "they hold stay.",
                     confirm=f"Yes, pause **{name}** in **{where}**", run=on_person(pause_annotator),
                     message=lambda _: f"{name} is paused in this project: no new tasks until you resume them.")
            else:
                _act(make_uow, user, label="Resume", icon=":material/play_circle:",
                     key="analytics_resume", tick=str(person),
                     caption=f"Paused since {paused_at:%Y-%m-%d %H:%M} UTC.",
                     confirm=f"Yes, resume **{name}** in **{where}**", run=on_person(resume_annotator),
                     message=lambda _: f"{name} is resumed: the hand-out gives them tasks again.")
        with weight_col:
            _weight(make_uow, user, project, person, name, where, 1.0 if weight is None else weight)
    _discard(make_uow, user, project, person, name, where)


def _weight(make_uow: UowFactory, user: UserInfo, project: Any, person: int, name: str, where: str,
            current: float) -> None:
    """The consensus weight: a slider, its confirmation, and the re-score of their finished tasks."""
    st.caption("How much their vote counts in the consensus (1: fully). Votes, medians and rankings use it; "
               "region and text merges do not.")
    new = st.slider("Consensus weight", min_value=WEIGHT_STEP, max_value=1.0, value=float(current), step=WEIGHT_STEP,
                    key=f"analytics_weight_{person}")
    if abs(new - current) > 1e-9:
        _act(make_uow, user, label="Set the weight", icon=":material/balance:", key="analytics_weight_set", tick=str(person),
             confirm=f"Yes, count the votes of **{name}** at **{new:g}** (now {current:g})",
             run=lambda uow: set_consensus_weight(uow, user, project_id=project.id, user_id=person, weight=new),
             message=lambda changed: (f"The votes of {name} now count {changed.after:g} (were {changed.before:g}) in "
                                      "tasks scored from now on. " + (
                                          f"{changed.n_tasks_to_rescore} finished task(s) may change: choose "
                                          f"{name} again and press Re-score to score them with it."
                                          if changed.n_tasks_to_rescore else "")))
    _act(make_uow, user, label="Re-score their finished tasks", icon=":material/calculate:",
         key="analytics_rescore", tick=str(person),
         caption="Scores their finished tasks again with today's weights; a task whose consensus changes is "
                 "routed again (done, or to review).",
         confirm=f"Yes, score again the finished tasks of **{name}**",
         run=lambda uow: rescore_annotator_tasks(uow, user, project_id=project.id, user_id=person),
         message=lambda done: (f"{done.n_checked} finished task(s) of {name} scored again; the consensus of "
                               f"{done.n_changed} changed" + (
                                   " (now " + ", ".join(f"{n} {state}" for state, n in sorted(done.states.items())) + ")"
                                   if done.states else "") + "."))


def _discard(make_uow: UowFactory, user: UserInfo, project: Any, person: int, name: str, where: str) -> None:
    """Discard a date range: the range, the dry-run count in the confirmation, the button."""
    st.markdown("**Discard their annotations from a date range**")
    st.caption("Deletes their annotations and skips made on those days (UTC, both included) and puts the tasks "
               "back in the pool for someone else; a ground truth stays as it is.")
    today = dt.datetime.now(dt.UTC).date()
    picked = st.date_input("Made from ... to ... (UTC)", value=(today - dt.timedelta(days=DEFAULT_RANGE_DAYS), today),
                           max_value=today, key=f"analytics_discard_range_{person}")
    if not isinstance(picked, (tuple, list)) or len(picked) != 2:
        st.caption("Choose the first and the last day.")
        return
    date_from, date_to = picked
    try:
        with make_uow() as uow:
            preview = discard_preview(uow, user, project_id=project.id, user_id=person, date_from=date_from,
                                      date_to=date_to)
    except QuorumError as exc:
        st.error(str(exc))
        return
    if preview.is_empty:
        st.caption(f"{name} made no annotation or skip here from {date_from:%Y-%m-%d} to {date_to:%Y-%m-%d}.")
        return
    truth = (f" {len(preview.ground_truth_task_ids)} of these tasks have a ground truth made from their "
             "answer: it stays." if preview.ground_truth_task_ids else "")
    _act(make_uow, user, label="Discard and requeue", icon=":material/delete_sweep:",
         key="analytics_discard", tick=f"{person}_{date_from:%Y%m%d}_{date_to:%Y%m%d}",
         caption=f"This will discard {_discard_words(preview)} ({preview.n_requeued} go back to the pool).{truth}",
         confirm=f"Yes, discard {_discard_words(preview)} of **{name}** in **{where}** made from {date_from:%Y-%m-%d} "
                 f"to {date_to:%Y-%m-%d}",
         run=lambda uow: discard_annotations(uow, user, project_id=project.id, user_id=person, date_from=date_from,
                                             date_to=date_to),
         message=lambda done: (f"Discarded {_discard_words(done.preview)} of {name}: {len(done.reopened_task_ids)} "
                               f"task(s) back in the pool, {len(done.rescored_task_ids)} scored again." + (
                                   f" Ground truth made from their answers was kept on task(s) "
                                   f"{', '.join(map(str, done.preview.ground_truth_task_ids))}."
                                   if done.preview.ground_truth_task_ids else "")))
