"""views.widgets.project_charts: the project overview's charts and tables -- axis titles in words, names
escaped for plotly, the burn-down's dashed projection, coloured confusion tables -- and, through AppTest,
that every render function draws and offers its tables as CSV."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.project_analytics import ProjectOverview, agreement_histogram, burn_down
from views.widgets.project_charts import (
    agreement_histogram_figure,
    burn_down_figure,
    confusion_csv,
    confusion_table,
    label_agreement_figure,
)

TODAY = dt.date(2026, 11, 10)
EVIL = "<b>Neu</b>tral"


def overview(**changes: object) -> ProjectOverview:
    figures: dict[str, object] = dict(
        project_id=1, title="Reviews", today=TODAY, n_tasks=10, n_finished=6, n_in_review=1, n_open=3,
        burn_down=burn_down([("2026-11-01", 10)], [("2026-11-03", 2), ("2026-11-08", 4)], TODAY),
        pace_per_day=3.0, pace_days=2, estimated_finish=TODAY + dt.timedelta(days=2),
        estimate_note="At 3.0 finished tasks a day.", agreement_bins=agreement_histogram({2: 1, 8: 3, 9: 2}),
        agreement_threshold=0.8, n_scored=6, n_below_threshold=1, n_unscored=0,
        label_agreement=pd.DataFrame({"control": ["sentiment"] * 2, "label": ["Positive", EVIL],
                                      "n_tasks": [5, 3], "n_chosen": [9, 4], "agreement": [0.9, 0.4]}),
        predictions=pd.DataFrame([{"model_version": "v1", "n_tasks": 4, "n_predictions": 4, "n_gold": 2,
                                   "accuracy": 0.5, "n_consensus": 3, "agreement_with_consensus": 2 / 3,
                                   "n_prelabeled": 3, "n_unchanged": 2, "accepted_unchanged": 2 / 3}]),
        review_backlog=pd.DataFrame(columns=["day", "entered", "left", "backlog"]), n_waiting_review=1,
    )
    figures.update(changes)
    return ProjectOverview(**figures)  # type: ignore[arg-type]


MATRIX = pd.DataFrame([[3, 1], [0, 2]], index=pd.Index(["Positive", EVIL], name="reference"),
                      columns=pd.Index(["Positive", EVIL], name="label"))


def test_burn_down_shows_remaining_tasks_and_a_dashed_projection_to_the_estimated_date() -> None:
    figure = burn_down_figure(overview())
    remaining, projection = figure.data
    assert list(remaining.y)[-1] == 4  # 10 created, 6 finished
    assert projection.line.dash == "dash"
    assert [pd.Timestamp(x).date() for x in projection.x] == [TODAY, TODAY + dt.timedelta(days=2)]
    assert list(projection.y) == [4, 0]
    assert figure.layout.xaxis.title.text == "day (UTC)" and figure.layout.yaxis.title.text == "tasks remaining"


def test_no_projection_without_an_estimate() -> None:
    figure = burn_down_figure(overview(estimated_finish=None, pace_per_day=None, pace_days=0))
    assert len(figure.data) == 1


def test_histogram_marks_bins_below_the_threshold_and_the_threshold_itself() -> None:
    figure = agreement_histogram_figure(overview())
    bars = figure.data[0]
    assert list(bars.y) == [0, 0, 1, 0, 0, 0, 0, 0, 3, 2]
    assert bars.marker.color[2] != bars.marker.color[8]  # 0.2-0.3 below 0.8, 0.8-0.9 not
    assert figure.layout.shapes[0].x0 == 0.8
    assert figure.layout.xaxis.title.text == "agreement" and figure.layout.yaxis.title.text == "tasks"


def test_label_chart_escapes_labels_for_plotly() -> None:
    figure = label_agreement_figure(overview().label_agreement, "sentiment", 0.8)
    assert list(figure.data[0].x) == ["Positive", "&lt;b&gt;Neu&lt;/b&gt;tral"]
    assert figure.layout.yaxis.title.text == "agreement when someone chose it"


def test_confusion_table_shows_counts_and_row_shares_right_in_green_wrong_in_red() -> None:
    styled = confusion_table(MATRIX)
    assert styled.data.iloc[0].tolist() == ["3 · 75%", "1 · 25%"]
    assert styled.data.iloc[1, 0] == ""  # an empty cell shows nothing
    html = styled.to_html()
    assert "rgb(26" in html or "rgb(8" in html  # a green diagonal
    long = confusion_csv({"Ana": MATRIX})
    assert long["count"].sum() == 6 and set(long.columns) == {"annotator", "reference", "label", "count"}


def charts_app() -> None:
    import pandas as pd
    import streamlit as st

    from tests.pages.test_project_charts import MATRIX, overview
    from views.widgets.project_charts import (
        render_agreement,
        render_confusion,
        render_disagreements,
        render_predictions,
        render_progress,
    )

    view = overview()
    render_progress(view, key="p")
    render_agreement(view, key="a")
    render_predictions(view, key="m")
    render_confusion({"sentiment": {"Ana": MATRIX, "Ben": MATRIX}}, against="ground truth", key="c")
    render_disagreements(pd.DataFrame([{"control": "sentiment", "label": "Positive", "user_a": 1, "user_b": 2,
                                        "annotator_a": "Ana", "annotator_b": "Ben", "n_tasks": 4, "n_disagree": 1,
                                        "disagreement": 0.25}]), key="d")
    st.session_state["done"] = True


def test_every_render_function_draws_and_offers_csv_downloads() -> None:
    at = AppTest.from_function(charts_app, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["done"]
    downloads = at.get("download_button")
    # burn-down, histogram, labels, predictions, two matrices + all, disagreements
    assert len(downloads) == 8
    assert [m.value for m in at.metric][:4] == ["10", "6", "1", "3"]
    assert len(at.dataframe) == 4  # predictions, two confusion matrices, disagreements
