"""The per-annotator figures of core.annotator_figures through core.analytics, on the hand-built sentiment
project of test_analytics (numbers computed by hand in each test), with filters, flags and the combination
over projects (core.analytics_report)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest

from core.analytics import AnalyticsFilters, compute_project_analytics, project_analytics
from core.analytics_report import across_projects, stats_payload
from core.annotator_figures import FlagBars
from core.errors import QuorumError
from core.uow import UowFactory
from storage.models import Consensus
from tests.core.test_analytics import DAY, choice, row_of, sentiment  # noqa: F401 - the fixture


def analytics(make_uow: UowFactory, fixture: dict[str, Any], **kwargs: Any) -> Any:
    with make_uow() as uow:
        return project_analytics(uow, fixture["manager"], project_id=fixture["project"].id, **kwargs)


def test_accuracy_is_the_share_of_gold_tasks_labeled_like_the_gold_and_honeypots_apart(make_uow, sentiment) -> None:
    data = analytics(make_uow, sentiment)
    u1, u2, u3 = (row_of(data.annotators, sentiment[k]) for k in ("u1", "u2", "u3"))
    # Gold: tasks 1 and 2, both Positive; task 2 a honeypot. u2 answered Negative on task 2.
    assert (u1["accuracy"], u2["accuracy"], u3["accuracy"]) == (1.0, 0.5, 1.0)
    assert (u2["honeypot_tasks"], u2["honeypot_accuracy"]) == (1, 0.0)
    assert u1["honeypot_accuracy"] == 1.0


def test_agreement_with_the_consensus_counts_consensus_of_two_or_more_answers(make_uow, sentiment) -> None:
    tasks = sentiment["tasks"]
    with make_uow() as uow:
        uow.session.add(Consensus(task_id=tasks[0], result=choice("Positive"), method="majority", agreement=1.0,
                                  n_annotations=3))
        uow.session.add(Consensus(task_id=tasks[1], result=choice("Positive"), method="majority", agreement=0.33,
                                  n_annotations=3))
        uow.session.add(Consensus(task_id=tasks[2], result=choice("Negative"), method="majority", agreement=1.0,
                                  n_annotations=1))  # one answer: nothing to compare with, left out
        uow.commit()
    data = analytics(make_uow, sentiment)
    u1, u2 = row_of(data.annotators, sentiment["u1"]), row_of(data.annotators, sentiment["u2"])
    assert (u1["consensus_tasks"], u1["agreement_with_consensus"]) == (2, 1.0)
    assert (u2["consensus_tasks"], u2["agreement_with_consensus"]) == (2, 0.5)
    assert np.isnan(row_of(data.annotators, sentiment["u3"])["throughput_per_active_hour"])


def test_throughput_per_active_hour_and_label_bias(make_uow, sentiment) -> None:
    data = analytics(make_uow, sentiment)
    u1 = row_of(data.annotators, sentiment["u1"])
    assert u1["throughput_per_active_hour"] == pytest.approx(6 / (21 / 3600))  # active 1+2+...+6 s
    assert np.isnan(row_of(data.annotators, sentiment["u2"])["throughput_per_active_hour"])  # none recorded
    bias = data.label_bias.set_index(["user_id", "label"])
    # u2: Neutral 2 of 6; the rest of the team (u1 6 answers, u3 2): Neutral 1 of 8.
    neutral = bias.loc[(sentiment["u2"].id, "Neutral")]
    assert (neutral["n"], neutral["answers"]) == (2, 6)
    assert neutral["ratio"] == pytest.approx((2 / 6) / (1 / 8))
    assert row_of(data.annotators, sentiment["u2"])["bias_label"] == "Neutral"


def test_flags_name_the_evidence_and_need_enough_of_it(make_uow, sentiment) -> None:
    assert analytics(make_uow, sentiment).flags.empty  # default bars: two gold tasks are too few to judge
    with make_uow() as uow:
        data = compute_project_analytics(uow, project_id=sentiment["project"].id,
                                         bars=FlagBars(min_gold=2, accuracy=0.8, min_answers=6, min_label_uses=2))
    flags = data.flags.set_index("user_id")
    u2 = flags.loc[[sentiment["u2"].id]]
    assert set(u2["flag"]) == {"Low accuracy", "Label bias"}
    low = u2[u2["flag"] == "Low accuracy"].iloc[0]
    assert low["evidence"] == "accuracy 50% on 2 gold tasks (bar 80%)" and low["n"] == 2
    assert "'Neutral'" in u2[u2["flag"] == "Label bias"].iloc[0]["evidence"]
    assert sentiment["u1"].id not in flags.index


def test_filters_narrow_by_date_label_and_control(make_uow, sentiment) -> None:
    day1 = analytics(make_uow, sentiment, filters=AnalyticsFilters(since=(DAY + dt.timedelta(days=1)).date()))
    counts = day1.annotators.set_index("user_id")["annotations"]
    assert (counts[sentiment["u1"].id], counts[sentiment["u2"].id], counts[sentiment["u3"].id]) == (3, 6, 0)
    neutral = analytics(make_uow, sentiment, filters=AnalyticsFilters(label="Neutral"))  # tasks 5 and 6
    counts = neutral.annotators.set_index("user_id")["annotations"]
    assert (counts[sentiment["u1"].id], counts[sentiment["u2"].id], neutral.n_annotations) == (2, 2, 4)
    assert stats_payload(neutral)["filters"] == {"label": "Neutral"}
    with pytest.raises(QuorumError, match="control 'nope'"):
        analytics(make_uow, sentiment, filters=AnalyticsFilters(control="nope"))


def test_weekly_trend_and_the_cli_payload_have_no_nan(make_uow, sentiment) -> None:
    data = analytics(make_uow, sentiment)
    week = data.weekly.set_index("user_id").loc[sentiment["u1"].id]
    assert (week["annotations"], week["lead_median_s"], week["accuracy"], week["n_gold"]) == (6, 35.0, 1.0, 2)
    payload = stats_payload(data)
    u2 = next(a for a in payload["annotators"] if a["annotator"] == "u2")
    assert u2["tasks"] == 6 and u2["accuracy"] == 0.5 and u2["median_active_time_s"] is None
    assert all(v is None or v == v for a in payload["annotators"] for v in a.values() if isinstance(v, float))


def test_across_projects_combines_shares_over_what_they_count(make_uow, sentiment) -> None:
    data = analytics(make_uow, sentiment)
    other = data.annotators.copy()
    u2 = other["user_id"] == sentiment["u2"].id
    other.loc[u2, ["accuracy", "gold_tasks", "annotations"]] = [1.0, 6, 10]
    combined = across_projects([data, dataclasses.replace(data, annotators=other)]).set_index("user_id")
    row = combined.loc[sentiment["u2"].id]
    assert row["projects"] == 2 and row["annotations"] == 16 and row["gold_tasks"] == 8
    assert row["accuracy"] == pytest.approx((0.5 * 2 + 1.0 * 6) / 8)


def test_accuracy_on_boxes_is_graded_not_all_or_nothing(make_uow) -> None:
    """A box a little off the gold is not a miss: the accuracy of regions is the mean agreement with the gold
    (here every gold box matched by a box of the right label: high, not 0 %)."""
    from core.analytics import project_analytics as analytics_of
    from tests.core.helpers import make_project, make_user
    from tests.core.test_analytics import BOX_CONFIG, add_task, annotate, box
    from storage.models import GroundTruth

    admin = make_user(make_uow, "admin", admin=True)
    close, wrong = make_user(make_uow, "close"), make_user(make_uow, "wrong")
    project = make_project(make_uow, admin, title="Cars", config=BOX_CONFIG, members={"annotator": [close, wrong]})
    with make_uow() as uow:
        t = add_task(uow, project.id, honeypot=True)
        uow.session.add(GroundTruth(task_id=t, result=[box(0, 0, 10, 10)], source="import"))
        annotate(uow, t, project.id, close, [box(0.5, 0, 10, 10)])  # IoU about 0.9
        annotate(uow, t, project.id, wrong, [box(60, 60, 10, 10)])  # nowhere near
        uow.commit()
    with make_uow() as uow:
        data = analytics_of(uow, admin, project_id=project.id)
    assert 0.8 < row_of(data.annotators, close)["accuracy"] <= 1.0
    assert row_of(data.annotators, wrong)["accuracy"] == 0.0
