"""Annotator analytics for managers: who labels how much, how fast, how accurately, how consistently.

:func:`project_analytics` reads a project in a few set-based queries (annotations, ground truth, consensus,
answered self-checks, review verdicts, people; :mod:`storage.repositories.analytics`) and computes everything
with pandas and the maths of :mod:`metrics` -- about 13 s at 1,000,000 annotations, which is why the Quality page
reads it from :mod:`core.analytics_cache` and shows :func:`first_look` (volume and speed from an index, well
under a second) on a big project never computed. It can be narrowed by :class:`AnalyticsFilters` (dates,
control, label). Besides what follows, :mod:`core.annotator_figures` adds accuracy, agreement with the
consensus, throughput, review rates, label bias, the weekly trend and the flags:

* per annotator: annotations, skips and skip rate, median and 90th percentile of lead time and active
  time, mean pairwise agreement with the others on shared tasks (the pairwise function of each control's
  tag kind, :mod:`metrics.agreement`, averaged over the controls of a task), accuracy against ground
  truth per control (choices: accuracy; boxes: precision, recall, mean IoU; spans: character F1; text:
  1 - CER over all gold items; other kinds: mean agreement with the gold), Dawid-Skene's estimated
  accuracy on single-choice controls (no gold needed) and self-consistency (mean agreement of answered
  self-check repeats with the annotator's own earlier answer);
* per pair of annotators: Cohen's kappa on each single-choice control and mean pairwise agreement;
* per control: Fleiss' kappa, Krippendorff's alpha (nominal for Choices, ordinal for Rating, interval for
  Number), Gwet's AC1 and percent agreement, with the number of tasks that have two or more answers;
* for charts: annotations per day per annotator and every lead time.

Decisions:

* skips (``was_cancelled``) count only as skips; imported gold annotations (flagged ``ground_truth`` on a
  task whose ground truth was imported) are the yardstick, not a judgement, so they are left out of every
  statistic; an annotator's answer later made the ground truth still counts as their work;
* annotations a reviewer rejected still count: they are the annotator's work;
* two annotations that both leave every scored control empty agree (1.0), as in :mod:`core.quality`;
* every per-kind rule -- the pairwise agreement, the score against gold, the level of measurement, a
  choice's single/multiple reading -- is the control's tag family's (:func:`core.tags.behaviour_of`);
  values were checked when they were stored, so no metric here second-guesses them.

"Act on it" (remove an annotator, send their work to review, pause, discard a date range, down-weight) lives
in :mod:`core.annotator_actions`; ``remove_annotator`` and ``send_annotations_to_review`` are importable from
here as before.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import annotator_figures as figures
from core.annotator_actions import (  # noqa: F401 - moved there; importable from here as before
    AUDIT_REMOVED,
    AUDIT_SENT_TO_REVIEW,
    AnnotatorRemoved,
    SentToReview,
    remove_annotator,
    send_annotations_to_review,
)
from core.config import ControlTag, LabelingConfig
from core.errors import NotFoundError, QuorumError
from core.permissions import Action, projects_allowing, require
from core.quality import control_agreements, control_items, project_config
from core.review_stats import annotator_table as review_table
from core.review_stats import credited_verdicts
from core.tags import attrs_of, behaviour_of
from core.tags.choices import chosen_key, choices_pairwise
from core.uow import UnitOfWork
from core.users import UserInfo
from metrics.coefficients import (
    cohen_kappa_pairs,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from metrics.consensus import DawidSkene
from metrics.histogram import box_from_counts, quantiles_from_counts
from storage.repositories import analytics as analytics_repo
from storage.repositories import projects as projects_repo

ResultItem = dict[str, Any]
Values = list[dict[str, Any]]
P90 = 0.9

ANNOTATOR_COLUMNS = [
    "user_id", "annotator", "username", "is_annotator", "annotations", "skips", "skip_rate",
    "lead_median_s", "lead_p90_s", "active_median_s", "active_p90_s", "agreement", "n_pairs",
    "gold_tasks", "ds_accuracy", "self_checks", "self_consistency", *figures.FIGURE_COLUMNS,
]
ACCURACY_COLUMNS = [
    "user_id", "annotator", "control", "tag", "n_gold", "accuracy", "precision", "recall", "mean_iou", "f1",
    "char_accuracy", "score",
]
BOX_COLUMNS = ["user_id", "annotator", "n", "lower_fence", "q1", "median", "q3", "upper_fence", "mean"]
COEFFICIENT_COLUMNS = [
    "control", "tag", "level", "n_items", "n_annotators", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1",
    "percent_agreement",
]


@dataclass(frozen=True)
class AnalyticsFilters:
    """What a manager narrows the figures to: annotations made from ``since`` to ``until`` (UTC dates,
    inclusive), one ``control``, and tasks where someone (or the ground truth) chose ``label``."""

    since: dt.date | None = None
    until: dt.date | None = None
    control: str | None = None
    label: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == AnalyticsFilters()


@dataclass(frozen=True)
class ProjectAnalytics:
    """Everything the Quality page shows for one project, as plain frames (user ids and display names)."""

    project_id: int
    title: str
    annotators: pd.DataFrame  # ANNOTATOR_COLUMNS, one row per annotator
    accuracy: pd.DataFrame  # ACCURACY_COLUMNS, one row per (annotator, control) with gold to compare
    ds_accuracy: pd.DataFrame  # user_id, annotator, control, ds_accuracy
    pairs: pd.DataFrame  # user_a, user_b, annotator_a, annotator_b, n_tasks, agreement
    kappa: dict[str, pd.DataFrame]  # single-choice control -> user_a, user_b, annotator_a, annotator_b, n_tasks, agreement, kappa
    coefficients: pd.DataFrame  # COEFFICIENT_COLUMNS, one row per Choices / Rating / Number control
    per_day: pd.DataFrame  # day, user_id, annotator, annotations
    lead_times: pd.DataFrame  # BOX_COLUMNS: one row per annotator, the lead time's box plot statistics
    n_annotations: int
    n_gold_tasks: int
    n_honeypots: int
    n_self_checks: int
    names: dict[int, str] = field(default_factory=dict)
    weekly: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=figures.WEEKLY_COLUMNS))
    label_bias: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=figures.BIAS_COLUMNS))
    flags: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=figures.FLAG_COLUMNS))
    # single-choice control -> long (task, annotator, label) frame and the reference labels, for confusion
    # matrices and per-label disagreement (core.annotator_confusion)
    label_frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    gold_labels: dict[str, pd.Series] = field(default_factory=dict)
    consensus_labels: dict[str, pd.Series] = field(default_factory=dict)
    filters: AnalyticsFilters = field(default_factory=AnalyticsFilters)
    partial: bool = False  # first_look(): volume and speed only, the rest still being computed


def _box_statistics(times: pd.DataFrame) -> pd.DataFrame:
    """Per annotator, a box plot's statistics of ``lead_time_s`` (quartiles, and Tukey's whiskers: the
    furthest value within 1.5 IQR of the box), so a chart of 300,000 lead times sends a few numbers per
    annotator to the browser instead of every value (megabytes of JSON, seconds to draw)."""
    if times.empty:
        return pd.DataFrame(columns=[c for c in BOX_COLUMNS if c != "annotator"])
    grouped = times.groupby("user_id")["lead_time_s"]
    stats = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    stats.columns = ["q1", "median", "q3"]
    stats["n"] = grouped.size()
    stats["mean"] = grouped.mean()
    spread = 1.5 * (stats["q3"] - stats["q1"])
    bounds = times.join(stats[["q1", "q3"]].assign(low=stats["q1"] - spread, high=stats["q3"] + spread),
                        on="user_id")
    values = bounds["lead_time_s"]
    stats["lower_fence"] = values.where(values >= bounds["low"]).groupby(bounds["user_id"]).min()
    stats["upper_fence"] = values.where(values <= bounds["high"]).groupby(bounds["user_id"]).max()
    return stats.reset_index()[[c for c in BOX_COLUMNS if c != "annotator"]]


# --- reading results ------------------------------------------------------------------------------------


def _scored_controls(cfg: LabelingConfig) -> dict[str, ControlTag]:
    """Controls whose tag family compares answers (what :func:`core.quality.compute_consensus` scores)."""
    return {name: c for name, c in cfg.controls.items()
            if (b := behaviour_of(c.tag)) is not None and b.agreement is not None}


def values_by_control(cfg: LabelingConfig, result: Any, scored: dict[str, ControlTag]) -> dict[str, Values]:
    """The values of one result (an annotation, a ground truth, a consensus) per scored control (a control not
    answered is absent): how every figure here, and :mod:`core.my_work`, reads answers."""
    items = [item for item in result or [] if isinstance(item, dict) and isinstance(item.get("value", {}), dict)]
    out: dict[str, Values] = {}
    for name, control in scored.items():
        values = [item.get("value", {}) for item in control_items(cfg, control, items)]
        if values:
            out[name] = values
    return out


def _level(control: ControlTag) -> str | None:
    """Krippendorff's level of measurement of a whole-task control (None: no coefficients for it)."""
    behaviour = behaviour_of(control.tag)
    return behaviour.level if behaviour is not None and not attrs_of(control).per_region else None


