"""The Quality page (managers): who labels how much, how fast, how accurately and how consistently.

Thin by design: core.analytics computes every number from the database (core.annotator_figures the
accuracy, agreement with the consensus, bias, trend and flags); this page caches the result per (project,
data fingerprint), narrows it by date, control and label when asked, shows tables and plotly charts with
one colour per person, and offers the "act on it" actions, which core checks and audits.
"""
from __future__ import annotations

import time
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.analytics import (
    AnalyticsFilters,
    ProjectAnalytics,
    analytics_version,
    analytics_versions,
    first_look,
    pair_matrix,
    project_analytics,
)
from core.analytics_cache import Snapshot
from core.annotator_actions import consensus_weights, paused_annotators
from core.annotator_confusion import CONSENSUS, GROUND_TRUTH, confusion_matrices, label_disagreements
from core.project_analytics import ProjectOverview, project_overview
from core.analytics_report import WHY_UNKNOWN, across_projects
from core.errors import QuorumError
from core.review_stats import ReviewStats, review_stats
from core.permissions import Action
from core.sanitize import escape_markdown
from views.project_picker import pick_project
from views.services import analytics_cache, signed_in_user, uow_factory
from views.widgets.annotator_charts import (
    NA,
    annotator_colours,
    chart_names,
    csv_download,
    date_axis,
    lead_time_boxes,
    speed_quality_scatter,
    weekly_lines,
)
from views.widgets.annotator_actions import annotator_actions
from views.widgets.heat_table import agreement_table
from views.widgets.project_charts import (
    render_agreement,
    render_confusion,
    render_disagreements,
    render_predictions,
    render_progress,
)
from views.writes import show_flash

FLASH_KEY = "QUORUM_ANALYTICS_FLASH"
PERSON_KEY = "analytics_person"  # the "Act on it" selector
CLEAR_PERSON_KEY = "QUORUM_ANALYTICS_CLEAR_PERSON"
POLL_S = 1.0  # while stale figures are shown, how often the page looks for newer ones
FLASH_KEEP_S = 90.0  # an action's report stays through the page's own refreshes for this long
FIRST_LOOK_AFTER_S = 0.8  # a never-computed project: how long to wait for the full figures before the first look
FEW_SHARED_TASKS = 10  # below this a pair's agreement or kappa moves a lot with one task
MEAN_AGREEMENT = "Mean pairwise agreement (all controls)"
KAPPA_PREFIX = "Cohen's kappa: "

user = signed_in_user()  # app.py registers this page only for users who may use it
make_uow = uow_factory()


def shown_analytics(project_id: int, version: tuple[Any, ...]) -> Snapshot:
    """The figures to show (see core.analytics_cache): current ones, or the last ones while new ones are
    computed in the background, or -- on a project never computed -- a first look (volume and speed, read
    without the answers) while the full figures are computed; the page fills in when they are ready."""
    found = analytics_cache().snapshot(project_id, version, wait_s=FIRST_LOOK_AFTER_S)
    if found is None:
        found = Snapshot(analytics=first_look_of(project_id, version, user), version=(), computed_at=0.0, took_s=0.0)
    return found


@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def first_look_of(project_id: int, version: tuple[Any, ...], _user: Any) -> ProjectAnalytics:
    """core.analytics.first_look, kept per (project, data fingerprint): while the full figures are computed,
    a second visit or a rerun of the page shows it at once."""
    with make_uow() as uow:
        return first_look(uow, _user, project_id=project_id)


@st.fragment(run_every=POLL_S)
def refresh_when_ready(project_id: int, shown: Snapshot) -> None:
    """While the figures shown are out of date: say so, and rerun the page once newer ones are ready."""
    newer = analytics_cache().latest(project_id)
    if newer is not None and newer.computed_at > shown.computed_at:
        st.rerun(scope="app")
    if shown.analytics.partial:
        st.info(f":material/update: A first look: volume and speed of {shown.n_annotations:,} annotations. Accuracy, "
                "agreement, flags and trends are being computed and appear here when ready.")
        return
    age = max(0, int(time.time() - shown.computed_at))
    st.caption(f":material/update: Figures as of {age} s ago ({shown.n_annotations:,} annotations); newer ones are "
               "being computed and will replace them here.")


def percent(label: str, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="percent", help=help)


def seconds(label: str, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="%.1f s", help=help)


def score(label: str, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="%.3f", help=help)


def why(column: str, what: str) -> str:
    """A column's tooltip: what it is, and why it can show "—"."""
    reason = WHY_UNKNOWN.get(column)
    return f"{what}. — : {reason}." if reason else what


