"""The project overview for managers (issue 14, item 3): how far the project is, how well people agree,
how good the model's pre-labels are, and what waits for review.

:func:`project_overview` answers in a handful of set-based reads (:mod:`storage.repositories.project_analytics`)
that aggregate in the database, so it stays fast at 300,000 tasks and 1,000,000 annotations:

* **progress**: tasks in total, finished (``completed`` or ``done``), in review, open; per day (UTC) the
  tasks created and finished and the remaining ones (the burn-down). A finished task is dated by its last
  change (``tasks.updated_at``, set by the state change that finished it; a later review decision on it
  moves it to that day). **Pace**: finished tasks per day over the last ``PACE_DAYS`` *active* days (days
  on which at least one task finished, up to today), fewer while the project has fewer; the **estimated
  finish** is today + remaining / pace, rounded up to whole days; it is None, with the reason in
  ``estimate_note``, when there are no tasks, nothing is left, or nothing has finished yet;
* **agreement distribution**: the stored per-task agreement of the consensus (``consensus.agreement``,
  what :mod:`core.quality` routed by) in bins of 0.1, and how many tasks are below the project's
  ``agreement_threshold`` (with :data:`core.quality.THRESHOLD_TOLERANCE`, the routing's own comparison);
* **per-label agreement** of every whole-task choice control (the ``nominal`` tag families, not per
  region): the proportion of specific agreement of :func:`metrics.label_agreement.specific_agreement_from_counts`
  (Uebersax's generalisation of positive agreement: of the ordered annotator pairs on a task whose first
  member chose the label, the share whose second chose it too, pooled over tasks). Counted over the
  submitted annotations that answered the control (skips and imported gold left out, as in
  :mod:`core.analytics`); a multi-choice answer is judged label by label;
* **model predictions against humans**, per ``model_version``: tasks predicted; accuracy against the
  ground truth and agreement with the stored consensus, both by the pairwise agreement function of each
  control's tag family (:func:`core.tags.behaviour_of`), averaged over the controls the reference
  answers (a control the consensus left without an answer -- a tie -- is not held against the model);
  and the share of annotations made from one of its pre-labels that kept it unchanged
  (``annotations.prediction_id`` set and ``prediction_changed`` false);
* **review backlog**: :func:`core.review_stats.review_stats`' backlog and waiting count, by the same code
  (:func:`core.review_stats.backlog_table` over the same passages) without the reviewer and annotator
  tables ``review_stats`` builds beside it, which score every decision and cost seconds at thousands of them.

Needs ``Action.ANALYTICS`` (managers), like the rest of the Quality page.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.config import ControlTag, LabelingConfig
from core.permissions import Action, require
from core.quality import THRESHOLD_TOLERANCE, control_items, project_config
from core.review_stats import backlog_table
from core.tags import attrs_of, behaviour_of
from core.tags.choices import chosen_key
from core.uow import UnitOfWork
from core.users import UserInfo
from core.vocabulary import TASK_COMPLETED, TASK_DONE, TASK_OPEN, TASK_REVIEW
from metrics.label_agreement import specific_agreement_from_counts
from storage.models import utcnow
from storage.repositories import project_analytics as repo
from storage.repositories import review_stats as review_repo

PACE_DAYS = 7
N_BINS = 10
BURN_DOWN_COLUMNS = ["day", "created", "finished", "total", "finished_total", "remaining"]
BIN_COLUMNS = ["bin_start", "bin_end", "tasks"]
LABEL_AGREEMENT_COLUMNS = ["control", "label", "n_tasks", "n_chosen", "agreement"]
PREDICTION_COLUMNS = [
    "model_version", "n_tasks", "n_predictions", "n_gold", "accuracy", "n_consensus", "agreement_with_consensus",
    "n_prelabeled", "n_unchanged", "accepted_unchanged",
]

ResultItem = dict[str, Any]


@dataclass(frozen=True)
class ProjectOverview:
    """The project's figures for the Quality page, as plain numbers and frames."""

    project_id: int
    title: str
    today: dt.date  # the day (UTC) the estimate counts from
    n_tasks: int
    n_finished: int  # completed or done
    n_in_review: int
    n_open: int
    burn_down: pd.DataFrame  # BURN_DOWN_COLUMNS, one row per day from the first task to today
    pace_per_day: float | None  # finished tasks per active day, None before the first finish
    pace_days: int  # the active days the pace rests on (0..PACE_DAYS)
    estimated_finish: dt.date | None
    estimate_note: str  # why there is no estimate, or what the estimate assumes
    agreement_bins: pd.DataFrame  # BIN_COLUMNS, N_BINS rows of width 1 / N_BINS
    agreement_threshold: float
    n_scored: int  # tasks with a consensus agreement
    n_below_threshold: int
    n_unscored: int  # tasks with a consensus but no agreement (a single annotation)
    label_agreement: pd.DataFrame  # LABEL_AGREEMENT_COLUMNS, one row per (choice control, label chosen)
    predictions: pd.DataFrame  # PREDICTION_COLUMNS, one row per model version
    review_backlog: pd.DataFrame  # core.review_stats.BACKLOG_COLUMNS: day, entered, left, backlog
    n_waiting_review: int

    @property
    def n_remaining(self) -> int:
        return self.n_tasks - self.n_finished


