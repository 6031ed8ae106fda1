"""The reviewers' queue: what waits for review, in priority order, filtered, and who holds which task.

What comes in (routed by :mod:`core.quality`, the reason in ``tasks.review_reason``): tasks below the
agreement threshold after escalation ("disagreement"), tasks a labeler flagged "I'm not sure"
("flagged"), a sampled share of agreed tasks ("verification", the project's ``verify_rate``; a new rate
applies to the tasks scored before it too: :func:`resample_verification`) and tasks
corrected by the authors a reviewer returned them to that are still unsettled ("returned").

Order (priority): the lowest agreement first; tasks without a measured agreement (a single annotation
sampled for verification or flagged, a tag family without an agreement function) come after every measured
one, since a number says a decision is needed and its size how badly; then the longest waiting
(``waiting_since`` is ``tasks.updated_at``, which routing to review sets), then by id.

Filters: a label (in the consensus or in any submitted annotation: the label as a whole JSON string in the
result's JSON text, so a text answer that is exactly the label matches too), an annotator (has a submitted
annotation of the task), an agreement band (tasks without an agreement are left out once a bound is set),
a review reason (tasks routed before reasons were stored count as "disagreement") and a text in the task's
data (case-insensitive substring of its JSON text).

Review locks: reviewers hold tasks like labelers do (``task_locks`` rows of kind ``review``, the
project's ``lock_ttl_s``; they take no labeling slot), so two reviewers pressing "next" get different
tasks, and a task someone is reviewing shows who. A reviewer holds at most one task per project: taking
one releases their others. Every function needs ``Action.REVIEW``; writers start with ``begin_write`` and
the caller commits.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core.errors import NotFoundError, QuorumError
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo
from core.quality import project_config, sampled_for_verification
from core.vocabulary import REASON_VERIFICATION, REVIEW_REASONS, ROLE_ANNOTATOR, TASK_DONE, TASK_REVIEW
from storage.models import Project, Task, utcnow
from storage.repositories import audit as audit_repo
from storage.repositories import projects as projects_repo
from storage.repositories import review_queue as repo

PAGE_SIZE = 20
MAX_PAGE_SIZE = 500
PICK_ATTEMPTS = 5  # PostgreSQL: candidates passed over because someone took them just before us
SNIPPET_CHARS = 80


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; empty fields filter nothing."""

    label: str = ""
    annotator_id: int | None = None
    min_agreement: float | None = None  # 0..1; tasks without an agreement are left out once a bound is set
    max_agreement: float | None = None
    reason: str = ""  # one of core.vocabulary.REVIEW_REASONS, or "" for any
    text: str = ""  # a substring of the task's data

    def checked(self) -> QueueFilters:
        if self.reason and self.reason not in REVIEW_REASONS:
            raise QuorumError(f"unknown review reason {self.reason!r}; use one of {', '.join(REVIEW_REASONS)}")
        for bound in (self.min_agreement, self.max_agreement):
            if bound is not None and not 0.0 <= bound <= 1.0:
                raise QuorumError(f"an agreement bound lies in 0..1 (got {bound})")
        if (self.min_agreement is not None and self.max_agreement is not None
                and self.min_agreement > self.max_agreement):
            raise QuorumError("the lowest agreement of the band is above its highest")
        return QueueFilters(self.label.strip(), self.annotator_id, self.min_agreement, self.max_agreement,
                            self.reason, self.text.strip())

    def where(self) -> repo.QueueWhere:
        return repo.QueueWhere(self.label, self.annotator_id, self.min_agreement, self.max_agreement, self.reason,
                               self.text)

    @property
    def is_empty(self) -> bool:
        return self == QueueFilters()