def number(label: str, fmt: str, column: str, what: str) -> Any:
    """A number column of the annotator table whose tooltip says what it is and why it can show "—"."""
    return st.column_config.NumberColumn(label, format=fmt, help=why(column, what))


PEOPLE_COLUMNS = {
    "annotator": st.column_config.TextColumn("Annotator", pinned=True),
    "flags": st.column_config.TextColumn("Flags", help="What to look at; the Flags table below gives the evidence"),
    "standing": st.column_config.TextColumn("Standing", help="Paused (no new tasks) or down-weighted in the "
                                            "consensus, by a manager below"),
    "username": "User name",
    "is_annotator": st.column_config.CheckboxColumn("Annotator role"),
    "annotations": st.column_config.NumberColumn("Tasks done", help="Submitted annotations (skips and imported "
                                                                    "gold left out)"),
    "skips": "Skips",
    "skip_rate": number("Skip rate", "percent", "skip_rate", "Skips among the tasks seen"),
    "throughput_per_active_hour": number("Per active hour", "%.0f", "throughput_per_active_hour",
                                         "Annotations per hour of active time"),
    "lead_median_s": number("Lead time, median", "%.1f s", "lead_median_s", "Task shown to submitted"),
    "lead_p90_s": number("Lead time, p90", "%.1f s", "lead_p90_s", "90th percentile"),
    "active_median_s": number("Active time, median", "%.1f s", "active_median_s",
                              "Time with the page in front, working"),
    "active_p90_s": number("Active time, p90", "%.1f s", "active_p90_s", "90th percentile"),
    "accuracy": number("Accuracy", "percent", "accuracy",
                       "How far their ground-truth tasks are labeled like the ground truth: for choices the "
                       "share answered like it, for regions and text the mean agreement with it"),
    "gold_tasks": "Gold tasks",
    "honeypot_accuracy": number("Honeypot accuracy", "percent", "honeypot_accuracy", "Accuracy on honeypot tasks only"),
    "honeypot_tasks": "Honeypots",
    "ds_accuracy": number("Estimated accuracy", "%.3f", "ds_accuracy",
                          "Dawid-Skene's estimate from single-choice controls; needs no gold"),
    "agreement_with_consensus": number("Agreement with consensus", "%.3f", "agreement_with_consensus",
                                       "Mean agreement of their answers with each task's consensus (0-1)"),
    "consensus_tasks": "Consensus tasks",
    "agreement": number("Agreement with others", "%.3f", "agreement", "Mean pairwise agreement on shared tasks (0-1)"),
    "n_pairs": "Compared pairs",
    "self_consistency": number("Self-consistency", "%.3f", "self_consistency",
                               "Mean agreement with their own earlier answer"),
    "self_checks": "Self-checks",
    "review_accepted_rate": number("Review: accepted", "percent", "review_accepted_rate",
                                   "Share of their reviewed annotations a reviewer accepted"),
    "review_rejected_rate": number("Review: rejected", "percent", "review_rejected_rate",
                                   "Share of their reviewed annotations a reviewer rejected"),
    "reviewed": "Reviewed",
    "bias_label": st.column_config.TextColumn("Most over-used label", help="The label they pick more often than "
                                              "the rest of the team does, by the largest ratio (— : none)"),
    "bias_ratio": number("Over-use", "%.1fx", "bias_ratio",
                         "How many times as often as the rest of the team they pick that label"),
    "active_hours": None, "user_id": None, "projects": "Projects",
}


def people_table(people: pd.DataFrame, flags: pd.DataFrame | None, key: str, *,
                 standing: dict[int, str] | None = None) -> None:
    """The annotator table: every figure, "—" with a tooltip where it cannot be known, flags first, and
    ``standing`` (paused, down-weighted) beside the name."""
    shown = people.drop(columns=["user_id"])
    if flags is not None:
        named = flags.groupby("user_id")["flag"].agg(lambda f: ", ".join(sorted(set(f))))
        shown.insert(1, "flags", [named.get(u, "") for u in people["user_id"]])
    if standing:
        shown.insert(1, "standing", [standing.get(int(u), "") for u in people["user_id"]])
    st.dataframe(shown, hide_index=True, key=key, column_config=PEOPLE_COLUMNS, placeholder=NA)
    csv_download(shown, file_name="annotators.csv", key=f"{key}_csv", column_config=PEOPLE_COLUMNS)