def _is_single_choice(control: ControlTag) -> bool:
    return _level(control) == "nominal" and not getattr(attrs_of(control), "multiple", True)


def _safe(fn: Any, *args: Any, **kwargs: Any) -> float:
    """A chance-corrected coefficient, NaN where it is undefined (one category, one rater)."""
    try:
        return float(fn(*args, **kwargs))
    except (ValueError, ZeroDivisionError):
        return float("nan")


def _label_frame(tasks: np.ndarray, users: np.ndarray, column: list[Values | None], control: ControlTag) -> pd.DataFrame:
    """Long frame (task, annotator, label) of one whole-task control; unanswered rows are left out."""
    rows_t, rows_u, labels = [], [], []
    is_choices, is_single, value_key = _level(control) == "nominal", _is_single_choice(control), control.kind.value_key or ""
    for t, u, values in zip(tasks, users, column):
        if not values:
            continue
        if is_choices:
            label: Any = (
                (values[0].get(value_key) or [None])[0] if is_single
                else json.dumps(chosen_key(values))  # a multi-choice answer is one nominal category
            )
        else:
            label = values[0].get(value_key)
            if isinstance(label, bool) or not isinstance(label, (int, float)):
                label = None
        if label is None:
            continue
        rows_t.append(int(t))
        rows_u.append(int(u))
        labels.append(label)
    return pd.DataFrame({"task": rows_t, "annotator": rows_u, "label": labels})