# --- whole-task choice controls (shared with core.annotator_confusion) -----------------------------------


@dataclass(frozen=True)
class ChoiceControl:
    """A whole-task choice control: its options in config order (empty for dynamic options) and whether
    several may be chosen."""

    name: str
    labels: tuple[str, ...]
    multiple: bool


def choice_controls(cfg: LabelingConfig) -> dict[str, ChoiceControl]:
    """The config's whole-task choice controls: tag families whose answer is a nominal category
    (``level == "nominal"``: Choices), not answered per region."""
    out = {}
    for name, control in cfg.controls.items():
        behaviour = behaviour_of(control.tag)
        attrs = attrs_of(control)
        if behaviour is None or behaviour.level != "nominal" or attrs.per_region:
            continue
        out[name] = ChoiceControl(name, tuple(cfg.label_names(name)), bool(getattr(attrs, "multiple", False)))
    return out


def chosen_labels(cfg: LabelingConfig, result: Any, controls: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The labels one result chose per control of ``controls`` (a control it does not answer is absent;
    an answer with no option chosen is an empty tuple)."""
    items = [item for item in result or [] if isinstance(item, dict)]
    out: dict[str, tuple[str, ...]] = {}
    for name in controls:
        values = [item.get("value", {}) for item in control_items(cfg, cfg.controls[name], items)]
        key = chosen_key(values) if values else None
        if key is not None:
            out[name] = key
    return out


def _label_order(frame: pd.DataFrame, labels: tuple[str, ...]) -> pd.DataFrame:
    rank = {label: i for i, label in enumerate(labels)}
    return frame.assign(_rank=frame["label"].map(lambda v: rank.get(v, len(rank)))).sort_values(
        ["_rank", "label"], kind="stable").drop(columns="_rank")


def choice_rows(frame: pd.DataFrame, control: ChoiceControl) -> pd.DataFrame:
    """A label frame of :mod:`core.analytics` (task, annotator, label) for ``control`` as one row per chosen
    label: a multi-choice answer is stored there as one category, the JSON list of its chosen labels, and
    becomes a row per label here (an empty list, no row)."""
    if not control.multiple or frame.empty:
        return frame[["task", "annotator", "label"]]
    decoded = {text: json.loads(text) for text in pd.unique(frame["label"])}
    rows = frame.assign(label=frame["label"].map(decoded)).explode("label")
    return rows[rows["label"].notna()][["task", "annotator", "label"]].reset_index(drop=True)


def _scores(per_label: pd.DataFrame, raters: pd.Series, control: ChoiceControl) -> pd.DataFrame:
    scores = specific_agreement_from_counts(per_label, raters)
    return _label_order(scores.assign(control=control.name), control.labels)


def _frame_or_empty(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=LABEL_AGREEMENT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[LABEL_AGREEMENT_COLUMNS]


def label_agreement(cfg: LabelingConfig, answers: repo.AnswerCounts | None) -> pd.DataFrame:
    """Per choice control and label, the proportion of specific agreement, from how many annotations of each
    task gave each distinct result (:func:`storage.repositories.project_analytics.answer_counts`). As in
    :mod:`core.analytics`' label frames, a single-choice answer with no option chosen is no answer; a
    multi-choice one is an answer."""
    controls = choice_controls(cfg)
    if answers is None or not answers.task_ids or not controls:
        return pd.DataFrame(columns=LABEL_AGREEMENT_COLUMNS)
    tasks = np.asarray(answers.task_ids, dtype=np.int64)
    counts = np.asarray(answers.counts, dtype=np.int64)
    codes = np.asarray(answers.codes, dtype=np.int64)
    chosen = [chosen_labels(cfg, result, list(controls)) for result in answers.results]
    parts = []
    for name, control in controls.items():
        answered = np.array([name in c and (control.multiple or bool(c[name])) for c in chosen], dtype=bool)
        keep = answered[codes]
        if not keep.any():
            continue
        raters = pd.Series(counts[keep]).groupby(tasks[keep]).sum()
        mapping = pd.DataFrame([(code, label) for code, c in enumerate(chosen) if answered[code] for label in set(c[name])],
                               columns=["code", "label"])
        per_row = pd.DataFrame({"task": tasks[keep], "code": codes[keep], "n": counts[keep]})
        per_label = per_row.merge(mapping, on="code").groupby(["task", "label"], sort=False)["n"].sum().reset_index()
        parts.append(_scores(per_label, raters, control))
    return _frame_or_empty(parts)


def _single_choice_counts(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """(task, label, n) and annotators per task of a single-choice frame (one row per task and annotator,
    as core.analytics builds it), by integer codes: a million rows in a few tens of milliseconds."""
    tasks, task_values = pd.factorize(frame["task"])
    labels, label_values = pd.factorize(frame["label"])
    keys, n = np.unique(tasks.astype(np.int64) * max(len(label_values), 1) + labels, return_counts=True)
    per_label = pd.DataFrame({"task": np.asarray(task_values)[keys // max(len(label_values), 1)],
                              "label": np.asarray(label_values, dtype=object)[keys % max(len(label_values), 1)],
                              "n": n})
    return per_label, pd.Series(np.bincount(tasks), index=task_values)


def label_agreement_from_frames(cfg: LabelingConfig, label_frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """:func:`label_agreement` from the long label frames :mod:`core.analytics` builds (control -> task,
    annotator, label), with no database read: the same figures when the frames come from the same data."""
    parts = []
    for name, control in choice_controls(cfg).items():
        frame = label_frames.get(name)
        if frame is None or frame.empty:
            continue
        if control.multiple:
            raters = frame.groupby("task")["annotator"].nunique()
            rows = choice_rows(frame, control).drop_duplicates()
            per_label = rows.groupby(["task", "label"], sort=False).size().rename("n").reset_index()
        else:
            per_label, raters = _single_choice_counts(frame)
        parts.append(_scores(per_label, raters, control))
    return _frame_or_empty(parts)


# --- progress ---------------------------------------------------------------------------------------------


def burn_down(created: Sequence[tuple[str, int]], finished: Sequence[tuple[str, int]], today: dt.date) -> pd.DataFrame:
    """Per day from the first task's creation to today (or the last event, if later): tasks created and
    finished that day, their running totals and the remaining tasks (created so far - finished so far)."""
    if not created and not finished:
        return pd.DataFrame(columns=BURN_DOWN_COLUMNS)
    made = pd.Series(dict(created), dtype=np.int64)
    done = pd.Series(dict(finished), dtype=np.int64)
    made.index, done.index = pd.to_datetime(made.index), pd.to_datetime(done.index)
    events = made.index.append(done.index)
    first, last = events.min(), max(events.max(), pd.Timestamp(today))
    days = pd.date_range(first, last, freq="D")
    frame = pd.DataFrame({"day": days})
    frame["created"] = made.reindex(days, fill_value=0).to_numpy()
    frame["finished"] = done.reindex(days, fill_value=0).to_numpy()
    frame["total"] = frame["created"].cumsum()
    frame["finished_total"] = frame["finished"].cumsum()
    frame["remaining"] = frame["total"] - frame["finished_total"]
    return frame[BURN_DOWN_COLUMNS]


def pace(finished: Sequence[tuple[str, int]], today: dt.date, *, days: int = PACE_DAYS) -> tuple[float | None, int]:
    """(finished tasks per day over the last ``days`` days on which any task finished, up to ``today``;
    how many such days there were). (None, 0) before the first finished task."""
    active = sorted((d, n) for d, n in finished if n > 0 and dt.date.fromisoformat(d) <= today)[-days:]
    if not active:
        return None, 0
    return sum(n for _, n in active) / len(active), len(active)


def estimate(n_tasks: int, remaining: int, per_day: float | None, n_days: int, today: dt.date) -> tuple[dt.date | None, str]:
    """The estimated finish date at ``per_day`` and the sentence that goes with it."""
    if n_tasks == 0:
        return None, "The project has no tasks yet."
    if remaining <= 0:
        return None, "Every task is finished."
    if per_day is None:
        return None, "No task has finished yet, so there is no pace to project from."
    finish = today + dt.timedelta(days=math.ceil(remaining / per_day))
    span = "day" if n_days == 1 else f"{n_days} days"
    return finish, (f"At {per_day:,.1f} finished tasks a day, the mean of the last {span} on which tasks "
                    f"finished; {remaining:,} tasks remain.")


def agreement_histogram(bins: dict[int, int], n_bins: int = N_BINS) -> pd.DataFrame:
    """All ``n_bins`` bins of [0, 1] with their task counts (empty bins 0)."""
    return pd.DataFrame({
        "bin_start": [round(k / n_bins, 10) for k in range(n_bins)],
        "bin_end": [round((k + 1) / n_bins, 10) for k in range(n_bins)],
        "tasks": [int(bins.get(k, 0)) for k in range(n_bins)],
    }, columns=BIN_COLUMNS)


# --- predictions ---------------------------------------------------------------------------------------


def _scored_controls(cfg: LabelingConfig) -> dict[str, ControlTag]:
    return {name: c for name, c in cfg.controls.items()
            if (b := behaviour_of(c.tag)) is not None and b.agreement is not None}


def result_agreement(cfg: LabelingConfig, predicted: Any, reference: Any,
                     scored: dict[str, ControlTag] | None = None) -> float | None:
    """How far ``predicted`` agrees with ``reference``: the mean over the controls ``reference`` answers
    of the control's tag-family agreement (an unanswered control in the prediction is its empty answer);
    None when the reference answers no scored control."""
    scored = _scored_controls(cfg) if scored is None else scored
    mine = [item for item in predicted or [] if isinstance(item, dict)]
    theirs = [item for item in reference or [] if isinstance(item, dict)]
    scores = []
    for control in scored.values():
        right = [item.get("value", {}) for item in control_items(cfg, control, theirs)]
        if not right:
            continue
        behaviour = behaviour_of(control.tag)
        assert behaviour is not None and behaviour.agreement is not None  # what _scored_controls keeps
        guess = [item.get("value", {}) for item in control_items(cfg, control, mine)]
        scores.append(float(behaviour.agreement(control, guess, right)))
    return sum(scores) / len(scores) if scores else None


def _weighted(cfg: LabelingConfig, rows: Sequence[tuple[str, Any, Any, int]]) -> pd.DataFrame:
    """Per model version: how many predictions were compared and their mean agreement with the reference."""
    scored = _scored_controls(cfg)
    sums: dict[str, list[float]] = {}
    for version, predicted, reference, n in rows:
        score = result_agreement(cfg, predicted, reference, scored)
        if score is None:
            continue
        entry = sums.setdefault(version, [0.0, 0.0])
        entry[0] += n
        entry[1] += score * n
    return pd.DataFrame([(v, int(n), s / n) for v, (n, s) in sums.items()], columns=["model_version", "n", "score"])


def prediction_table(cfg: LabelingConfig, volume: Sequence[tuple[str, int, int]], uptake: Sequence[tuple[str, int, int]],
                     against_gold: Sequence[tuple[str, Any, Any, int]],
                     against_consensus: Sequence[tuple[str, Any, Any, int]]) -> pd.DataFrame:
    """One row per model version (PREDICTION_COLUMNS) from the repository's rows."""
    if not volume:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    table = pd.DataFrame(volume, columns=["model_version", "n_tasks", "n_predictions"]).set_index("model_version")
    gold = _weighted(cfg, against_gold).set_index("model_version")
    consensus = _weighted(cfg, against_consensus).set_index("model_version")
    table["n_gold"] = gold["n"].reindex(table.index).fillna(0).astype(int)
    table["accuracy"] = gold["score"].reindex(table.index).astype(float)
    table["n_consensus"] = consensus["n"].reindex(table.index).fillna(0).astype(int)
    table["agreement_with_consensus"] = consensus["score"].reindex(table.index).astype(float)
    used = pd.DataFrame(uptake, columns=["model_version", "n_prelabeled", "n_unchanged"]).set_index("model_version")
    table["n_prelabeled"] = used["n_prelabeled"].reindex(table.index).fillna(0).astype(int)
    table["n_unchanged"] = used["n_unchanged"].reindex(table.index).fillna(0).astype(int)
    prelabeled = table["n_prelabeled"].where(table["n_prelabeled"] > 0)
    table["accepted_unchanged"] = (table["n_unchanged"] / prelabeled).astype(float)
    return table.reset_index().sort_values("model_version", kind="stable", ignore_index=True)[PREDICTION_COLUMNS]


# --- the overview --------------------------------------------------------------------------------------


def project_overview(uow: UnitOfWork, user: UserInfo, *, project_id: int, today: dt.date | None = None,
                     label_frames: Mapping[str, pd.DataFrame] | None = None) -> ProjectOverview:
    """The project's progress, agreement, predictions and review backlog (see the module docstring);
    needs ``Action.ANALYTICS``.

    ``today``: the UTC day the estimate counts from (default: now). ``label_frames``: the long label frames
    of :mod:`core.analytics` (``ProjectAnalytics.label_frames``) when the caller has them: the per-label
    agreement is then computed from them instead of reading every answer again, the one read of this
    function that grows with the annotations (about two thirds of its time at 1,000,000 annotations).
    Those frames hold single-choice controls only, so a project with a multi-choice control reads the
    answers anyway."""
    project = require(uow, user, project_id, Action.ANALYTICS)
    session = uow.session
    today = today or utcnow().date()
    cfg = project_config(project.config_xml)

    states = repo.task_states(session, project_id)
    n_tasks = sum(states.values())
    n_finished = states.get(TASK_COMPLETED, 0) + states.get(TASK_DONE, 0)
    created = repo.tasks_created_per_day(session, project_id)
    finished = repo.tasks_finished_per_day(session, project_id)
    per_day, n_days = pace(finished, today)
    finish, note = estimate(n_tasks, n_tasks - n_finished, per_day, n_days, today)

    threshold = float(project.agreement_threshold)
    bins, n_below, n_unscored = repo.agreement_bins(session, project_id, n_bins=N_BINS,
                                                    below=threshold - THRESHOLD_TOLERANCE)

    controls = choice_controls(cfg)
    if label_frames is not None and not any(c.multiple for c in controls.values()):
        per_label = label_agreement_from_frames(cfg, label_frames)
    else:
        per_label = label_agreement(cfg, repo.answer_counts(session, project_id) if controls else None)
    volume = repo.prediction_volume(session, project_id)
    predictions = prediction_table(  # a project without predictions reads no more of them
        cfg, volume,
        repo.prediction_uptake(session, project_id) if volume else [],
        repo.predictions_against(session, project_id, repo.REFERENCE_GROUND_TRUTH) if volume else [],
        repo.predictions_against(session, project_id, repo.REFERENCE_CONSENSUS) if volume else [],
    )
    # The backlog exactly as core.review_stats computes it (its backlog_table over its review_passages), without
    # the reviewer and annotator tables review_stats() also builds, which score every decision's results.
    passages = review_repo.review_passages(session, project_id)
    return ProjectOverview(
        project_id=project.id,
        title=project.title,
        today=today,
        n_tasks=n_tasks,
        n_finished=n_finished,
        n_in_review=states.get(TASK_REVIEW, 0),
        n_open=states.get(TASK_OPEN, 0),
        burn_down=burn_down(created, finished, today),
        pace_per_day=per_day,
        pace_days=n_days,
        estimated_finish=finish,
        estimate_note=note,
        agreement_bins=agreement_histogram(bins),
        agreement_threshold=threshold,
        n_scored=sum(bins.values()),
        n_below_threshold=n_below,
        n_unscored=n_unscored,
        label_agreement=per_label,
        predictions=predictions,
        review_backlog=backlog_table(passages),
        n_waiting_review=sum(1 for p in passages if p.state == TASK_REVIEW),
    )