@st.cache_data(ttl=600, max_entries=16, show_spinner="Computing the figures for this selection ...")
def filtered_analytics(project_id: int, version: tuple[Any, ...], filters: AnalyticsFilters,
                       _user: Any) -> ProjectAnalytics:
    """The figures narrowed by ``filters``, computed here (the background cache holds only the whole
    project's) and kept per (project, data fingerprint, filters)."""
    with make_uow() as uow:
        return project_analytics(uow, _user, project_id=project_id, filters=filters)


@st.cache_data(ttl=60, max_entries=8, show_spinner="Reading the project's progress ...")
def project_overview_of(project_id: int, version: tuple[Any, ...], _label_frames: Any, _user: Any) -> ProjectOverview:
    """core.project_analytics.project_overview, kept a minute per (project, data fingerprint): about a second
    at a million annotations, and the burn-down moves by the day."""
    with make_uow() as uow:
        return project_overview(uow, _user, project_id=project_id, label_frames=_label_frames)


def filter_bar(data: ProjectAnalytics) -> AnalyticsFilters:
    """Date range, control and label to narrow the figures to (nothing narrowed by default)."""
    with st.expander("Filter: dates, control, label", icon=":material/filter_alt:", key="analytics_filters_open"):
        cols = st.columns(3)
        days = cols[0].date_input("Annotations made between", value=(), key="analytics_dates",
                                  help="UTC dates, both included; empty: all")
        controls = sorted(data.coefficients["control"]) if not data.coefficients.empty else []
        scored = sorted(set(controls) | set(data.accuracy["control"]) | set(data.label_frames))
        control = cols[1].selectbox("Control", scored, index=None, placeholder="All controls", key="analytics_control")
        labels = sorted({str(v) for lf in data.label_frames.values() for v in lf["label"].unique()})
        label = cols[2].selectbox("Label", labels, index=None, placeholder="All labels", key="analytics_label",
                                  accept_new_options=True,
                                  help="Only tasks where an annotator or the ground truth chose this label")
    since = days[0] if isinstance(days, (tuple, list)) and len(days) >= 1 else None
    until = days[1] if isinstance(days, (tuple, list)) and len(days) == 2 else since
    return AnalyticsFilters(since=since, until=until, control=control, label=label)


def all_projects_view() -> None:
    """Each annotator over every project the viewer may analyse, from the cached figures of each."""
    cache = analytics_cache()
    with make_uow() as uow:
        versions = analytics_versions(uow, user)
    found, waiting = [], 0
    for pid, version in versions.items():
        snap = cache.snapshot(pid, version, wait_s=0.5) or cache.latest(pid)
        if snap is None:
            waiting += 1
        else:
            found.append(snap.analytics)
    if waiting:
        st.caption(f":material/update: {waiting} project(s) are being computed for the first time; they join this "
                   "table when ready (reload).")
    table = across_projects(found)
    if table.empty:
        st.caption("Nobody has labeled in your projects yet.")
        return
    st.caption(f"{len(found)} project(s). Accuracy, agreement and review rates are combined over every counted item; "
               "lead time is typical (the projects' medians weighted by annotations).")
    columns = dict(PEOPLE_COLUMNS, flags=st.column_config.NumberColumn("Flags", help="Flags raised in its projects"),
                   lead_median_s=number("Lead time, typical", "%.1f s", "lead_median_s",
                                        "Median lead time per project, weighted by annotations"))
    st.dataframe(table.drop(columns=["user_id"]), hide_index=True, key="analytics_across", column_config=columns,
                 placeholder=NA)
    csv_download(table.drop(columns=["user_id"]), file_name="annotators-all-projects.csv", key="analytics_across_csv",
                 column_config=columns)


st.title("Quality")
scope = st.segmented_control("Show", ["This project", "All my projects"], default="This project",
                             key="analytics_scope", label_visibility="collapsed")
if scope == "All my projects":
    all_projects_view()
    st.stop()
project = pick_project(make_uow, user, Action.ANALYTICS, key="analytics_project")
if project is None:
    st.stop()
try:
    with make_uow() as uow:
        version = analytics_version(uow, user, project_id=project.id)  # the viewer's right, checked each run
    snapshot = shown_analytics(project.id, version)
except (QuorumError, RuntimeError) as exc:
    st.error(str(exc))
    st.stop()
data = snapshot.analytics
if snapshot.version != version:
    refresh_when_ready(project.id, snapshot)