# --- the computation ----------------------------------------------------------------------------------


def _speed(sub: pd.DataFrame) -> pd.DataFrame:
    # Times are missing on imported annotations (None): as numbers (NaN) they are skipped, not shown as "None".
    sub = sub.assign(lead_time_s=pd.to_numeric(sub["lead_time_s"], errors="coerce"),
                     active_time_s=pd.to_numeric(sub["active_time_s"], errors="coerce"))
    grouped = sub.groupby("user_id")
    return pd.DataFrame(
        {
            "lead_median_s": grouped["lead_time_s"].median(),
            "lead_p90_s": grouped["lead_time_s"].quantile(P90),
            "active_median_s": grouped["active_time_s"].median(),
            "active_p90_s": grouped["active_time_s"].quantile(P90),
        }
    )


def _pair_scores(sub: pd.DataFrame, columns: dict[str, list[Values | None]], scored: dict[str, ControlTag]) -> pd.DataFrame:
    """One row per pair of annotations of the same task: task, user_a < user_b, and their agreement
    (the mean over the controls either of them answered of the control's pairwise score)."""
    ann = pd.DataFrame({"task_id": sub["task_id"].to_numpy(), "user_id": sub["user_id"].to_numpy(),
                        "pos": np.arange(len(sub))})
    pairs = ann.merge(ann, on="task_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["user_id_a"] < pairs["user_id_b"]].reset_index(drop=True)
    ia, ib = pairs["pos_a"].to_numpy(), pairs["pos_b"].to_numpy()
    scores = np.full((len(pairs), max(len(scored), 1)), np.nan)
    for j, (name, control) in enumerate(scored.items()):
        column = columns[name]
        has = np.fromiter((v is not None for v in column), dtype=bool, count=len(column))
        either = has[ia] | has[ib]
        behaviour = behaviour_of(control.tag)
        assert behaviour is not None and behaviour.agreement is not None  # what _scored_controls keeps
        if behaviour.agreement is choices_pairwise:  # the same exact match of the chosen sets, vectorised
            keys: dict[int, Any] = {}  # the same values object (shared above) has the same key
            codes, _ = pd.factorize(pd.Series(
                [keys[id(v)] if id(v) in keys else keys.setdefault(id(v), chosen_key(v)) for v in column],
                dtype=object))
            scores[either, j] = (codes[ia] == codes[ib])[either].astype(np.float64)  # -1: not answered
            continue
        for k in np.flatnonzero(either):
            scores[k, j] = behaviour.agreement(control, column[ia[k]] or [], column[ib[k]] or [])
    counted = ~np.isnan(scores)
    n_scored = counted.sum(axis=1)
    mean = np.divide(np.nansum(scores, axis=1), n_scored, out=np.full(len(pairs), np.nan), where=n_scored > 0)
    if len(scored):
        answered_any = np.zeros(len(sub), dtype=bool)
        for column in columns.values():
            answered_any |= np.fromiter((v is not None for v in column), dtype=bool, count=len(column))
        both_empty = ~answered_any[ia] & ~answered_any[ib]
    else:
        both_empty = np.ones(len(pairs), dtype=bool)
    mean[both_empty] = 1.0  # both answered nothing: they agree (core.quality's rule)
    return pd.DataFrame({"task_id": pairs["task_id"], "user_a": pairs["user_id_a"], "user_b": pairs["user_id_b"],
                         "agreement": mean})


def _accuracy(
    sub: pd.DataFrame,
    columns: dict[str, list[Values | None]],
    gold: dict[int, dict[str, Values]],
    scored: dict[str, ControlTag],
) -> pd.DataFrame:
    """Per (annotator, control): the annotator's answers on tasks with a ground truth, against it, by the
    gold scorer of the control's tag family (accuracy, F1, precision/recall/IoU, 1 - CER or a score)."""
    positions = np.flatnonzero(sub["task_id"].isin(gold).to_numpy())
    tasks, users = sub["task_id"].to_numpy(), sub["user_id"].to_numpy()
    evidence: dict[tuple[int, str], list[Any]] = defaultdict(list)
    scorers = {name: b.gold for name, c in scored.items() if (b := behaviour_of(c.tag)) is not None and b.gold}
    for pos in positions:
        truth = gold[int(tasks[pos])]
        user = int(users[pos])
        for name, scorer in scorers.items():
            mine, right = columns[name][pos], truth.get(name)
            if mine is None and right is None:
                continue
            evidence[(user, name)].append(scorer.evidence(scored[name], mine or [], right or []))
    rows = []
    for (user, name), pieces in evidence.items():
        row: dict[str, Any] = {"user_id": user, "control": name, "tag": scored[name].tag, "n_gold": len(pieces)}
        row.update(scorers[name].summarise(pieces))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[c for c in ACCURACY_COLUMNS if c != "annotator"])
    return frame.astype({c: float for c in ACCURACY_COLUMNS[5:]})


