"""My work: an annotator's own progress, accuracy on gold, reviewers' feedback and weekly trend.

Thin by design: core.my_work computes every figure and decides who may see whose (the annotator themself; a
manager, for the people annotating in the projects they manage, picked here). Figures that cannot be known
show "—", with the reason in the column's tooltip and a caption.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.errors import QuorumError
from core.my_work import FEEDBACK_LIMIT, WHY_UNKNOWN, Feedback, GoldAccuracy, MyWork, Person, ProjectProgress, my_work, people_to_choose
from core.sanitize import escape_markdown, escape_text
from views.services import signed_in_user, uow_factory
from views.state import CURRENT_PROJECT_KEY, CURRENT_TASK_KEY, PENDING_SUBMIT_KEY

PERSON_KEY = "my_work_person"
PROJECT_KEY = "my_work_project"
ALL_PROJECTS = 0  # the project filter's "every project" choice
NA = "—"
WEEK_AXIS = "week (starting Monday, UTC)"
WEEK_MS = 7 * 86_400_000
A_MONDAY = "2000-01-03"  # weekly ticks fall on Mondays (plotly's default weekly tick is a Sunday)
# The Label page's state of the task it shows (views/label.py, forget_task): dropped when a task is opened from
# here, so the task opened does not inherit the timers and saved draft of the one left there.
LABEL_TASK_STATE = ("QUORUM_LABEL_LAST_EVENT", "QUORUM_LABEL_ACTIVE_S", "QUORUM_LABEL_SAVED_RESULT",
                    PENDING_SUBMIT_KEY, "QUORUM_LABEL_ALL_IN_BROWSER")
VERDICTS = {  # (said to the annotator, said to a manager)
    "accepted": ("accepted", "accepted"),
    "fixed": ("corrected by a reviewer", "corrected by a reviewer"),
    "rejected": ("sent back", "sent back"),
    "consensus": ("settled by the consensus", "settled by the consensus"),
    "returned": ("returned to you to correct", "returned to them to correct"),
    "corrected": ("returned to you, and you corrected it", "returned to them, and they corrected it"),
}
TALLY = {"accepted": "accepted", "fixed": "corrected by a reviewer", "rejected": "sent back",
         "consensus": "settled by the consensus", "returned": "returned to correct"}

user = signed_in_user()  # app.py registers this page for people who annotate somewhere or manage
make_uow = uow_factory()


def percent(value: float | None) -> str:
    return NA if value is None else f"{value:.0%}"


def seconds(value: float | None) -> str:
    return NA if value is None else f"{value:.1f} s"


def count(value: int | None) -> str:
    return NA if value is None else f"{value:,}"


def progress_table(rows: list[ProjectProgress]) -> None:
    frame = pd.DataFrame({
        "project": [r.title for r in rows],
        "annotations": [r.annotations for r in rows],
        "left": [count(r.left) for r in rows],
        "skips": [r.skips for r in rows],
        "gold_tasks": [r.gold_tasks for r in rows],
        "lead": [seconds(r.lead_median_s) for r in rows],
        "active": [seconds(r.active_median_s) for r in rows],
        "last": [r.last_at.strftime("%Y-%m-%d %H:%M") if r.last_at else NA for r in rows],
    })
    st.dataframe(frame, hide_index=True, key="my_work_progress", column_config={
        "project": st.column_config.TextColumn("Project", pinned=True),
        "annotations": st.column_config.NumberColumn(
            "Tasks done", help="Submitted annotations; skips apart, imported ground truth left out (as on Quality)"),
        "left": st.column_config.TextColumn("Still to do", alignment="right", help="Open tasks not yet answered or skipped. "
                                            f"— : {WHY_UNKNOWN['left']}"),
        "skips": "Skips",
        "gold_tasks": st.column_config.NumberColumn("Gold tasks", help="Tasks done that have a ground truth"),
        "lead": st.column_config.TextColumn("Lead time, median", alignment="right", help="From showing the task to the submit. "
                                            f"— : {WHY_UNKNOWN['lead_median_s']}"),
        "active": st.column_config.TextColumn("Active time, median", alignment="right", help="Time spent working on the task "
                                              f"(idle gaps left out). — : {WHY_UNKNOWN['active_median_s']}"),
        "last": st.column_config.TextColumn("Last labeled (UTC)"),
    })
    reasons = {WHY_UNKNOWN["left"] for r in rows if r.left is None}
    reasons |= {WHY_UNKNOWN["lead_median_s"] for r in rows if r.annotations and r.lead_median_s is None}
    reasons |= {WHY_UNKNOWN["active_median_s"] for r in rows if r.annotations and r.active_median_s is None}
    if reasons:
        st.caption("— : " + "; ".join(sorted(reasons)) + ".")


def accuracy_table(rows: list[GoldAccuracy]) -> None:
    frame = pd.DataFrame({
        "project": [r.title for r in rows],
        "control": [r.control or NA for r in rows],
        "measure": [r.measure_words or NA for r in rows],
        "value": [percent(r.value) for r in rows],
        "n_gold": [r.n_gold for r in rows],
        "detail": [", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in r.scores.items()) or NA for r in rows],
    })
    st.dataframe(frame, hide_index=True, key="my_work_accuracy", column_config={
        "project": st.column_config.TextColumn("Project", pinned=True),
        "control": "Control",
        "measure": st.column_config.TextColumn("Measure", help="Choices: the share of gold tasks labeled like the "
                                               "ground truth; other kinds: their gold score (as on Quality)"),
        "value": st.column_config.TextColumn("On gold", alignment="right", help=f"— : {WHY_UNKNOWN['no_gold']}"),
        "n_gold": st.column_config.NumberColumn("n (gold tasks)"),
        "detail": "All scores",
    })
    reasons = sorted({r.why for r in rows if r.why})
    if reasons:
        st.caption("— : " + "; ".join(reasons) + ".")


def open_on_label_page(project_id: int, task_id: int) -> None:
    """The task on the Label page, as "My earlier tasks" opens it there (for an edit until it is reviewed)."""
    left = st.session_state.get(CURRENT_TASK_KEY)
    for key in [k for k in st.session_state if isinstance(k, str) and left is not None and k.startswith(f"t{left}_")]:
        del st.session_state[key]
    for key in LABEL_TASK_STATE:
        st.session_state.pop(key, None)
    st.session_state[CURRENT_PROJECT_KEY] = project_id
    st.session_state[CURRENT_TASK_KEY] = task_id
    st.switch_page("views/label.py")


def feedback_list(rows: list[Feedback], *, is_self: bool) -> None:
    if not rows:
        st.caption("No reviewer has decided on " + ("your" if is_self else "their") + " annotations yet.")
        return
    tally = pd.Series([r.verdict for r in rows]).value_counts()
    st.caption(" · ".join(f"{n} {TALLY.get(v, v)}" for v, n in tally.items())
               + (f" (the newest {len(rows)} decisions)" if len(rows) >= FEEDBACK_LIMIT else ""))
    for i, r in enumerate(rows):
        said = VERDICTS.get("corrected" if r.corrected else r.verdict, (r.verdict, r.verdict))[0 if is_self else 1]
        text, when, action = st.columns([5, 2, 1.3], vertical_alignment="center")
        text.markdown((":red-badge[new] " if r.is_new and is_self else "")
                      + f"**{escape_markdown(r.title)}** · Task {r.task_id} · {said}"
                      + (f": “{escape_markdown(r.comment)}”" if r.comment else ""))
        when.caption(r.decided_at.strftime("%Y-%m-%d %H:%M UTC"))
        if r.can_open and action.button("Open", key=f"my_work_open_{i}_{r.annotation_id}",
                                        icon=":material/open_in_new:", help="Open this task on the Label page"):
            open_on_label_page(r.project_id, r.task_id)


def week_axis(figure: go.Figure, title: str, y_title: str, weeks: pd.Series) -> go.Figure:
    """A title and axis titles in words; every chart over the same weeks, half a week of margin each side (a
    single week would otherwise get a zero-width axis without a date), y from zero."""
    half_week = pd.Timedelta(days=3.5)
    figure.update_layout(title=title, xaxis_title=WEEK_AXIS, yaxis_title=y_title, margin={"t": 40},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.25})
    figure.update_xaxes(type="date", tickformat="%Y-%m-%d", dtick=WEEK_MS, tick0=A_MONDAY,
                        range=[weeks.min() - half_week, weeks.max() + half_week])
    figure.update_yaxes(rangemode="tozero")
    return figure


def trend_charts(work: MyWork) -> None:
    volume, accuracy = work.trend.volume, work.trend.accuracy
    if volume.empty:
        st.caption("Nothing labeled yet: no trend to draw.")
        return
    weeks = volume["week"]
    left, right = st.columns(2)
    with left:
        # An explicit width: a single bar on a date axis is otherwise one millisecond wide, so invisible.
        figure = go.Figure(go.Bar(x=weeks, y=volume["annotations"], name="annotations", width=0.7 * WEEK_MS))
        st.plotly_chart(week_axis(figure, "Annotations per week", "annotations", weeks), key="my_work_per_week")
    with right:
        figure = go.Figure()
        for column, name in (("lead_median_s", "lead time"), ("active_median_s", "active time")):
            if volume[column].notna().any():
                figure.add_trace(go.Scatter(x=weeks, y=volume[column], name=name, mode="lines+markers"))
        st.plotly_chart(week_axis(figure, "Median time per annotation", "median time per annotation (s)", weeks),
                        key="my_work_times")
        if volume["active_median_s"].isna().all():
            st.caption(f"Active time — : {WHY_UNKNOWN['active_median_s']}.")
    if accuracy.empty:
        st.caption(f"Accuracy on gold per week — : {WHY_UNKNOWN['no_gold']}.")
        return
    figure = go.Figure()
    for series, points in accuracy.groupby("series", sort=True):
        figure.add_trace(go.Scatter(x=points["week"], y=points["value"], name=escape_text(series),
                                    mode="lines+markers", customdata=points["n_gold"],
                                    hovertemplate="%{y:.0%} on %{customdata} gold task(s)<extra></extra>"))
    week_axis(figure, "Accuracy on gold per week", "score on gold tasks", weeks)
    figure.update_layout(showlegend=True)  # the series names say which project and control, even for one
    figure.update_yaxes(range=[-0.05, 1.05], tickformat=".0%")
    st.plotly_chart(figure, key="my_work_accuracy_trend")


st.title("My work")
try:
    with make_uow() as uow:
        people = people_to_choose(uow, user)
except QuorumError as exc:
    st.error(str(exc))
    st.stop()
if not people:
    st.info("There is no work to show yet: nobody annotates in a project of yours, and you annotate in none.")
    st.stop()
names: dict[int, Person] = {p.user_id: p for p in people}
if list(names) == [user.id]:
    person_id = user.id
else:
    person_id = st.selectbox("Annotator", list(names), key=PERSON_KEY,
                             format_func=lambda uid: names[uid].name + (" (you)" if uid == user.id else ""))
is_self = person_id == user.id


def load(project_id: int | None) -> MyWork | None:
    try:
        with make_uow() as uow:
            return my_work(uow, user, user_id=person_id, project_id=project_id)
    except QuorumError as exc:
        st.error(str(exc))
        return None


work = load(None)
if work is None:
    st.stop()
if not work.progress:
    st.info("You do not annotate in any project yet." if is_self else "They do not annotate in your projects.")
    st.stop()
titles = {p.project_id: p.title for p in work.progress}
if len(titles) > 1:
    chosen = st.selectbox("Project", [ALL_PROJECTS, *titles], key=PROJECT_KEY,
                          format_func=lambda pid: titles.get(pid, "All projects"))
    if chosen != ALL_PROJECTS:
        work = load(chosen)
        if work is None:
            st.stop()
if not is_self:
    st.subheader(f"Work of {escape_markdown(work.person.name)}", anchor=False)

totals = st.columns(4)
totals[0].metric("Tasks done", sum(p.annotations for p in work.progress),
                 help="Submitted annotations, imported ground truth left out (the Quality page's count)")
still = [p.left for p in work.progress if p.left is not None]
totals[1].metric("Still to do", sum(still) if still else NA,
                 help="Open tasks not yet answered or skipped" + ("" if still else f". — : {WHY_UNKNOWN['left']}"))
totals[2].metric("Skips", sum(p.skips for p in work.progress))
totals[3].metric("Review decisions", len(work.feedback))

st.subheader("Progress", anchor=False)
progress_table(work.progress)
st.subheader("Accuracy on gold", anchor=False)
accuracy_table(work.accuracy)
st.subheader("Feedback from reviewers", anchor=False)
feedback_list(work.feedback, is_self=is_self)
st.subheader("Weekly trend", anchor=False)
trend_charts(work)
