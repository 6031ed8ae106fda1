"""The Quality page (managers): who labels how much, how fast, how accurately and how consistently.

Thin by design: core.analytics computes every number from the database; this page caches the result per
(project, data fingerprint), shows tables and plotly charts, and offers the two "act on it" actions
(remove an annotator from the project, send their annotations to review), which core checks and audits.
"""
from __future__ import annotations

import time
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.analytics import analytics_version, pair_matrix, remove_annotator, send_annotations_to_review
from core.analytics_cache import Snapshot
from core.errors import QuorumError
from core.review_stats import ReviewStats, review_stats
from core.permissions import Action
from core.sanitize import escape_markdown, escape_text
from views.project_picker import pick_project
from views.services import analytics_cache, signed_in_user, uow_factory
from views.widgets.heat_table import agreement_table
from views.writes import show_flash

FLASH_KEY = "QUORUM_ANALYTICS_FLASH"
PERSON_KEY = "analytics_person"  # the "Act on it" selector
CLEAR_PERSON_KEY = "QUORUM_ANALYTICS_CLEAR_PERSON"
FIRST_WAIT_S = 300.0  # a project's very first computation: minutes only for millions of annotations
POLL_S = 1.0  # while stale figures are shown, how often the page looks for newer ones
FEW_SHARED_TASKS = 10  # below this a pair's agreement or kappa moves a lot with one task
MEAN_AGREEMENT = "Mean pairwise agreement (all controls)"
KAPPA_PREFIX = "Cohen's kappa: "

user = signed_in_user()  # app.py registers this page only for users who may use it
make_uow = uow_factory()


def shown_analytics(project_id: int, version: tuple[Any, ...]) -> Snapshot:
    """The figures to show (see core.analytics_cache): current ones, or the last ones while new ones are
    computed in the background, or -- on a project never computed -- the first ones, awaited here."""
    cache = analytics_cache()
    found = cache.snapshot(project_id, version)
    if found is None:
        with st.spinner("Computing the analytics for the first time ..."):
            found = cache.wait_for(project_id, version, timeout_s=FIRST_WAIT_S)
    if found is None:
        raise QuorumError("the analytics are still being computed: reload the page in a moment")
    return found


@st.fragment(run_every=POLL_S)
def refresh_when_ready(project_id: int, shown: Snapshot) -> None:
    """While the figures shown are out of date: say so, and rerun the page once newer ones are ready."""
    newer = analytics_cache().latest(project_id)
    if newer is not None and newer.computed_at > shown.computed_at:
        st.rerun(scope="app")
    age = max(0, int(time.time() - shown.computed_at))
    st.caption(f":material/update: Figures as of {age} s ago ({shown.n_annotations:,} annotations); newer ones are "
               "being computed and will replace them here.")


def annotator_colours(*frames: pd.DataFrame, column: str = "annotator") -> dict[str, str]:
    """One colour per annotator for every chart of the page, keyed by the escaped name the charts show
    (see chart_names): the sorted names of all ``frames`` onto a qualitative palette, so a person has the
    same colour in the bar chart and the box plot whoever appears in which."""
    names = sorted({escape_text(name) for frame in frames if column in frame for name in frame[column]})
    palette = px.colors.qualitative.Plotly
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def lead_time_boxes(stats: pd.DataFrame, colours: dict[str, str] | None = None) -> go.Figure:
    """One box per annotator from precomputed quartiles and whiskers (core.analytics): the browser gets a
    few numbers per person, not every lead time of the project. ``colours``: see annotator_colours."""
    colours = colours if colours is not None else annotator_colours(stats)
    figure = go.Figure()
    for row in stats.itertuples(index=False):
        name = escape_text(row.annotator)  # plotly: as chart_names
        figure.add_trace(go.Box(
            name=name, x=[name],
            q1=[row.q1], median=[row.median], q3=[row.q3],
            lowerfence=[row.lower_fence], upperfence=[row.upper_fence], mean=[row.mean], boxpoints=False,
            hovertext=f"{int(row.n):,} annotations",
            marker_color=colours.get(name), line_color=colours.get(name),
        ))
    figure.update_layout(showlegend=False, yaxis_title="lead time (s)", xaxis_title="annotator")
    return figure


def chart_names(frame: pd.DataFrame, column: str = "annotator") -> pd.DataFrame:
    """``frame`` with the names in ``column`` escaped for plotly, which reads ``<b>``, ``<a href>`` and
    entities in legend and axis labels: a display name shows as typed, never as markup."""
    return frame.assign(**{column: frame[column].map(escape_text)})


