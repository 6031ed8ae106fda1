"""What reaches the review queue and why (flags, verification sampling, disagreement, returns), the queue's
order and filters, anonymous names, and review locks: two reviewers never hold one task, on SQLite and
PostgreSQL (a concurrency test with threads included)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, update

from core.errors import NotFoundError, PermissionDeniedError, QuorumError
from core.labeling import next_task, submit_annotation
from core.projects import ProjectSettings, add_member, create_project
from core.quality import recompute_project, sampled_for_verification
from core.review import accept_annotation, return_to_authors, review_task, send_back
from core.review_queue import (
    QueueFilters,
    annotator_names,
    claim_for_review,
    next_for_review,
    release_review_lock,
    review_lock_holder,
    review_queue,
    shown_position,
    task_snippet,
)
from core.users import create_user
from storage.models import Annotation, AuditEvent, Consensus, Project, Task, TaskLock, utcnow
from tests.core.helpers import TEXT_CONFIG, import_json, make_user
from tests.core.test_project_settings import save


def choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def call(make_uow, fn, *args, **kwargs):
    with make_uow() as uow:
        out = fn(uow, *args, **kwargs)
        uow.commit()
    return out


class Team:
    def __init__(self, make_uow, *, overlap: int = 2, n_tasks: int = 6, verify_rate: float = 0.0,
                 anonymize: bool = False, escalation: str = "review_first") -> None:
        self.make_uow = make_uow
        self.admin = make_user(make_uow, "admin", admin=True)
        with make_uow() as uow:
            self.annotators = [create_user(uow, username=f"ann{i}", password="password-123",
                                           email=f"ann{i}@example.com", display_name=name)
                               for i, name in enumerate(["Ana", "Ben", "Cleo", "Dev"])]
            uow.commit()
        self.reviewers = [make_user(make_uow, f"rev{i}") for i in range(2)]
        with make_uow() as uow:
            self.project = create_project(
                uow, self.admin, title="Queue", config_xml=TEXT_CONFIG,
                settings=ProjectSettings(overlap=overlap, maximum_annotations=max(overlap, 2), agreement_threshold=0.8,
                                         escalation_order=escalation, verify_rate=verify_rate,
                                         anonymize_reviews=anonymize),
            )
            for user in self.annotators:
                add_member(uow, self.admin, project_id=self.project.id, user_id=user.id, role="annotator")
            for user in self.reviewers:
                add_member(uow, self.admin, project_id=self.project.id, user_id=user.id, role="reviewer")
            uow.commit()
        import_json(make_uow, self.admin, self.project.id,
                    [{"text": f"task number {i}" + (" café" if i == 1 else "")} for i in range(n_tasks)])

    def label(self, user, answer: str, *, flagged: bool = False, note: str | None = None) -> int:
        with self.make_uow() as uow:
            task = next_task(uow, user, project_id=self.project.id)
            assert task is not None
            submit_annotation(uow, user, task_id=task.task_id, result=choice(answer), flagged=flagged, flag_note=note)
            uow.commit()
        return task.task_id

    def pair(self, first: str, second: str, *, flag_second: bool = False, who: tuple[int, int] = (0, 1)) -> int:
        a, b = (self.annotators[i] for i in who)
        task_id = self.label(a, first)
        assert self.label(b, second, flagged=flag_second, note="unsure about irony") == task_id
        return task_id

    def task(self, task_id: int) -> tuple[str, str | None]:
        with self.make_uow() as uow:
            task = uow.session.get(Task, task_id)
            return task.state, task.review_reason

    def queue(self, reviewer=None, **filters):
        with self.make_uow() as uow:
            return review_queue(uow, reviewer or self.reviewers[0], project_id=self.project.id,
                                filters=QueueFilters(**filters))


# --- routing reasons --------------------------------------------------------------------------------------


def test_disagreement_goes_to_review_with_its_reason_and_agreement_is_done(make_uow):
    team = Team(make_uow)
    assert team.task(team.pair("Positive", "Negative")) == ("review", "disagreement")
    assert team.task(team.pair("Positive", "Positive")) == ("done", None)


def test_a_flagged_answer_sends_an_agreed_task_to_review_and_keeps_the_note(make_uow):
    team = Team(make_uow)
    task_id = team.pair("Positive", "Positive", flag_second=True)
    assert team.task(task_id) == ("review", "flagged")
    with make_uow() as uow:
        flags = uow.session.execute(select(Annotation.flagged, Annotation.flag_note)
                                    .where(Annotation.task_id == task_id).order_by(Annotation.id)).all()
    assert [tuple(f) for f in flags] == [(False, None), (True, "unsure about irony")]


def test_a_flagged_answer_of_a_single_annotation_task_goes_to_review(make_uow):
    team = Team(make_uow, overlap=1)
    assert team.task(team.label(team.annotators[0], "Positive", flagged=True)) == ("review", "flagged")
    assert team.task(team.label(team.annotators[0], "Positive")) == ("done", None)


def test_verification_samples_agreed_tasks_at_the_project_rate(make_uow):
    team = Team(make_uow, overlap=1, verify_rate=1.0)
    assert team.task(team.label(team.annotators[0], "Positive")) == ("review", "verification")
    with make_uow() as uow:
        uow.session.execute(update(Project).where(Project.id == team.project.id).values(verify_rate=0.0))
        uow.commit()
    assert team.task(team.label(team.annotators[0], "Positive")) == ("done", None)


def test_the_verification_draw_is_deterministic_and_near_the_rate():
    draws = [sampled_for_verification(7, task_id, 0.2) for task_id in range(20_000)]
    assert draws == [sampled_for_verification(7, task_id, 0.2) for task_id in range(20_000)]
    assert 0.18 < sum(draws) / len(draws) < 0.22
    assert not any(sampled_for_verification(7, t, 0.0) for t in range(1000))
    assert all(sampled_for_verification(7, t, 1.0) for t in range(1000))
    # raising the rate only adds tasks
    low = {t for t in range(5000) if sampled_for_verification(3, t, 0.1)}
    assert low <= {t for t in range(5000) if sampled_for_verification(3, t, 0.3)}


def test_a_new_verification_share_samples_the_tasks_scored_before_it_the_same_way(make_uow):
    team = Team(make_uow, overlap=1, n_tasks=40)
    ids = [team.label(team.annotators[i % 4], "Positive") for i in range(40)]
    accepted = ids[0]
    call(make_uow, accept_annotation, team.admin,  # a reviewer's ground truth: never sampled again
         annotation_id=_annotation_of(make_uow, accepted), override=True)
    assert {team.task(t) for t in ids} == {("done", None)}

    def in_review() -> set[int]:
        return {t for t in ids if team.task(t) == ("review", "verification")}

    def expected(rate: float) -> set[int]:
        return {t for t in ids if t != accepted and sampled_for_verification(team.project.id, t, rate)}

    out = save(make_uow, team.admin, team.project, verify_rate=0.5)
    assert in_review() == expected(0.5) and 10 < len(expected(0.5)) < 30
    assert (out.n_verification_added, out.n_verification_taken_back) == (len(expected(0.5)), 0)
    # a reviewer holds one of them; lowering the share takes back the undecided ones no longer drawn
    held = sorted(expected(0.5) - expected(0.2))[0]
    assert call(make_uow, claim_for_review, team.reviewers[0], task_id=held).held
    out = save(make_uow, team.admin, team.project, verify_rate=0.2)
    assert in_review() == expected(0.2)
    assert out.n_verification_taken_back == len(expected(0.5) - expected(0.2))
    assert team.task(held) == ("done", None)
    with make_uow() as uow:
        assert review_lock_holder(uow, held) is None
        events = uow.session.scalars(select(AuditEvent.detail)
                                     .where(AuditEvent.action == "review.verification_resampled")).all()
    assert [e["verify_rate"] for e in events] == [[0.0, 0.5], [0.5, 0.2]]
    assert sorted(events[0]["to_review"]) == sorted(expected(0.5))
    assert sorted(events[1]["taken_back"]) == sorted(expected(0.5) - expected(0.2))
    assert team.task(accepted) == ("done", None)


def _annotation_of(make_uow, task_id: int) -> int:
    with make_uow() as uow:
        return uow.session.scalar(select(Annotation.id).where(Annotation.task_id == task_id))


def test_a_returned_task_still_unsettled_comes_back_as_returned(make_uow):
    team = Team(make_uow)
    task_id = team.pair("Positive", "Negative")
    with make_uow() as uow:
        bens = uow.session.scalar(select(Annotation.id).where(Annotation.task_id == task_id,
                                                              Annotation.completed_by_id == team.annotators[1].id))
    call(make_uow, return_to_authors, team.reviewers[0], task_id=task_id, comment="read again",
         annotation_ids=[bens])
    with make_uow() as uow:  # Ben corrects, still disagreeing (his earlier answer is the one he edits)
        submit_annotation(uow, team.annotators[1], task_id=task_id, result=choice("Neutral"))
        uow.commit()
    assert team.task(task_id) == ("review", "returned")


# --- the queue ---------------------------------------------------------------------------------------------


def _set_agreement(make_uow, task_id: int, agreement: float | None, waited: dt.datetime | None = None) -> None:
    with make_uow() as uow:
        uow.session.execute(update(Consensus).where(Consensus.task_id == task_id).values(agreement=agreement))
        if waited is not None:
            uow.session.execute(update(Task).where(Task.id == task_id).values(updated_at=waited))
        uow.commit()


def test_the_queue_comes_lowest_agreement_first_then_oldest_with_unmeasured_tasks_last(make_uow):
    team = Team(make_uow)
    ids = [team.pair("Positive", "Negative") for _ in range(4)]
    now = utcnow()
    _set_agreement(make_uow, ids[0], 0.5, now - dt.timedelta(hours=1))
    _set_agreement(make_uow, ids[1], None, now - dt.timedelta(hours=5))
    _set_agreement(make_uow, ids[2], 0.2, now - dt.timedelta(hours=2))
    _set_agreement(make_uow, ids[3], 0.5, now - dt.timedelta(hours=3))
    page = team.queue()
    assert [i.task_id for i in page.items] == [ids[2], ids[3], ids[0], ids[1]]
    assert page.n_matching == 4 and page.n_waiting == 4 and page.state_counts["open"] == 2
    first = page.items[0]
    assert (first.n_annotations, first.reason, first.annotators, first.held_by) == (2, "disagreement", ("Ana", "Ben"), None)
    assert first.snippet.startswith("task number")
    with make_uow() as uow:
        second = review_queue(uow, team.reviewers[0], project_id=team.project.id, limit=2, offset=2)
    assert [i.task_id for i in second.items] == [ids[0], ids[1]]
    assert second.has_previous_page and not second.has_next_page


def test_the_queue_filters_by_label_annotator_band_reason_and_text(make_uow):
    team = Team(make_uow)
    split = team.pair("Positive", "Negative")  # task 1: Ana, Ben
    flagged = team.pair("Neutral", "Neutral", flag_second=True, who=(2, 3))  # task 2 ("café"): Cleo, Dev
    _set_agreement(make_uow, split, 0.0)

    def ids(**filters) -> list[int]:
        return [i.task_id for i in team.queue(**filters).items]

    assert ids(label="Negative") == [split]
    assert ids(label="Neutral") == [flagged]
    assert ids(label="Neg") == []  # a whole label, not a part of one
    assert ids(annotator_id=team.annotators[3].id) == [flagged]
    assert ids(min_agreement=0.5) == [flagged] and ids(max_agreement=0.5) == [split]
    assert ids(reason="flagged") == [flagged] and ids(reason="disagreement") == [split]
    assert ids(text="CAFÉ") == [flagged] and ids(text="task number") == [split, flagged]
    assert ids(text="100%_") == []  # LIKE wildcards are escaped
    with pytest.raises(QuorumError, match="reason"):
        team.queue(reason="boredom")
    with pytest.raises(QuorumError, match="band"):
        team.queue(min_agreement=0.8, max_agreement=0.2)


def test_anonymous_reviews_number_annotators_per_task_by_a_hash_not_by_who_came_first(make_uow):
    team = Team(make_uow, anonymize=True, n_tasks=8)
    cleo, ana = team.annotators[2], team.annotators[0]
    firsts = []
    for _ in range(4):  # Cleo submits first every time
        task_id = team.pair("Positive", "Negative", who=(2, 0))
        with make_uow() as uow:
            names = annotator_names(uow, team.reviewers[0], task_id=task_id)
        ranked = sorted((cleo.id, ana.id), key=lambda uid: shown_position(task_id, uid))
        assert names == {ranked[0]: "Annotator 1", ranked[1]: "Annotator 2"}
        firsts.append(names[cleo.id])
        view = call(make_uow, review_task, team.reviewers[0], task_id=task_id)
        assert [v.annotator for v in view.annotations] == ["Annotator 1", "Annotator 2"]  # by number, same names
        assert {v.annotator_id: v.annotator for v in view.annotations} == names
    assert set(firsts) == {"Annotator 1", "Annotator 2"}  # who submitted first does not decide the number
    assert all(item.annotators == ("Annotator 1", "Annotator 2") for item in team.queue().items)
    # A decision does not renumber: Cleo rejected, the names stay
    with make_uow() as uow:
        cleos = uow.session.scalar(select(Annotation.id).where(Annotation.task_id == task_id,
                                                               Annotation.completed_by_id == cleo.id))
    call(make_uow, send_back, team.reviewers[0], task_id=task_id, comment="no", annotation_ids=[cleos])
    with make_uow() as uow:
        assert annotator_names(uow, team.reviewers[0], task_id=task_id) == names


def test_an_imported_ground_truth_is_no_annotator_in_the_queue_nor_in_the_task_view(make_uow):
    team = Team(make_uow, n_tasks=1)

    def by(email: str, answer: str, **extra) -> dict:
        return {"completed_by": {"email": email}, "result": choice(answer), **extra}

    import_json(make_uow, team.admin, team.project.id, [{"data": {"text": "the gold task"}, "annotations": [
        by("boss@example.com", "Positive", ground_truth=True), by("ann0@example.com", "Positive"),
        by("ann1@example.com", "Negative")]}], filename="gold.json")
    call(make_uow, recompute_project, team.admin, team.project.id)
    (item,) = team.queue(text="gold task").items
    view = call(make_uow, review_task, team.reviewers[0], task_id=item.task_id)
    assert [v.annotator for v in view.annotations] == ["Ana", "Ben"] and view.ground_truth == choice("Positive")
    # Ana and Ben disagree (0); counting the gold as a third voter would have made it 1/3
    assert (item.agreement, item.n_annotations, item.annotators) == (view.agreement, 2, ("Ana", "Ben"))
    assert item.agreement == 0.0


def test_annotators_may_not_see_the_queue(make_uow):
    team = Team(make_uow)
    with make_uow() as uow, pytest.raises(PermissionDeniedError):
        review_queue(uow, team.annotators[0], project_id=team.project.id)
    with make_uow() as uow, pytest.raises(PermissionDeniedError):
        next_for_review(uow, team.annotators[0], project_id=team.project.id)


# --- review locks ---------------------------------------------------------------------------------------------


def test_two_reviewers_pressing_next_get_different_tasks_and_see_who_holds_what(make_uow):
    team = Team(make_uow)
    ids = [team.pair("Positive", "Negative") for _ in range(2)]
    first, second = team.reviewers
    mine = call(make_uow, next_for_review, first, project_id=team.project.id)
    theirs = call(make_uow, next_for_review, second, project_id=team.project.id)
    assert {mine, theirs} == set(ids)
    assert call(make_uow, next_for_review, first, project_id=team.project.id) == mine  # a reload: the same
    held = {i.task_id: i.held_by for i in team.queue(first).items}
    assert held == {mine: None, theirs: "rev1"}
    with make_uow() as uow:
        assert review_lock_holder(uow, mine).name == "rev0"
        assert review_lock_holder(uow, mine, other_than=first.id) is None
        counters = uow.session.execute(select(Task.n_locked).where(Task.id.in_(ids))).scalars().all()
    assert counters == [0, 0]  # review locks take no labeling slot
    claim = call(make_uow, claim_for_review, first, task_id=theirs)
    assert not claim.held and claim.holder.name == "rev1"
    # nothing else is free for the first reviewer when leaving their task
    assert call(make_uow, next_for_review, first, project_id=team.project.id, after_task_id=mine) is None
    assert call(make_uow, release_review_lock, second, task_id=theirs) == 1
    assert call(make_uow, claim_for_review, first, task_id=theirs).held
    with make_uow() as uow:
        assert review_lock_holder(uow, theirs).user_id == first.id


def test_next_skips_the_task_left_and_honours_the_filters(make_uow):
    team = Team(make_uow)
    a = team.pair("Positive", "Negative")
    b = team.pair("Neutral", "Negative")
    reviewer = team.reviewers[0]
    got = call(make_uow, next_for_review, reviewer, project_id=team.project.id)
    other = b if got == a else a
    assert call(make_uow, next_for_review, reviewer, project_id=team.project.id, after_task_id=got) == other
    with make_uow() as uow:  # only one review lock per reviewer and project
        assert uow.session.scalar(select(func.count()).select_from(TaskLock).where(TaskLock.user_id == reviewer.id)) == 1
    assert call(make_uow, next_for_review, reviewer, project_id=team.project.id,
                filters=QueueFilters(label="Neutral")) == b


def test_an_expired_review_lock_frees_the_task(make_uow):
    team = Team(make_uow)
    task_id = team.pair("Positive", "Negative")
    first, second = team.reviewers
    assert call(make_uow, next_for_review, first, project_id=team.project.id) == task_id
    assert call(make_uow, next_for_review, second, project_id=team.project.id) is None
    later = utcnow() + dt.timedelta(seconds=3601)
    assert call(make_uow, next_for_review, second, project_id=team.project.id, now=later) == task_id


def test_a_review_lock_is_not_a_labeling_task_for_a_reviewer_who_also_labels(make_uow):
    team = Team(make_uow)
    task_id = team.pair("Positive", "Negative")
    cleo = team.annotators[2]
    with make_uow() as uow:
        add_member(uow, team.admin, project_id=team.project.id, user_id=cleo.id, role="reviewer")
        uow.commit()
    assert call(make_uow, next_for_review, cleo, project_id=team.project.id) == task_id
    with make_uow() as uow:
        labeling = next_task(uow, cleo, project_id=team.project.id)
        uow.commit()
    assert labeling is not None and labeling.task_id != task_id


def test_claiming_an_unknown_task_or_a_task_no_longer_in_review(make_uow):
    team = Team(make_uow)
    done = team.pair("Positive", "Positive")
    with pytest.raises(NotFoundError):
        call(make_uow, claim_for_review, team.reviewers[0], task_id=999_999)
    claim = call(make_uow, claim_for_review, team.reviewers[0], task_id=done)
    assert (claim.held, claim.holder) == (False, None)


N_REVIEWERS = 8
N_REVIEW_TASKS = 24


def test_concurrent_reviewers_never_get_the_same_task(make_uow):
    """Eight reviewers press "next" at once, again and again, deciding each task they get in a transaction
    of its own (the lock committed first): every task is handed to exactly one of them, on PostgreSQL (SKIP LOCKED, then a fresh check under
    the row lock) and SQLite (BEGIN IMMEDIATE)."""
    admin = make_user(make_uow, "admin", admin=True)
    reviewers = [make_user(make_uow, f"rev{i}") for i in range(N_REVIEWERS)]
    with make_uow() as uow:
        project = create_project(uow, admin, title="Race", config_xml=TEXT_CONFIG, settings=ProjectSettings())
        for user in reviewers:
            add_member(uow, admin, project_id=project.id, user_id=user.id, role="reviewer")
        uow.session.execute(Task.__table__.insert(), [
            {"project_id": project.id, "data": {"text": f"t{i}"}, "overlap": 1, "state": "review", "n_annotations": 1,
             "n_locked": 0, "review_reason": "disagreement", "created_at": utcnow(), "updated_at": utcnow()}
            for i in range(N_REVIEW_TASKS)])
        uow.commit()
    got: dict[int, list[int]] = {user.id: [] for user in reviewers}
    errors: list[BaseException] = []
    barrier = threading.Barrier(N_REVIEWERS)

    def work(user) -> None:
        try:
            barrier.wait()
            while True:
                with make_uow() as uow:
                    task_id = next_for_review(uow, user, project_id=project.id)
                    uow.commit()
                if task_id is None:
                    return
                got[user.id].append(task_id)
                with make_uow() as uow:  # the decision, in its own transaction after the lock was committed
                    uow.session.execute(update(Task).where(Task.id == task_id).values(state="done"))
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(user,)) for user in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    handed = [task_id for ids in got.values() for task_id in ids]
    assert len(handed) == len(set(handed)) == N_REVIEW_TASKS, sorted(handed)


def test_the_review_start_is_kept_while_the_reviewer_holds_the_task(make_uow):
    team = Team(make_uow)
    task_id = team.pair("Positive", "Negative")
    reviewer = team.reviewers[0]
    start = utcnow() - dt.timedelta(minutes=5)
    assert call(make_uow, next_for_review, reviewer, project_id=team.project.id, now=start) == task_id
    assert call(make_uow, claim_for_review, reviewer, task_id=task_id).held  # reopened from the list
    assert call(make_uow, next_for_review, reviewer, project_id=team.project.id) == task_id  # a reload
    from core.review_queue import review_started_at

    with make_uow() as uow:
        assert review_started_at(uow, reviewer, task_id=task_id) == start
        assert review_started_at(uow, team.reviewers[1], task_id=task_id) is None
    assert call(make_uow, release_review_lock, reviewer, project_id=team.project.id) == 1


def test_the_queue_names_a_media_task_by_its_file_and_a_text_task_by_its_first_words():
    assert task_snippet({"image": "/data/local-files/?d=photos/caf%C3%A9%20one.jpg"}, ("image",)) == "café one.jpg"
    assert task_snippet({"audio": "https://cdn.example.com/calls/My%20Call%20%2342.wav?sig=abc"}) == "My Call #42.wav"
    assert task_snippet({"image": "s3://bucket/a/b/c.png"}) == "c.png"
    assert task_snippet({"image": "data:image/png;base64,AAAA"}) == "embedded file"
    # the config's data first: the caption of an image task is not what names it
    assert task_snippet({"caption": "a red car", "image": "/data/upload/3/car.jpg"}, ("image", "caption")) == "car.jpg"
    assert task_snippet({"text": "  The scent is lovely\n and lasts.  "}) == "The scent is lovely and lasts."
    assert task_snippet({"text": "/ not a path, a sentence"}) == "/ not a path, a sentence"
    assert task_snippet({"n": 3}) == "" and task_snippet(None) == ""