filters = filter_bar(data) if not data.partial else AnalyticsFilters()
if not filters.is_empty:
    try:
        data = filtered_analytics(project.id, version, filters, user)
    except QuorumError as exc:
        st.error(str(exc))
        st.stop()
    words = {"since": "from", "until": "to", "control": "control", "label": "label"}
    st.caption(":material/filter_alt: Narrowed to " + ", ".join(
        f"{words[k]} {escape_markdown(str(v))}" for k, v in filters.__dict__.items() if v is not None) + ".")

NOT_YET = "in this selection" if not filters.is_empty else "yet"  # why a section is empty
show_flash(FLASH_KEY, lasting=True, keep_s=FLASH_KEEP_S)

people = data.annotators
active = people[(people["annotations"] > 0) | people["is_annotator"]]
cols = st.columns(4)
cols[0].metric("Annotations", f"{data.n_annotations:,}", help="Submitted annotations; skips and imported gold left out")
cols[1].metric("Annotators", int((active["annotations"] > 0).sum()))
cols[2].metric("Tasks with ground truth", f"{data.n_gold_tasks:,}", help=f"{data.n_honeypots} of them honeypots")
cols[3].metric("Self-checks answered", data.n_self_checks)

st.subheader("Annotators")
with make_uow() as uow:
    paused = paused_annotators(uow, user, project.id)
    weights = consensus_weights(uow, user, project.id)
standing = {uid: f"paused since {when:%Y-%m-%d}" for uid, when in paused.items()}
for uid, weight in weights.items():
    if weight < 1:
        standing[uid] = ", ".join(filter(None, [standing.get(uid), f"consensus weight {weight:g}"]))
people_table(people, data.flags, "analytics_annotators", standing=standing)
if not data.flags.empty:
    st.caption(f":material/flag: {len(data.flags)} flag(s) -- each with its evidence and sample size")
    flags_shown = data.flags.drop(columns=["user_id"])
    st.dataframe(flags_shown, hide_index=True, placeholder=NA, key="analytics_flags", column_config={
        "annotator": st.column_config.TextColumn("Annotator", pinned=True), "flag": "Flag", "evidence": "Evidence",
        "n": st.column_config.NumberColumn("Sample size")})
    csv_download(flags_shown, file_name="flags.csv", key="analytics_flags_csv")
colours = annotator_colours(people)  # one colour per person in every chart of the page

if data.partial:  # answers not read yet: the sections that need them say so instead of showing "nothing"
    st.caption(":material/hourglass_top: Speed and quality over time, label use, accuracy against ground truth "
               "and agreement between annotators appear when the full figures are ready.")