def percent(label: str) -> Any:
    return st.column_config.NumberColumn(label, format="percent")


def seconds(label: str) -> Any:
    return st.column_config.NumberColumn(label, format="%.1f s")


def score(label: str, help: str | None = None) -> Any:
    return st.column_config.NumberColumn(label, format="%.3f", help=help)


st.title("Quality")
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

show_flash(FLASH_KEY, lasting=True)

people = data.annotators
active = people[(people["annotations"] > 0) | people["is_annotator"]]
cols = st.columns(4)
cols[0].metric("Annotations", data.n_annotations)
cols[1].metric("Annotators", int((active["annotations"] > 0).sum()))
cols[2].metric("Tasks with ground truth", data.n_gold_tasks, help=f"{data.n_honeypots} of them honeypots")
cols[3].metric("Self-checks answered", data.n_self_checks)

st.subheader("Annotators")
st.dataframe(
    people.drop(columns=["user_id"]),
    hide_index=True,
    key="analytics_annotators",
    column_config={
        "annotator": st.column_config.TextColumn("Annotator", pinned=True),
        "username": "User name",
        "is_annotator": st.column_config.CheckboxColumn("Annotator role"),
        "annotations": "Annotations",
        "skips": "Skips",
        "skip_rate": percent("Skip rate"),
        "lead_median_s": seconds("Lead time, median"),
        "lead_p90_s": seconds("Lead time, p90"),
        "active_median_s": seconds("Active time, median"),
        "active_p90_s": seconds("Active time, p90"),
        "agreement": score("Agreement with others", "Mean pairwise agreement on shared tasks (0-1)"),
        "n_pairs": "Compared pairs",
        "gold_tasks": "Gold tasks",
        "ds_accuracy": score("Estimated accuracy (Dawid-Skene)", "From single-choice controls; needs no gold"),
        "self_checks": "Self-checks",
        "self_consistency": score("Self-consistency", "Mean agreement with their own earlier answer"),
    },
)

st.subheader("Accuracy against ground truth")
if data.accuracy.empty:
    st.caption("No annotator has labeled a task with a ground truth yet (reviewer resolutions, imported gold, "
               "honeypots).")
else:
    shown = data.accuracy.drop(columns=["user_id"]).dropna(axis=1, how="all")
    st.dataframe(
        shown,
        hide_index=True,
        key="analytics_accuracy",
        column_config={
            "annotator": "Annotator", "control": "Control", "tag": "Tag", "n_gold": "Gold tasks",
            "accuracy": percent("Accuracy"), "precision": percent("Precision"), "recall": percent("Recall"),
            "mean_iou": score("Mean IoU"), "f1": score("Span F1"), "char_accuracy": score("1 - CER"),
            "score": score("Agreement with gold"),
        },
    )
if data.ds_accuracy["control"].nunique() > 1:
    st.caption("Dawid-Skene estimated accuracy per control")
    st.dataframe(data.ds_accuracy.drop(columns=["user_id"]), hide_index=True, key="analytics_ds")

st.subheader("Agreement between annotators")
sources = [KAPPA_PREFIX + name for name in data.kappa] + [MEAN_AGREEMENT]
source = st.selectbox("Show", sources, key="analytics_matrix")
if source == MEAN_AGREEMENT:
    pairs, value, zmin = data.pairs, "agreement", 0.0
else:
    pairs, value, zmin = data.kappa[source.removeprefix(KAPPA_PREFIX)], "kappa", -1.0
if pairs.empty:
    st.caption("No two annotators share a task yet.")
else:
    matrix = pair_matrix(pairs, value)  # a data grid shows names as text: nothing to escape
    shared = pair_matrix(pairs, "n_tasks").reindex(index=matrix.index, columns=matrix.columns)
    st.dataframe(agreement_table(matrix, shared, zmin), key="analytics_heatmap")
    st.caption("Green: agree, red: disagree" + (" (kappa below 0: less than chance)." if zmin < 0 else "."))
    thin = int((pairs["n_tasks"] < FEW_SHARED_TASKS).sum())
    if thin:
        st.caption(f"n = tasks the two annotators share. {thin} pair(s) share fewer than {FEW_SHARED_TASKS} tasks: "
                   "read their values as rough.")

st.subheader("Agreement per control")
if data.coefficients.empty:
    st.caption("Coefficients are computed for Choices, Rating and Number controls; this project has none "
               "answered by two annotators yet.")
