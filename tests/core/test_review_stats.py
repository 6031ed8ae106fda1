"""Review statistics (core.review_stats): per annotator acceptance/fix/rejection/return rates, per reviewer
verdicts, time per decision and agreement with the final answer, and the backlog per day."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from core.errors import PermissionDeniedError
from core.review import accept_annotation, accept_consensus, fix_task, send_back
from core.review_stats import backlog_table, review_stats
from storage.models import Annotation, Review
from tests.core.test_review_queue import Team, call, choice


def _annotation(make_uow, task_id: int, user) -> int:
    with make_uow() as uow:
        return uow.session.scalar(select(Annotation.id).where(Annotation.task_id == task_id,
                                                              Annotation.completed_by_id == user.id))


def test_review_statistics_of_annotators_and_reviewers(make_uow):
    team = Team(make_uow, n_tasks=5)
    ana, ben = team.annotators[:2]
    rev0, rev1 = team.reviewers
    t1 = team.pair("Positive", "Negative")
    t2 = team.pair("Positive", "Negative")
    t3 = team.pair("Neutral", "Neutral", flag_second=True)
    t4 = team.pair("Positive", "Negative")
    call(make_uow, accept_annotation, rev0, annotation_id=_annotation(make_uow, t1, ana))
    call(make_uow, fix_task, rev1, task_id=t2, result=choice("Positive"),
         based_on_annotation_id=_annotation(make_uow, t2, ben))
    call(make_uow, accept_consensus, rev0, task_id=t3)
    call(make_uow, send_back, rev1, task_id=t4, comment="no", annotation_ids=[_annotation(make_uow, t4, ben)])
    call(make_uow, fix_task, rev1, task_id=t1, result=choice("Negative"), override=True)  # overrides rev0 on t1
    with make_uow() as uow:
        for task_id, seconds in ((t1, 10.0), (t3, 30.0)):
            uow.session.execute(update(Review).where(Review.task_id == task_id, Review.reviewer_id == rev0.id)
                                .values(time_s=seconds))
        uow.commit()
    with make_uow() as uow:
        stats = review_stats(uow, team.admin, project_id=team.project.id)

    people = stats.annotators.set_index("annotator")
    # Whole-task decisions count too: t3's accepted consensus for both (they agree with it), rev1's fix of t1
    # (started from the consensus) as a fix for both
    assert people.loc["Ana", ["reviewed", "accepted_rate", "fixed_rate", "rejected_rate"]].tolist() == [2, 1.0, 0.5, 0.0]
    assert people.loc["Ben", ["reviewed", "accepted_rate", "fixed_rate", "rejected_rate", "returned_rate"]].tolist() \
        == [4, 0.25, 0.5, 0.25, 0.0]

    reviewers = stats.reviewers.set_index("reviewer")
    assert reviewers.loc["rev0", ["decisions", "accepted", "consensus", "fixed"]].tolist() == [2, 1, 1, 0]
    assert reviewers.loc["rev1", ["decisions", "fixed", "rejected"]].tolist() == [3, 2, 1]
    assert reviewers.loc["rev0", "time_median_s"] == pytest.approx(20.0)
    assert reviewers.loc["rev0", "time_p90_s"] == pytest.approx(28.0)
    assert reviewers.loc["rev1", "time_median_s"] is None or reviewers["time_median_s"].isna()["rev1"]
    # rev0's acceptance on t1 was overridden (Positive vs the final Negative); the consensus on t3 stands
    assert reviewers.loc["rev0", "agreement_with_final"] == pytest.approx(0.5)
    assert reviewers.loc["rev0", "n_overridden"] == 1
    assert reviewers.loc["rev1", "agreement_with_final"] == pytest.approx(1.0)
    assert reviewers.loc["rev1", "n_overridden"] == 0
    assert 0.0 <= reviewers.loc["rev0", "agreement_with_consensus"] <= 1.0
    assert stats.n_decisions == 5

    # t4 went back to the annotators; nothing waits; t1..t3 entered and left
    assert stats.n_waiting == 0
    assert stats.backlog["entered"].sum() == 4 and stats.backlog["left"].sum() == 4
    assert stats.backlog["backlog"].iloc[-1] == 0


def test_annotators_and_reviewers_may_not_read_review_statistics(make_uow):
    team = Team(make_uow, n_tasks=1)
    for user in (team.annotators[0], team.reviewers[0]):
        with make_uow() as uow, pytest.raises(PermissionDeniedError):
            review_stats(uow, user, project_id=team.project.id)


def test_an_empty_project_has_empty_review_statistics(make_uow):
    team = Team(make_uow, n_tasks=1)
    with make_uow() as uow:
        stats = review_stats(uow, team.admin, project_id=team.project.id)
    assert stats.is_empty and stats.annotators.empty and stats.reviewers.empty and stats.backlog.empty


def test_the_backlog_counts_each_task_once_from_scoring_to_its_last_decision():
    day = dt.datetime(2026, 3, 1, 12)

    def passage(task_id, state, updated, scored, first=None, last=None):
        return SimpleNamespace(id=task_id, state=state, updated_at=updated, scored_at=scored, first=first,
                               last=last)

    rows = [
        tuple(vars(passage(1, "done", day + dt.timedelta(days=2), day, day + dt.timedelta(days=1),
                           day + dt.timedelta(days=2))).values()),  # in on day 0, out on day 2
        tuple(vars(passage(2, "review", day + dt.timedelta(days=1), day + dt.timedelta(days=1))).values()),
        tuple(vars(passage(3, "review", day + dt.timedelta(days=3), day)).values()),  # waiting: routed on day 3
        tuple(vars(passage(4, "open", day, day + dt.timedelta(days=5), day + dt.timedelta(days=1),
                           day + dt.timedelta(days=1))).values()),  # re-scored after: entry capped at its decision
    ]
    frame = backlog_table(rows)
    assert [d.isoformat() for d in frame["day"]] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert frame["entered"].tolist() == [1, 2, 0, 1]
    assert frame["left"].tolist() == [0, 1, 1, 0]
    assert frame["backlog"].tolist() == [1, 2, 1, 2]
    assert backlog_table([]).empty


def test_decisions_on_the_whole_task_credit_the_annotators_they_settled(make_uow):
    team = Team(make_uow, overlap=3, n_tasks=3)
    ana, ben, cleo = team.annotators[:3]

    def triple(*answers: str) -> int:
        ids = {team.label(user, answer) for user, answer in zip((ana, ben, cleo), answers)}
        assert len(ids) == 1
        return ids.pop()

    accepted = triple("Positive", "Positive", "Negative")  # 1/3 agreement: review; the consensus is Positive
    fixed = triple("Positive", "Positive", "Negative")
    assert team.task(accepted)[0] == team.task(fixed)[0] == "review"
    call(make_uow, accept_consensus, team.reviewers[0], task_id=accepted)
    call(make_uow, fix_task, team.reviewers[0], task_id=fixed, result=choice("Neutral"))  # from the consensus
    with make_uow() as uow:
        stats = review_stats(uow, team.admin, project_id=team.project.id)
    people = stats.annotators.set_index("annotator")
    columns = ["reviewed", "accepted_rate", "fixed_rate", "rejected_rate"]
    # Ana and Ben agree with the accepted consensus: accepted; Cleo's answer was overruled (reviewed, not accepted)
    assert people.loc["Ana", columns].tolist() == [2, 0.5, 0.5, 0.0]
    assert people.loc["Ben", columns].tolist() == [2, 0.5, 0.5, 0.0]
    assert people.loc["Cleo", columns].tolist() == [2, 0.0, 0.5, 0.0]