@dataclass(frozen=True)
class QueueItem:
    task_id: int
    agreement: float | None
    n_annotations: int  # counted (submitted, not rejected or returned) annotations
    reason: str | None  # why it waits: core.vocabulary.REVIEW_REASONS (None: routed before reasons were kept)
    waiting_since: dt.datetime
    annotators: tuple[str, ...]  # authors of the counted annotations, or "Annotator 1", ... when anonymised
    held_by: str | None  # another reviewer holding it now (a live review lock), else None
    snippet: str = ""  # a few words of the task's data, or its media file's name (task_snippet); plain text

    @property
    def is_held(self) -> bool:
        return self.held_by is not None


@dataclass(frozen=True)
class ReviewQueue:
    """One page of a project's review queue in priority order, with the counts the page shows."""

    project_id: int
    items: tuple[QueueItem, ...]
    n_matching: int  # tasks in review that pass the filters
    state_counts: dict[str, int] = field(default_factory=dict)  # every task of the project, by state
    offset: int = 0
    limit: int = PAGE_SIZE

    @property
    def n_waiting(self) -> int:
        return self.state_counts.get(TASK_REVIEW, 0)

    @property
    def has_next_page(self) -> bool:
        return self.offset + len(self.items) < self.n_matching

    @property
    def has_previous_page(self) -> bool:
        return self.offset > 0


def anonymous_name(number: int) -> str:
    """The name an annotator is shown by when reviews are anonymised (``number`` from 1)."""
    return f"Annotator {number}"


def shown_position(task_id: int, user_id: int) -> bytes:
    """Where an author stands among a task's anonymous annotators: a hash of the task and the person, so the
    numbers say nothing of who submitted first, who was rejected or returned, or of the user ids' order."""
    return hashlib.blake2b(f"review-anonymous:{task_id}:{user_id}".encode(), digest_size=8).digest()


def _shown_names(task_id: int, authors: list[tuple[int, str, bool]], anonymize: bool) -> dict[int, str]:
    """user id -> the name shown for them on one task.

    Anonymous numbers ("Annotator 1", "Annotator 2", ...) go to every author of a submitted annotation of the
    task (rejected ones included, so the rejected answers shown for context are named alike) in the order of
    :func:`shown_position`: deterministic, the same on the queue and the task view and on every visit, and
    independent of submission order and of any decision (rejecting Annotator 1 does not keep the first
    submitter as number 1). A new author after a send-back is slotted into that order.
    """
    if not anonymize:
        return {uid: name for uid, name, _ in authors}
    ordered = sorted({uid for uid, _, _ in authors}, key=lambda uid: shown_position(task_id, uid))
    return {uid: anonymous_name(number) for number, uid in enumerate(ordered, start=1)}


def annotator_names(uow: UnitOfWork, user: UserInfo, *, task_id: int) -> dict[int, str]:
    """user id -> the name a reviewer is shown for each author of the task's submitted annotations: their
    display name, or "Annotator 1", "Annotator 2", ... (per task, see :func:`_shown_names`) when the project
    anonymises reviews. The task view names annotators by this, as the queue does."""
    project = _project_of_task(uow, user, task_id)
    authors = repo.authors_of(uow.session, [task_id]).get(task_id, [])
    return _shown_names(task_id, authors, bool(project.anonymize_reviews))


def queue_annotators(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> list[tuple[int, str]]:
    """(user id, name) of the project's annotators, for the queue's annotator filter; empty when the
    project anonymises reviews (filtering by a person would name them)."""
    project = require(uow, user, project_id, Action.REVIEW)
    if project.anonymize_reviews:
        return []
    people = {u.id: u.display_name or u.username
              for u, role in projects_repo.members(uow.session, project_id) if role == ROLE_ANNOTATOR}
    return sorted(people.items(), key=lambda item: item[1].lower())


def queue_labels(config_xml: str) -> list[str]:
    """Every option a result may hold (choices, labels, ...: as results spell them), in config order, for
    the queue's label filter; dynamic options (from the task data) are not known here."""
    cfg = project_config(config_xml)
    seen: dict[str, None] = {}
    for control in cfg.controls.values():
        for option in control.all_options():
            seen.setdefault(option.result_value, None)
    return list(seen)


_LOCATION = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|/|data:)\S*$", re.IGNORECASE)


