"""core.my_work: one annotator's figures on a small hand-built project, and who may see them."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from sqlalchemy import select

from core.analytics import project_analytics
from core.errors import NotFoundError, PermissionDeniedError
from core.my_work import gold_accuracy, my_work, people_to_choose, review_feedback, weekly_trend, work_progress
from core.uow import UowFactory
from core.users import UserInfo
from storage.models import Annotation
from storage.repositories import quality as quality_repo
from tests.core.helpers import import_json, make_project, make_user

SPAN_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
</View>"""
WEEK_1 = "2026-11-03T10:00:00Z"  # a Tuesday: the week of Monday 2 November
WEEK_2 = "2026-11-10T10:00:00Z"


def choice(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def span(label: str, start: int = 0, end: int = 3) -> list[dict[str, Any]]:
    return [{"from_name": "ner", "to_name": "text", "type": "labels",
             "value": {"start": start, "end": end, "text": "Ann", "labels": [label]}}]


def annotation(who: UserInfo, result: list[dict[str, Any]], *, at: str = WEEK_1, lead: float | None = 10.0,
               gold: bool = False, skipped: bool = False) -> dict[str, Any]:
    return {"completed_by": {"email": who.email}, "result": result, "created_at": at, "updated_at": at,
            "lead_time": lead, "ground_truth": gold, "was_cancelled": skipped}


@pytest.fixture
def team(make_uow: UowFactory) -> dict[str, Any]:
    """Two projects. Reviews (choices, overlap 5): ann1 labels 3 tasks (2 with imported gold: one right, one
    wrong, in two weeks), skips one; a fifth task is open for them; ann2 labels the two gold tasks right.
    Names (spans): ann2 only, one gold task right; managed by someone else."""
    admin = make_user(make_uow, "admin", admin=True)
    people = {name: make_user(make_uow, name) for name in ("ann1", "ann2", "rev", "boss", "other_boss", "gold")}
    ann1, ann2, gold = people["ann1"], people["ann2"], people["gold"]
    reviews = make_project(make_uow, admin, title="Reviews", overlap=5, members={
        "annotator": [ann1, ann2], "reviewer": [people["rev"]], "manager": [people["boss"]]})
    names = make_project(make_uow, admin, title="Names", config=SPAN_CONFIG, overlap=5, members={
        "annotator": [ann2], "manager": [people["other_boss"]]})
    import_json(make_uow, admin, reviews.id, [
        {"data": {"text": "great"}, "annotations": [
            annotation(gold, choice("Positive"), gold=True, lead=None),
            annotation(ann1, choice("Positive"), at=WEEK_1, lead=10.0),
            annotation(ann2, choice("Positive"), at=WEEK_1, lead=5.0)]},
        {"data": {"text": "awful"}, "annotations": [
            annotation(gold, choice("Negative"), gold=True, lead=None),
            annotation(ann1, choice("Positive"), at=WEEK_2, lead=20.0),
            annotation(ann2, choice("Negative"), at=WEEK_2, lead=5.0)]},
        {"data": {"text": "meh"}, "annotations": [annotation(ann1, choice("Neutral"), at=WEEK_2, lead=30.0)]},
        {"data": {"text": "skipped"}, "annotations": [annotation(ann1, [], at=WEEK_2, skipped=True, lead=2.0)]},
        {"data": {"text": "untouched"}},
    ])
    import_json(make_uow, admin, names.id, [
        {"data": {"text": "Ann works at Acme"}, "annotations": [
            annotation(gold, span("PER"), gold=True, lead=None), annotation(ann2, span("PER"), at=WEEK_1)]},
    ])
    return {"admin": admin, **people, "reviews": reviews, "names": names}


def test_progress_counts_what_the_quality_page_counts(make_uow: UowFactory, team: dict[str, Any]) -> None:
    with make_uow() as uow:
        [row] = work_progress(uow, team["ann1"], user_id=team["ann1"].id)
    assert (row.title, row.annotations, row.skips, row.gold_tasks) == ("Reviews", 3, 1, 2)
    assert row.left == 1  # five open tasks, four of them answered or skipped by ann1
    assert row.lead_median_s == 20.0  # of 10, 20, 30: the skip's lead time is not an annotation's
    assert row.active_median_s is None  # imported annotations carry no active time
    assert row.last_at == dt.datetime(2026, 11, 10, 10, 0)
    with make_uow() as uow:
        quality = project_analytics(uow, team["boss"], project_id=team["reviews"].id).annotators
    mine = quality[quality["user_id"] == team["ann1"].id].iloc[0]
    assert (mine["annotations"], mine["skips"]) == (row.annotations, row.skips)


def test_accuracy_on_gold_is_the_quality_pages_per_control_figure(make_uow: UowFactory, team: dict[str, Any]) -> None:
    with make_uow() as uow:
        [ann1] = gold_accuracy(uow, team["ann1"], user_id=team["ann1"].id)
        ann2 = gold_accuracy(uow, team["ann2"], user_id=team["ann2"].id)
        quality = project_analytics(uow, team["boss"], project_id=team["reviews"].id).accuracy
    assert (ann1.control, ann1.measure, ann1.n_gold, ann1.value) == ("sentiment", "accuracy", 2, 0.5)
    expected = quality.set_index("user_id")
    assert ann1.value == expected.loc[team["ann1"].id, "accuracy"]
    assert ann1.n_gold == expected.loc[team["ann1"].id, "n_gold"]
    by_project = {a.title: a for a in ann2}
    assert by_project["Reviews"].value == 1.0 == expected.loc[team["ann2"].id, "accuracy"]
    # Spans: not choices, so the span family's gold scorer speaks (its F1), as on the Quality page.
    assert (by_project["Names"].measure, by_project["Names"].value, by_project["Names"].n_gold) == ("f1", 1.0, 1)


def test_a_project_without_gold_has_no_accuracy_and_says_why(make_uow: UowFactory, team: dict[str, Any]) -> None:
    admin = team["admin"]
    project = make_project(make_uow, admin, title="No gold", members={"annotator": [team["ann1"]]})
    import_json(make_uow, admin, project.id, [
        {"data": {"text": "x"}, "annotations": [annotation(team["ann1"], choice("Positive"))]}])
    with make_uow() as uow:
        rows = {a.title: a for a in gold_accuracy(uow, team["ann1"], user_id=team["ann1"].id)}
    assert rows["No gold"].value is None and rows["No gold"].n_gold == 0
    assert rows["No gold"].why == "none of the tasks labeled here has a ground truth yet"


def test_the_weekly_trend_counts_times_and_scores_each_week(make_uow: UowFactory, team: dict[str, Any]) -> None:
    with make_uow() as uow:
        trend = weekly_trend(uow, team["ann1"], user_id=team["ann1"].id)
    volume = trend.volume
    assert [str(w.date()) for w in volume["week"]] == ["2026-11-02", "2026-11-09"]  # Mondays
    assert list(volume["annotations"]) == [1, 2] and list(volume["skips"]) == [0, 1]
    assert list(volume["lead_median_s"]) == [10.0, 25.0]
    assert volume["active_median_s"].isna().all()
    accuracy = trend.accuracy
    assert list(accuracy["value"]) == [1.0, 0.0] and list(accuracy["n_gold"]) == [1, 1]
    assert set(accuracy["series"]) == {"Reviews · sentiment (accuracy)"}


def test_the_trend_fills_weeks_without_work(make_uow: UowFactory, team: dict[str, Any]) -> None:
    import_json(make_uow, team["admin"], team["reviews"].id, [
        {"data": {"text": "late"}, "annotations": [annotation(team["ann1"], choice("Positive"), at="2026-11-25T09:00:00Z")]}])
    with make_uow() as uow:
        volume = weekly_trend(uow, team["ann1"], user_id=team["ann1"].id).volume
    assert list(volume["annotations"]) == [1, 2, 0, 1]
    assert math.isnan(volume["lead_median_s"].iloc[2])


def test_feedback_lists_review_decisions_newest_first_with_comments(make_uow: UowFactory, team: dict[str, Any]) -> None:
    ann1, rev = team["ann1"], team["rev"]
    with make_uow() as uow:
        mine = dict(uow.session.execute(select(Annotation.task_id, Annotation.id).where(
            Annotation.completed_by_id == ann1.id, Annotation.was_cancelled.is_(False))).all())
        first, second = sorted(mine)[:2]
        quality_repo.add_review(uow.session, task_id=first, annotation_id=mine[first], reviewer_id=rev.id,
                                verdict="accepted", now=dt.datetime(2026, 11, 20, 9))
        quality_repo.add_review(uow.session, task_id=second, annotation_id=mine[second], reviewer_id=rev.id,
                                verdict="returned", comment="It is clearly <b>negative</b>",
                                now=dt.datetime(2026, 11, 21, 9))
        uow.commit()
    with make_uow() as uow:
        own = review_feedback(uow, ann1, user_id=ann1.id)
        seen_by_boss = review_feedback(uow, team["boss"], user_id=ann1.id)
    assert [(f.task_id, f.verdict, f.comment) for f in own] == [
        (second, "returned", "It is clearly <b>negative</b>"), (first, "accepted", "")]
    assert all(f.is_new and f.can_open for f in own)  # the author may open the task on the Label page
    assert [f.task_id for f in seen_by_boss] == [second, first]
    assert not any(f.can_open for f in seen_by_boss)  # a manager has no Label page for someone else's task


def test_a_manager_sees_the_people_of_their_projects_and_their_figures(make_uow: UowFactory, team: dict[str, Any]) -> None:
    with make_uow() as uow:
        assert [p.username for p in people_to_choose(uow, team["boss"])] == ["ann1", "ann2"]
        assert [p.username for p in people_to_choose(uow, team["ann1"])] == ["ann1"]
        assert people_to_choose(uow, team["rev"]) == []
        seen = my_work(uow, team["boss"], user_id=team["ann2"].id)
    # ann2 also annotates in Names, which boss does not manage: only Reviews is shown to boss.
    assert [p.title for p in seen.progress] == ["Reviews"]
    assert seen.person.username == "ann2"


def refused(make_uow: UowFactory, viewer: UserInfo, user_id: int, **kwargs: Any) -> str:
    with make_uow() as uow, pytest.raises(PermissionDeniedError) as error:
        my_work(uow, viewer, user_id=user_id, **kwargs)
    return str(error.value)


def test_an_annotator_may_not_see_another_annotators_figures(make_uow: UowFactory, team: dict[str, Any]) -> None:
    assert "only they and the managers" in refused(make_uow, team["ann1"], team["ann2"].id)


def test_a_reviewer_may_not_see_an_annotators_figures(make_uow: UowFactory, team: dict[str, Any]) -> None:
    refused(make_uow, team["rev"], team["ann1"].id)


def test_a_manager_of_another_project_may_not_see_them(make_uow: UowFactory, team: dict[str, Any]) -> None:
    refused(make_uow, team["other_boss"], team["ann1"].id)  # ann1 does not annotate in Names
    refused(make_uow, team["boss"], team["ann2"].id, project_id=team["names"].id)  # ann2 does, boss does not manage it
    refused(make_uow, team["boss"], 10_000)  # nobody: refused the same way, ids cannot be probed


def test_each_function_checks_the_viewer(make_uow: UowFactory, team: dict[str, Any]) -> None:
    for function in (work_progress, gold_accuracy, review_feedback, weekly_trend):
        with make_uow() as uow, pytest.raises(PermissionDeniedError):
            function(uow, team["ann2"], user_id=team["ann1"].id)


def test_an_annotator_naming_a_project_they_do_not_annotate_in_gets_not_found(
    make_uow: UowFactory, team: dict[str, Any]
) -> None:
    with make_uow() as uow, pytest.raises(NotFoundError):
        my_work(uow, team["ann1"], user_id=team["ann1"].id, project_id=team["names"].id)