else:
    trend = st.expander("Speed and quality: each person, and week by week", icon=":material/trending_up:",
                        key="analytics_trend", on_change="rerun")
    with trend:
        if trend.open:
            scatter = speed_quality_scatter(people, colours)
            if scatter is None:
                st.caption("Needs lead times and an accuracy or an agreement with the consensus.")
            else:
                st.plotly_chart(scatter, key="analytics_speed_quality")
            left, right = st.columns(2)
            for column, value, title, key in ((left, "lead_median_s", "median lead time (s)", "analytics_week_speed"),
                                              (right, "accuracy", "accuracy on gold", "analytics_week_accuracy"),
                                              (left, "agreement_with_consensus", "agreement with the consensus",
                                               "analytics_week_consensus"),
                                              (right, "annotations", "annotations", "analytics_week_volume")):
                figure = weekly_lines(data.weekly, value, title, colours)
                with column:
                    st.caption(f"Per week: {title}")
                    if figure is None:
                        st.caption("— nothing to show yet")
                    else:
                        st.plotly_chart(figure, key=key)
            weekly_shown = data.weekly.drop(columns=["user_id"])
            csv_download(weekly_shown, file_name="weekly.csv", key="analytics_weekly_csv", label="Weekly figures as CSV")

    if not data.label_bias.empty:
        bias = st.expander("Label use: each person against the team", icon=":material/balance:", key="analytics_bias",
                           on_change="rerun")
        with bias:
            if bias.open:
                shown_bias = data.label_bias.drop(columns=["user_id"]).sort_values("ratio", ascending=False)
                st.dataframe(shown_bias, hide_index=True, key="analytics_bias_table", placeholder=NA, column_config={
                                 "annotator": st.column_config.TextColumn("Annotator", pinned=True), "control": "Control",
                                 "label": "Label", "n": "Times chosen", "answers": "Their answers",
                                 "share": percent("Their share"), "team_share": percent("The rest of the team's share"),
                                 "ratio": st.column_config.NumberColumn("Ratio", format="%.1fx",
                                                                        help="Their share / the team's share")})
                csv_download(shown_bias, file_name="label-use.csv", key="analytics_bias_csv")

    st.subheader("Accuracy against ground truth")
    if data.accuracy.empty:
        st.caption(f"No annotator has labeled a task with a ground truth {NOT_YET} (reviewer resolutions, imported "
                   "gold, honeypots).")
    else:
        shown = data.accuracy.drop(columns=["user_id"]).dropna(axis=1, how="all")
        st.dataframe(
            shown,
            hide_index=True, placeholder=NA,
            key="analytics_accuracy",
            column_config={
                "annotator": "Annotator", "control": "Control", "tag": "Tag", "n_gold": "Gold tasks",
                "accuracy": percent("Accuracy"), "precision": percent("Precision"), "recall": percent("Recall"),
                "mean_iou": score("Mean IoU"), "f1": score("Span F1"), "char_accuracy": score("1 - CER"),
                "score": score("Agreement with gold"),
            },
        )
        csv_download(shown, file_name="accuracy.csv", key="analytics_accuracy_csv")
    if data.ds_accuracy["control"].nunique() > 1:
        st.caption("Dawid-Skene estimated accuracy per control")
        st.dataframe(data.ds_accuracy.drop(columns=["user_id"]), hide_index=True, placeholder=NA, key="analytics_ds")

    st.subheader("Agreement between annotators")
    sources = [KAPPA_PREFIX + name for name in data.kappa] + [MEAN_AGREEMENT]
    source = st.selectbox("Show", sources, key="analytics_matrix")
    if source == MEAN_AGREEMENT:
        pairs, value, zmin = data.pairs, "agreement", 0.0
    else:
        pairs, value, zmin = data.kappa[source.removeprefix(KAPPA_PREFIX)], "kappa", -1.0
    if pairs.empty:
        st.caption(f"No two annotators share a task {NOT_YET}.")
    else:
        matrix = pair_matrix(pairs, value)  # a data grid shows names as text: nothing to escape
        shared = pair_matrix(pairs, "n_tasks").reindex(index=matrix.index, columns=matrix.columns)
        st.dataframe(agreement_table(matrix, shared, zmin), key="analytics_heatmap")
        st.caption("Green: agree, red: disagree" + (" (kappa below 0: less than chance)." if zmin < 0 else "."))
        thin = int((pairs["n_tasks"] < FEW_SHARED_TASKS).sum())
        if thin:
            st.caption(f"n = tasks the two annotators share. {thin} pair(s) share fewer than {FEW_SHARED_TASKS} tasks: "
                       "read their values as rough.")

    if data.label_frames:
        labels_section = st.expander("Per label: confusion matrices and who disagrees with whom", icon=":material/grid_on:",
                                     key="analytics_per_label", on_change="rerun")
        with labels_section:
            if labels_section.open:
                against = st.segmented_control("Against", ["Ground truth", "Consensus"], default="Ground truth",
                                               key="analytics_confusion_against")
                references = data.gold_labels if against != "Consensus" else data.consensus_labels
                render_confusion(confusion_matrices(data.label_frames, references, names=data.names),
                                 against=GROUND_TRUTH if against != "Consensus" else CONSENSUS, key="analytics_confusion")
                render_disagreements(label_disagreements(data.label_frames, names=data.names), key="analytics_disagree")

    st.subheader("Agreement per control")
    if data.coefficients.empty:
        st.caption("Coefficients are computed for Choices, Rating and Number controls; this project has no such "
                   f"control answered by two annotators {NOT_YET}.")
    else:
        st.dataframe(
            data.coefficients,
            hide_index=True, placeholder=NA,
            key="analytics_coefficients",
            column_config={
                "control": "Control", "tag": "Tag", "level": "Level of measurement", "n_items": "Items (2+ answers)",
                "n_annotators": "Annotators", "fleiss_kappa": score("Fleiss' kappa"),
                "krippendorff_alpha": score("Krippendorff's alpha"), "gwet_ac1": score("Gwet's AC1"),
                "percent_agreement": percent("Percent agreement"),
            },
        )


# The charts are drawn when asked for: a chart library takes a second or more to draw in the browser, and
# the tables above come first.
activity = st.expander("Activity: annotations per day and lead times", icon=":material/bar_chart:",
                       key="analytics_activity", on_change="rerun")
