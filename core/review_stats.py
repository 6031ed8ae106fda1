"""Review statistics for the Quality page: how annotators fare in review, how reviewers work, the backlog.

Definitions (each a documented choice):

* **Per annotator** (reviews of their annotations): ``reviewed`` is how many of their annotations got any
  review; ``accepted_rate`` the share of those a reviewer accepted as the ground truth, ``fixed_rate`` the
  share a reviewer corrected, ``rejected_rate`` the share sent back (rejected, the task went to new
  annotators) and ``returned_rate`` the share returned to them to correct. An annotation returned and later
  accepted counts in both. A decision that names one annotation (accept it, fix starting from it, reject or
  return it) counts for that annotation only. Decisions on the whole task count for every annotation they
  settled (:func:`credited_verdicts`: the task's submitted annotations before the decision, neither an
  imported ground truth nor rejected earlier):

  - **accepting the consensus** counts as *accepted* for each annotation that agrees with the accepted
    consensus by the project's own agreement functions at its agreement threshold (the rule that made the
    consensus "agreed"; identical answers always agree), and as *reviewed but not accepted* for each that
    differs: the reviewer chose an answer that was not theirs, as when another annotator's answer is
    accepted, but nothing of theirs was rejected;
  - **a fix started from the consensus** counts as *fixed* for every annotation of the task: the reviewer
    corrected what all of them together proposed.
* **Per reviewer**, by decision (one decision may write several review rows: a send-back of three
  answers; rows of one reviewer, task and instant are one decision): how many of each verdict; the time per
  decision (``reviews.time_s``, the reviewer's seconds from opening the task to deciding; decisions recorded
  without it are left out) as median and 90th percentile; and two agreements, for decisions that settled a
  ground truth (accept an answer, fix, accept the consensus):

  - ``agreement_with_final``: the result the reviewer settled on against the task's ground truth now,
    scored by the project's agreement functions (core.quality), 1 when identical. It is below 1 only where
    someone later overrode the decision; ``n_overridden`` counts those decisions.
  - ``agreement_with_consensus``: the same against the task's stored consensus of the annotators (the
    consensus as last computed, normally the one the reviewer saw: a consensus is recomputed only when an
    annotation of the task changes). Accepting the consensus scores 1.

* **Backlog over time** (per day, UTC): a task counts once. It *entered* review on the day it was scored
  (the consensus' ``updated_at``; for a task waiting now, ``tasks.updated_at``, which routing to review
  sets), and *left* it on the day of its last review if it no longer waits. Approximations: a task that
  went through review twice (returned, corrected, back) counts one passage from its first scoring to its
  last decision; a task decided without ever waiting (a ground truth overridden on a done task) counts as
  entering on its scoring day. The running ``backlog`` ends at exactly the number waiting now.

Needs ``Action.ANALYTICS`` (managers), like the rest of the Quality page.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from core.permissions import Action, require
from core.quality import THRESHOLD_TOLERANCE, compute_consensus, project_config
from core.results import same_answers
from core.uow import UnitOfWork
from core.users import UserInfo
from core.vocabulary import TASK_REVIEW
from storage.repositories import review_stats as repo
from storage.repositories.quality import (
    VERDICT_ACCEPTED,
    VERDICT_CONSENSUS,
    VERDICT_FIXED,
    VERDICT_REJECTED,
    VERDICT_RETURNED,
)

SETTLING = (VERDICT_ACCEPTED, VERDICT_FIXED, VERDICT_CONSENSUS)
VERDICTS = (VERDICT_ACCEPTED, VERDICT_FIXED, VERDICT_CONSENSUS, VERDICT_RETURNED, VERDICT_REJECTED)
ANNOTATOR_COLUMNS = ["user_id", "annotator", "reviewed", "accepted_rate", "fixed_rate", "rejected_rate",
                     "returned_rate"]
REVIEWER_COLUMNS = ["user_id", "reviewer", "decisions", *VERDICTS, "time_median_s", "time_p90_s",
                    "agreement_with_final", "n_overridden", "agreement_with_consensus"]
BACKLOG_COLUMNS = ["day", "entered", "left", "backlog"]
#: Not a stored verdict: the annotation differed from the consensus a reviewer accepted (reviewed, not accepted).
VERDICT_OVERRULED = "overruled"


@dataclass(frozen=True)
class ReviewStats:
    annotators: pd.DataFrame  # ANNOTATOR_COLUMNS, one row per annotator with a reviewed annotation
    reviewers: pd.DataFrame  # REVIEWER_COLUMNS, one row per reviewer with a decision
    backlog: pd.DataFrame  # BACKLOG_COLUMNS, one row per day from the first entry to the last event
    n_decisions: int
    n_waiting: int  # tasks waiting for review now

    @property
    def is_empty(self) -> bool:
        return self.n_decisions == 0 and self.n_waiting == 0


def _name(display: str | None, username: str) -> str:
    return display or username


def annotator_table(rows: list[Any]) -> pd.DataFrame:
    """Per annotator, from (author id, name, user name, annotation id, verdict) review rows
    (:func:`credited_verdicts`; a verdict counted in no rate still counts the annotation as reviewed)."""
    if not rows:
        return pd.DataFrame(columns=ANNOTATOR_COLUMNS)
    frame = pd.DataFrame([(r[0], _name(r[1], r[2]), r[3], r[4]) for r in rows],
                         columns=["user_id", "annotator", "annotation_id", "verdict"])
    out = []
    for (user_id, name), group in frame.groupby(["user_id", "annotator"], sort=False):
        reviewed = group["annotation_id"].nunique()

        def share(verdict: str, group: pd.DataFrame = group, reviewed: int = reviewed) -> float:
            return float(group.loc[group["verdict"] == verdict, "annotation_id"].nunique() / reviewed)

        out.append({"user_id": int(user_id), "annotator": name, "reviewed": int(reviewed),
                    "accepted_rate": share(VERDICT_ACCEPTED), "fixed_rate": share(VERDICT_FIXED),
                    "rejected_rate": share(VERDICT_REJECTED), "returned_rate": share(VERDICT_RETURNED)})
    return pd.DataFrame(out, columns=ANNOTATOR_COLUMNS).sort_values("annotator", kind="stable", ignore_index=True)


def _agreement(cfg: Any, data: Any, a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float | None:
    """How far two results agree by the project's agreement functions; 1 when the same answers."""
    if same_answers(a, b):
        return 1.0
    return compute_consensus(cfg, data if isinstance(data, dict) else {}, [a, b]).agreement


