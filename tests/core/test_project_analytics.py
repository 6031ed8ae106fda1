"""The project overview (core.project_analytics) on a small hand-built project whose figures are counted by
hand, on SQLite and PostgreSQL: progress and burn-down with the estimate, the agreement distribution,
per-label agreement, predictions against humans, the review backlog, and who may read it."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest

from core.errors import NotFoundError, PermissionDeniedError
from core.project_analytics import burn_down, estimate, label_agreement_from_frames, pace, project_overview
from core.quality import project_config
from core.review_stats import review_stats
from core.uow import UowFactory
from core.users import UserInfo
from storage.models import Annotation, Consensus, GroundTruth, Prediction, Review, Task
from tests.core.helpers import make_project, make_user

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="Price"/><Choice value="Staff"/><Choice value="Food"/>
  </Choices>
</View>"""
DAY0 = dt.datetime(2026, 11, 2, 9, 0)
TODAY = (DAY0 + dt.timedelta(days=5)).date()


def on(day: int, hour: int = 9) -> dt.datetime:
    return DAY0 + dt.timedelta(days=day, hours=hour - 9)


def sentiment(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def topics(*labels: str) -> list[dict[str, Any]]:
    return [{"from_name": "topics", "to_name": "text", "type": "choices", "value": {"choices": list(labels)}}]


@pytest.fixture
def project(make_uow: UowFactory) -> dict[str, Any]:
    """Seven tasks (see each line); the annotations of u1, u2, u3; a skip and an imported gold annotation
    that count nowhere; two model versions; a consensus per finished task; one reviewed task, one waiting."""
    admin = make_user(make_uow, "admin", admin=True)
    boss, u1, u2, u3, outsider = (make_user(make_uow, n) for n in ("boss", "u1", "u2", "u3", "outsider"))
    info = make_project(make_uow, admin, config=CONFIG, overlap=3,
                        members={"manager": [boss], "annotator": [u1, u2, u3]})
    with make_uow() as uow:
        s = uow.session

        def task(state: str, changed: int, created: int = 0) -> int:
            row = Task(project_id=info.id, data={"text": "t"}, overlap=3, state=state, created_at=on(created),
                       updated_at=on(changed))
            s.add(row)
            s.flush()
            return row.id

        t1 = task("done", 1)  # u1 P, u2 P, u3 P; topics u1 {Price, Staff}, u2 {Price}, u3 {Staff, Food}
        t2 = task("done", 1)  # u1 P, u2 N, u3 P
        t3 = task("completed", 3)  # u1 N, u2 N; imported gold Neutral (+ the gold annotation, not counted)
        t4 = task("review", 3)  # u1 Neutral, u2 P; u3 skipped
        t5 = task("open", 0)  # u1 Neutral alone
        t6 = task("open", 2, created=2)  # nothing yet, created two days later
        t7 = task("done", 3)  # u1 P alone (a single annotation: consensus without agreement)

        def prediction(t: int, version: str, label: str) -> int:
            row = Prediction(task_id=t, model_version=version, result=sentiment(label), score=0.9)
            s.add(row)
            s.flush()
            return row.id

        m1 = {t1: prediction(t1, "m1", "Positive"), t2: prediction(t2, "m1", "Negative"),
              t3: prediction(t3, "m1", "Negative")}
        m2_t1 = prediction(t1, "m2", "Neutral")

        def annotate(t: int, user: UserInfo, result: list[dict[str, Any]], *, pred: int | None = None,
                     changed: bool | None = None, skipped: bool = False, gold: bool = False) -> None:
            s.add(Annotation(task_id=t, project_id=info.id, completed_by_id=user.id, result=result,
                             was_cancelled=skipped, ground_truth=gold, prediction_id=pred, prediction_changed=changed,
                             created_at=on(1)))

        annotate(t1, u1, sentiment("Positive") + topics("Price", "Staff"), pred=m1[t1], changed=False)
        annotate(t1, u2, sentiment("Positive") + topics("Price"))
        annotate(t1, u3, sentiment("Positive") + topics("Staff", "Food"), pred=m2_t1, changed=True)
        annotate(t2, u1, sentiment("Positive"), pred=m1[t2], changed=True)
        annotate(t2, u2, sentiment("Negative"), pred=m1[t2], changed=False)
        annotate(t2, u3, sentiment("Positive"))
        annotate(t3, u1, sentiment("Negative"))
        annotate(t3, u2, sentiment("Negative"))
        annotate(t3, admin, sentiment("Neutral"), gold=True)  # imported gold: the yardstick, not an answer
        annotate(t4, u1, sentiment("Neutral"))
        annotate(t4, u2, sentiment("Positive"))
        annotate(t4, u3, [], skipped=True, pred=m1[t1], changed=False)  # a skip counts nowhere
        annotate(t5, u1, sentiment("Neutral"))
        annotate(t7, u1, sentiment("Positive"))

        for t, result, agreement, n in ((t1, sentiment("Positive"), 1.0, 3), (t2, sentiment("Positive"), 1 / 3, 3),
                                        (t3, sentiment("Negative"), 0.8, 2), (t4, [], 0.0, 2),
                                        (t7, sentiment("Positive"), None, 1)):
            s.add(Consensus(task_id=t, result=result, method="majority_vote", agreement=agreement, n_annotations=n,
                            updated_at=s.get(Task, t).updated_at))
        s.add(GroundTruth(task_id=t1, result=sentiment("Positive"), source="review", created_by_id=boss.id))
        s.add(GroundTruth(task_id=t3, result=sentiment("Neutral"), source="import"))
        s.add(Review(task_id=t1, reviewer_id=boss.id, verdict="consensus", fixed_result=sentiment("Positive"),
                     created_at=on(1, 10)))
        uow.commit()
    return {"project": info, "boss": boss, "u1": u1, "u2": u2, "u3": u3, "outsider": outsider, "admin": admin,
            "tasks": [t1, t2, t3, t4, t5, t6, t7]}


def overview_of(make_uow: UowFactory, project: dict[str, Any], **kwargs: Any) -> Any:
    with make_uow() as uow:
        return project_overview(uow, project["boss"], project_id=project["project"].id, today=TODAY, **kwargs)


def test_progress_counts_each_state_and_the_burn_down_runs_to_today(make_uow: UowFactory, project) -> None:
    view = overview_of(make_uow, project)
    assert (view.n_tasks, view.n_finished, view.n_in_review, view.n_open, view.n_remaining) == (7, 4, 1, 2, 3)
    frame = view.burn_down
    assert frame["day"].dt.date.tolist() == [(DAY0 + dt.timedelta(days=d)).date() for d in range(6)]
    assert frame["created"].tolist() == [6, 0, 1, 0, 0, 0]
    assert frame["finished"].tolist() == [0, 2, 0, 2, 0, 0]  # t1, t2 on day 1; t3, t7 on day 3
    assert frame["remaining"].tolist() == [6, 4, 5, 3, 3, 3]
    assert frame["remaining"].iloc[-1] == view.n_remaining


def test_pace_over_the_active_days_gives_the_estimated_finish(make_uow: UowFactory, project) -> None:
    view = overview_of(make_uow, project)
    assert (view.pace_per_day, view.pace_days) == (2.0, 2)  # 4 tasks over the 2 days on which tasks finished
    assert view.estimated_finish == TODAY + dt.timedelta(days=2)  # 3 remaining / 2 a day, rounded up
    assert "2.0 finished tasks a day" in view.estimate_note and "2 days" in view.estimate_note


def test_pace_uses_the_last_seven_active_days_only() -> None:
    finished = [(f"2026-11-{d:02d}", n) for d, n in ((1, 100), (2, 1), (4, 2), (5, 3), (6, 0), (7, 4), (9, 5),
                                                      (10, 6), (11, 7), (20, 50))]
    # active days up to the 12th: 1, 2, 4, 5, 7, 9, 10, 11 -> the last seven: 2 .. 11 (the 6th had none)
    assert pace(finished, dt.date(2026, 11, 12)) == (pytest.approx(28 / 7), 7)
    assert pace(finished[:3], dt.date(2026, 11, 12)) == (pytest.approx(103 / 3), 3)  # a younger project
    assert pace([], dt.date(2026, 11, 12)) == (None, 0)


def test_no_estimate_without_tasks_work_left_or_a_pace() -> None:
    today = dt.date(2026, 11, 12)
    assert estimate(0, 0, None, 0, today) == (None, "The project has no tasks yet.")
    assert estimate(5, 0, 2.0, 1, today) == (None, "Every task is finished.")
    finish, note = estimate(5, 5, None, 0, today)
    assert finish is None and "no pace" in note
    assert estimate(10, 7, 2.5, 3, today)[0] == today + dt.timedelta(days=3)
    assert burn_down([], [], today).empty


def test_agreement_distribution_bins_and_tasks_below_the_threshold(make_uow: UowFactory, project) -> None:
    view = overview_of(make_uow, project)
    bins = view.agreement_bins
    assert bins["bin_start"].tolist() == pytest.approx([k / 10 for k in range(10)])
    # agreements 1.0 (t1), 1/3 (t2), 0.8 (t3: on the threshold, not below it), 0.0 (t4); t7 has none
    assert bins["tasks"].tolist() == [1, 0, 0, 1, 0, 0, 0, 0, 1, 1]
    assert (view.n_scored, view.n_below_threshold, view.n_unscored) == (4, 2, 1)
    assert view.agreement_threshold == pytest.approx(0.8)


def test_per_label_agreement_is_the_specific_agreement_of_each_choice_control(make_uow: UowFactory, project) -> None:
    view = overview_of(make_uow, project)
    table = view.label_agreement.set_index(["control", "label"])
    # sentiment per task: t1 PPP, t2 PNP, t3 NN, t4 (Neutral, P), t5 Neutral alone, t7 P alone (skip, gold out)
    assert table.loc[("sentiment", "Positive"), "agreement"] == pytest.approx(8 / 11)  # (6 + 2) / (6 + 4 + 1 + 0)
    assert table.loc[("sentiment", "Negative"), "agreement"] == pytest.approx(2 / 4)
    assert table.loc[("sentiment", "Neutral"), "agreement"] == pytest.approx(0.0)
    assert table.loc[("sentiment", "Positive"), ["n_tasks", "n_chosen"]].tolist() == [3, 6]
    # topics on t1 only (three answers): Price by two, Staff by two, Food by one
    assert table.loc[("topics", "Price"), "agreement"] == pytest.approx(2 / 4)
    assert table.loc[("topics", "Staff"), "agreement"] == pytest.approx(2 / 4)
    assert table.loc[("topics", "Food"), "agreement"] == pytest.approx(0.0)
    # labels in the config's order within each control
    assert view.label_agreement["label"].tolist() == ["Positive", "Negative", "Neutral", "Price", "Staff", "Food"]


def test_label_frames_of_core_analytics_give_the_same_per_label_agreement(make_uow: UowFactory, project) -> None:
    u1, u2, u3 = (project[k].id for k in ("u1", "u2", "u3"))
    t1, t2, t3, t4, t5, _, t7 = project["tasks"]
    answers = [(t1, u1, "Positive"), (t1, u2, "Positive"), (t1, u3, "Positive"), (t2, u1, "Positive"),
               (t2, u2, "Negative"), (t2, u3, "Positive"), (t3, u1, "Negative"), (t3, u2, "Negative"),
               (t4, u1, "Neutral"), (t4, u2, "Positive"), (t5, u1, "Neutral"), (t7, u1, "Positive")]
    frames = {"sentiment": pd.DataFrame(answers, columns=["task", "annotator", "label"]),
              "topics": pd.DataFrame([(t1, u1, json.dumps(["Price", "Staff"])), (t1, u2, json.dumps(["Price"])),
                                      (t1, u3, json.dumps(["Food", "Staff"]))], columns=["task", "annotator", "label"])}
    from_db = overview_of(make_uow, project).label_agreement
    pd.testing.assert_frame_equal(label_agreement_from_frames(project_config(CONFIG), frames), from_db)


def test_predictions_per_model_version_against_gold_consensus_and_annotators(make_uow: UowFactory, project) -> None:
    table = overview_of(make_uow, project).predictions.set_index("model_version")
    m1, m2 = table.loc["m1"], table.loc["m2"]
    assert (m1["n_tasks"], m1["n_predictions"], m2["n_tasks"]) == (3, 3, 1)
    # gold: t1 Positive (m1 right, m2 wrong), t3 Neutral (m1 said Negative)
    assert (m1["n_gold"], m1["accuracy"]) == (2, pytest.approx(0.5))
    assert (m2["n_gold"], m2["accuracy"]) == (1, pytest.approx(0.0))
    # consensus: t1 P (right), t2 P (m1 said N), t3 N (right); t4's empty consensus answers nothing
    assert (m1["n_consensus"], m1["agreement_with_consensus"]) == (3, pytest.approx(2 / 3))
    assert (m2["n_consensus"], m2["agreement_with_consensus"]) == (1, pytest.approx(0.0))
    # pre-labels: m1 shown on three submitted annotations, two kept unchanged (the skip does not count)
    assert (m1["n_prelabeled"], m1["n_unchanged"], m1["accepted_unchanged"]) == (3, 2, pytest.approx(2 / 3))
    assert (m2["n_prelabeled"], m2["n_unchanged"], m2["accepted_unchanged"]) == (1, 0, 0.0)


def test_review_backlog_is_review_stats_backlog(make_uow: UowFactory, project) -> None:
    view = overview_of(make_uow, project)
    with make_uow() as uow:
        stats = review_stats(uow, project["boss"], project_id=project["project"].id)
    pd.testing.assert_frame_equal(view.review_backlog, stats.backlog)
    assert view.n_waiting_review == stats.n_waiting == 1
    assert view.review_backlog["backlog"].tolist() == [0, 0, 1]  # t1 in and out on day 1; t4 in on day 3


def test_an_annotator_or_an_outsider_cannot_read_the_overview(make_uow: UowFactory, project) -> None:
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            project_overview(uow, project["u1"], project_id=project["project"].id)
        with pytest.raises(NotFoundError):
            project_overview(uow, project["outsider"], project_id=project["project"].id)
        assert project_overview(uow, project["admin"], project_id=project["project"].id).n_tasks == 7


def test_an_empty_project_has_empty_figures(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    info = make_project(make_uow, admin, config=CONFIG)
    with make_uow() as uow:
        view = project_overview(uow, admin, project_id=info.id, today=TODAY)
    assert view.n_tasks == 0 and view.burn_down.empty and view.estimated_finish is None
    assert view.agreement_bins["tasks"].sum() == 0 and view.n_scored == 0
    assert view.label_agreement.empty and view.predictions.empty and view.review_backlog.empty
    assert view.pace_per_day is None and view.pace_days == 0


def test_given_label_frames_are_used_instead_of_reading_the_answers(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    info = make_project(make_uow, admin)  # one single-choice control: core.analytics' frames cover it
    frames = {"sentiment": pd.DataFrame({"task": [1, 1, 2, 2], "annotator": [7, 8, 7, 8],
                                         "label": ["Positive", "Positive", "Positive", "Negative"]})}
    with make_uow() as uow:
        view = project_overview(uow, admin, project_id=info.id, today=TODAY, label_frames=frames)
    table = view.label_agreement.set_index("label")
    assert table.loc["Positive", "agreement"] == pytest.approx(2 / 3)  # PA = 2a / (2a + b + c) = 2 / 3
    assert table.loc["Negative", "agreement"] == pytest.approx(0.0)
