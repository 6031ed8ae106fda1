"""A manager's actions on one annotator (core.annotator_actions), on SQLite and PostgreSQL: pause and resume
(the hand-out), discard a date range and requeue, the consensus weight; each only for managers, each audited."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from core.annotator_actions import (
    AnnotatorPausedError,
    consensus_weights,
    discard_annotations,
    discard_preview,
    pause_annotator,
    paused_annotators,
    rescore_annotator_tasks,
    resume_annotator,
    set_consensus_weight,
)
from core.errors import ConflictError, NotFoundError, PermissionDeniedError, QuorumError
from core.labeling import next_task, skip_task, submit_annotation
from core.projects import ProjectSettings, add_member, create_project
from core.review import accept_annotation
from core.uow import UowFactory
from core.users import UserInfo
from storage.models import Annotation, AuditEvent, Consensus, GroundTruth, Membership, Project, Task
from tests.core.helpers import TEXT_CONFIG, import_json, make_user

DAY = dt.datetime(2026, 11, 2, 9, 0)


def choice(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


@pytest.fixture
def team(make_uow: UowFactory) -> dict[str, Any]:
    """A project of overlap 2 with four tasks, annotators a, b, c, a reviewer and a manager."""
    admin = make_user(make_uow, "admin", admin=True)
    people = {name: make_user(make_uow, name if len(name) > 1 else f"ann_{name}")
              for name in ("manager", "rev", "a", "b", "c")}
    with make_uow() as uow:
        project = create_project(uow, admin, title="Reviews", config_xml=TEXT_CONFIG,
                                 settings=ProjectSettings(overlap=2, maximum_annotations=2))
        add_member(uow, admin, project_id=project.id, user_id=people["manager"].id, role="manager")
        add_member(uow, admin, project_id=project.id, user_id=people["rev"].id, role="reviewer")
        for name in ("a", "b", "c"):
            add_member(uow, admin, project_id=project.id, user_id=people[name].id, role="annotator")
        uow.commit()
    import_json(make_uow, admin, project.id, [{"text": f"review {i}"} for i in range(4)])
    return {"project": project, "admin": admin, **people}


def take(make_uow: UowFactory, user: UserInfo, project_id: int, *, now: dt.datetime = DAY) -> int:
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id, now=now)
        uow.commit()
    assert task is not None, f"{user.username} got no task"
    return task.task_id


def submit(make_uow: UowFactory, user: UserInfo, task_id: int, label: str, *, now: dt.datetime = DAY) -> None:
    with make_uow() as uow:
        submit_annotation(uow, user, task_id=task_id, result=choice(label), now=now)
        uow.commit()


def label(make_uow: UowFactory, user: UserInfo, project_id: int, answer: str, *, now: dt.datetime = DAY) -> int:
    task_id = take(make_uow, user, project_id, now=now)
    submit(make_uow, user, task_id, answer, now=now)
    return task_id


def task_of(make_uow: UowFactory, task_id: int) -> tuple[str, int, int]:
    with make_uow() as uow:
        task = uow.session.get(Task, task_id)
        return task.state, task.n_annotations, task.overlap


def audit(make_uow: UowFactory, action: str) -> list[AuditEvent]:
    with make_uow() as uow:
        events = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        for event in events:
            uow.session.expunge(event)
    return events


# --- permissions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["a", "rev"])
def test_an_annotator_or_a_reviewer_may_take_none_of_the_actions(make_uow: UowFactory, team, who: str) -> None:
    project_id, actor, target = team["project"].id, team[who], team["b"].id
    day = DAY.date()
    calls = [
        lambda uow: pause_annotator(uow, actor, project_id=project_id, user_id=target),
        lambda uow: resume_annotator(uow, actor, project_id=project_id, user_id=target),
        lambda uow: discard_preview(uow, actor, project_id=project_id, user_id=target, date_from=day, date_to=day),
        lambda uow: discard_annotations(uow, actor, project_id=project_id, user_id=target, date_from=day, date_to=day),
        lambda uow: set_consensus_weight(uow, actor, project_id=project_id, user_id=target, weight=0.5),
        lambda uow: rescore_annotator_tasks(uow, actor, project_id=project_id, user_id=target),
        lambda uow: paused_annotators(uow, actor, project_id),
        lambda uow: consensus_weights(uow, actor, project_id),
    ]
    for call in calls:
        with make_uow() as uow, pytest.raises(PermissionDeniedError, match="needs the manager role"):
            call(uow)
    assert not audit(make_uow, "annotator.paused")


# --- pause -----------------------------------------------------------------------------------------------


def test_a_paused_annotator_finishes_the_task_they_hold_then_gets_no_new_one_until_resumed(
    make_uow: UowFactory, team
) -> None:
    project_id, a, b, manager = team["project"].id, team["a"], team["b"], team["manager"]
    held = take(make_uow, a, project_id)
    with make_uow() as uow:
        paused = pause_annotator(uow, manager, project_id=project_id, user_id=a.id)
        uow.commit()
    assert paused.is_paused
    with make_uow() as uow:
        assert paused_annotators(uow, manager, project_id) == {a.id: paused.paused_at}
    assert take(make_uow, a, project_id) == held  # the task they hold is still theirs (a reload)
    submit(make_uow, a, held, "Positive")  # and may be submitted
    with make_uow() as uow, pytest.raises(AnnotatorPausedError, match="Your work in project 'Reviews' is paused"):
        next_task(uow, a, project_id=project_id)
    assert label(make_uow, b, project_id, "Positive") == held  # everybody else labels on
    with make_uow() as uow:
        resume_annotator(uow, manager, project_id=project_id, user_id=a.id)
        uow.commit()
    assert take(make_uow, a, project_id) != held
    with make_uow() as uow:
        assert paused_annotators(uow, manager, project_id) == {}
    (pause_event,), (resume_event,) = audit(make_uow, "annotator.paused"), audit(make_uow, "annotator.resumed")
    assert pause_event.actor_id == manager.id and pause_event.detail["user_id"] == a.id
    assert pause_event.detail["before"] == {"paused_at": None} and pause_event.detail["after"]["paused_at"]
    assert resume_event.detail["after"] == {"paused_at": None}


def test_pausing_twice_resuming_someone_not_paused_or_pausing_a_non_annotator_is_refused(
    make_uow: UowFactory, team
) -> None:
    project_id, manager = team["project"].id, team["manager"]
    with make_uow() as uow, pytest.raises(ConflictError, match="ann_b is not paused"):
        resume_annotator(uow, manager, project_id=project_id, user_id=team["b"].id)
    with make_uow() as uow:
        pause_annotator(uow, manager, project_id=project_id, user_id=team["b"].id)
        uow.commit()
    with make_uow() as uow, pytest.raises(ConflictError, match="paused in project 'Reviews' already"):
        pause_annotator(uow, manager, project_id=project_id, user_id=team["b"].id)
    with make_uow() as uow, pytest.raises(NotFoundError, match="rev is not an annotator"):
        pause_annotator(uow, manager, project_id=project_id, user_id=team["rev"].id)
    assert len(audit(make_uow, "annotator.paused")) == 1


def test_a_disagreement_is_not_escalated_to_a_paused_annotator(make_uow: UowFactory, team) -> None:
    """With room for one more annotator, a task the two disagree on would go to c; c is paused, so nobody is
    left to ask and it goes to review instead of waiting open for ever."""
    project_id, manager = team["project"].id, team["manager"]
    with make_uow() as uow:
        uow.session.get(Project, project_id).maximum_annotations = 3
        uow.commit()
    with make_uow() as uow:
        pause_annotator(uow, manager, project_id=project_id, user_id=team["c"].id)
        uow.commit()
    task_id = label(make_uow, team["a"], project_id, "Positive")
    assert label(make_uow, team["b"], project_id, "Negative") == task_id
    assert task_of(make_uow, task_id)[0] == "review"


# --- discard ---------------------------------------------------------------------------------------------


def test_discarding_a_date_range_counts_first_then_requeues_the_tasks_with_their_counters_right(
    make_uow: UowFactory, team
) -> None:
    project_id, a, b, c, manager = (team[k] for k in ("project", "a", "b", "c", "manager"))
    project_id = project_id.id
    day1, day2, day5 = DAY, DAY + dt.timedelta(days=1, hours=14), DAY + dt.timedelta(days=4)
    t1 = label(make_uow, a, project_id, "Positive", now=day1)
    assert label(make_uow, b, project_id, "Positive", now=day1) == t1  # t1: done, a and b agree
    t2 = label(make_uow, a, project_id, "Negative", now=day2)  # t2: open, a alone (23:00 on the last day)
    t3 = take(make_uow, a, project_id, now=day2)
    with make_uow() as uow:
        skip_task(uow, a, task_id=t3, now=day2)  # a skip in the range
        uow.commit()
    t4 = label(make_uow, a, project_id, "Neutral", now=day5)  # outside the range
    assert task_of(make_uow, t1) == ("done", 2, 2)
    date_from, date_to = day1.date(), day2.date()
    with make_uow() as uow:
        preview = discard_preview(uow, manager, project_id=project_id, user_id=a.id, date_from=date_from,
                                  date_to=date_to)
    assert (preview.n_annotations, preview.n_skips, preview.n_tasks, preview.n_requeued) == (2, 1, 2, 2)
    assert preview.ground_truth_task_ids == ()
    with make_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Annotation)) == 5  # the preview changed nothing
        discarded = discard_annotations(uow, manager, project_id=project_id, user_id=a.id, date_from=date_from,
                                        date_to=date_to)
        uow.commit()
    assert discarded.preview == preview
    assert set(discarded.reopened_task_ids) == {t1, t2} and discarded.rescored_task_ids == ()
    assert task_of(make_uow, t1) == ("open", 1, 2) and task_of(make_uow, t2) == ("open", 0, 2)
    with make_uow() as uow:
        left = uow.session.execute(select(Annotation.task_id, Annotation.completed_by_id)
                                   .order_by(Annotation.id)).all()
        assert [tuple(r) for r in left] == [(t1, b.id), (t4, a.id)]
        assert uow.session.get(Consensus, t1) is None  # dropped: computed again when the task is complete
    (event,) = audit(make_uow, "annotator.annotations_discarded")
    assert event.actor_id == manager.id and event.detail["user_id"] == a.id
    assert len(event.detail["annotation_ids"]) == 3 and sorted(event.detail["reopened_task_ids"]) == sorted([t1, t2])
    # Back in the pool: c completes t1 with b, and the consensus is there again.
    assert label(make_uow, c, project_id, "Positive") == t1
    assert task_of(make_uow, t1) == ("done", 2, 2)
    with make_uow() as uow:
        assert uow.session.get(Consensus, t1).n_annotations == 2


def test_ground_truth_made_from_a_discarded_annotation_stays_and_is_named(make_uow: UowFactory, team) -> None:
    project_id, a, b, manager = team["project"].id, team["a"], team["b"], team["manager"]
    t1 = label(make_uow, a, project_id, "Positive")
    assert label(make_uow, b, project_id, "Negative") == t1
    assert task_of(make_uow, t1)[0] == "review"  # they disagree
    with make_uow() as uow:
        mine = uow.session.scalar(select(Annotation.id).where(Annotation.task_id == t1,
                                                              Annotation.completed_by_id == a.id))
        accept_annotation(uow, team["rev"], annotation_id=mine)  # the reviewer makes a's answer the truth
        uow.commit()
    with make_uow() as uow:
        discarded = discard_annotations(uow, manager, project_id=project_id, user_id=a.id, date_from=DAY.date(),
                                        date_to=DAY.date())
        uow.commit()
    assert discarded.preview.ground_truth_task_ids == (t1,)
    with make_uow() as uow:
        truth = uow.session.get(GroundTruth, t1)
        assert truth is not None and truth.result == choice("Positive")  # left alone
    assert task_of(make_uow, t1)[:2] == ("open", 1)
    (event,) = audit(make_uow, "annotator.annotations_discarded")
    assert event.detail["ground_truth_task_ids"] == [t1]


def test_a_bad_or_empty_range_is_refused_and_changes_nothing(make_uow: UowFactory, team) -> None:
    project_id, a, manager = team["project"].id, team["a"], team["manager"]
    label(make_uow, a, project_id, "Positive")
    with make_uow() as uow, pytest.raises(QuorumError, match="start 2026-11-05 is after the end 2026-11-02"):
        discard_annotations(uow, manager, project_id=project_id, user_id=a.id, date_from=dt.date(2026, 11, 5),
                            date_to=dt.date(2026, 11, 2))
    with make_uow() as uow, pytest.raises(QuorumError, match="no annotations or skips .* from 2026-12-01"):
        discard_annotations(uow, manager, project_id=project_id, user_id=a.id, date_from=dt.date(2026, 12, 1),
                            date_to=dt.date(2026, 12, 31))
    with make_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Annotation)) == 1
    assert not audit(make_uow, "annotator.annotations_discarded")


# --- consensus weight ------------------------------------------------------------------------------------


def three_votes(make_uow: UowFactory, team: dict[str, Any]) -> int:
    """a and b say Positive, c says Negative, on one task of overlap 3 (a threshold nobody reaches, so the
    task waits for review with its consensus stored)."""
    project_id = team["project"].id
    with make_uow() as uow:
        row = uow.session.get(Project, project_id)
        row.overlap, row.maximum_annotations, row.agreement_threshold = 3, 3, 1.0
        uow.session.execute(Task.__table__.update().values(overlap=3))
        uow.commit()
    task_id = label(make_uow, team["a"], project_id, "Positive")
    assert label(make_uow, team["b"], project_id, "Positive") == task_id
    assert label(make_uow, team["c"], project_id, "Negative") == task_id
    return task_id


def consensus_answer(make_uow: UowFactory, task_id: int) -> list[str] | None:
    with make_uow() as uow:
        row = uow.session.get(Consensus, task_id)
        return None if row is None else [c for i in row.result for c in i["value"]["choices"]]


def test_two_votes_against_one_turn_when_the_two_are_down_weighted_to_0_3(make_uow: UowFactory, team) -> None:
    task_id = three_votes(make_uow, team)
    assert consensus_answer(make_uow, task_id) == ["Positive"]
    project_id, manager = team["project"].id, team["manager"]
    for name in ("a", "b"):
        with make_uow() as uow:
            changed = set_consensus_weight(uow, manager, project_id=project_id, user_id=team[name].id, weight=0.3)
            uow.commit()
        assert (changed.before, changed.after, changed.n_tasks_to_rescore) == (1.0, 0.3, 1)
    assert consensus_answer(make_uow, task_id) == ["Positive"]  # finished tasks change only when re-scored
    with make_uow() as uow:
        assert consensus_weights(uow, manager, project_id) == {team["a"].id: 0.3, team["b"].id: 0.3, team["c"].id: 1.0}
        rescored = rescore_annotator_tasks(uow, manager, project_id=project_id, user_id=team["a"].id)
        uow.commit()
    assert (rescored.n_checked, rescored.n_changed) == (1, 1)
    assert consensus_answer(make_uow, task_id) == ["Negative"]  # 0.6 against 1.0
    with make_uow() as uow:  # nothing left to change
        again = rescore_annotator_tasks(uow, manager, project_id=project_id, user_id=team["b"].id)
    assert (again.n_checked, again.n_changed) == (1, 0)
    events = audit(make_uow, "annotator.consensus_weight_changed")
    assert [(e.detail["before"], e.detail["after"]) for e in events] == [
        ({"consensus_weight": 1.0}, {"consensus_weight": 0.3})] * 2
    assert audit(make_uow, "annotator.tasks_rescored")[0].detail["changed_task_ids"] == [task_id]


def test_a_task_completed_after_the_weights_changed_is_scored_with_them(make_uow: UowFactory, team) -> None:
    """The completing submit reads the weights with the annotations (its own statement on PostgreSQL)."""
    project_id, manager = team["project"].id, team["manager"]
    for name in ("a", "b"):
        with make_uow() as uow:
            set_consensus_weight(uow, manager, project_id=project_id, user_id=team[name].id, weight=0.3)
            uow.commit()
    task_id = three_votes(make_uow, team)
    assert consensus_answer(make_uow, task_id) == ["Negative"]


def test_a_removed_annotator_counts_fully_again(make_uow: UowFactory, team) -> None:
    from core.annotator_actions import remove_annotator

    project_id, manager = team["project"].id, team["manager"]
    with make_uow() as uow:
        set_consensus_weight(uow, manager, project_id=project_id, user_id=team["c"].id, weight=0.1)
        uow.commit()
    task_id = three_votes(make_uow, team)
    with make_uow() as uow:
        set_consensus_weight(uow, manager, project_id=project_id, user_id=team["a"].id, weight=0.3)
        set_consensus_weight(uow, manager, project_id=project_id, user_id=team["b"].id, weight=0.3)
        remove_annotator(uow, manager, project_id=project_id, user_id=team["c"].id)
        rescore_annotator_tasks(uow, manager, project_id=project_id, user_id=team["a"].id)
        uow.commit()
    assert consensus_answer(make_uow, task_id) == ["Negative"]  # c's 1.0 (no membership) beats 0.6


@pytest.mark.parametrize("weight", [0, -0.5, 1.5, float("nan"), float("inf"), True, "0.5"])
def test_a_weight_outside_0_to_1_is_refused_and_changes_nothing(make_uow: UowFactory, team, weight: Any) -> None:
    project_id, manager, a = team["project"].id, team["manager"], team["a"]
    with make_uow() as uow, pytest.raises(QuorumError, match="is not a number above 0 and at most 1"):
        set_consensus_weight(uow, manager, project_id=project_id, user_id=a.id, weight=weight)
    with make_uow() as uow:
        assert uow.session.scalar(select(Membership.consensus_weight).where(
            Membership.user_id == a.id, Membership.role == "annotator")) == 1.0
    assert not audit(make_uow, "annotator.consensus_weight_changed")


def test_the_schema_refuses_a_weight_out_of_range(make_uow: UowFactory, team) -> None:
    from sqlalchemy.exc import IntegrityError

    with make_uow() as uow, pytest.raises(IntegrityError):
        uow.session.execute(Membership.__table__.update().values(consensus_weight=0.0))
        uow.session.flush()
