"""The Quality page's pictures of the project (core.project_analytics) and of label-by-label disagreement
(core.annotator_confusion): burn-down, agreement histogram, per-label agreement, predictions, confusion
matrices and who disagrees with whom.

Two layers: ``*_figure`` / ``*_table`` build a plotly figure or a styled table from the core frames (no
Streamlit, so tests check them directly), and ``render_*`` draw them with a CSV download of every table.
Axis titles are words, not column names. Everything a user typed (labels, display names, model versions)
reaches plotly escaped with :func:`core.sanitize.escape_text`: plotly reads ``<b>``, ``<a href>`` and entities
in its labels; a data grid shows text as text and needs no escaping.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.annotator_confusion import GROUND_TRUTH
from core.project_analytics import ProjectOverview
from core.sanitize import escape_markdown, escape_text
from views.widgets.annotator_charts import NA, csv_download, date_axis

GREEN, RED, GREY = (26, 152, 80), (215, 48, 39), "#888"
FEW_TASKS = 10  # below this a pair's disagreement moves a lot with one task


# --- progress -------------------------------------------------------------------------------------------


def burn_down_figure(overview: ProjectOverview) -> go.Figure:
    """Remaining tasks per day, and the projection at the current pace as a dashed line from today's
    remaining tasks to zero on the estimated finish date."""
    frame = overview.burn_down
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=frame["day"], y=frame["remaining"], name="remaining", mode="lines+markers",
        customdata=frame[["finished", "created"]].to_numpy(),
        hovertemplate="%{x|%Y-%m-%d}<br>%{y:,} tasks remaining<br>%{customdata[0]:,} finished, "
                      "%{customdata[1]:,} added that day<extra></extra>",
    ))
    if overview.estimated_finish is not None and len(frame):
        today = pd.Timestamp(overview.today)
        figure.add_trace(go.Scatter(
            x=[today, pd.Timestamp(overview.estimated_finish)], y=[overview.n_remaining, 0],
            name=f"at {overview.pace_per_day or 0:,.1f} tasks a day", mode="lines",
            line={"dash": "dash", "color": GREY},
            hovertemplate="%{x|%Y-%m-%d}: %{y:,} tasks remaining (projected)<extra></extra>",
        ))
    figure.update_layout(xaxis_title="day (UTC)", yaxis_title="tasks remaining", legend_title_text="",
                         hovermode="closest")
    days = list(frame["day"]) + ([overview.estimated_finish] if overview.estimated_finish is not None else [])
    date_axis(figure, days)
    figure.update_yaxes(rangemode="tozero")
    return figure


def _finish_text(finish: dt.date | None) -> str:
    return finish.isoformat() if finish is not None else "—"


def render_progress(overview: ProjectOverview, *, key: str) -> None:
    """The progress figures, the burn-down chart with its projection, and the burn-down as CSV."""
    cols = st.columns(5)
    cols[0].metric("Tasks", f"{overview.n_tasks:,}")
    cols[1].metric("Finished", f"{overview.n_finished:,}", help="Tasks completed or done")
    cols[2].metric("In review", f"{overview.n_in_review:,}")
    cols[3].metric("Open", f"{overview.n_open:,}")
    cols[4].metric("Estimated finish", _finish_text(overview.estimated_finish), help=overview.estimate_note)
    st.caption(overview.estimate_note)
    if overview.burn_down.empty:
        return
    st.plotly_chart(burn_down_figure(overview), key=f"{key}_burn_down")
    csv_download(overview.burn_down, file_name="burn-down.csv", key=f"{key}_burn_down_csv")


# --- agreement ------------------------------------------------------------------------------------------


def agreement_histogram_figure(overview: ProjectOverview) -> go.Figure:
    """Tasks per agreement bin (width 0.1), bins below the project's threshold in red, the threshold as a
    dashed vertical line."""
    bins = overview.agreement_bins
    threshold = overview.agreement_threshold
    colours = [f"rgb{RED}" if end <= threshold + 1e-9 else f"rgb{GREEN}" for end in bins["bin_end"]]
    figure = go.Figure(go.Bar(
        x=(bins["bin_start"] + bins["bin_end"]) / 2, y=bins["tasks"], width=bins["bin_end"] - bins["bin_start"],
        marker_color=colours, marker_line={"width": 1, "color": "#fff"},
        customdata=bins[["bin_start", "bin_end"]].to_numpy(),
        hovertemplate="agreement %{customdata[0]:.1f}–%{customdata[1]:.1f}<br>%{y:,} tasks<extra></extra>",
    ))
    figure.add_vline(x=threshold, line_dash="dash", line_color=GREY,
                     annotation_text=f"threshold {threshold:.2f}", annotation_position="top")
    figure.update_layout(xaxis_title="agreement", yaxis_title="tasks", showlegend=False, bargap=0)
    figure.update_xaxes(range=[0, 1], dtick=0.1)
    return figure


def label_agreement_figure(frame: pd.DataFrame, control: str, threshold: float) -> go.Figure:
    """One bar per label of ``control``: its specific agreement (red below the project's ``threshold``), the
    tasks it rests on in the hover."""
    part = frame[frame["control"] == control]
    labels = part["label"].map(escape_text)
    figure = go.Figure(go.Bar(
        x=labels, y=part["agreement"], customdata=part[["n_tasks", "n_chosen"]].to_numpy(),
        marker_color=[f"rgb{GREEN}" if v >= threshold else f"rgb{RED}" for v in part["agreement"].fillna(0)],
        hovertemplate="%{x}<br>agreement %{y:.2f}<br>%{customdata[0]:,} tasks, chosen %{customdata[1]:,} "
                      "times<extra></extra>",
    ))
    figure.update_layout(xaxis_title="label", yaxis_title="agreement when someone chose it", showlegend=False)
    figure.update_yaxes(range=[0, 1])
    return figure


def render_agreement(overview: ProjectOverview, *, key: str) -> None:
    """The agreement histogram with how many tasks are below the threshold, and the per-label agreement
    (one bar chart per choice control); each with its CSV."""
    if overview.n_scored == 0:
        st.caption("No task has an agreement yet: tasks get one when their annotations are complete.")
    else:
        st.caption(f"{overview.n_below_threshold:,} of {overview.n_scored:,} scored tasks are below the agreement "
                   f"threshold of {overview.agreement_threshold:.2f}"
                   + (f"; {overview.n_unscored:,} have a single annotation and no agreement." if overview.n_unscored
                      else "."))
        st.plotly_chart(agreement_histogram_figure(overview), key=f"{key}_histogram")
        csv_download(overview.agreement_bins, file_name="agreement-distribution.csv", key=f"{key}_histogram_csv")
    frame = overview.label_agreement
    if frame.empty:
        st.caption("Per-label agreement needs a whole-task choice control answered by two annotators on a task.")
        return
    st.caption("Per label: when someone chose it, how often the others on the task chose it too "
               "(specific agreement; 1 = always)")
    for i, control in enumerate(pd.unique(frame["control"])):
        if frame["control"].nunique() > 1:
            st.caption(f"Control {escape_markdown(control)}")
        st.plotly_chart(label_agreement_figure(frame, control, overview.agreement_threshold),
                        key=f"{key}_labels_{i}")
    csv_download(frame, file_name="label-agreement.csv", key=f"{key}_labels_csv")


# --- predictions ----------------------------------------------------------------------------------------


PREDICTION_LABELS = {
    "model_version": "Model version", "n_tasks": "Tasks predicted", "n_predictions": "Predictions",
    "n_gold": "Compared with ground truth", "accuracy": "Accuracy (ground truth)",
    "n_consensus": "Compared with consensus", "agreement_with_consensus": "Agreement with consensus",
    "n_prelabeled": "Annotations from its pre-labels", "n_unchanged": "Kept unchanged",
    "accepted_unchanged": "Pre-labels kept unchanged",
}


def render_predictions(overview: ProjectOverview, *, key: str) -> None:
    """Model predictions against humans per model version, and the table as CSV."""
    frame = overview.predictions
    if frame.empty:
        st.caption("This project has no predictions.")
        return
    percent = {c: st.column_config.NumberColumn(PREDICTION_LABELS[c], format="percent")
               for c in ("accuracy", "agreement_with_consensus", "accepted_unchanged")}
    st.dataframe(frame, hide_index=True, placeholder=NA, key=f"{key}_predictions",
                 column_config={**PREDICTION_LABELS, **percent})
    st.caption("Accuracy and agreement use each control's own agreement measure (for choices: the share "
               "identical), averaged over the controls the ground truth or consensus answers.")
    csv_download(frame, file_name="predictions.csv", key=f"{key}_predictions_csv")


# --- between annotators -------------------------------------------------------------------------------


def _shade(base: tuple[int, int, int], strength: float) -> str:
    """CSS for a cell shaded from white (0) to ``base`` (1), with readable text."""
    t = min(1.0, max(0.0, strength))
    r, g, b = (round(255 + (c - 255) * t) for c in base)
    return f"background-color: rgb({r}, {g}, {b}); color: {'#fff' if t > 0.6 else '#222'}"


def confusion_table(matrix: pd.DataFrame) -> Any:
    """A confusion matrix (rows the reference, columns the annotator's label) as a coloured table: each
    cell its count and its share of the row ("12 · 60%"); the diagonal (right) in green, the rest (wrong)
    in red, as strong as the share."""
    totals = matrix.sum(axis=1)
    shares = matrix.div(totals.where(totals > 0), axis=0).fillna(0.0)
    text = pd.DataFrame(
        [[f"{int(n)} · {s:.0%}" if n else "" for n, s in zip(row_n, row_s, strict=True)]
         for row_n, row_s in zip(matrix.to_numpy(), shares.to_numpy(), strict=True)],
        index=matrix.index.map(str).rename("reference ↓ / their label →"), columns=matrix.columns.map(str),
    )
    styles = pd.DataFrame(
        [[_shade(GREEN if r == c else RED, s) if matrix.iat[r, c] else "" for c, s in enumerate(row)]
         for r, row in enumerate(shares.to_numpy())],
        index=text.index, columns=text.columns,
    )
    return text.style.apply(lambda _: styles, axis=None)


def confusion_csv(matrices: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every annotator's matrix of one control as one long frame (annotator, reference, label, count)."""
    rows = [(name, ref, label, int(n)) for name, m in matrices.items() for ref, row in m.iterrows()
            for label, n in row.items()]
    return pd.DataFrame(rows, columns=["annotator", "reference", "label", "count"])


def render_confusion(matrices: Mapping[str, Mapping[str, pd.DataFrame]], *, against: str, key: str) -> None:
    """Per single-choice control (a choice when there are several), each annotator's confusion matrix
    against ``against`` ("ground truth" or "consensus") as a coloured table, two to a row, each with its
    CSV, and all of them as one CSV."""
    if not matrices:
        st.caption(f"No annotator has labeled a task with a {against} on a single-choice control yet."
                   if against == GROUND_TRUTH else f"No task with a {against} has a single-choice answer yet.")
        return
    controls = list(matrices)
    control = controls[0] if len(controls) == 1 else st.selectbox("Control", controls, key=f"{key}_control")
    per_person = matrices[control]
    st.caption(f"Rows: the {against}'s label; columns: the annotator's. Each cell: tasks, and their share of the row.")
    columns = st.columns(2)
    for i, (name, matrix) in enumerate(per_person.items()):
        with columns[i % 2]:
            right = int(pd.Series(matrix.to_numpy().diagonal()).sum())
            total = int(matrix.to_numpy().sum())
            st.markdown(f"**{escape_markdown(name)}** · {right:,} of {total:,} like the {against}")
            st.dataframe(confusion_table(matrix), key=f"{key}_{control}_{i}")
            csv_download(matrix.reset_index(), file_name=f"confusion-{i + 1}.csv", key=f"{key}_{control}_{i}_csv")
    csv_download(confusion_csv(per_person), file_name="confusion-matrices.csv", key=f"{key}_{control}_all_csv",
               label="Download all as CSV")


DISAGREEMENT_LABELS = {
    "control": "Control", "label": "Label", "annotator_a": "Annotator", "annotator_b": "With",
    "n_tasks": "Tasks (either chose it)", "n_disagree": "Only one chose it",
}


def render_disagreements(frame: pd.DataFrame, *, key: str, min_tasks: int = 1) -> None:
    """Who disagrees with whom, per label: the pairs with at least ``min_tasks`` tasks, highest disagreement
    first within each label, and the whole table as CSV."""
    if frame.empty:
        st.caption("No two annotators have answered the same task with a choice control yet.")
        return
    shown = frame[frame["n_tasks"] >= min_tasks].drop(columns=["user_a", "user_b"])
    if frame["control"].nunique() == 1:
        shown = shown.drop(columns=["control"])
    st.dataframe(shown, hide_index=True, placeholder=NA, key=f"{key}_disagreements", column_config={
        **DISAGREEMENT_LABELS,
        "disagreement": st.column_config.ProgressColumn(
            "Disagreement", format="percent", min_value=0.0, max_value=1.0,
            help="Of the tasks both answered where at least one chose the label, the share where the other did not"),
    })
    thin = int((frame["n_tasks"] < FEW_TASKS).sum())
    if thin:
        st.caption(f"{thin} row(s) rest on fewer than {FEW_TASKS} tasks: read them as rough.")
    csv_download(frame.drop(columns=["user_a", "user_b"]), file_name="label-disagreements.csv",
               key=f"{key}_disagreements_csv")