def _self_consistency(rows: Sequence[Any], cfg: LabelingConfig, scored: dict[str, ControlTag]) -> pd.DataFrame:
    """Per answered self-check: agreement of the repeat with the original annotation (the task agreement
    of :mod:`core.quality` over the scored controls; both empty agree)."""
    users, scores = [], []
    for user_id, _task_id, repeat, original in rows:
        if repeat is None:  # JSON null: an unanswered repeat written with an explicit None
            continue
        pair = [[i for i in (r or []) if isinstance(i, dict)] for r in (original, repeat)]
        per_control = {name: v for name, v in control_agreements(cfg, pair).items() if name in scored}
        users.append(int(user_id))
        scores.append(sum(per_control.values()) / len(per_control) if per_control else 1.0)
    return pd.DataFrame({"user_id": users, "score": scores}, dtype=float).astype({"user_id": int})


def _coefficients(frames: dict[str, pd.DataFrame], cfg: LabelingConfig) -> pd.DataFrame:
    rows = []
    for name, frame in frames.items():
        control = cfg.controls[name]
        level = _level(control)
        categories: list[Any] | None = None
        if _is_single_choice(control) and not control.is_dynamic:
            categories = cfg.label_names(name)
        elif level == "ordinal":  # a Rating: 1..maxRating stars
            categories = list(range(1, int(getattr(attrs_of(control), "max_rating", 5)) + 1))
        if categories is not None and not frame["label"].isin(categories).all():
            categories = None  # answers outside the config's options (the config changed): observed labels
        per_task = frame.groupby("task").size()
        categorical = level != "interval"
        rows.append(
            {
                "control": name,
                "tag": control.tag,
                "level": level,
                "n_items": int((per_task >= 2).sum()),
                "n_annotators": int(frame["annotator"].nunique()),
                "fleiss_kappa": _safe(fleiss_kappa, frame, categories=categories) if categorical else float("nan"),
                "krippendorff_alpha": _safe(krippendorff_alpha, frame, level_of_measurement=level,
                                            categories=categories if level == "ordinal" else None),
                "gwet_ac1": _safe(gwet_ac1, frame, categories=categories) if categorical else float("nan"),
                "percent_agreement": _safe(percent_agreement, frame),
            }
        )
    return pd.DataFrame(rows, columns=COEFFICIENT_COLUMNS)