def file_name(location: str) -> str:
    """The file a media URL or path names, for people: its last path segment, URL-decoded (Label Studio's
    local files, ``/data/local-files/?d=demo/images/coins.jpg``: the ``d`` parameter's); "embedded file" for a
    ``data:`` URL. Plain text, not escaped (the page escapes what it renders)."""
    if location.lower().startswith("data:"):
        return "embedded file"
    parts = urlsplit(location)
    inner = parse_qs(parts.query).get("d")
    path = inner[0] if inner else unquote(parts.path)
    return path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc or location


def task_snippet(data: Any, variables: tuple[str, ...] = ()) -> str:
    """A few words that identify a task in the queue: its first text value (first the data keys the config
    shows, in config order, ``variables``), whitespace collapsed and shortened; a media URL or path (an image,
    an audio file ...) gives its file name instead of the raw URL."""
    if not isinstance(data, dict):
        return ""
    keys = [*(v for v in variables if v in data), *(k for k in data if k not in variables)]
    text = next((data[k].strip() for k in keys if isinstance(data[k], str) and data[k].strip()), "")
    if _LOCATION.match(text):
        text = file_name(text)
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def review_queue(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    project_id: int,
    filters: QueueFilters | None = None,
    limit: int = PAGE_SIZE,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> ReviewQueue:
    """One page of the tasks waiting for review in priority order (see the module), filtered."""
    project = require(uow, user, project_id, Action.REVIEW)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise QuorumError(f"a queue page holds 1 to {MAX_PAGE_SIZE} tasks (got limit={limit})")
    if offset < 0:
        raise QuorumError(f"a queue page starts at 0 or later (got offset={offset})")
    f = (filters or QueueFilters()).checked()
    session = uow.session
    rows, total = repo.queue_page(session, project_id, f.where(), viewer_id=user.id, now=now or utcnow(),
                                  limit=limit, offset=offset)
    authors = repo.authors_of(session, [r.task_id for r in rows])
    shown_keys = project_config(project.config_xml).variables  # the data the config shows, in its order
    items = []
    for r in rows:
        of_task = authors.get(r.task_id, [])
        names = _shown_names(r.task_id, of_task, bool(project.anonymize_reviews))
        counted = [uid for uid, _, is_counted in of_task if is_counted]
        if project.anonymize_reviews:  # "Annotator 1, 2": in number order, not in the order they submitted
            counted.sort(key=lambda uid, task_id=r.task_id: shown_position(task_id, uid))
        items.append(QueueItem(r.task_id, r.agreement, len(counted), r.reason, r.waiting_since,
                               tuple(names[uid] for uid in counted), r.holder_name, task_snippet(r.data, shown_keys)))
    return ReviewQueue(project_id, tuple(items), total, repo.state_counts(session, project_id), offset, limit)


# --- verification sampling after a change of the rate ----------------------------------------------------


@dataclass(frozen=True)
class VerificationResample:
    """What a new verification share did to the tasks already scored."""

    to_review: tuple[int, ...]  # agreed tasks now in the sample: sent to review ("verification")
    taken_back: tuple[int, ...]  # verification tasks no longer in the sample and not decided yet: done again


def resample_verification(uow: UnitOfWork, user: UserInfo, *, project_id: int, old_rate: float,
                          now: dt.datetime | None = None) -> VerificationResample:
    """Apply the project's (new) ``verify_rate`` to the tasks scored before it changed (managers).

    The draw is :func:`core.quality.sampled_for_verification`'s, the one scoring uses, so the sample is the
    same as if the rate had always been this one: raising the rate sends the agreed tasks (``done`` without a
    ground truth) that the larger share draws to review, reason "verification"; lowering it takes back the
    verification tasks no longer drawn that no reviewer has decided yet (they are ``done`` again, their review
    locks dropped). Tasks settled by a reviewer are never touched. One ``review.verification_resampled``
    audit event lists the tasks moved each way. Runs in the caller's unit of work (the caller commits).
    """
    uow.begin_write()
    project = require(uow, user, project_id, Action.MANAGE)
    rate = float(project.verify_rate or 0.0)
    now = now or utcnow()
    session = uow.session
    to_review: list[int] = []
    taken_back: list[int] = []
    if rate > old_rate:  # the draw only adds tasks when the rate grows: agreed tasks are the only candidates
        to_review = [t for t in repo.agreed_task_ids(session, project_id)
                     if sampled_for_verification(project_id, t, rate)]
        repo.move_tasks(session, to_review, from_state=TASK_DONE, to_state=TASK_REVIEW,
                        reason=REASON_VERIFICATION, now=now)
    elif rate < old_rate:
        taken_back = [t for t in repo.verification_task_ids(session, project_id)
                      if not sampled_for_verification(project_id, t, rate)]
        repo.move_tasks(session, taken_back, from_state=TASK_REVIEW, to_state=TASK_DONE, reason=None, now=now)
    if to_review or taken_back:
        audit_repo.record(session, actor_id=user.id, project_id=project_id, now=now,
                          action="review.verification_resampled",
                          detail={"verify_rate": [old_rate, rate], "to_review": to_review, "taken_back": taken_back})
    return VerificationResample(tuple(to_review), tuple(taken_back))


# --- review locks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewLockHolder:
    user_id: int
    name: str
    expires_at: dt.datetime


def _project_of_task(uow: UnitOfWork, user: UserInfo, task_id: int) -> Project:
    task = uow.session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}")
    return require(uow, user, task.project_id, Action.REVIEW)


