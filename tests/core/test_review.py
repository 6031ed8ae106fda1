"""The review queue: what reviewers see, the three resolutions, and what annotators may not do or see."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import ConflictError, PermissionDeniedError, QuorumError
from core.labeling import next_task, open_task, submit_annotation
from core.projects import ProjectSettings, add_member, create_project
from core.results import InvalidResultError
from core.review import (
    accept_annotation,
    fix_task,
    my_reviews,
    review_task,
    send_back,
    send_back_notes,
)
from core.review_queue import next_for_review, review_queue
from core.users import create_user
from storage.models import GroundTruth, Review, Task
from tests.core.helpers import TEXT_CONFIG, import_json, make_user


def choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


@pytest.fixture
def team(make_uow):
    """review_first, overlap 2: any disagreement goes straight to the queue. Annotators ann0..ann3."""
    admin = make_user(make_uow, "admin", admin=True)
    with make_uow() as uow:
        annotators = [
            create_user(uow, username=f"ann{i}", password="password-123", email=f"ann{i}@example.com",
                        display_name=f"Annotator {i}")
            for i in range(4)
        ]
        uow.commit()
    reviewer = make_user(make_uow, "rev")
    manager = make_user(make_uow, "boss")
    with make_uow() as uow:
        project = create_project(
            uow, admin, title="Review", config_xml=TEXT_CONFIG,
            settings=ProjectSettings(overlap=2, maximum_annotations=4, escalation_order="review_first"),
        )
        for user in annotators:
            add_member(uow, admin, project_id=project.id, user_id=user.id, role="annotator")
        add_member(uow, admin, project_id=project.id, user_id=reviewer.id, role="reviewer")
        add_member(uow, admin, project_id=project.id, user_id=manager.id, role="manager")
        uow.commit()
    import_json(make_uow, admin, project.id, [{"text": f"review {i}"} for i in range(3)])
    return annotators, reviewer, manager, project


def label(make_uow, user, project_id, result):
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id)
        assert task is not None
        submit_annotation(uow, user, task_id=task.task_id, result=result)
        uow.commit()
    return task.task_id


def split(make_uow, team) -> int:
    """ann0 says Positive, ann1 Negative on the next task: it lands in review."""
    (a, b, *_), _, _, project = team
    first = label(make_uow, a, project.id, choice("Positive"))
    second = label(make_uow, b, project.id, choice("Negative"))
    assert first == second
    return first


def call(make_uow, fn, *args, **kwargs):
    with make_uow() as uow:
        out = fn(uow, *args, **kwargs)
        uow.commit()
    return out


def state_of(make_uow, task_id):
    with make_uow() as uow:
        task = uow.session.get(Task, task_id)
        return task.state, task.overlap


def test_the_queue_lists_tasks_in_review_equal_agreement_oldest_first_page_by_page(make_uow, team):
    _, reviewer, _, project = team
    first, second = split(make_uow, team), split(make_uow, team)
    page = call(make_uow, review_queue, reviewer, project_id=project.id, limit=1)
    assert [i.task_id for i in page.items] == [first] and page.n_waiting == 2
    assert page.items[0].agreement == 0.0 and page.items[0].n_annotations == 2
    rest = call(make_uow, review_queue, reviewer, project_id=project.id, limit=1, offset=1)
    assert [i.task_id for i in rest.items] == [second] and not rest.has_next_page
    assert call(make_uow, next_for_review, reviewer, project_id=project.id) == first
    assert call(make_uow, next_for_review, reviewer, project_id=project.id, after_task_id=first) == second


def test_the_review_view_shows_every_annotation_with_its_author_and_where_they_disagree(make_uow, team):
    _, reviewer, _, _ = team
    task_id = split(make_uow, team)
    view = call(make_uow, review_task, reviewer, task_id=task_id)
    assert [(v.annotator, v.result) for v in view.annotations] == [
        ("Annotator 0", choice("Positive")), ("Annotator 1", choice("Negative"))
    ]
    assert view.agreement == 0.0 and view.consensus == [] and view.missing == ("sentiment",)
    (control,) = view.controls
    assert control.name == "sentiment" and not control.has_consensus
    assert dict(control.answers) == {"Positive": 1, "Negative": 1}
    assert view.state == "review" and view.ground_truth is None and view.is_resolvable


def test_accepting_an_annotation_makes_it_ground_truth_and_freezes_it(make_uow, team):
    (a, *_), reviewer, _, _ = team
    task_id = split(make_uow, team)
    view = call(make_uow, review_task, reviewer, task_id=task_id)
    accepted = view.annotations[0]
    out = call(make_uow, accept_annotation, reviewer, annotation_id=accepted.annotation_id)
    assert (out.verdict, out.state) == ("accepted", "done")
    with make_uow() as uow:
        truth = uow.session.get(GroundTruth, task_id)
        assert (truth.result, truth.source, truth.created_by_id) == (choice("Positive"), "review", reviewer.id)
        (review,) = uow.session.scalars(select(Review).where(Review.task_id == task_id))
        assert (review.annotation_id, review.verdict, review.reviewer_id) == (accepted.annotation_id, "accepted", reviewer.id)
    assert state_of(make_uow, task_id)[0] == "done"
    with make_uow() as uow, pytest.raises(ConflictError):  # frozen for its author
        submit_annotation(uow, a, task_id=task_id, result=choice("Neutral"))
    assert call(make_uow, open_task, a, task_id=task_id).is_reviewed
    with pytest.raises(ConflictError):  # a second reviewer does not silently overwrite the resolution
        call(make_uow, accept_annotation, reviewer, annotation_id=view.annotations[1].annotation_id)
    call(make_uow, accept_annotation, reviewer, annotation_id=view.annotations[1].annotation_id, override=True)
    with make_uow() as uow:
        assert uow.session.get(GroundTruth, task_id).result == choice("Negative")


def test_fixing_stores_the_reviewers_own_result_as_ground_truth(make_uow, team):
    _, _, manager, _ = team
    task_id = split(make_uow, team)
    view = call(make_uow, review_task, manager, task_id=task_id)
    with pytest.raises(InvalidResultError):
        call(make_uow, fix_task, manager, task_id=task_id, result=choice("Sarcastic"))
    assert state_of(make_uow, task_id)[0] == "review"
    base = view.annotations[1].annotation_id
    out = call(make_uow, fix_task, manager, task_id=task_id, result=choice("Neutral"), based_on_annotation_id=base,
               comment="mixed review")
    assert (out.verdict, out.state) == ("fixed", "done")
    with make_uow() as uow:
        assert uow.session.get(GroundTruth, task_id).result == choice("Neutral")
        (review,) = uow.session.scalars(select(Review).where(Review.task_id == task_id))
        assert (review.verdict, review.annotation_id, review.fixed_result, review.comment) == (
            "fixed", base, choice("Neutral"), "mixed review"
        )


def test_sending_back_rejects_the_annotations_and_reopens_the_task_for_new_annotators(make_uow, team):
    (a, b, c, d), reviewer, _, project = team
    task_id = split(make_uow, team)
    with pytest.raises(QuorumError):
        call(make_uow, send_back, reviewer, task_id=task_id, comment="   ")
    out = call(make_uow, send_back, reviewer, task_id=task_id, comment="Read the last sentence again.")
    assert (out.n_rejected, out.overlap, out.n_possible_annotators) == (2, 4, 2)
    assert state_of(make_uow, task_id) == ("open", 4)
    with make_uow() as uow:
        verdicts = [(r.verdict, r.comment) for r in uow.session.scalars(select(Review).where(Review.task_id == task_id))]
    assert verdicts == [("rejected", "Read the last sentence again.")] * 2
    with make_uow() as uow, pytest.raises(ConflictError):  # the rejected annotation is frozen
        submit_annotation(uow, a, task_id=task_id, result=choice("Negative"))
    # The queue no longer shows it; new annotators get it and read the reviewer's comment.
    assert call(make_uow, review_queue, reviewer, project_id=project.id).items == ()
    with make_uow() as uow:
        held = next_task(uow, c, project_id=project.id)
        uow.commit()
    assert held.task_id == task_id
    assert call(make_uow, send_back_notes, c, task_id=task_id) == ["Read the last sentence again."]
    with pytest.raises(PermissionDeniedError):  # not held by d yet
        call(make_uow, send_back_notes, d, task_id=task_id)
    with make_uow() as uow:
        submit_annotation(uow, c, task_id=task_id, result=choice("Positive"))
        uow.commit()
    label(make_uow, d, project.id, choice("Positive"))
    # Two fresh annotations agree; the rejected ones do not count.
    assert state_of(make_uow, task_id)[0] == "done"
    view = call(make_uow, review_task, reviewer, task_id=task_id)
    assert [v.annotator for v in view.annotations] == ["Annotator 2", "Annotator 3"]
    assert [v.annotator for v in view.rejected] == ["Annotator 0", "Annotator 1"]
    assert view.agreement == 1.0 and view.consensus == choice("Positive")


def test_sending_back_only_some_annotations_leaves_room_for_that_many(make_uow, team):
    _, reviewer, _, _ = team
    task_id = split(make_uow, team)
    view = call(make_uow, review_task, reviewer, task_id=task_id)
    out = call(make_uow, send_back, reviewer, task_id=task_id, comment="Negative? No.",
               annotation_ids=[view.annotations[1].annotation_id])
    assert out.n_rejected == 1 and state_of(make_uow, task_id) == ("open", 3)
    with pytest.raises(ConflictError):  # no longer in review
        call(make_uow, send_back, reviewer, task_id=task_id, comment="again")


def test_annotators_may_not_review(make_uow, team):
    (a, *_), _, _, project = team
    task_id = split(make_uow, team)
    view_as_reviewer = call(make_uow, review_task, team[1], task_id=task_id)
    mine = view_as_reviewer.annotations[0].annotation_id
    for attempt in (
        lambda uow: review_queue(uow, a, project_id=project.id),
        lambda uow: review_task(uow, a, task_id=task_id),
        lambda uow: accept_annotation(uow, a, annotation_id=mine),
        lambda uow: fix_task(uow, a, task_id=task_id, result=choice("Positive")),
        lambda uow: send_back(uow, a, task_id=task_id, comment="no"),
    ):
        with make_uow() as uow, pytest.raises(PermissionDeniedError):
            attempt(uow)
    assert state_of(make_uow, task_id)[0] == "review"


def test_labelers_see_reviews_of_their_own_annotations_only(make_uow, team):
    (a, b, *_), reviewer, _, project = team
    task_id = split(make_uow, team)
    view = call(make_uow, review_task, reviewer, task_id=task_id)
    call(make_uow, accept_annotation, reviewer, annotation_id=view.annotations[0].annotation_id, comment="well done")
    assert [(r.task_id, r.verdict, r.comment) for r in call(make_uow, my_reviews, a, project_id=project.id)] == [
        (task_id, "accepted", "well done")
    ]
    assert call(make_uow, my_reviews, b, project_id=project.id) == []
    with pytest.raises(PermissionDeniedError):
        call(make_uow, review_task, b, task_id=task_id)


def test_an_open_task_cannot_be_resolved(make_uow, team):
    (a, *_), reviewer, _, project = team
    task_id = label(make_uow, a, project.id, choice("Positive"))
    with pytest.raises(ConflictError):
        call(make_uow, fix_task, reviewer, task_id=task_id, result=choice("Positive"))