def _names(people: Sequence[Any]) -> dict[int, str]:
    """Display name per user, made unique with the user name where two people share one."""
    base = {int(p.id): (p.display_name or p.username) for p in people}
    counts = pd.Series(list(base.values())).value_counts()
    return {
        int(p.id): base[int(p.id)] if counts[base[int(p.id)]] == 1 else f"{base[int(p.id)]} ({p.username})"
        for p in people
    }


def _with_names(frame: pd.DataFrame, names: dict[int, str], column: str = "user_id", to: str = "annotator") -> pd.DataFrame:
    out = frame.copy()
    out.insert(out.columns.get_loc(column) + 1, to, out[column].map(names).astype(object))
    return out


def project_analytics(uow: UnitOfWork, user: UserInfo, *, project_id: int,
                      filters: AnalyticsFilters | None = None) -> ProjectAnalytics:
    """Annotator analytics of one project (see the module docstring); needs ``Action.ANALYTICS``."""
    require(uow, user, project_id, Action.ANALYTICS)
    return compute_project_analytics(uow, project_id=project_id, filters=filters)


def _mentions(label: str, column: list[Values | None], control: ControlTag) -> np.ndarray:
    return np.fromiter((label in figures.labels_in(v, control) for v in column), dtype=bool, count=len(column))


def _reference_labels(reference: dict[int, dict[str, Values]], name: str, control: ControlTag) -> pd.Series:
    """task -> label of a single-choice control in the ground truth or consensus (unanswered left out)."""
    labels = {t: (by_control[name][0].get(control.kind.value_key or "") or [None])[0]
              for t, by_control in reference.items() if by_control.get(name)}
    return pd.Series({t: v for t, v in labels.items() if v is not None}, dtype=object)