#: A review lock lasts this long (renewed whenever the reviewer opens the task again): a tab closed by mistake
#: must not keep a task from the other reviewers for the labeling lock's hour.
REVIEW_HOLD = dt.timedelta(minutes=15)


def review_hold(project: Project) -> dt.timedelta:
    return min(dt.timedelta(seconds=project.lock_ttl_s), REVIEW_HOLD)


def next_for_review(
    uow: UnitOfWork,
    user: UserInfo,
    *,
    project_id: int,
    filters: QueueFilters | None = None,
    after_task_id: int | None = None,
    skipped: Collection[int] = (),
    now: dt.datetime | None = None,
) -> int | None:
    """The task the reviewer should review now, review-locked to them; None when nothing is free for them.

    A task the reviewer holds already (a reload, a second tab) comes back first with its lock renewed, if it
    still waits and passes the filters. Otherwise the first task of the queue (priority order, filters)
    that no other reviewer holds is locked for them, and any other review lock of theirs in the project is
    released. ``after_task_id``: the task the reviewer is leaving ("next" without deciding): its lock is
    released and it is not handed out by this call. The caller commits.
    """
    uow.begin_write()
    project = require(uow, user, project_id, Action.REVIEW)
    f = (filters or QueueFilters()).checked()
    now = now or utcnow()
    expires = now + review_hold(project)
    session = uow.session
    where = f.where()
    held = repo.held_review_task(session, project_id, user.id, now)
    if held is not None and held != after_task_id and held not in skipped and repo.matches(session, project_id, held, where):
        repo.renew_review_lock(session, held, user.id, expires)
        return held
    repo.drop_review_locks(session, user_id=user.id, project_id=project_id)
    # Passed over this round: the task being left and those the reviewer skipped before it ("Skip" must walk the
    # queue, not bounce between its first two tasks).
    exclude = set(skipped) | ({after_task_id} if after_task_id is not None else set())
    for _ in range(PICK_ATTEMPTS):
        candidate = repo.pick_candidate(session, project_id, user.id, where, now=now, exclude=exclude)
        if candidate is None:
            return None
        # PostgreSQL: we hold the candidate's row lock now; a reviewer who took it just before committed
        # before we got the row, and this new statement sees their lock (READ COMMITTED).
        if repo.review_holder(session, candidate, now, other_than=user.id) is None:
            repo.take_review_lock(session, project_id=project_id, task_id=candidate, user_id=user.id,
                                  expires_at=expires, now=now)
            return candidate
        exclude.add(candidate)
    return None