def _agrees(cfg: Any, data: Any, answer: list[dict[str, Any]], settled: list[dict[str, Any]],
            threshold: float) -> bool:
    """Whether an answer agrees with a settled result at the project's threshold (unmeasurable: only if equal)."""
    score = _agreement(cfg, data, answer, settled)
    return score is not None and score >= threshold - THRESHOLD_TOLERANCE


def whole_task_verdicts(rows: list[Any], cfg: Any, threshold: float) -> list[tuple[Any, ...]]:
    """(author id, name, user name, annotation id, verdict) credited by decisions on a whole task, from the
    rows of :func:`storage.repositories.review_stats.whole_task_decisions` (rules in the module docstring)."""
    out: list[tuple[Any, ...]] = []
    for r in rows:
        if r.verdict == VERDICT_FIXED:
            verdict = VERDICT_FIXED
        else:
            verdict = VERDICT_ACCEPTED if _agrees(cfg, r.data, r.result or [], r.fixed_result or [], threshold) \
                else VERDICT_OVERRULED
        out.append((r.completed_by_id, r.display_name, r.username, r.annotation_id, verdict))
    return out


def credited_verdicts(session: Session, project_id: int, *, config_xml: str, threshold: float) -> list[Any]:
    """Every verdict on the project's annotations, as :func:`annotator_table` takes them: the reviews naming an
    annotation, and what decisions on a whole task credit each annotation with (see the module)."""
    whole = whole_task_verdicts(repo.whole_task_decisions(session, project_id), project_config(config_xml), threshold)
    return [*repo.annotator_verdicts(session, project_id), *whole]