with activity:
    if activity.open:
        left, right = st.columns(2)
        with left:
            st.caption("Annotations per day")
            if data.partial:
                st.caption("The daily chart comes with the full figures.")
            elif not data.per_day.empty:
                st.plotly_chart(px.bar(chart_names(data.per_day), x="day", y="annotations", color="annotator",
                                       color_discrete_map=colours),
                                key="analytics_per_day")
        with right:
            st.caption("Lead time per annotation (seconds)")
            if not data.lead_times.empty:
                st.plotly_chart(lead_time_boxes(data.lead_times, colours), key="analytics_lead_times")

# --- The project (core.project_analytics): progress and burn-down, agreement, predictions; read when opened.
project_section = st.expander("Project: progress and finish date, agreement distribution, per-label agreement, "
                              "model predictions", icon=":material/monitoring:", key="analytics_project_overview",
                              on_change="rerun")
with project_section:
    if project_section.open:
        try:
            overview = project_overview_of(project.id, version, data.label_frames, user)
        except QuorumError as exc:
            st.error(str(exc))
        else:
            render_progress(overview, key="analytics_progress")
            render_agreement(overview, key="analytics_agreement")
            render_predictions(overview, key="analytics_predictions")

# --- Review (core.review_stats): read when opened, from the database (reviews are few next to annotations).
review_section = st.expander("Review: acceptance per annotator, time per review, backlog", icon=":material/rate_review:",
                             key="analytics_review", on_change="rerun")
with review_section:
    if review_section.open:
        review: ReviewStats | None = None
        try:
            with make_uow() as uow:
                review = review_stats(uow, user, project_id=project.id)
        except QuorumError as exc:
            st.error(str(exc))
        if review is not None and review.is_empty:
            st.caption("No task has been reviewed or waits for review yet.")
        elif review is not None:
            review_cols = st.columns(3)
            review_cols[0].metric("Review decisions", review.n_decisions)
            review_cols[1].metric("Waiting for review", review.n_waiting)
            review_cols[2].metric("Reviewers", len(review.reviewers))
            st.caption("Annotators: what reviewers did with their annotations (shares of their reviewed ones; "
                       "an answer returned and later accepted counts in both)")
            st.dataframe(review.annotators.drop(columns=["user_id"]), hide_index=True, placeholder=NA, key="analytics_review_people",
                         column_config={
                             "annotator": st.column_config.TextColumn("Annotator", pinned=True),
                             "reviewed": "Reviewed annotations", "accepted_rate": percent("Accepted"),
                             "fixed_rate": percent("Fixed by reviewer"), "rejected_rate": percent("Rejected"),
                             "returned_rate": percent("Returned to correct"),
                         })
            st.caption("Reviewers: decisions, time per decision, and whether their decisions stand")
            st.dataframe(review.reviewers.drop(columns=["user_id"]), hide_index=True, placeholder=NA, key="analytics_review_reviewers",
                         column_config={
                             "reviewer": st.column_config.TextColumn("Reviewer", pinned=True),
                             "decisions": "Decisions", "accepted": "Accepted an answer", "fixed": "Fixed",
                             "consensus": "Accepted the consensus", "returned": "Returned", "rejected": "Sent back",
                             "time_median_s": seconds("Time per review, median"),
                             "time_p90_s": seconds("Time per review, p90"),
                             "agreement_with_final": score("Agreement with the final answer",
                                                           "Their settled result against the ground truth now: "
                                                           "below 1 where someone overrode them"),
                             "n_overridden": "Overridden",
                             "agreement_with_consensus": score("Agreement with the consensus",
                                                               "Their settled result against the annotators' consensus"),
                         })
            if not review.backlog.empty:
                st.caption("Backlog per day (UTC): tasks entering review (when scored) and leaving it (their last "
                           "decision); a task that went through review twice counts once")
                backlog = review.backlog.assign(day=pd.to_datetime(review.backlog["day"]))
                figure = go.Figure()
                figure.add_trace(go.Bar(x=backlog["day"], y=backlog["entered"], name="entered"))
                figure.add_trace(go.Bar(x=backlog["day"], y=-backlog["left"], name="left"))
                figure.add_trace(go.Scatter(x=backlog["day"], y=backlog["backlog"], name="waiting", mode="lines+markers"))
                figure.update_layout(barmode="relative", yaxis_title="tasks", xaxis_title="day")
                # Whole days on the axis (plotly would otherwise zoom into the milliseconds around a single day).
                date_axis(figure, backlog["day"])
                st.plotly_chart(figure, key="analytics_review_backlog")

annotator_actions(make_uow, user, project, people)
