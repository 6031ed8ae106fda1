"""One annotator's own figures, for the "My work" page: progress per project, accuracy on gold, what reviewers
decided on their annotations, and a weekly trend.

Who may see them (checked here, on every call): the annotator themself, for the projects they annotate in
and still belong to; and a manager (or an administrator) of a project the person annotates in, for those
projects only. Anyone else gets :class:`PermissionDeniedError` -- also when the person does not exist or
annotates nowhere the viewer manages, so user ids cannot be probed.

The figures mean what they mean on the Quality page (:mod:`core.analytics`), so the two pages agree:

* *annotations* (tasks done): submitted, not skipped, imported gold left out (an answer flagged
  ``ground_truth`` on a task whose ground truth came with an import is the yardstick, not work); skips are
  counted apart;
* *accuracy on gold*, per control: the gold scorer of the control's tag family
  (``core.tags.behaviour_of(tag).gold``) over every task with a ground truth where the annotator or the gold
  answered the control -- for choices the share of those tasks labeled like the ground truth; its headline
  (:data:`HEADLINE`) is the first of the scorer's summary columns in the order accuracy, F1, 1 - CER,
  agreement with gold, recall, precision, mean IoU;
* *still to do*: open tasks of the project the person has neither answered nor skipped (the Label page's
  "of M"); unknown for a project where they no longer hold the annotator role.

Figures that cannot be known are None, with the reason in :data:`WHY_UNKNOWN` (pages show "—" and the reason).
Weeks start on Monday, in UTC (timestamps are stored in UTC).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.analytics import values_by_control
from core.config import ControlTag, LabelingConfig
from core.errors import NotFoundError, PermissionDeniedError
from core.permissions import Action, projects_allowing
from core.quality import project_config
from core.tags import behaviour_of
from core.tags.spec import GoldScorer
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import Project, User
from storage.repositories import my_work as my_work_repo
from storage.repositories import projects as projects_repo
from storage.repositories import quality as quality_repo
from storage.repositories import tasks as tasks_repo

Values = list[dict[str, Any]]
FEEDBACK_LIMIT = 50  # review decisions shown, newest first (per project read, then merged)

#: The gold scorer's summary columns in the order one is picked as a control's headline figure, with its words.
HEADLINE: tuple[tuple[str, str], ...] = (
    ("accuracy", "accuracy"),
    ("f1", "F1"),
    ("char_accuracy", "1 - CER"),
    ("score", "agreement with gold"),
    ("recall", "recall"),
    ("precision", "precision"),
    ("mean_iou", "mean IoU"),
)

#: Why a figure is unknown ("—" on the page), by the field it belongs to.
WHY_UNKNOWN = {
    "left": "not an annotator of this project any more: no tasks are handed to them here",
    "lead_median_s": "no annotation with a recorded lead time (imported annotations carry none)",
    "active_median_s": "no annotation with a recorded active time (imported annotations carry none)",
    "no_gold": "none of the tasks labeled here has a ground truth yet",
    "no_score": "the gold scorer gives no figure for these answers (e.g. no regions on either side)",
}


@dataclass(frozen=True)
class Person:
    """Someone whose work a viewer may look at."""

    user_id: int
    username: str
    name: str  # display name, or the user name


@dataclass(frozen=True)
class ProjectProgress:
    project_id: int
    title: str
    is_annotator: bool  # holds the annotator role there now
    annotations: int  # tasks done: submitted, not skipped, imported gold left out (the Quality page's count)
    skips: int
    left: int | None  # open tasks neither answered nor skipped by them; None: not an annotator there now
    gold_tasks: int  # of their annotations, those on a task with a ground truth
    lead_median_s: float | None
    active_median_s: float | None
    last_at: dt.datetime | None  # their newest annotation or skip (UTC)


@dataclass(frozen=True)
class GoldAccuracy:
    """One control's score against the ground truth, or (``control`` empty) a project without gold yet."""

    project_id: int
    title: str
    control: str
    tag: str
    n_gold: int  # gold tasks scored
    measure: str  # the headline's column (HEADLINE), "" when unknown
    measure_words: str
    value: float | None  # 0..1
    why: str | None  # why ``value`` is None
    scores: dict[str, float] = field(default_factory=dict)  # every summary column the scorer gives


@dataclass(frozen=True)
class Feedback:
    """A review decision on one of their annotations (or on a whole task they annotated)."""

    project_id: int
    title: str
    task_id: int
    annotation_id: int
    verdict: str  # accepted, fixed, rejected, returned, consensus
    comment: str
    decided_at: dt.datetime
    is_new: bool  # the annotator has not seen it yet on the Label page
    corrected: bool  # returned to them, and they changed their answer since
    can_open: bool  # the viewer is the author and may still label there: a link opens the task