def reviewer_table(rows: list[Any], cfg: Any) -> pd.DataFrame:
    """Per reviewer, from the rows of :func:`storage.repositories.review_stats.decisions`."""
    decided: dict[tuple[int, int, Any], dict[str, Any]] = {}
    for r in rows:  # one decision: one reviewer, one task, one instant
        key = (r.reviewer_id, r.task_id, r.created_at)
        entry = decided.setdefault(key, {"row": r, "time_s": None})
        if r.time_s is not None:
            entry["time_s"] = max(entry["time_s"] or 0.0, float(r.time_s))
    per_reviewer: dict[int, dict[str, Any]] = {}
    for (reviewer_id, _, _), entry in decided.items():
        r = entry["row"]
        stats = per_reviewer.setdefault(reviewer_id, {
            "user_id": int(reviewer_id), "reviewer": _name(r.display_name, r.username), "decisions": 0,
            **{v: 0 for v in VERDICTS}, "_times": [], "_final": [], "_overridden": 0, "_consensus": []})
        stats["decisions"] += 1
        if r.verdict in VERDICTS:
            stats[r.verdict] += 1
        if entry["time_s"] is not None:
            stats["_times"].append(entry["time_s"])
        settled = r.accepted_result if r.verdict == VERDICT_ACCEPTED else r.fixed_result
        if r.verdict in SETTLING and settled is not None:
            if r.truth is not None:
                score = _agreement(cfg, r.data, settled, r.truth)
                if score is not None:
                    stats["_final"].append(score)
                stats["_overridden"] += not same_answers(settled, r.truth)
            if r.consensus is not None:
                score = 1.0 if r.verdict == VERDICT_CONSENSUS else _agreement(cfg, r.data, settled, r.consensus)
                if score is not None:
                    stats["_consensus"].append(score)
    out = []
    for stats in per_reviewer.values():
        times = np.array(stats.pop("_times"), dtype=float)
        final, consensus = stats.pop("_final"), stats.pop("_consensus")
        out.append({**stats,
                    "time_median_s": float(np.median(times)) if times.size else None,
                    "time_p90_s": float(np.percentile(times, 90)) if times.size else None,
                    "agreement_with_final": float(np.mean(final)) if final else None,
                    "n_overridden": stats.pop("_overridden"),
                    "agreement_with_consensus": float(np.mean(consensus)) if consensus else None})
    if not out:
        return pd.DataFrame(columns=REVIEWER_COLUMNS)
    return pd.DataFrame(out, columns=REVIEWER_COLUMNS).sort_values("reviewer", kind="stable", ignore_index=True)


def backlog_table(passages: list[Any]) -> pd.DataFrame:
    """Entered, left and the running backlog per day, from (task id, state, updated_at, scored_at, first
    review, last review) per task (see the module for the approximation)."""
    entered: list[dt.date] = []
    left: list[dt.date] = []
    for _, state, updated_at, scored_at, first, last in passages:
        waiting = state == TASK_REVIEW
        start = (updated_at if waiting and first is None else scored_at) or updated_at or first
        if start is None:
            continue
        if not waiting and last is not None:
            start = min(start, last)
            left.append(last.date())
        entered.append(start.date())
    if not entered:
        return pd.DataFrame(columns=BACKLOG_COLUMNS)
    days = pd.date_range(min(entered), max(entered + left), freq="D").date
    frame = pd.DataFrame({"day": days})
    frame["entered"] = frame["day"].map(pd.Series(entered).value_counts()).fillna(0).astype(int)
    frame["left"] = frame["day"].map(pd.Series(left, dtype=object).value_counts()).fillna(0).astype(int)
    frame["backlog"] = (frame["entered"] - frame["left"]).cumsum()
    return frame[BACKLOG_COLUMNS]


def review_stats(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> ReviewStats:
    """The project's review statistics (see the module for every definition)."""
    project = require(uow, user, project_id, Action.ANALYTICS)
    session = uow.session
    rows = repo.decisions(session, project_id)
    reviewers = reviewer_table(rows, project_config(project.config_xml))
    passages = repo.review_passages(session, project_id)
    return ReviewStats(
        annotators=annotator_table(credited_verdicts(session, project_id, config_xml=project.config_xml,
                                                     threshold=project.agreement_threshold)),
        reviewers=reviewers,
        backlog=backlog_table(passages),
        n_decisions=int(reviewers["decisions"].sum()) if not reviewers.empty else 0,
        n_waiting=sum(1 for p in passages if p.state == TASK_REVIEW),
    )