def compute_project_analytics(uow: UnitOfWork, *, project_id: int, filters: AnalyticsFilters | None = None,
                              bars: figures.FlagBars | None = None) -> ProjectAnalytics:
    """:func:`project_analytics` without the permission check, for :mod:`core.analytics_cache`'s worker,
    which computes for whoever asks next (each viewer's right is checked by :func:`analytics_version`)."""
    found = projects_repo.projects_by_ids(uow.session, [project_id])
    if not found:
        raise NotFoundError(f"no project with id {project_id}")
    project = found[0]
    session = uow.session
    cfg = project_config(project.config_xml)
    scored = _scored_controls(cfg)
    frame = pd.DataFrame.from_records(
        analytics_repo.annotation_rows(session, project_id),
        columns=["id", "task_id", "user_id", "result", "was_cancelled", "ground_truth", "lead_time_s",
                 "active_time_s", "day"],
    )
    frame = frame[~frame["ground_truth"].astype(bool)]
    filters = filters or AnalyticsFilters()
    if filters.since is not None:
        frame = frame[frame["day"] >= filters.since.isoformat()]
    if filters.until is not None:
        frame = frame[frame["day"] <= filters.until.isoformat()]
    if filters.control is not None:
        if filters.control not in scored:
            raise QuorumError(f"control {filters.control!r}: not a control whose answers are compared in "
                              f"{project.title!r} (compared: {', '.join(scored) or 'none'})")
        scored = {filters.control: scored[filters.control]}
    cancelled = frame["was_cancelled"].astype(bool)
    sub = frame[~cancelled].reset_index(drop=True)
    sub["lead_time_s"] = pd.to_numeric(sub["lead_time_s"], errors="coerce").astype(float)
    sub["active_time_s"] = pd.to_numeric(sub["active_time_s"], errors="coerce").astype(float)

    # One pass over the JSON results: each annotation's values per scored control.
    columns: dict[str, list[Values | None]] = {name: [None] * len(sub) for name in scored}
    seen: dict[int, dict[str, Values]] = {}  # by id(): rows with the same stored text share one decoded result
    for pos, result in enumerate(sub["result"]):
        by_control = seen.get(id(result))
        if by_control is None:
            by_control = seen[id(result)] = values_by_control(cfg, result, scored)
        for name, values in by_control.items():
            columns[name][pos] = values
    gold_rows = analytics_repo.ground_truth_rows(session, project_id)
    gold = {int(t): values_by_control(cfg, result, scored) for t, result, _ in gold_rows}
    if filters.label is not None:  # tasks where an annotator or the ground truth chose the label
        chosen = np.zeros(len(sub), dtype=bool)
        for name, control in scored.items():
            chosen |= _mentions(filters.label, columns[name], control)
        in_gold = {t for t, by in gold.items()
                   if any(filters.label in figures.labels_in(v, scored[n]) for n, v in by.items())}
        keep_tasks = set(sub["task_id"][chosen].astype(int)) | in_gold
        keep = sub["task_id"].isin(keep_tasks).to_numpy()
        positions = np.flatnonzero(keep)
        sub = sub[keep].reset_index(drop=True)
        columns = {name: [column[p] for p in positions] for name, column in columns.items()}
        frame = frame[frame["task_id"].isin(keep_tasks)]
        cancelled = frame["was_cancelled"].astype(bool)
        gold = {t: v for t, v in gold.items() if t in keep_tasks}
    tasks, users = sub["task_id"].to_numpy(), sub["user_id"].to_numpy()
    checks = [row for row in analytics_repo.answered_self_checks(session, project_id) if row[2] is not None]
    user_ids = set(frame["user_id"].astype(int)) | {int(r[0]) for r in checks}
    people = analytics_repo.people(session, project_id, user_ids)
    names = _names(people)

    # Per annotator: volume, skips, speed.
    table = pd.DataFrame(
        {
            "user_id": [int(p.id) for p in people],
            "username": [p.username for p in people],
            "is_annotator": [bool(p.is_annotator) for p in people],
        }
    ).set_index("user_id")
    table["annotations"] = sub.groupby("user_id").size().reindex(table.index).fillna(0).astype(int)
    table["skips"] = frame[cancelled].groupby("user_id").size().reindex(table.index).fillna(0).astype(int)
    seen = table["annotations"] + table["skips"]
    table["skip_rate"] = (table["skips"] / seen.where(seen > 0)).astype(float)
    table = table.join(_speed(sub))

    # Agreement with the others, and the pair matrix.
    pair_scores = _pair_scores(sub, columns, scored)
    sides = pd.concat([pair_scores[["user_a", "agreement"]].rename(columns={"user_a": "user_id"}),
                       pair_scores[["user_b", "agreement"]].rename(columns={"user_b": "user_id"})])
    by_user = sides.dropna().groupby("user_id")["agreement"]
    table["agreement"] = by_user.mean()
    table["n_pairs"] = by_user.size().reindex(table.index).fillna(0).astype(int)
    pairs = (
        pair_scores.dropna(subset=["agreement"]).groupby(["user_a", "user_b"])["agreement"]
        .agg(n_tasks="size", agreement="mean").reset_index()
    )
    pairs = _with_names(_with_names(pairs, names, "user_a", "annotator_a"), names, "user_b", "annotator_b")
    pairs = pairs[["user_a", "user_b", "annotator_a", "annotator_b", "n_tasks", "agreement"]]

    # Against ground truth.
    accuracy = _accuracy(sub, columns, gold, scored)
    gold_positions = sub["task_id"].isin(gold)
    table["gold_tasks"] = sub[gold_positions].groupby("user_id").size().reindex(table.index).fillna(0).astype(int)

    # Whole-task controls: Dawid-Skene, Cohen per pair, project coefficients.
    label_frames = {
        name: _label_frame(tasks, users, columns[name], control)
        for name, control in scored.items()
        if _level(control) is not None
    }
    label_frames = {name: f for name, f in label_frames.items() if len(f)}
    ds_rows, kappa = [], {}
    for name, lf in label_frames.items():
        if not _is_single_choice(cfg.controls[name]) or lf["annotator"].nunique() < 2:
            continue
        skills = DawidSkene().fit(lf).skills_
        ds_rows.extend({"user_id": int(u), "control": name, "ds_accuracy": float(s)} for u, s in skills.items())
        k = cohen_kappa_pairs(lf).rename(columns={"annotator_a": "user_a", "annotator_b": "user_b"})
        k[["user_a", "user_b"]] = np.sort(k[["user_a", "user_b"]].to_numpy(dtype=np.int64), axis=1)
        k = _with_names(_with_names(k, names, "user_a", "annotator_a"), names, "user_b", "annotator_b")
        kappa[name] = k[["user_a", "user_b", "annotator_a", "annotator_b", "n_tasks", "agreement", "kappa"]]
    ds = pd.DataFrame(ds_rows, columns=["user_id", "control", "ds_accuracy"])
    table["ds_accuracy"] = ds.groupby("user_id")["ds_accuracy"].mean() if len(ds) else np.nan
    coefficients = _coefficients(label_frames, cfg)

    # Self-consistency.
    consistency = _self_consistency(checks, cfg, scored)
    by_self = consistency.groupby("user_id")["score"]
    table["self_checks"] = by_self.size().reindex(table.index).fillna(0).astype(int)
    table["self_consistency"] = by_self.mean()

    # Against the consensus and the ground truth as a whole; throughput, review outcomes, bias, trend, flags.
    consensus = {t: values_by_control(cfg, result, scored) for t, result in analytics_repo.consensus_rows(session, project_id)}
    gold_score = figures.agreement_with(sub, columns, gold, scored)
    consensus_score = figures.agreement_with(sub, columns, consensus, scored)
    bias = figures.label_bias({n: lf for n, lf in label_frames.items() if _is_single_choice(cfg.controls[n])})
    review = review_table(credited_verdicts(session, project_id, config_xml=project.config_xml,
                                            threshold=project.agreement_threshold))
    table = table.join(figures.per_annotator(
        sub, gold_score=gold_score, honeypots={int(t) for t, _, honeypot in gold_rows if honeypot},
        consensus_score=consensus_score, review=review, bias=bias,
    ))
    for column in figures.COUNT_COLUMNS:
        table[column] = table[column].fillna(0).astype(int)
    weekly = figures.weekly_trend(sub, gold_score=gold_score, consensus_score=consensus_score)
    single = {n: cfg.controls[n] for n in label_frames if _is_single_choice(cfg.controls[n])}

    # Charts.
    per_day = sub.assign(day=pd.to_datetime(sub["day"], format="%Y-%m-%d")).groupby(["day", "user_id"]).size().rename("annotations").reset_index()
    lead_times = _box_statistics(sub.loc[sub["lead_time_s"].notna(), ["user_id", "lead_time_s"]])

    table = table.reset_index()
    table = _with_names(table, names)
    for col in ANNOTATOR_COLUMNS:
        if col not in table:
            table[col] = np.nan
    table = table[ANNOTATOR_COLUMNS].sort_values(["annotations", "annotator"], ascending=[False, True])
    raised = figures.flags(table, bias, bars)
    return ProjectAnalytics(
        project_id=project.id,
        title=project.title,
        annotators=table.reset_index(drop=True),
        accuracy=_with_names(accuracy, names)[ACCURACY_COLUMNS],
        ds_accuracy=_with_names(ds, names),
        pairs=pairs.reset_index(drop=True),
        kappa=kappa,
        coefficients=coefficients,
        per_day=_with_names(per_day, names),
        lead_times=_with_names(lead_times, names),
        n_annotations=len(sub),
        n_gold_tasks=len(gold),
        n_honeypots=sum(1 for *_, honeypot in gold_rows if honeypot),
        n_self_checks=len(consistency),
        names=names,
        weekly=_with_names(weekly, names),
        label_bias=_with_names(bias, names),
        flags=_with_names(raised, names),
        label_frames={n: label_frames[n] for n in single},
        gold_labels={n: _reference_labels(gold, n, c) for n, c in single.items()},
        consensus_labels={n: _reference_labels(consensus, n, c) for n, c in single.items()},
        filters=filters,
    )


