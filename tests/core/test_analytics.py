"""Annotator analytics (core.analytics) on a small seeded project whose numbers are known by hand, on SQLite
and PostgreSQL; and the two "act on it" actions with their permission checks and audit events."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import func, select, update

from core.analytics import pair_matrix, project_analytics, remove_annotator, send_annotations_to_review
from core.errors import NotFoundError, PermissionDeniedError
from core.uow import UowFactory
from core.users import UserInfo
from storage.models import (
    LOCK_HONEYPOT,
    LOCK_TASK,
    Annotation,
    AuditEvent,
    GroundTruth,
    Membership,
    SelfCheck,
    Task,
    TaskLock,
)
from tests.core.helpers import make_project, make_user

BOX_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
</View>"""
SPAN_TEXT_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
  <TextArea name="summary" toName="text"/>
</View>"""
DAY = dt.datetime(2026, 11, 2, 9, 0)
U1 = ["Positive", "Positive", "Negative", "Negative", "Neutral", "Positive"]
U2 = ["Positive", "Negative", "Negative", "Negative", "Neutral", "Neutral"]


def choice(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def box(x: float, y: float, w: float, h: float, label: str = "Car") -> dict[str, Any]:
    return {"from_name": "box", "to_name": "image", "type": "rectanglelabels",
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}


def add_task(uow: Any, project_id: int, *, honeypot: bool = False, state: str = "done") -> int:
    task = Task(project_id=project_id, data={"text": "t", "image": "/x.png"}, overlap=3, state=state,
                is_ground_truth=honeypot)
    uow.session.add(task)
    uow.session.flush()
    return task.id


def annotate(uow: Any, task_id: int, project_id: int, user: UserInfo, result: list[dict[str, Any]], *,
             lead: float | None = None, active: float | None = None, skipped: bool = False, day: int = 0) -> int:
    row = Annotation(task_id=task_id, project_id=project_id, completed_by_id=user.id, result=result,
                     was_cancelled=skipped, lead_time_s=lead, active_time_s=active,
                     created_at=DAY + dt.timedelta(days=day))
    uow.session.add(row)
    uow.session.flush()
    return row.id


@pytest.fixture
def sentiment(make_uow: UowFactory) -> dict[str, Any]:
    """Six tasks labeled by u1 and u2, two of them by u3 as well (who skipped a third); gold on tasks 1 and 2
    (task 2 a honeypot); two answered self-checks of u1 and one unanswered."""
    admin = make_user(make_uow, "admin", admin=True)
    manager, u1, u2, u3, outsider = (make_user(make_uow, n) for n in ("boss", "u1", "u2", "u3", "outsider"))
    project = make_project(make_uow, admin, members={"manager": [manager], "annotator": [u1, u2, u3]})
    with make_uow() as uow:
        tasks = [add_task(uow, project.id, honeypot=i == 1, state="open" if i == 5 else "done") for i in range(6)]
        first_of_u1 = {}
        for i, t in enumerate(tasks):
            first_of_u1[i] = annotate(uow, t, project.id, u1, choice(U1[i]), lead=10.0 * (i + 1), active=i + 1.0,
                                      day=i % 2)
            annotate(uow, t, project.id, u2, choice(U2[i]), lead=100.0 if i == 5 else 5.0, day=1)
        annotate(uow, tasks[0], project.id, u3, choice("Positive"), lead=8.0)
        annotate(uow, tasks[1], project.id, u3, choice("Positive"), lead=9.0)
        annotate(uow, tasks[2], project.id, u3, [], skipped=True)
        for t in tasks[:2]:
            uow.session.add(GroundTruth(task_id=t, result=choice("Positive"), source="import"))
        for i, answer in ((0, "Positive"), (1, "Negative")):
            uow.session.add(SelfCheck(project_id=project.id, task_id=tasks[i], user_id=u1.id,
                                      annotation_id=first_of_u1[i], due_after=3, result=choice(answer)))
        uow.session.add(SelfCheck(project_id=project.id, task_id=tasks[2], user_id=u1.id,
                                  annotation_id=first_of_u1[2], due_after=9, result=None))
        uow.commit()
    return {"project": project, "manager": manager, "u1": u1, "u2": u2, "u3": u3, "tasks": tasks,
            "outsider": outsider, "admin": admin}


def row_of(frame: Any, user: UserInfo) -> Any:
    return frame.set_index("user_id").loc[user.id]


def test_counts_skips_and_speed_per_annotator_match_the_hand_computed_values(make_uow: UowFactory, sentiment) -> None:
    with make_uow() as uow:
        data = project_analytics(uow, sentiment["manager"], project_id=sentiment["project"].id)
    u1, u2, u3 = (row_of(data.annotators, sentiment[k]) for k in ("u1", "u2", "u3"))
    assert (u1["annotations"], u1["skips"], u3["annotations"], u3["skips"]) == (6, 0, 2, 1)
    assert u3["skip_rate"] == pytest.approx(1 / 3)
    assert u1["lead_median_s"] == pytest.approx(35.0)  # 10..60
    assert u1["lead_p90_s"] == pytest.approx(55.0)  # linear interpolation between 50 and 60
    assert u2["lead_median_s"] == pytest.approx(5.0)
    assert u2["lead_p90_s"] == pytest.approx(52.5)  # 5 + 0.5 * (100 - 5)
    assert u1["active_median_s"] == pytest.approx(3.5)
    assert np.isnan(u2["active_median_s"])  # nobody measured u2's active time
    assert data.n_annotations == 14
    per_day = data.per_day.set_index(["user_id", "day"])["annotations"]
    midnight = DAY.replace(hour=0)
    assert per_day.loc[(sentiment["u1"].id, midnight)] == 3
    assert per_day.loc[(sentiment["u2"].id, midnight + dt.timedelta(days=1))] == 6
    boxes = data.lead_times.set_index("user_id")  # the chart's statistics, not 14 raw values
    assert boxes.loc[sentiment["u1"].id, ["n", "lower_fence", "q1", "median", "q3", "upper_fence"]].tolist() == \
        pytest.approx([6, 10.0, 22.5, 35.0, 47.5, 60.0])  # 10..60: no value beyond 1.5 IQR
    assert boxes.loc[sentiment["u2"].id, ["n", "q1", "median", "q3", "upper_fence", "mean"]].tolist() == \
        pytest.approx([6, 5.0, 5.0, 5.0, 5.0, 125 / 6])  # the 100 s one is an outlier: the whisker stops at 5
    assert boxes["n"].sum() == 14


def test_agreement_kappa_and_coefficients_match_hand_and_sklearn_values(make_uow: UowFactory, sentiment) -> None:
    with make_uow() as uow:
        data = project_analytics(uow, sentiment["manager"], project_id=sentiment["project"].id)
    u1, u2, u3 = (sentiment[k] for k in ("u1", "u2", "u3"))
    # u1-u2 agree on 4 of 6 tasks, u1-u3 on 2 of 2, u2-u3 on 1 of 2; each annotator's mean over their pairs.
    assert row_of(data.annotators, u1)["agreement"] == pytest.approx(6 / 8)
    assert row_of(data.annotators, u2)["agreement"] == pytest.approx(5 / 8)
    assert row_of(data.annotators, u3)["agreement"] == pytest.approx(3 / 4)
    pairs = data.pairs.set_index(["user_a", "user_b"])
    assert pairs.loc[(u1.id, u2.id), "agreement"] == pytest.approx(4 / 6)
    assert pairs.loc[(u1.id, u2.id), "n_tasks"] == 6
    kappa = data.kappa["sentiment"].set_index(["user_a", "user_b"])
    assert kappa.loc[(u1.id, u2.id), "kappa"] == pytest.approx(cohen_kappa_score(U1, U2), abs=1e-12)
    coefficients = data.coefficients.set_index("control").loc["sentiment"]
    assert coefficients["level"] == "nominal" and coefficients["n_items"] == 6 and coefficients["n_annotators"] == 3
    # Per task, the share of agreeing pairs: 1, 1/3 (P, N, P), 1, 1, 1, 0.
    assert coefficients["percent_agreement"] == pytest.approx((4 + 1 / 3) / 6)
    assert -1 <= coefficients["fleiss_kappa"] <= 1 and -1 <= coefficients["gwet_ac1"] <= 1
    ds = data.annotators.set_index("user_id")["ds_accuracy"]
    assert ds.notna().sum() == 3 and ((ds.dropna() >= 0) & (ds.dropna() <= 1)).all()
    matrix = pair_matrix(data.pairs, "agreement")
    assert matrix.loc[u1.label, u2.label] == matrix.loc[u2.label, u1.label] == pytest.approx(4 / 6)
    assert np.isnan(matrix.loc[u1.label, u1.label])


def test_accuracy_against_gold_and_self_consistency(make_uow: UowFactory, sentiment) -> None:
    with make_uow() as uow:
        data = project_analytics(uow, sentiment["manager"], project_id=sentiment["project"].id)
    accuracy = data.accuracy.set_index("user_id")
    assert accuracy.loc[sentiment["u1"].id, "accuracy"] == 1.0
    assert accuracy.loc[sentiment["u2"].id, "accuracy"] == 0.5  # task 2: Negative, gold Positive
    assert accuracy.loc[sentiment["u3"].id, "n_gold"] == 2
    assert (data.n_gold_tasks, data.n_honeypots) == (2, 1)
    u1 = row_of(data.annotators, sentiment["u1"])
    assert (u1["self_checks"], u1["self_consistency"]) == (2, 0.5)  # the unanswered repeat is left out
    assert row_of(data.annotators, sentiment["u2"])["self_checks"] == 0


def test_box_precision_recall_and_mean_iou_against_gold(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    u1, u2 = make_user(make_uow, "u1"), make_user(make_uow, "u2")
    project = make_project(make_uow, admin, title="Cars", config=BOX_CONFIG, members={"annotator": [u1, u2]})
    with make_uow() as uow:
        t = add_task(uow, project.id, honeypot=True)
        uow.session.add(GroundTruth(task_id=t, result=[box(0, 0, 10, 10), box(50, 50, 10, 10)], source="import"))
        # u1: one box at IoU 0.5 with gold, one far away; u2: one exact box, one of the wrong label.
        annotate(uow, t, project.id, u1, [box(0, 0, 10, 20), box(80, 80, 5, 5)])
        annotate(uow, t, project.id, u2, [box(0, 0, 10, 10), box(50, 50, 10, 10, "Person")])
        uow.commit()
    with make_uow() as uow:
        data = project_analytics(uow, admin, project_id=project.id)
    accuracy = data.accuracy.set_index("user_id")
    assert tuple(accuracy.loc[u1.id, ["precision", "recall", "mean_iou"]]) == (0.5, 0.5, 0.5)
    assert tuple(accuracy.loc[u2.id, ["precision", "recall", "mean_iou"]]) == (0.5, 0.5, 1.0)
    assert data.coefficients.empty and data.kappa == {}


def test_span_f1_and_one_minus_cer_against_gold(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    u1 = make_user(make_uow, "u1")
    project = make_project(make_uow, admin, title="Notes", config=SPAN_TEXT_CONFIG, members={"annotator": [u1]})

    def answer(end: int, text: str) -> list[dict[str, Any]]:
        return [{"from_name": "ner", "to_name": "text", "type": "labels", "value": {"start": 0, "end": end, "labels": ["PER"]}},
                {"from_name": "summary", "to_name": "text", "type": "textarea", "value": {"text": [text]}}]

    with make_uow() as uow:
        t = add_task(uow, project.id)
        uow.session.add(GroundTruth(task_id=t, result=answer(10, "abcd"), source="review"))
        annotate(uow, t, project.id, u1, answer(5, "abce"))
        uow.commit()
    with make_uow() as uow:
        data = project_analytics(uow, admin, project_id=project.id)
    accuracy = data.accuracy.set_index("control")
    assert accuracy.loc["ner", "f1"] == pytest.approx(2 * 5 / 15)
    assert accuracy.loc["summary", "char_accuracy"] == pytest.approx(0.75)  # one edit in four characters


def test_only_managers_and_admins_see_analytics(make_uow: UowFactory, sentiment) -> None:
    project_id = sentiment["project"].id
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError, match="see quality analytics"):
            project_analytics(uow, sentiment["u1"], project_id=project_id)
        with pytest.raises(NotFoundError):
            project_analytics(uow, sentiment["outsider"], project_id=project_id)
        assert project_analytics(uow, sentiment["admin"], project_id=project_id).n_annotations == 14


def test_removing_an_annotator_drops_the_role_releases_their_locks_here_and_is_audited(
    make_uow: UowFactory, sentiment
) -> None:
    project_id, u3, tasks = sentiment["project"].id, sentiment["u3"], sentiment["tasks"]
    with make_uow() as uow:
        open_task = uow.session.get(Task, tasks[5])
        open_task.n_locked = 1
        uow.session.add(TaskLock(project_id=project_id, task_id=tasks[5], user_id=u3.id, kind=LOCK_TASK,
                                 expires_at=DAY + dt.timedelta(days=400)))
        uow.session.add(TaskLock(project_id=project_id, task_id=tasks[1], user_id=u3.id, kind=LOCK_HONEYPOT,
                                 expires_at=DAY + dt.timedelta(days=400)))
        uow.commit()
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            remove_annotator(uow, sentiment["u1"], project_id=project_id, user_id=u3.id)
    with make_uow() as uow:
        removed = remove_annotator(uow, sentiment["manager"], project_id=project_id, user_id=u3.id)
        uow.commit()
    assert removed.locks_released == 2
    with make_uow() as uow:
        session = uow.session
        assert session.scalar(select(func.count()).select_from(Membership).where(
            Membership.project_id == project_id, Membership.user_id == u3.id)) == 0
        assert session.scalar(select(func.count()).select_from(TaskLock).where(TaskLock.user_id == u3.id)) == 0
        assert session.get(Task, tasks[5]).n_locked == 0 and session.get(Task, tasks[1]).n_locked == 0
        event = session.scalars(select(AuditEvent)).one()
        assert (event.action, event.actor_id, event.detail["user_id"]) == (
            "annotator.removed_from_project", sentiment["manager"].id, u3.id)
        data = project_analytics(uow, sentiment["manager"], project_id=project_id)
        assert not row_of(data.annotators, u3)["is_annotator"]  # still listed: their annotations stay
    with make_uow() as uow, pytest.raises(NotFoundError, match="not an annotator"):
        remove_annotator(uow, sentiment["manager"], project_id=project_id, user_id=u3.id)


def test_sending_an_annotators_work_to_review_moves_their_finished_tasks(make_uow: UowFactory, sentiment) -> None:
    project_id, u3 = sentiment["project"].id, sentiment["u3"]
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            send_annotations_to_review(uow, u3, project_id=project_id, user_id=u3.id)
    with make_uow() as uow:
        sent = send_annotations_to_review(uow, sentiment["manager"], project_id=project_id, user_id=sentiment["u2"].id)
        uow.commit()
    assert (sent.n_sent, sent.n_already, sent.n_still_labeling) == (5, 0, 1)
    with make_uow() as uow:
        states = dict(uow.session.execute(select(Task.state, func.count()).group_by(Task.state)).all())
        assert states == {"review": 5, "open": 1}
        event = uow.session.scalars(select(AuditEvent)).one()
        assert (event.action, event.detail["tasks"]) == ("annotator.sent_to_review", 5)
    with make_uow() as uow:  # u3 skipped task 3 and annotated 1-2, which wait for review now
        again = send_annotations_to_review(uow, sentiment["manager"], project_id=project_id, user_id=u3.id)
    assert (again.n_sent, again.n_already) == (0, 2)


def test_a_project_nobody_labeled_yet_lists_its_annotators_with_empty_statistics(make_uow: UowFactory) -> None:
    admin = make_user(make_uow, "admin", admin=True)
    newcomer = make_user(make_uow, "newcomer")
    project = make_project(make_uow, admin, title="Empty", members={"annotator": [newcomer]})
    with make_uow() as uow:
        data = project_analytics(uow, admin, project_id=project.id)
    assert list(data.annotators["user_id"]) == [newcomer.id]
    assert data.annotators["annotations"].tolist() == [0] and np.isnan(data.annotators["agreement"].iloc[0])
    assert data.pairs.empty and data.accuracy.empty and data.per_day.empty and data.coefficients.empty


def test_an_answer_made_the_ground_truth_still_counts_while_imported_gold_does_not(
    make_uow: UowFactory, sentiment
) -> None:
    """Label Studio's ``ground_truth`` flag marks both imported gold and an annotator's answer a manager chose
    as the truth; only the first is a yardstick left out of the statistics."""
    project_id, u2 = sentiment["project"].id, sentiment["u2"]
    with make_uow() as uow:
        chosen = uow.session.scalar(select(Annotation.id).where(Annotation.task_id == sentiment["tasks"][3],
                                                                Annotation.completed_by_id == u2.id))
        uow.session.execute(update(Annotation).where(Annotation.id == chosen).values(ground_truth=True))
        uow.session.add(GroundTruth(task_id=sentiment["tasks"][3], result=choice(U2[3]), source="manager"))
        gold_task = add_task(uow, project_id)
        annotate(uow, gold_task, project_id, sentiment["admin"], choice("Negative"))
        uow.session.execute(update(Annotation).where(Annotation.task_id == gold_task).values(ground_truth=True))
        uow.session.add(GroundTruth(task_id=gold_task, result=choice("Negative"), source="import"))
        uow.commit()
    with make_uow() as uow:
        data = project_analytics(uow, sentiment["manager"], project_id=project_id)
    assert row_of(data.annotators, u2)["annotations"] == 6  # the answer made the truth is still u2's work
    assert data.n_annotations == 14  # the imported gold annotation is not counted