@dataclass(frozen=True)
class ReviewClaim:
    """The outcome of opening one task for review: held by this reviewer, or by someone else."""

    task_id: int
    held: bool  # the reviewer holds it now
    holder: ReviewLockHolder | None  # who holds it otherwise (None: it is not in review; open read-only)
    expires_at: dt.datetime | None = None


def claim_for_review(
    uow: UnitOfWork, user: UserInfo, *, task_id: int, now: dt.datetime | None = None
) -> ReviewClaim:
    """Take the review lock on one task the reviewer chose (a row of the queue).

    Held by another reviewer: not taken, ``holder`` says who (the page shows the task read-only, or lets
    the reviewer wait). Not in review (decided meanwhile, or sent back): nothing is locked. Otherwise the
    reviewer's other review locks in the project are released and this one is theirs. The caller commits.
    """
    uow.begin_write()
    found = repo.lock_task_row(uow.session, task_id)  # PostgreSQL: waits for a reviewer taking it right now
    if found is None:
        raise NotFoundError(f"no task with id {task_id}")
    project_id, state = found
    project = require(uow, user, project_id, Action.REVIEW)
    now = now or utcnow()
    if state != TASK_REVIEW:
        return ReviewClaim(task_id, False, None)
    other = repo.review_holder(uow.session, task_id, now, other_than=user.id)
    if other is not None:
        return ReviewClaim(task_id, False, ReviewLockHolder(*other))
    if repo.has_other_lock(uow.session, task_id, user.id):
        raise QuorumError(f"task {task_id}: you hold it as a labeler; finish or release it there first")
    expires = now + review_hold(project)
    repo.drop_review_locks(uow.session, user_id=user.id, project_id=project_id, keep_task_id=task_id)
    if repo.review_holder(uow.session, task_id, now) is not None:  # theirs already: renewed, started_at kept
        repo.renew_review_lock(uow.session, task_id, user.id, expires)
    else:
        repo.take_review_lock(uow.session, project_id=project_id, task_id=task_id, user_id=user.id,
                              expires_at=expires, now=now)
    return ReviewClaim(task_id, True, None, expires)


def release_review_lock(uow: UnitOfWork, user: UserInfo, *, task_id: int | None = None,
                        project_id: int | None = None) -> int:
    """Give up the reviewer's review lock on ``task_id`` (after a decision, or when leaving the task), or
    every review lock of theirs in ``project_id``; how many were released. No right is needed to let go of
    one's own lock. The caller commits."""
    if task_id is None and project_id is None:
        raise QuorumError("name the task or the project whose review lock to release")
    uow.begin_write()
    return repo.drop_review_locks(uow.session, user_id=user.id, project_id=project_id, task_id=task_id)


def review_lock_holder(uow: UnitOfWork, task_id: int, *, now: dt.datetime | None = None,
                       other_than: int | None = None) -> ReviewLockHolder | None:
    """Who holds a live review lock on the task (not ``other_than``, e.g. the asking reviewer), or None.
    No permission check: the caller has checked the right to see the task."""
    found = repo.review_holder(uow.session, task_id, now or utcnow(), other_than=other_than)
    return None if found is None else ReviewLockHolder(*found)


def review_started_at(uow: UnitOfWork, user: UserInfo, *, task_id: int,
                      now: dt.datetime | None = None) -> dt.datetime | None:
    """When the reviewer took the task (their live review lock's creation; renewing keeps it), or None.
    A decision's ``reviews.time_s`` is ``decided_at - review_started_at`` (core.review_stats reads it)."""
    return repo.review_lock_started(uow.session, task_id, user.id, now or utcnow())