else:
    st.dataframe(
        data.coefficients,
        hide_index=True,
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
        colours = annotator_colours(data.per_day, data.lead_times)  # one colour per person in both charts
        left, right = st.columns(2)
        with left:
            st.caption("Annotations per day")
            if not data.per_day.empty:
                st.plotly_chart(px.bar(chart_names(data.per_day), x="day", y="annotations", color="annotator",
                                       color_discrete_map=colours),
                                key="analytics_per_day")
        with right:
            st.caption("Lead time per annotation (seconds)")
            if not data.lead_times.empty:
                st.plotly_chart(lead_time_boxes(data.lead_times, colours), key="analytics_lead_times")

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
            st.dataframe(review.annotators.drop(columns=["user_id"]), hide_index=True, key="analytics_review_people",
                         column_config={
                             "annotator": st.column_config.TextColumn("Annotator", pinned=True),
                             "reviewed": "Reviewed annotations", "accepted_rate": percent("Accepted"),
                             "fixed_rate": percent("Fixed by reviewer"), "rejected_rate": percent("Rejected"),
                             "returned_rate": percent("Returned to correct"),
                         })
            st.caption("Reviewers: decisions, time per decision, and whether their decisions stand")
            st.dataframe(review.reviewers.drop(columns=["user_id"]), hide_index=True, key="analytics_review_reviewers",
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
                figure.update_xaxes(type="date", tickformat="%Y-%m-%d", dtick=86_400_000)
                st.plotly_chart(figure, key="analytics_review_backlog")

st.subheader("Act on it")
choices = active["user_id"].tolist()
if not choices:
    st.caption("Nobody has labeled in this project yet.")
    st.stop()
names = dict(zip(people["user_id"], people["annotator"]))
# Nobody pre-selected: both actions change someone's standing, so the manager names the person on purpose
# (a default first row would put whoever sorts first one click away from removal). After an action the choice
# is emptied, in the run after it: a value set before the widget is drawn is what the browser shows too.
if st.session_state.pop(CLEAR_PERSON_KEY, False):
    st.session_state[PERSON_KEY] = None
person = st.selectbox("Annotator", choices, index=None, placeholder="Choose an annotator",
                      format_func=lambda uid: names.get(uid, str(uid)), key=PERSON_KEY)
if person is None:
    st.caption("Choose whom to act on; each action then asks you to confirm.")
    st.stop()
name = names.get(person, str(person))
remove_col, review_col = st.columns(2)


def act(column: Any, *, label: str, icon: str, key: str, caption: str, confirm: str, action: Any,
        message: Any) -> None:
    """A button that runs a core action on the chosen annotator, enabled only once ``confirm`` is ticked (the
    tick is per person, so a tick given for one is not carried to the next); then reruns with
    ``message(outcome)``, the choice cleared."""
    with column:
        st.caption(caption)
        sure = st.checkbox(confirm, key=f"{key}_confirm_{person}")
        if st.button(label, icon=icon, key=key, disabled=not sure):
            try:
                with make_uow() as uow:
                    outcome = action(uow, user, project_id=project.id, user_id=int(person))
                    uow.commit()
            except QuorumError as exc:
                st.error(str(exc))
            else:
                st.session_state[FLASH_KEY] = message(outcome)
                st.session_state[CLEAR_PERSON_KEY] = True
                st.rerun()


act(
    remove_col, label="Remove from this project", icon=":material/person_remove:", key="analytics_remove",
    caption="Takes the annotator role in this project and releases their tasks; their annotations stay.",
    confirm=f"Yes, remove **{escape_markdown(name)}** from **{escape_markdown(project.title)}**",
    action=remove_annotator,
    message=lambda removed: (f"{escape_markdown(name)} is no longer an annotator of this project; "
                             f"{removed.locks_released} held task(s) released."),
)
act(
    review_col, label="Send their annotations to review", icon=":material/rate_review:", key="analytics_send_review",
    caption="Sends every finished task they annotated to the review queue.",
    confirm=f"Yes, send every finished task of **{escape_markdown(name)}** in **{escape_markdown(project.title)}** "
            "to review",
    action=send_annotations_to_review,
    message=lambda sent: (f"{sent.n_sent} task(s) of {escape_markdown(name)} sent to the review queue "
                          f"({sent.n_already} were waiting there already, {sent.n_still_labeling} are still "
                          "being labeled)."),
)
