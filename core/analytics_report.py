"""The annotator figures as plain JSON-able records: what ``cli.py stats --format json`` prints and what the
Quality page's table shows, from one :class:`~core.analytics.ProjectAnalytics` (so the two never differ).

Every figure that cannot be known is ``None`` (JSON null) -- never NaN -- and :data:`WHY_UNKNOWN` says why,
for the page's tooltips and the CLI's help.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core.analytics import ProjectAnalytics

#: JSON key -> column of ProjectAnalytics.annotators; order is the order printed.
FIELDS: dict[str, str] = {
    "annotator": "username",
    "name": "annotator",
    "tasks": "annotations",
    "skips": "skips",
    "skip_rate": "skip_rate",
    "accuracy": "accuracy",
    "gold_tasks": "gold_tasks",
    "honeypot_accuracy": "honeypot_accuracy",
    "honeypot_tasks": "honeypot_tasks",
    "estimated_accuracy": "ds_accuracy",
    "agreement_with_consensus": "agreement_with_consensus",
    "consensus_tasks": "consensus_tasks",
    "agreement_with_others": "agreement",
    "self_consistency": "self_consistency",
    "self_checks": "self_checks",
    "median_lead_time_s": "lead_median_s",
    "p90_lead_time_s": "lead_p90_s",
    "median_active_time_s": "active_median_s",
    "p90_active_time_s": "active_p90_s",
    "throughput_per_active_hour": "throughput_per_active_hour",
    "review_acceptance_rate": "review_accepted_rate",
    "review_rejection_rate": "review_rejected_rate",
    "reviewed": "reviewed",
    "bias_label": "bias_label",
    "bias_ratio": "bias_ratio",
}

#: column -> why it can be empty for an annotator (the page's column tooltip, the CLI's --help).
WHY_UNKNOWN: dict[str, str] = {
    "skip_rate": "no task seen yet",
    "accuracy": "none of their tasks has a ground truth (reviewed, imported gold or a honeypot)",
    "honeypot_accuracy": "no honeypot task answered yet",
    "ds_accuracy": "needs a single-choice control answered by two or more annotators",
    "agreement_with_consensus": "none of their tasks has a consensus of two or more answers yet",
    "agreement": "shares no task with another annotator yet",
    "self_consistency": "no self-check repeat answered yet (Settings: repeat rate)",
    "lead_median_s": "no time recorded (imported annotations carry none)",
    "lead_p90_s": "no time recorded (imported annotations carry none)",
    "active_median_s": "no active time recorded (imported annotations carry none)",
    "active_p90_s": "no active time recorded (imported annotations carry none)",
    "throughput_per_active_hour": "no active time recorded (imported annotations carry none)",
    "review_accepted_rate": "no annotation of theirs reviewed yet",
    "review_rejected_rate": "no annotation of theirs reviewed yet",
    "bias_ratio": "needs a single-choice control answered by others too",
}


def plain(value: Any) -> Any:
    """A frame cell as JSON: NaN/NA -> None, numpy scalars -> Python ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def annotator_records(analytics: ProjectAnalytics, *, with_members_only: bool = False) -> list[dict[str, Any]]:
    """One record per annotator who labeled (or, with ``with_members_only``, is a member of) the project, with
    their flags (flag, evidence, sample size)."""
    table = analytics.annotators
    if not with_members_only:
        table = table[(table["annotations"] > 0) | (table["skips"] > 0)]
    flags = analytics.flags.groupby("user_id") if not analytics.flags.empty else None
    out = []
    for row in table.to_dict("records"):
        record = {key: plain(row.get(column)) for key, column in FIELDS.items()}
        raised = flags.get_group(row["user_id"]) if flags is not None and row["user_id"] in flags.groups else None
        record["flags"] = [] if raised is None else [
            {"flag": f, "evidence": e, "n": int(n)} for f, e, n in raised[["flag", "evidence", "n"]].itertuples(index=False)
        ]
        out.append(record)
    return out


