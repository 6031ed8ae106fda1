"""Per-annotator figures beyond volume and speed: accuracy, agreement with the consensus, throughput, review
outcomes, label bias, a weekly trend -- and the flags a manager should look at, each with its evidence.

:func:`core.analytics.compute_project_analytics` reads the project once and hands the decoded answers here
(``answers``: one row per submitted annotation with its values per scored control). Definitions:

* **accuracy** -- how far the annotator's ground-truth tasks are labeled *like the ground truth*: the mean over
  those tasks of their answer's task agreement with it (the control's tag family's pairwise agreement,
  averaged over every scored control either side answered). For choices it is exact match, so the figure is
  the share of gold tasks answered like the gold; for boxes, spans or text it is graded (a box at IoU 0.93 is
  not a miss). The per-control detail (precision, recall, IoU, F1, 1 - CER) stays in
  :class:`~core.analytics.ProjectAnalytics`'s ``accuracy`` frame. **honeypot accuracy**: the same on honeypot
  tasks only.
* **agreement with the consensus** -- the mean task agreement of the annotator's answer with the task's
  consensus (``consensus`` table), on tasks whose consensus rests on two or more annotations (the consensus
  of one answer is that answer). The annotator's own answer is part of the consensus, as in Label Studio
  Enterprise's "agreement with consensus"; with few annotators per task this favours everyone equally.
* **throughput** -- annotations per active hour: annotations with an active time recorded, divided by the
  hours of active time they took (imported annotations carry none).
* **review rates** -- :func:`core.review_stats.annotator_table`'s accepted and rejected shares of the
  annotator's reviewed annotations.
* **label bias** -- for each single-choice control and label, the annotator's share of answers with that
  label against the rest of the team's share on the same control; "3.0x" means three times as often.
* **flags** -- :data:`FLAG_RULES`: a figure below a bar or far from the team, each only with enough evidence
  (the sample size is in the flag's text), so a new annotator with three tasks is not flagged for noise.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.config import ControlTag
from core.tags import behaviour_of
from core.tags.choices import choices_pairwise, chosen_key

Values = list[dict[str, Any]]
Columns = dict[str, list[Values | None]]
Reference = Mapping[int, Mapping[str, Values]]  # task -> control -> values (ground truth or consensus)

COUNT_COLUMNS = ["honeypot_tasks", "consensus_tasks", "reviewed"]  # 0, never unknown, once the answers are read
FIGURE_COLUMNS = [
    "accuracy", "honeypot_tasks", "honeypot_accuracy", "consensus_tasks", "agreement_with_consensus",
    "active_hours", "throughput_per_active_hour", "reviewed", "review_accepted_rate", "review_rejected_rate",
    "bias_label", "bias_ratio",
]
WEEKLY_COLUMNS = ["week", "user_id", "annotations", "lead_median_s", "accuracy", "n_gold",
                  "agreement_with_consensus", "n_consensus"]
BIAS_COLUMNS = ["user_id", "control", "label", "n", "answers", "share", "team_share", "ratio"]
FLAG_COLUMNS = ["user_id", "flag", "evidence", "n"]


@dataclass(frozen=True)
class FlagBars:
    """Where a figure becomes a flag. Defaults suit a classification project; a manager can change them."""

    accuracy: float = 0.7  # accuracy on gold below this
    min_gold: int = 10  # ... on at least this many gold tasks
    agreement_gap: float = 0.15  # agreement with the consensus this far below the team's median
    min_consensus: int = 20
    spam_speed: float = 0.5  # median lead time below this share of the team's median ...
    min_annotations: int = 20  # ... (on this many annotations) with quality below the team's median
    self_consistency: float = 0.7
    min_self_checks: int = 5
    bias_ratio: float = 2.0  # a label used this many times as often as by the rest of the team
    min_answers: int = 20  # ... by someone with this many answers on the control
    min_label_uses: int = 5  # ... who chose it at least this often


def agreement_with(answers: pd.DataFrame, columns: Columns, reference: Reference,
                   scored: Mapping[str, ControlTag]) -> np.ndarray:
    """Per annotation, its task agreement with the reference of its task (NaN where the task has none): the
    mean over the scored controls either side answered of the tag family's pairwise agreement; both empty
    agree (1.0), as :mod:`core.quality` rules."""
    tasks = answers["task_id"].to_numpy()
    out = np.full(len(answers), np.nan)
    positions = np.flatnonzero(pd.Series(tasks).isin(reference).to_numpy())
    if not len(positions):
        return out
    total = np.zeros(len(positions))
    counted = np.zeros(len(positions))
    for name, control in scored.items():
        behaviour = behaviour_of(control.tag)
        assert behaviour is not None and behaviour.agreement is not None  # scored controls compare answers
        mine = [columns[name][p] for p in positions]
        right = [reference[int(tasks[p])].get(name) for p in positions]
        if behaviour.agreement is choices_pairwise:  # exact match of the chosen sets, vectorised
            keys: dict[int, Any] = {}  # one decoded value object shared by many rows has one key

            def key(v: Values | None) -> Any:
                found = keys.get(id(v), keys)
                if found is keys:
                    found = keys[id(v)] = None if v is None else chosen_key(v)
                return found

            codes, _ = pd.factorize(pd.Series([key(v) for v in mine + right], dtype=object))
            a, b = codes[:len(mine)], codes[len(mine):]  # -1: not answered
            either = (a >= 0) | (b >= 0)
            total[either] += (a == b)[either]
            counted[either] += 1
            continue
        for k, (a_values, b_values) in enumerate(zip(mine, right)):
            if a_values is None and b_values is None:
                continue
            total[k] += float(behaviour.agreement(control, a_values or [], b_values or []))
            counted[k] += 1
    out[positions] = np.where(counted > 0, total / np.maximum(counted, 1), 1.0)
    return out


def labels_in(values: Values | None, control: ControlTag) -> set[str]:
    """The option names an answer of ``control`` carries (choices, labels of regions); empty for free text."""
    key = control.kind.value_key or ""
    found: set[str] = set()
    for value in values or []:
        chosen = value.get(key)
        if isinstance(chosen, list):
            found.update(str(c) for c in chosen if isinstance(c, str))
    return found


def label_bias(label_frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """:data:`BIAS_COLUMNS` for every (annotator, single-choice control, label) -- ``label_frames`` are the
    long (task, annotator, label) frames of :mod:`core.analytics`, annotator as user id."""
    rows = []
    for name, lf in label_frames.items():
        if lf.empty:
            continue
        counts = lf.groupby(["annotator", "label"]).size().unstack(fill_value=0)
        answers = counts.sum(axis=1)
        total = counts.sum(axis=0)
        for user, row in counts.iterrows():
            others = answers.sum() - answers[user]
            for label, n in row.items():
                team = (total[label] - n) / others if others else np.nan
                share = n / answers[user]
                rows.append({"user_id": int(user), "control": name, "label": str(label), "n": int(n),
                             "answers": int(answers[user]), "share": float(share), "team_share": float(team),
                             "ratio": float(share / team) if team and team > 0 else np.nan})
    return pd.DataFrame(rows, columns=BIAS_COLUMNS)


def _review_rates(review: pd.DataFrame) -> pd.DataFrame:
    if review.empty:
        return pd.DataFrame(columns=["reviewed", "review_accepted_rate", "review_rejected_rate"])
    return review.set_index("user_id").rename(
        columns={"accepted_rate": "review_accepted_rate", "rejected_rate": "review_rejected_rate"}
    )[["reviewed", "review_accepted_rate", "review_rejected_rate"]]


def per_annotator(answers: pd.DataFrame, *, gold_score: np.ndarray, honeypots: set[int],
                  consensus_score: np.ndarray, review: pd.DataFrame, bias: pd.DataFrame) -> pd.DataFrame:
    """:data:`FIGURE_COLUMNS` indexed by user id. ``answers``: task_id, user_id, active_time_s per annotation;
    ``gold_score`` / ``consensus_score``: :func:`agreement_with` against the ground truth / the consensus."""
    frame = pd.DataFrame({
        "user_id": answers["user_id"].to_numpy(),
        "right": gold_score,  # NaN: no ground truth on the task
        "honeypot": answers["task_id"].isin(honeypots).to_numpy(),
        "consensus": consensus_score,
        "active": pd.to_numeric(answers["active_time_s"], errors="coerce").to_numpy(dtype=float),
    })
    by_user = frame.groupby("user_id")
    out = pd.DataFrame(index=pd.Index(sorted(frame["user_id"].unique()), name="user_id"))
    out["accuracy"] = by_user["right"].mean()
    pots = frame[frame["honeypot"] & frame["right"].notna()].groupby("user_id")["right"]
    out["honeypot_tasks"] = pots.size().reindex(out.index).fillna(0).astype(int)
    out["honeypot_accuracy"] = pots.mean()
    out["consensus_tasks"] = by_user["consensus"].count()
    out["agreement_with_consensus"] = by_user["consensus"].mean()
    timed = frame[frame["active"].notna() & (frame["active"] > 0)].groupby("user_id")["active"]
    hours = timed.sum() / 3600.0
    out["active_hours"] = hours
    out["throughput_per_active_hour"] = timed.size() / hours.where(hours > 0)
    out = out.join(_review_rates(review), how="left")
    if not bias.empty:
        over = bias.dropna(subset=["ratio"])
        top = over[over["ratio"] > 1].sort_values("ratio", ascending=False).drop_duplicates("user_id")
        out = out.join(top.set_index("user_id")[["label", "ratio"]].rename(
            columns={"label": "bias_label", "ratio": "bias_ratio"}), how="left")
    for col in FIGURE_COLUMNS:
        if col not in out:
            out[col] = np.nan
    return out[FIGURE_COLUMNS]


def weekly_trend(answers: pd.DataFrame, *, gold_score: np.ndarray, consensus_score: np.ndarray) -> pd.DataFrame:
    """:data:`WEEKLY_COLUMNS`: per annotator and ISO week (its Monday), volume, median lead time, accuracy on
    gold and agreement with the consensus -- speed and quality over time."""
    if answers.empty:
        return pd.DataFrame(columns=WEEKLY_COLUMNS)
    day = pd.to_datetime(answers["day"], format="%Y-%m-%d")
    frame = pd.DataFrame({
        "week": (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).to_numpy(),
        "user_id": answers["user_id"].to_numpy(),
        "lead": pd.to_numeric(answers["lead_time_s"], errors="coerce").to_numpy(dtype=float),
        "right": gold_score,
        "consensus": consensus_score,
    })
    grouped = frame.groupby(["week", "user_id"])
    out = pd.DataFrame({
        "annotations": grouped.size(),
        "lead_median_s": grouped["lead"].median(),
        "accuracy": grouped["right"].mean(),
        "n_gold": grouped["right"].count(),
        "agreement_with_consensus": grouped["consensus"].mean(),
        "n_consensus": grouped["consensus"].count(),
    }).reset_index()
    return out[WEEKLY_COLUMNS]


def _pct(x: float) -> str:
    return f"{x:.0%}"


FlagRule = Callable[[pd.Series, pd.DataFrame, FlagBars], tuple[str, str, int] | None]


def _low_accuracy(row: pd.Series, team: pd.DataFrame, bars: FlagBars) -> tuple[str, str, int] | None:
    n = int(row.get("gold_tasks") or 0)
    if n >= bars.min_gold and pd.notna(row["accuracy"]) and row["accuracy"] < bars.accuracy:
        return ("Low accuracy", f"accuracy {_pct(row['accuracy'])} on {n} gold tasks (bar {_pct(bars.accuracy)})", n)
    return None


def _low_agreement(row: pd.Series, team: pd.DataFrame, bars: FlagBars) -> tuple[str, str, int] | None:
    n = int(row.get("consensus_tasks") or 0)
    enough = team[team["consensus_tasks"].fillna(0) >= bars.min_consensus]["agreement_with_consensus"].dropna()
    if n < bars.min_consensus or pd.isna(row["agreement_with_consensus"]) or len(enough) < 2:
        return None
    median = float(enough.median())
    if row["agreement_with_consensus"] < median - bars.agreement_gap:
        return ("Disagrees with the team",
                f"agreement with the consensus {row['agreement_with_consensus']:.2f} on {n} tasks; team median "
                f"{median:.2f}", n)
    return None


def _quality(row: pd.Series) -> tuple[str, float] | None:
    if int(row.get("gold_tasks") or 0) and pd.notna(row["accuracy"]):
        return "accuracy", float(row["accuracy"])
    if pd.notna(row["agreement_with_consensus"]):
        return "agreement_with_consensus", float(row["agreement_with_consensus"])
    return None


def _spam(row: pd.Series, team: pd.DataFrame, bars: FlagBars) -> tuple[str, str, int] | None:
    n = int(row.get("annotations") or 0)
    busy = team[team["annotations"] >= bars.min_annotations]
    quality = _quality(row)
    if n < bars.min_annotations or pd.isna(row["lead_median_s"]) or quality is None or len(busy) < 2:
        return None
    speed = float(busy["lead_median_s"].median())
    column, mine = quality
    team_quality = float(busy[column].median())
    if row["lead_median_s"] < bars.spam_speed * speed and mine < team_quality:
        what = "accuracy" if column == "accuracy" else "agreement"
        return ("Fast with lower quality",
                f"median lead time {row['lead_median_s']:.1f} s against the team's {speed:.1f} s; {what} "
                f"{mine:.2f} against {team_quality:.2f}; {n} annotations", n)
    return None


def _inconsistent(row: pd.Series, team: pd.DataFrame, bars: FlagBars) -> tuple[str, str, int] | None:
    n = int(row.get("self_checks") or 0)
    if n >= bars.min_self_checks and pd.notna(row["self_consistency"]) and row["self_consistency"] < bars.self_consistency:
        return ("Inconsistent with self",
                f"self-consistency {row['self_consistency']:.2f} on {n} repeated tasks (bar {bars.self_consistency:.2f})", n)
    return None


FLAG_RULES: tuple[FlagRule, ...] = (_low_accuracy, _low_agreement, _spam, _inconsistent)


def flags(table: pd.DataFrame, bias: pd.DataFrame, bars: FlagBars | None = None) -> pd.DataFrame:
    """:data:`FLAG_COLUMNS`: one row per raised flag. ``table``: the annotator table (core.analytics'
    columns with :data:`FIGURE_COLUMNS`); ``bias``: :func:`label_bias`."""
    bars = bars or FlagBars()
    rows: list[dict[str, Any]] = []
    team = table[table["annotations"] > 0]
    for _, row in team.iterrows():
        for rule in FLAG_RULES:
            found = rule(row, team, bars)
            if found is not None:
                rows.append({"user_id": int(row["user_id"]), "flag": found[0], "evidence": found[1], "n": found[2]})
    if not bias.empty:
        over = bias[(bias["answers"] >= bars.min_answers) & (bias["ratio"] >= bars.bias_ratio)
                    & (bias["n"] >= bars.min_label_uses)]
        for r in over.sort_values("ratio", ascending=False).drop_duplicates(["user_id", "control"]).itertuples():
            rows.append({"user_id": int(r.user_id), "flag": "Label bias",
                         "evidence": f"picks {r.label!r} ({r.control}) {r.ratio:.1f}x as often as the rest of the "
                                     f"team: {_pct(r.share)} of {r.answers} answers against {_pct(r.team_share)}",
                         "n": int(r.answers)})
    return pd.DataFrame(rows, columns=FLAG_COLUMNS)
