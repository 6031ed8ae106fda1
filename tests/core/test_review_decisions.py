"""Review decisions beyond accept/fix/send back: accept the consensus, return answers to their authors (who
correct them and the task comes back), the audit trail of every decision, and the annotator's badge."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import ConflictError, QuorumError
from core.labeling import next_task, submit_annotation
from core.review import (
    accept_annotation,
    accept_consensus,
    mark_reviews_seen,
    my_reviews,
    return_to_authors,
    review_task,
    send_back_notes,
    unseen_review_count,
)
from storage.models import AuditEvent, GroundTruth, Review, Task
from tests.core.test_review import call, choice, label, split, team  # noqa: F401 - the team fixture


def test_accepting_the_consensus_makes_it_the_ground_truth_and_is_audited(make_uow, team):  # noqa: F811
    (a, b, c, _), reviewer, _, project = team
    task_id = label(make_uow, a, project.id, choice("Positive"))
    label(make_uow, b, project.id, choice("Positive"))  # agree: done on its own
    with make_uow() as uow:
        assert uow.session.get(Task, task_id).state == "done"
    split_id = split(make_uow, team)
    with pytest.raises(ConflictError, match="no consensus for sentiment"):  # 1 against 1 is a tie
        call(make_uow, accept_consensus, reviewer, task_id=split_id)
    # the tie broken by a third opinion through a fixed answer is another path; here: a task that agrees
    resolved = call(make_uow, accept_consensus, reviewer, task_id=task_id, comment="fine", override=False)
    assert resolved.verdict == "consensus" and resolved.state == "done"
    with make_uow() as uow:
        truth = uow.session.scalar(select(GroundTruth).where(GroundTruth.task_id == task_id))
        assert truth.result[0]["value"] == {"choices": ["Positive"]}
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.consensus"))
        assert event.actor_id == reviewer.id and event.detail["task_id"] == task_id
        assert event.detail["before"]["ground_truth"] is None
        assert event.detail["after"] == {"state": "done", "ground_truth": truth.result}


def test_every_decision_leaves_who_when_and_before_after_in_the_audit_trail(make_uow, team):  # noqa: F811
    (a, b, *_), reviewer, _, project = team
    task_id = split(make_uow, team)
    with make_uow() as uow:
        first = review_task(uow, reviewer, task_id=task_id).annotations[0].annotation_id
    call(make_uow, accept_annotation, reviewer, annotation_id=first)
    with make_uow() as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("review."))).all()
        assert [e.action for e in events] == ["review.accepted"]
        assert events[0].detail["before"]["state"] == "review" and events[0].detail["after"]["state"] == "done"
        assert events[0].detail["annotation_ids"] == [first] and events[0].actor_id == reviewer.id


def test_a_returned_answer_goes_back_to_its_author_who_corrects_it_and_the_task_comes_back(make_uow, team):  # noqa: F811
    (a, b, c, _), reviewer, _, project = team
    task_id = split(make_uow, team)
    with make_uow() as uow:
        view = review_task(uow, reviewer, task_id=task_id)
    bob_answer = next(v.annotation_id for v in view.annotations if v.annotator_id == b.id)
    with pytest.raises(QuorumError, match="comment is required"):
        call(make_uow, return_to_authors, reviewer, task_id=task_id, comment="  ", annotation_ids=[bob_answer])
    back = call(make_uow, return_to_authors, reviewer, task_id=task_id, comment="Read the last sentence again",
                annotation_ids=[bob_answer])
    assert back.n_returned == 1 and back.authors == (b.id,)
    with make_uow() as uow:
        task = uow.session.get(Task, task_id)
        assert (task.state, task.n_annotations, task.n_locked) == ("open", 1, 1)
    # Nobody else gets it: the slot is kept for its author.
    with make_uow() as uow:
        other = next_task(uow, c, project_id=project.id)
        assert other is None or other.task_id != task_id
        uow.rollback()
    # The author gets it first, with their own answer, editable, and the comment.
    with make_uow() as uow:
        mine = next_task(uow, b, project_id=project.id)
        assert mine is not None and mine.task_id == task_id and not mine.is_reviewed
        assert mine.result[0]["value"] == {"choices": ["Negative"]}
        assert send_back_notes(uow, b, task_id=task_id) == ["Read the last sentence again"]
        uow.commit()
    with make_uow() as uow:
        assert unseen_review_count(uow, b, project_id=project.id) == 1
        assert [r.verdict for r in my_reviews(uow, b, project_id=project.id)] == ["returned"]
    with make_uow() as uow:
        corrected = submit_annotation(uow, b, task_id=task_id, result=choice("Positive"), editing=bob_answer)
        uow.commit()
    assert corrected.task_completed and not corrected.created
    with make_uow() as uow:  # answered: the author's history says so, and the review is no longer new to them
        (review,) = my_reviews(uow, b, project_id=project.id)
        assert review.verdict == "returned" and review.corrected and not review.is_new
        assert unseen_review_count(uow, b, project_id=project.id) == 0
    with make_uow() as uow:
        task = uow.session.get(Task, task_id)
        assert (task.state, task.n_annotations, task.n_locked) == ("done", 2, 0)  # they agree now
        assert review_task(uow, reviewer, task_id=task_id).agreement == 1.0
    with make_uow() as uow:  # frozen again once corrected
        with pytest.raises(ConflictError, match="reviewed already"):
            submit_annotation(uow, b, task_id=task_id, result=choice("Negative"), editing=bob_answer)


def test_returning_to_everyone_reopens_until_every_answer_is_back(make_uow, team):  # noqa: F811
    (a, b, *_), reviewer, _, project = team
    task_id = split(make_uow, team)
    call(make_uow, return_to_authors, reviewer, task_id=task_id, comment="Both of you: recheck")
    with make_uow() as uow:
        assert uow.session.get(Task, task_id).n_annotations == 0
        ids = {r.annotation_id for r in uow.session.scalars(select(Review).where(Review.verdict == "returned"))}
    assert len(ids) == 2
    for person, answer in ((a, "Negative"), (b, "Negative")):
        with make_uow() as uow:
            got = next_task(uow, person, project_id=project.id)
            assert got.task_id == task_id
            submit_annotation(uow, person, task_id=task_id, result=choice(answer), editing=got.annotation_id)
            uow.commit()
    with make_uow() as uow:
        assert uow.session.get(Task, task_id).state == "done"


def test_the_badge_counts_new_reviews_until_the_annotator_looks(make_uow, team):  # noqa: F811
    (a, b, *_), reviewer, _, project = team
    task_id = split(make_uow, team)
    with make_uow() as uow:
        first = review_task(uow, reviewer, task_id=task_id).annotations[0]
    call(make_uow, accept_annotation, reviewer, annotation_id=first.annotation_id)
    author = a if first.annotator_id == a.id else b
    with make_uow() as uow:
        assert unseen_review_count(uow, author, project_id=project.id) == 1
        assert my_reviews(uow, author, project_id=project.id)[0].is_new
    assert call(make_uow, mark_reviews_seen, author, project_id=project.id) == 1
    with make_uow() as uow:
        assert unseen_review_count(uow, author, project_id=project.id) == 0


def test_an_imported_ground_truth_is_shown_apart_and_not_in_the_agreement(make_uow, team):  # noqa: F811
    from tests.core.helpers import import_json, make_user

    (a, *_), reviewer, _, project = team
    admin = make_user(make_uow, "admin2", admin=True)
    import_json(make_uow, admin, project.id,
                [{"data": {"text": "gold"}, "annotations": [{"result": choice("Neutral"), "ground_truth": True}]}])
    with make_uow() as uow:
        task_id = uow.session.scalar(select(Task.id).where(Task.data["text"].as_string() == "gold"))
    with make_uow() as uow:
        view = review_task(uow, reviewer, task_id=task_id)
    assert view.ground_truth == choice("Neutral")
    assert view.annotations == () and view.agreement is None  # the truth is not one of the annotators


def test_a_task_another_reviewer_holds_cannot_be_decided_and_the_holder_s_time_is_kept(make_uow, team):  # noqa: F811
    from core.review_queue import claim_for_review

    (a, b, *_), reviewer, manager, project = team
    task_id = split(make_uow, team)
    assert call(make_uow, claim_for_review, manager, task_id=task_id).held
    with make_uow() as uow:
        first = review_task(uow, reviewer, task_id=task_id).annotations[0].annotation_id
    with pytest.raises(ConflictError, match="being reviewed by"):
        call(make_uow, accept_annotation, reviewer, annotation_id=first)
    call(make_uow, accept_annotation, manager, annotation_id=first)
    with make_uow() as uow:
        review = uow.session.scalar(select(Review).where(Review.task_id == task_id))
        assert review.reviewer_id == manager.id and review.time_s is not None and review.time_s >= 0


def test_skipping_walks_the_queue_instead_of_bouncing_between_two_tasks(make_uow, team):  # noqa: F811
    from core.review_queue import next_for_review

    _, reviewer, _, project = team
    waiting = [split(make_uow, team), split(make_uow, team)]
    (a, b, c, d), *_ = team
    third = label(make_uow, c, project.id, choice("Positive"))
    label(make_uow, d, project.id, choice("Negative"))
    waiting.append(third)
    seen, skipped = [], []
    current = call(make_uow, next_for_review, reviewer, project_id=project.id)
    while current is not None:
        seen.append(current)
        skipped.append(current)
        current = call(make_uow, next_for_review, reviewer, project_id=project.id, after_task_id=current,
                       skipped=skipped)
    assert sorted(seen) == sorted(waiting)  # each once, then nothing left this round


def test_the_reviewer_sees_who_was_not_sure_and_why(make_uow, team):  # noqa: F811
    (a, b, *_), reviewer, _, project = team
    with make_uow() as uow:
        task = next_task(uow, a, project_id=project.id)
        submit_annotation(uow, a, task_id=task.task_id, result=choice("Positive"), flagged=True,
                          flag_note="sarcasm?")
        uow.commit()
    label(make_uow, b, project.id, choice("Positive"))  # they agree, yet it goes to review: a flag
    with make_uow() as uow:
        view = review_task(uow, reviewer, task_id=task.task_id)
    assert view.review_reason == "flagged" and view.agreement == 1.0
    assert [(v.annotator_id, v.flagged, v.flag_note) for v in view.annotations if v.flagged] == [(a.id, True, "sarcasm?")]


def test_every_annotator_of_a_task_settled_by_the_consensus_hears_of_it(make_uow, team):  # noqa: F811
    (a, b, c, _), reviewer, _, project = team
    task_id = label(make_uow, a, project.id, choice("Positive"))
    label(make_uow, b, project.id, choice("Positive"))
    call(make_uow, accept_consensus, reviewer, task_id=task_id, comment="fine")
    for person in (a, b):
        with make_uow() as uow:
            (review,) = my_reviews(uow, person, project_id=project.id)
            assert (review.task_id, review.verdict, review.comment) == (task_id, "consensus", "fine")
            assert not review.is_new and unseen_review_count(uow, person, project_id=project.id) == 0
    with make_uow() as uow:
        assert my_reviews(uow, c, project_id=project.id) == []  # not theirs


def test_the_reviewer_sees_and_accepts_the_weighted_consensus_the_system_scored(make_uow, team):  # noqa: F811
    """A 1-vs-1 split is a tie; with the second annotator down-weighted to 0.5 the consensus is the first's answer,
    on the review page and in what 'accept the consensus' stores."""
    from core.annotator_actions import set_consensus_weight

    (a, b, *_), reviewer, manager, project = team
    task_id = split(make_uow, team)
    call(make_uow, set_consensus_weight, manager, project_id=project.id, user_id=b.id, weight=0.5)
    with make_uow() as uow:
        shown = review_task(uow, reviewer, task_id=task_id)
        assert shown.has_full_consensus and shown.consensus[0]["value"] == {"choices": ["Positive"]}
    call(make_uow, accept_consensus, reviewer, task_id=task_id)
    with make_uow() as uow:
        truth = uow.session.scalar(select(GroundTruth).where(GroundTruth.task_id == task_id))
        assert truth.result[0]["value"] == {"choices": ["Positive"]}


def test_returning_an_answer_of_a_task_with_more_answers_than_its_overlap_keeps_the_counters_valid(make_uow, team):  # noqa: F811
    """A task can hold more answers than its overlap (a reviewer's own answer, an import); returning one to its
    author keeps the author's slot: the overlap grows to hold it instead of breaking holders_within_overlap."""
    from sqlalchemy import update

    (a, b, *_), reviewer, _, project = team
    task_id = split(make_uow, team)
    with make_uow() as uow:
        uow.session.execute(update(Task).where(Task.id == task_id).values(overlap=1))  # 2 answers, overlap 1
        uow.commit()
        ben = review_task(uow, reviewer, task_id=task_id).annotations[1].annotation_id
    call(make_uow, return_to_authors, reviewer, task_id=task_id, comment="look again", annotation_ids=[ben])
    with make_uow() as uow:
        task = uow.session.get(Task, task_id)
        assert (task.state, task.n_annotations, task.n_locked, task.overlap) == ("open", 1, 1, 2)