def stats_payload(analytics: ProjectAnalytics) -> dict[str, Any]:
    """``cli.py stats --format json``: the project, its annotators, and its agreement coefficients."""
    return {
        "project": analytics.title,
        "annotations": analytics.n_annotations,
        "gold_tasks": analytics.n_gold_tasks,
        "honeypots": analytics.n_honeypots,
        "self_checks": analytics.n_self_checks,
        "filters": {k: plain(v) if not hasattr(v, "isoformat") else v.isoformat()
                    for k, v in analytics.filters.__dict__.items() if v is not None},
        "annotators": annotator_records(analytics),
        "coefficients": [{k: plain(v) for k, v in row.items()} for row in analytics.coefficients.to_dict("records")],
    }


ACROSS_COLUMNS = ["user_id", "annotator", "projects", "annotations", "skips", "skip_rate", "accuracy", "gold_tasks",
                  "agreement_with_consensus", "consensus_tasks", "ds_accuracy", "self_consistency", "self_checks",
                  "lead_median_s", "throughput_per_active_hour", "review_accepted_rate", "review_rejected_rate",
                  "reviewed", "flags"]


def _weighted(frame: pd.DataFrame, value: str, weight: str) -> pd.Series:
    """Per user, the mean of ``value`` weighted by ``weight`` over the rows where both are known."""
    known = frame[frame[value].notna() & (frame[weight].fillna(0) > 0)]
    totals = (known[value].astype(float) * known[weight]).groupby(known["user_id"]).sum()
    return totals / known.groupby("user_id")[weight].sum()


def across_projects(projects: list[ProjectAnalytics]) -> pd.DataFrame:
    """:data:`ACROSS_COLUMNS`: each annotator's figures over several projects, combined exactly where the
    figure is a share of counted items (accuracy over gold tasks, agreement over consensus tasks, review rates
    over reviewed annotations, throughput over active hours) and as an annotation-weighted mean of the
    projects' medians for lead time and Dawid-Skene's estimate (a median of medians is not a median: the page
    says "typical")."""
    parts = []
    for analytics in projects:
        table = analytics.annotators
        table = table[(table["annotations"] > 0) | (table["skips"] > 0)].copy()
        table["n_flags"] = table["user_id"].map(analytics.flags.groupby("user_id").size()).fillna(0).astype(int)
        table["timed"] = table["throughput_per_active_hour"] * table["active_hours"]
        parts.append(table)
    if not parts or all(p.empty for p in parts):
        return pd.DataFrame(columns=ACROSS_COLUMNS)
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    grouped = frame.groupby("user_id")
    out = pd.DataFrame({
        "annotator": grouped["annotator"].first(),
        "projects": grouped.size(),
        "annotations": grouped["annotations"].sum(),
        "skips": grouped["skips"].sum(),
        "gold_tasks": grouped["gold_tasks"].sum(),
        "consensus_tasks": grouped["consensus_tasks"].sum(),
        "self_checks": grouped["self_checks"].sum(),
        "reviewed": grouped["reviewed"].sum(),
        "flags": grouped["n_flags"].sum(),
    })
    seen = out["annotations"] + out["skips"]
    out["skip_rate"] = out["skips"] / seen.where(seen > 0)
    out["accuracy"] = _weighted(frame, "accuracy", "gold_tasks")
    out["agreement_with_consensus"] = _weighted(frame, "agreement_with_consensus", "consensus_tasks")
    out["ds_accuracy"] = _weighted(frame, "ds_accuracy", "annotations")
    out["self_consistency"] = _weighted(frame, "self_consistency", "self_checks")
    out["lead_median_s"] = _weighted(frame, "lead_median_s", "annotations")
    out["review_accepted_rate"] = _weighted(frame, "review_accepted_rate", "reviewed")
    out["review_rejected_rate"] = _weighted(frame, "review_rejected_rate", "reviewed")
    hours = grouped["active_hours"].sum(min_count=1)
    out["throughput_per_active_hour"] = grouped["timed"].sum(min_count=1) / hours.where(hours > 0)
    out = out.reset_index()
    return out[ACROSS_COLUMNS].sort_values(["annotations", "annotator"], ascending=[False, True], ignore_index=True)