def _speed_from_histograms(lead: pd.DataFrame, active: pd.DataFrame) -> pd.DataFrame:
    """:func:`_speed`'s columns from (user_id, value, n) histograms (:func:`analytics_repo.time_histogram`)."""
    out: dict[str, dict[int, float]] = {c: {} for c in ("lead_median_s", "lead_p90_s", "active_median_s", "active_p90_s")}
    for prefix, histogram in (("lead", lead), ("active", active)):
        for user_id, part in histogram.groupby("user_id"):
            median, p90 = quantiles_from_counts(part["value"].to_numpy(), part["n"].to_numpy(), [0.5, P90])
            out[f"{prefix}_median_s"][int(user_id)] = float(median)
            out[f"{prefix}_p90_s"][int(user_id)] = float(p90)
    return pd.DataFrame(out, dtype=float)


def _boxes_from_histogram(lead: pd.DataFrame) -> pd.DataFrame:
    """:func:`_box_statistics` from a (user_id, value, n, total) histogram; the mean is exact (from the sums)."""
    rows = []
    for user_id, part in lead.groupby("user_id"):
        box = box_from_counts(part["value"].to_numpy(), part["n"].to_numpy())
        rows.append({"user_id": int(user_id), **box, "mean": float(part["total"].sum() / part["n"].sum())})
    return pd.DataFrame(rows, columns=[c for c in BOX_COLUMNS if c != "annotator"])