@dataclass(frozen=True)
class WeeklyTrend:
    """``volume``: week, annotations, skips, lead_median_s, active_median_s (every week from the first to the
    last, empty weeks with 0 and NaN); ``accuracy``: week, series, measure, value, n_gold (weeks with gold)."""

    volume: pd.DataFrame
    accuracy: pd.DataFrame


@dataclass(frozen=True)
class MyWork:
    person: Person
    progress: list[ProjectProgress]
    accuracy: list[GoldAccuracy]
    feedback: list[Feedback]
    trend: WeeklyTrend


VOLUME_COLUMNS = ["week", "annotations", "skips", "lead_median_s", "active_median_s"]
TREND_ACCURACY_COLUMNS = ["week", "series", "measure", "value", "n_gold"]


# --- who may see whom -------------------------------------------------------------------------------------


def _person(row: Any) -> Person:
    return Person(int(row.id), row.username, row.display_name or row.username)


def visible_projects(uow: UnitOfWork, viewer: UserInfo, *, user_id: int, project_id: int | None = None) -> list[int]:
    """The projects whose figures of ``user_id`` the viewer may see (all of them, or just ``project_id``).

    Raises PermissionDeniedError for anyone but the person and the managers of a project they annotate in;
    NotFoundError when the person themself names a project they do not annotate in.
    """
    if not viewer.is_active:
        raise PermissionDeniedError(f"{viewer.username} is deactivated")
    annotated = set(my_work_repo.annotated_projects(uow.session, user_id))
    if viewer.id == user_id:
        member = set(projects_repo.all_project_ids(uow.session) if viewer.is_admin
                     else projects_repo.projects_of(uow.session, viewer.id))
        allowed = annotated & member
        if project_id is not None and project_id not in allowed:
            raise NotFoundError(f"no project with id {project_id} among the projects you annotate in")
    else:
        allowed = annotated & set(projects_allowing(uow, viewer, Action.ANALYTICS))
        if not allowed or (project_id is not None and project_id not in allowed):
            raise PermissionDeniedError(
                f"{viewer.username} may not see this person's work"
                + (" in this project" if allowed else "")
                + ": only they and the managers of the projects they annotate in may"
            )
    return [project_id] if project_id is not None else sorted(allowed)


def people_to_choose(uow: UnitOfWork, viewer: UserInfo) -> list[Person]:
    """Whose work the viewer may look at: themself if they annotate somewhere, then (for a manager) everyone
    annotating in the projects they manage, by name."""
    if not viewer.is_active:
        return []
    managed = projects_allowing(uow, viewer, Action.ANALYTICS)
    others = [_person(row) for row in my_work_repo.people_annotating(uow.session, managed)]
    others.sort(key=lambda p: (p.name.lower(), p.username))
    me = [p for p in others if p.user_id == viewer.id]
    if not me and visible_projects(uow, viewer, user_id=viewer.id):
        me = [Person(viewer.id, viewer.username, viewer.label)]
    return me + [p for p in others if p.user_id != viewer.id]


# --- reading the work -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Work:
    """What every figure is computed from: read once per call."""

    person: Person
    projects: dict[int, Project]
    is_annotator: dict[int, bool]
    rows: pd.DataFrame  # the person's annotations and skips (storage.repositories.my_work.annotation_rows)
    gold: dict[int, Any]  # task id -> ground-truth result


ROW_COLUMNS = ["id", "project_id", "task_id", "result", "was_cancelled", "imported_gold", "lead_time_s",
               "active_time_s", "created_at"]


