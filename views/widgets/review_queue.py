"""The queue section of the Review page, and the review block of the project's Settings page.

:func:`show_review_queue` draws what a reviewer needs to pick work: the project's counts, filters (label,
annotator, agreement band, reason, text), one page of the queue in priority order (core.review_queue) with
a button per row, "Open the next task" and paging. It returns the task the reviewer chose on this run, with
its review lock taken (or None): the page keeps it (session state) and shows the task. Whatever the
reviewer does next with the task, the page releases the lock when they leave it without deciding
(:func:`core.review_queue.release_review_lock`).

:func:`review_settings_fields` is the review part of the Settings form: the verification share and
anonymous reviews.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import QuorumError
from core.projects import ProjectInfo, ProjectSettings
from core.quality import recompute_project
from core.sanitize import escape_markdown
from core.review_queue import (
    PAGE_SIZE,
    QueueFilters,
    QueueItem,
    claim_for_review,
    next_for_review,
    queue_annotators,
    queue_labels,
    review_queue,
)
from core.uow import UowFactory
from core.users import UserInfo
from core.vocabulary import REVIEW_REASONS
from views.writes import run_write

REASON_WORDS = {"disagreement": "Disagreement", "flagged": "Flagged “not sure”", "verification": "Verification sample",
                "returned": "Back from authors"}
REASON_ICONS = {"disagreement": ":material/call_split:", "flagged": ":material/help:",
                "verification": ":material/fact_check:", "returned": ":material/undo:"}
ANY = ""
NEXT_SHORTCUT = "N"
MAX_VERIFY_PERCENT = 50


def _keys(project_id: int) -> dict[str, str]:
    base = f"review_queue_{project_id}_"
    return {name: base + name for name in ("label", "annotator", "band", "reason", "text", "offset")}


def _reset_offset(key: str) -> None:
    st.session_state[key] = 0


def session_filters(project_id: int) -> QueueFilters:
    """The filters the reviewer set in the queue section, read from session state without drawing anything
    (for "next" from the task view: ``next_for_review(..., filters=session_filters(project.id))``)."""
    keys = _keys(project_id)
    band = st.session_state.get(keys["band"]) or (0.0, 1.0)
    low, high = (float(band[0]), float(band[1])) if len(band) == 2 else (0.0, 1.0)
    narrowed = (low, high) != (0.0, 1.0)
    return QueueFilters(label=st.session_state.get(keys["label"]) or "",
                        annotator_id=st.session_state.get(keys["annotator"]),
                        min_agreement=low if narrowed else None, max_agreement=high if narrowed else None,
                        reason=st.session_state.get(keys["reason"]) or "", text=st.session_state.get(keys["text"]) or "")


def queue_filters(make_uow: UowFactory, user: UserInfo, project: ProjectInfo) -> QueueFilters:
    """The filter inputs (in an expander, open while a filter is set); the filters they make."""
    keys = _keys(project.id)
    reset: dict[str, Any] = {"on_change": _reset_offset, "args": (keys["offset"],)}
    values = [st.session_state.get(keys[name]) for name in ("label", "annotator", "band", "reason", "text")]
    active = any(tuple(v) != (0.0, 1.0) if isinstance(v, (list, tuple)) else v not in (None, ANY) for v in values)
    with st.expander("Filters", icon=":material/filter_list:", expanded=active):
        a, b, c = st.columns(3)
        labels = queue_labels(project.config_xml)
        label = a.selectbox("Label", [ANY, *labels], format_func=lambda v: v or "Any label", key=keys["label"],
                            help="Tasks whose consensus or any answer holds this label.", **reset)
        with make_uow() as uow:
            people = queue_annotators(uow, user, project_id=project.id)
        names = dict(people)
        if people:
            annotator = b.selectbox("Annotator", [None, *names], format_func=lambda v: "Anyone" if v is None
                                    else names.get(v, str(v)), key=keys["annotator"],
                                    help="Tasks this person annotated.", **reset)
        else:
            annotator = None
            b.caption("Reviews are anonymous in this project: no annotator filter.")
        reason = c.selectbox("Why it waits", [ANY, *REVIEW_REASONS], key=keys["reason"],
                             format_func=lambda v: REASON_WORDS.get(v, "Any reason"), **reset)
        d, e = st.columns([1, 2])
        low, high = d.slider("Agreement", 0.0, 1.0, (0.0, 1.0), 0.05, key=keys["band"],
                             help="Tasks without a measured agreement are left out once the band is narrowed.",
                             **reset)
        text = e.text_input("Text in the task", key=keys["text"], placeholder="a word of the data", **reset)
    narrowed = (low, high) != (0.0, 1.0)
    return QueueFilters(label=label or "", annotator_id=annotator, min_agreement=low if narrowed else None,
                        max_agreement=high if narrowed else None, reason=reason or "", text=text or "")


def _row(item: QueueItem, key: str) -> bool:
    """One compact row of the queue; whether its button was pressed.

    A horizontal container: the "Open" button keeps its own width on the left (columns of fixed shares cut it
    to "O…" in a narrow window) and the text takes the rest, two lines -- what the task is and why it waits,
    then who answered and what it is about."""
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    pressed = row.button("Open", key=key, width="content", type="secondary",
                         help=f"{escape_markdown(item.held_by)} is reviewing it now" if item.held_by else None)
    agreement = "agreement –" if item.agreement is None else f"agreement {item.agreement:.0%}"
    reason = item.reason or ""  # None: routed before reasons were kept, or sent by a manager
    held = f" · :orange[:material/lock: {escape_markdown(item.held_by)}]" if item.held_by else ""
    who = ", ".join(item.annotators) or "–"
    # The snippet is plain text (a few words, or a media file's name): escaped like the names.
    about = escape_markdown(f"{who} · {item.snippet}" if item.snippet else who)
    row.markdown(
        f"**Task {item.task_id}** · {REASON_ICONS.get(reason, ':material/rate_review:')} "
        f"{REASON_WORDS.get(reason, 'In review')} · {agreement} of {item.n_annotations} answers · waiting since "
        f"{item.waiting_since:%Y-%m-%d %H:%M}{held}  \n:gray[{about}]", width="stretch")
    return bool(pressed)


def _claim(make_uow: UowFactory, user: UserInfo, task_id: int) -> int | None:
    claim = run_write(make_uow, user, claim_for_review, task_id=task_id)
    if claim is None:
        return None
    if claim.held:
        return task_id
    if claim.holder is not None:
        st.warning(f"{claim.holder.name} is reviewing task {task_id} now (until "
                   f"{claim.holder.expires_at:%H:%M} UTC); choose another one.", icon=":material/lock:")
    else:
        st.info(f"Task {task_id} no longer waits for review (decided or sent back meanwhile).")
    return None


def show_review_queue(make_uow: UowFactory, user: UserInfo, project: ProjectInfo, *,
                      page_size: int = PAGE_SIZE, next_shortcut: str | None = NEXT_SHORTCUT) -> int | None:
    """Draw the queue section; the task id the reviewer chose on this run (review-locked to them), or None."""
    keys = _keys(project.id)
    filters = queue_filters(make_uow, user, project)
    offset = int(st.session_state.get(keys["offset"], 0))
    try:
        with make_uow() as uow:
            queue = review_queue(uow, user, project_id=project.id, filters=filters, limit=page_size, offset=offset)
            if offset and not queue.items and queue.n_matching:  # the page emptied (tasks decided): go back
                offset = max(0, (queue.n_matching - 1) // page_size * page_size)
                queue = review_queue(uow, user, project_id=project.id, filters=filters, limit=page_size,
                                     offset=offset)
                st.session_state[keys["offset"]] = offset
    except QuorumError as exc:
        st.error(str(exc))
        return None
    counts = queue.state_counts
    cols = st.columns(4)
    cols[0].metric("Waiting for review", counts.get("review", 0))
    cols[1].metric("Being labeled", counts.get("open", 0))
    cols[2].metric("Done", counts.get("done", 0))
    waiting = counts.get("completed", 0)
    cols[3].metric("Not scored yet", waiting)
    if waiting:
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.info(f"{waiting} task(s) reached their overlap (e.g. through an import) but have no agreement score yet.")
        if right.button("Score them now", key=f"review_queue_{project.id}_score", icon=":material/calculate:"):
            summary = run_write(make_uow, user, recompute_project, project.id)
            if summary is not None:
                st.toast(f"Scored {summary.n_tasks}: {summary.n_done} done, {summary.n_review} to review, "
                         f"{summary.n_reopened} back to annotators", icon=":material/check_circle:")
                st.rerun()

    chosen: int | None = None
    label = "Open the next task"  # Streamlit draws the shortcut key on the button itself
    if st.button(label, type="primary", key=f"review_queue_{project.id}_next", icon=":material/play_arrow:",
                 disabled=not queue.n_matching, shortcut=next_shortcut):
        chosen = run_write(make_uow, user, next_for_review, project_id=project.id, filters=filters)
        if chosen is None:
            st.info("Every task that matches is being reviewed by someone else right now.")
    shown = "" if filters.is_empty else f" of {queue.n_waiting} waiting, matching the filters"
    st.caption(f"{queue.n_matching} task(s){shown}: lowest agreement first (unmeasured last), then the longest "
               "waiting.")
    if not queue.items:
        st.caption("Nothing waits for review." if filters.is_empty else "No task matches these filters.")
        return chosen
    with st.container(border=True):
        for item in queue.items:
            if _row(item, key=f"review_queue_{project.id}_open_{item.task_id}"):
                chosen = _claim(make_uow, user, item.task_id) or chosen
    back, where, forward = st.columns([1, 2, 1], vertical_alignment="center")
    first, last = offset + 1, offset + len(queue.items)
    where.caption(f"{first}–{last} of {queue.n_matching}")
    if queue.has_previous_page and back.button("Previous page", key=f"review_queue_{project.id}_back",
                                               icon=":material/chevron_left:"):
        st.session_state[keys["offset"]] = max(0, offset - page_size)
        st.rerun()
    if queue.has_next_page and forward.button("Next page", key=f"review_queue_{project.id}_forward",
                                              icon=":material/chevron_right:"):
        st.session_state[keys["offset"]] = offset + page_size
        st.rerun()
    return chosen


def review_settings_fields(s: ProjectSettings, key: str) -> dict[str, Any]:
    """The review inputs of the Settings form (call inside the form); the values as entered, for
    ``dataclasses.replace(settings, **values)`` (checked by core on save)."""
    st.markdown("**Review**")
    a, b = st.columns(2)
    stored = round(s.verify_rate * 100)
    percent = a.slider("Verification sample (% of agreed tasks)", 0, max(MAX_VERIFY_PERCENT, stored), stored, 1,
                       key=key + "verify_rate", format="%d%%",
                       help="This share of the tasks the annotators agree on goes to review anyway, to check "
                            "that agreement means right. The same tasks are drawn each time.")
    anonymize = b.toggle("Anonymous reviews", s.anonymize_reviews, key=key + "anonymize_reviews",
                         help="Reviewers see “Annotator 1, 2, …” instead of names.")
    return {"verify_rate": percent / 100, "anonymize_reviews": bool(anonymize)}