def first_look(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> ProjectAnalytics:
    """Volume and speed per annotator straight from the numbers columns (no result is read or decoded):
    what a manager sees within a second on a big project whose full figures were never computed, while
    :mod:`core.analytics_cache` computes them (``partial`` is set; every figure that needs the answers --
    accuracy, agreement, flags -- is empty). Needs ``Action.ANALYTICS``."""
    project = require(uow, user, project_id, Action.ANALYTICS)
    session = uow.session
    counts = pd.DataFrame(analytics_repo.counts_per_person(session, project_id),
                          columns=["user_id", "was_cancelled", "n"])
    lead = pd.DataFrame(analytics_repo.time_histogram(session, project_id, "lead_time_s"),
                        columns=["user_id", "value", "n", "total"])
    active = pd.DataFrame(analytics_repo.time_histogram(session, project_id, "active_time_s"),
                          columns=["user_id", "value", "n", "total"])
    people = analytics_repo.people(session, project_id, set(counts["user_id"].astype(int)))
    names = _names(people)
    table = pd.DataFrame({"user_id": [int(p.id) for p in people], "username": [p.username for p in people],
                          "is_annotator": [bool(p.is_annotator) for p in people]}).set_index("user_id")
    done = counts[~counts["was_cancelled"]]
    table["annotations"] = done.groupby("user_id")["n"].sum().reindex(table.index).fillna(0).astype(int)
    table["skips"] = counts[counts["was_cancelled"]].groupby("user_id")["n"].sum().reindex(table.index).fillna(0).astype(int)
    seen = table["annotations"] + table["skips"]
    table["skip_rate"] = (table["skips"] / seen.where(seen > 0)).astype(float)
    table = _with_names(table.join(_speed_from_histograms(lead, active)).reset_index(), names)
    for col in ANNOTATOR_COLUMNS:
        if col not in table:
            table[col] = np.nan
    table = table[ANNOTATOR_COLUMNS].sort_values(["annotations", "annotator"], ascending=[False, True])
    gold = analytics_repo.ground_truth_counts(session, project_id)
    empty_pairs = pd.DataFrame(columns=["user_a", "user_b", "annotator_a", "annotator_b", "n_tasks", "agreement"])
    return ProjectAnalytics(
        project_id=project.id, title=project.title, annotators=table.reset_index(drop=True),
        accuracy=pd.DataFrame(columns=ACCURACY_COLUMNS),
        ds_accuracy=pd.DataFrame(columns=["user_id", "annotator", "control", "ds_accuracy"]),
        pairs=empty_pairs, kappa={}, coefficients=pd.DataFrame(columns=COEFFICIENT_COLUMNS),
        per_day=pd.DataFrame(columns=["day", "user_id", "annotator", "annotations"]),  # comes with the full figures
        lead_times=_with_names(_boxes_from_histogram(lead), names),
        n_annotations=int(done["n"].sum()), n_gold_tasks=gold[0], n_honeypots=gold[1], n_self_checks=0, names=names,
        partial=True,
    )


def analytics_version(uow: UnitOfWork, user: UserInfo, *, project_id: int) -> tuple[Any, ...]:
    """A cheap fingerprint of what :func:`project_analytics` reads; a page caches the analytics on
    (project, this) and recomputes only when it changes."""
    require(uow, user, project_id, Action.ANALYTICS)
    return analytics_repo.version(uow.session, project_id)


def analytics_versions(uow: UnitOfWork, user: UserInfo) -> dict[int, tuple[Any, ...]]:
    """:func:`analytics_version` of every project whose analytics ``user`` may see (the "all my projects"
    view), by project id."""
    return {pid: analytics_repo.version(uow.session, pid) for pid in projects_allowing(uow, user, Action.ANALYTICS)}


def pair_matrix(pairs: pd.DataFrame, value: str) -> pd.DataFrame:
    """A square, symmetric annotator x annotator matrix of ``value`` from pair rows (``annotator_a``,
    ``annotator_b``, ``value``), for a heatmap; pairs without shared tasks and the diagonal are NaN."""
    names = sorted(set(pairs["annotator_a"]) | set(pairs["annotator_b"]))
    matrix = pd.DataFrame(np.nan, index=pd.Index(names, name="annotator"), columns=pd.Index(names, name="with"))
    for a, b, v in pairs[["annotator_a", "annotator_b", value]].itertuples(index=False):
        matrix.loc[a, b] = matrix.loc[b, a] = v
    return matrix