def _read(uow: UnitOfWork, viewer: UserInfo, user_id: int, project_id: int | None) -> _Work:
    ids = visible_projects(uow, viewer, user_id=user_id, project_id=project_id)
    person = uow.session.get(User, user_id)
    if person is None:  # pragma: no cover - visible_projects refuses an unknown person first
        raise NotFoundError(f"no user with id {user_id}")
    annotator = my_work_repo.annotated_projects(uow.session, user_id)
    rows = pd.DataFrame.from_records(
        [tuple(r) for r in my_work_repo.annotation_rows(uow.session, user_id, ids)], columns=ROW_COLUMNS
    )
    rows = rows[~rows["imported_gold"].astype(bool)].reset_index(drop=True)
    rows["was_cancelled"] = rows["was_cancelled"].astype(bool)
    for column in ("lead_time_s", "active_time_s"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    rows["week"] = _week_of(rows["created_at"])
    return _Work(
        person=Person(person.id, person.username, person.display_name or person.username),
        projects={p.id: p for p in projects_repo.projects_by_ids(uow.session, ids)},
        is_annotator={pid: annotator.get(pid, False) for pid in ids},
        rows=rows,
        gold=my_work_repo.ground_truth_of_annotated(uow.session, user_id, ids),
    )


def _week_of(times: pd.Series) -> pd.Series:
    """The Monday (00:00 UTC) of each timestamp's week."""
    stamps = pd.to_datetime(times)
    return stamps.dt.to_period("W-SUN").dt.start_time if len(stamps) else stamps  # weeks ending on Sunday


def _median(values: pd.Series) -> float | None:
    found = values.dropna()
    return float(found.median()) if len(found) else None


def _progress(uow: UnitOfWork, work: _Work) -> list[ProjectProgress]:
    out = []
    for pid, project in work.projects.items():  # by title (projects_by_ids)
        mine = work.rows[work.rows["project_id"] == pid]
        counted = mine[~mine["was_cancelled"]]
        left = None
        if work.is_annotator[pid]:
            left = max(0, tasks_repo.count_open_with_room(uow.session, pid)
                       - tasks_repo.count_mine_open(uow.session, pid, work.person.user_id))
        last = mine["created_at"].max() if len(mine) else None
        out.append(ProjectProgress(
            project_id=pid, title=project.title, is_annotator=work.is_annotator[pid], annotations=len(counted),
            skips=int(mine["was_cancelled"].sum()), left=left,
            gold_tasks=int(counted["task_id"].isin(work.gold).sum()),
            lead_median_s=_median(counted["lead_time_s"]), active_median_s=_median(counted["active_time_s"]),
            last_at=pd.Timestamp(last).to_pydatetime() if last is not None else None,
        ))
    return out


# --- accuracy on gold: the Quality page's rule --------------------------------------------------------------


def _scored_controls(cfg: LabelingConfig) -> dict[str, ControlTag]:
    """Controls whose tag family compares answers and scores them against gold (as core.analytics scores)."""
    return {name: c for name, c in cfg.controls.items()
            if (b := behaviour_of(c.tag)) is not None and b.agreement is not None and b.gold is not None}


def _headline(summary: dict[str, float]) -> tuple[str, str, float | None]:
    for column, words in HEADLINE:
        if column in summary:
            value = summary[column]
            return column, words, (None if pd.isna(value) else float(value))
    return "", "", None


def _evidence(work: _Work) -> dict[tuple[int, str], list[tuple[pd.Timestamp, Any]]]:
    """(project, control) -> (week, piece of evidence) of every gold task scored, by the control's gold scorer."""
    evidence: dict[tuple[int, str], list[tuple[pd.Timestamp, Any]]] = defaultdict(list)
    counted = work.rows[~work.rows["was_cancelled"] & work.rows["task_id"].isin(work.gold)]
    for pid, project in work.projects.items():
        cfg = project_config(project.config_xml)
        scored = _scored_controls(cfg)
        scorers = {name: _scorer(control) for name, control in scored.items()}
        for row in counted[counted["project_id"] == pid].itertuples(index=False):
            mine, truth = values_by_control(cfg, row.result, scored), values_by_control(cfg, work.gold[row.task_id], scored)
            for name, control in scored.items():
                if name not in mine and name not in truth:
                    continue
                piece = scorers[name].evidence(control, mine.get(name, []), truth.get(name, []))
                evidence[(pid, name)].append((row.week, piece))
    return evidence


def _scorer(control: ControlTag) -> GoldScorer:
    behaviour = behaviour_of(control.tag)
    if behaviour is None or behaviour.gold is None:  # pragma: no cover - _scored_controls keeps only these
        raise ValueError(f"control {control.name!r} ({control.tag}) has no gold scorer")
    return behaviour.gold


def _summary(project: Project, control_name: str, pieces: list[Any]) -> dict[str, float]:
    return _scorer(project_config(project.config_xml).controls[control_name]).summarise(pieces)


def _accuracy(work: _Work, evidence: dict[tuple[int, str], list[tuple[pd.Timestamp, Any]]]) -> list[GoldAccuracy]:
    out = []
    for pid, project in work.projects.items():
        cfg = project_config(project.config_xml)
        scored = [name for name in cfg.controls if (pid, name) in evidence]
        if not scored:
            out.append(GoldAccuracy(pid, project.title, "", "", 0, "", "", None, WHY_UNKNOWN["no_gold"]))
        for name in scored:
            pieces = [piece for _, piece in evidence[(pid, name)]]
            summary = _summary(project, name, pieces)
            measure, words, value = _headline(summary)
            out.append(GoldAccuracy(
                pid, project.title, name, cfg.controls[name].tag, len(pieces), measure, words, value,
                None if value is not None else WHY_UNKNOWN["no_score"],
                {k: float(v) for k, v in summary.items() if not pd.isna(v)},
            ))
    return out


# --- the trend ----------------------------------------------------------------------------------------------


def _trend(work: _Work, evidence: dict[tuple[int, str], list[tuple[pd.Timestamp, Any]]]) -> WeeklyTrend:
    rows = work.rows
    if rows.empty:
        volume = pd.DataFrame(columns=VOLUME_COLUMNS)
    else:
        counted = rows[~rows["was_cancelled"]].groupby("week")
        weeks = pd.date_range(rows["week"].min(), rows["week"].max(), freq="7D", name="week")
        volume = pd.DataFrame({
            "annotations": counted.size(),
            "skips": rows[rows["was_cancelled"]].groupby("week").size(),
            "lead_median_s": counted["lead_time_s"].median(),
            "active_median_s": counted["active_time_s"].median(),
        }).reindex(weeks)
        volume[["annotations", "skips"]] = volume[["annotations", "skips"]].fillna(0).astype(int)
        volume = volume.reset_index()[VOLUME_COLUMNS]
    points = []
    for (pid, name), found in evidence.items():
        project = work.projects[pid]
        by_week: dict[pd.Timestamp, list[Any]] = defaultdict(list)
        for week, piece in found:
            by_week[week].append(piece)
        for week, pieces in sorted(by_week.items()):
            measure, words, value = _headline(_summary(project, name, pieces))
            points.append({"week": week, "series": f"{project.title} · {name} ({words})", "measure": measure,
                           "value": value, "n_gold": len(pieces)})
    accuracy = pd.DataFrame(points, columns=TREND_ACCURACY_COLUMNS).sort_values(["series", "week"])
    return WeeklyTrend(volume, accuracy.reset_index(drop=True))


# --- feedback -----------------------------------------------------------------------------------------------


def _feedback(uow: UnitOfWork, viewer: UserInfo, work: _Work, limit: int) -> list[Feedback]:
    is_author = viewer.id == work.person.user_id
    may_label = set(projects_allowing(uow, viewer, Action.LABEL)) if is_author else set()
    out = []
    for pid, project in work.projects.items():
        rows: list[Any] = quality_repo.reviews_of_author(uow.session, pid, work.person.user_id, limit=limit)
        for review, updated_at, annotation_id in rows:
            out.append(Feedback(
                project_id=pid, title=project.title, task_id=review.task_id, annotation_id=annotation_id,
                verdict=review.verdict, comment=review.comment or "", decided_at=review.created_at,
                # As core.review.my_reviews: a decision on the whole task is news, not a badge of their own.
                is_new=review.seen_at is None and review.annotation_id is not None,
                corrected=review.verdict == quality_repo.VERDICT_RETURNED and updated_at > review.created_at,
                can_open=pid in may_label,
            ))
    out.sort(key=lambda f: (f.decided_at, f.task_id), reverse=True)
    return out[:limit]


# --- the services -------------------------------------------------------------------------------------------


def my_work(uow: UnitOfWork, viewer: UserInfo, *, user_id: int, project_id: int | None = None,
            feedback_limit: int = FEEDBACK_LIMIT) -> MyWork:
    """Everything the "My work" page shows of ``user_id`` (one project, or every one the viewer may see), in
    one read; PermissionDeniedError for a viewer who may not see it (see the module docstring)."""
    work = _read(uow, viewer, user_id, project_id)
    evidence = _evidence(work)
    return MyWork(work.person, _progress(uow, work), _accuracy(work, evidence),
                  _feedback(uow, viewer, work, feedback_limit), _trend(work, evidence))


def work_progress(uow: UnitOfWork, viewer: UserInfo, *, user_id: int, project_id: int | None = None) -> list[ProjectProgress]:
    """Per project they annotate in (by title): tasks done, skips, still to do for them, medians of time."""
    return _progress(uow, _read(uow, viewer, user_id, project_id))


def gold_accuracy(uow: UnitOfWork, viewer: UserInfo, *, user_id: int, project_id: int | None = None) -> list[GoldAccuracy]:
    """Per project and control: their score against the ground truth, the Quality page's figure."""
    work = _read(uow, viewer, user_id, project_id)
    return _accuracy(work, _evidence(work))


def review_feedback(uow: UnitOfWork, viewer: UserInfo, *, user_id: int, project_id: int | None = None,
                    limit: int = FEEDBACK_LIMIT) -> list[Feedback]:
    """Review decisions on their annotations, newest first, with the reviewer's comment."""
    return _feedback(uow, viewer, _read(uow, viewer, user_id, project_id), limit)


def weekly_trend(uow: UnitOfWork, viewer: UserInfo, *, user_id: int, project_id: int | None = None) -> WeeklyTrend:
    """Annotations, median lead and active time, and accuracy on gold, per week."""
    work = _read(uow, viewer, user_id, project_id)
    return _trend(work, _evidence(work))
