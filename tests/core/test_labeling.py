"""The labeling loop: fair hand-out, locks with a time-to-live, skips, drafts, idempotent submits."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from core.errors import ConflictError, PermissionDeniedError
from core.labeling import (
    add_active_time,
    MyProgress,
    my_history,
    my_progress,
    next_task,
    open_task,
    save_draft,
    skip_task,
    submit_annotation,
)
from core.results import InvalidResultError
from core.uow import UowFactory
from storage.models import Annotation, Task, utcnow
from tests.core.helpers import import_json, make_project, make_user

POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


@pytest.fixture
def team(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    annotators = [make_user(make_uow, f"ann{i}") for i in range(4)]
    project = make_project(make_uow, admin, overlap=2, members={"annotator": annotators})
    import_json(make_uow, admin, project.id, [{"text": f"task {i}"} for i in range(3)])
    return admin, annotators, project


def _next(make_uow, user, project_id, now=None):
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id, now=now)
        uow.commit()
    return task


def _submit(make_uow, user, task_id, result=POSITIVE, **kw):
    with make_uow() as uow:
        out = submit_annotation(uow, user, task_id=task_id, result=result, **kw)
        uow.commit()
    return out


def test_tasks_come_in_order_and_a_reload_gets_the_same_task_back(make_uow, team):
    _, (a, *_), project = team
    first = _next(make_uow, a, project.id)
    again = _next(make_uow, a, project.id)
    assert first.data == {"text": "task 0"} and again.task_id == first.task_id


def test_a_task_is_never_held_by_more_annotators_than_its_overlap(make_uow, team):
    _, (a, b, c, _), project = team
    ta, tb, tc = (_next(make_uow, u, project.id) for u in (a, b, c))
    assert ta.task_id == tb.task_id  # overlap 2: two people on task 0
    assert tc.task_id != ta.task_id  # the third goes on


def test_nobody_gets_the_same_task_twice_not_even_after_skipping_it(make_uow, team):
    _, (a, *_), project = team
    seen = []
    task = _next(make_uow, a, project.id)
    _submit(make_uow, a, task.task_id)
    seen.append(task.task_id)
    task = _next(make_uow, a, project.id)
    with make_uow() as uow:
        skip_task(uow, a, task_id=task.task_id, reason="unreadable")
        uow.commit()
    seen.append(task.task_id)
    task = _next(make_uow, a, project.id)
    seen.append(task.task_id)
    _submit(make_uow, a, task.task_id)
    assert len(set(seen)) == 3
    assert _next(make_uow, a, project.id) is None  # the clear end: nothing left for a
    with make_uow() as uow:
        skipped = uow.session.query(Annotation).filter_by(was_cancelled=True).one()
        assert skipped.skip_reason == "unreadable"


def test_an_expired_lock_returns_the_task_to_the_pool(make_uow, team):
    _, (a, b, c, _), project = team
    t0 = utcnow()
    first = _next(make_uow, a, project.id, now=t0)
    _next(make_uow, b, project.id, now=t0)  # task 0 is now full (overlap 2)
    later = t0 + dt.timedelta(seconds=project.settings.lock_ttl_s + 1)
    renewed = _next(make_uow, b, project.id, now=t0 + dt.timedelta(seconds=10))
    assert renewed.task_id == first.task_id
    got = _next(make_uow, c, project.id, now=later)
    assert got.task_id == first.task_id  # a's lock expired: c gets a's slot
    with make_uow() as uow:
        task = uow.session.get(Task, first.task_id)
        assert task.n_locked == 2  # b (renewed) and c; a's expired lock was reclaimed


def test_a_double_submit_stores_one_annotation_and_edits_update_it(make_uow, team):
    _, (a, *_), project = team
    task = _next(make_uow, a, project.id)
    first = _submit(make_uow, a, task.task_id)
    second = _submit(make_uow, a, task.task_id)
    negative = [dict(POSITIVE[0], value={"choices": ["Negative"]})]
    edited = _submit(make_uow, a, task.task_id, result=negative)
    assert first.created and not second.created and not edited.created
    assert first.annotation_id == second.annotation_id == edited.annotation_id
    with make_uow() as uow:
        rows = uow.session.query(Annotation).filter_by(task_id=task.task_id).all()
        assert len(rows) == 1 and rows[0].result == negative
        assert uow.session.get(Task, task.task_id).n_annotations == 1


def test_a_result_that_does_not_fit_the_config_is_refused(make_uow, team):
    _, (a, *_), project = team
    task = _next(make_uow, a, project.id)
    with pytest.raises(InvalidResultError, match="not a label"):
        _submit(make_uow, a, task.task_id, result=[dict(POSITIVE[0], value={"choices": ["Furious"]})])
    with pytest.raises(InvalidResultError, match="no control"):
        _submit(make_uow, a, task.task_id, result=[dict(POSITIVE[0], from_name="mood")])


NER_CONFIG = """<View><Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="PER"/></Labels></View>"""


def test_a_submitted_span_stores_the_text_of_the_task_at_its_offsets_not_the_text_sent(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    a = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, config=NER_CONFIG, members={"annotator": [a]})
    import_json(make_uow, admin, project.id, [{"text": "Ann lives in Oslo"}])
    task = _next(make_uow, a, project.id)
    span = {"id": "r1", "from_name": "ner", "to_name": "text", "type": "labels",
            "value": {"start": 13, "end": 17, "text": "=HYPERLINK(1)", "labels": ["PER"]}}
    with pytest.raises(InvalidResultError) as refused:
        _submit(make_uow, a, task.task_id, result=[dict(span, value={**span["value"], "end": 99})])
    assert f"task {task.task_id}: region 'r1' of Labels 'ner' on Text 'text'" in str(refused.value)
    submitted = _submit(make_uow, a, task.task_id, result=[span])
    with make_uow() as uow:
        stored = uow.session.get(Annotation, submitted.annotation_id).result
    assert stored[0]["value"]["text"] == "Oslo"


def test_a_task_reaching_its_overlap_is_completed(make_uow, team):
    _, (a, b, *_), project = team
    task = _next(make_uow, a, project.id)
    _next(make_uow, b, project.id)
    assert not _submit(make_uow, a, task.task_id).task_completed
    assert _submit(make_uow, b, task.task_id).task_completed
    with make_uow() as uow:
        assert uow.session.get(Task, task.task_id).state != "open"  # quality then decides done or review


def test_drafts_resume_exactly_and_labelers_see_only_their_own_work(make_uow, team):
    _, (a, b, *_), project = team
    task = _next(make_uow, a, project.id)
    with make_uow() as uow:
        save_draft(uow, a, task_id=task.task_id, result=POSITIVE, active_time_s=12.5)
        uow.commit()
    resumed = _next(make_uow, a, project.id)
    assert resumed.result == POSITIVE and resumed.has_draft and resumed.draft_active_time_s == 12.5
    tb = _next(make_uow, b, project.id)
    assert tb.task_id == task.task_id and tb.result == []  # b never sees a's draft or annotation
    _submit(make_uow, a, task.task_id)
    with make_uow() as uow:
        assert open_task(uow, b, task_id=task.task_id).result == []


def test_a_labeler_cannot_open_a_task_that_was_not_handed_to_them(make_uow, team):
    _, (a, b, *_), project = team
    task = _next(make_uow, a, project.id)
    with make_uow() as uow, pytest.raises(PermissionDeniedError):
        open_task(uow, b, task_id=task.task_id + 1)
    with make_uow() as uow, pytest.raises(PermissionDeniedError):
        save_draft(uow, b, task_id=task.task_id + 1, result=[], active_time_s=0)


def test_history_lists_own_work_and_skipping_a_submitted_task_is_refused(make_uow, team):
    _, (a, *_), project = team
    task = _next(make_uow, a, project.id)
    _submit(make_uow, a, task.task_id, lead_time_s=4.0, active_time_s=3.0)
    with make_uow() as uow:
        (item,) = my_history(uow, a, project_id=project.id)
        assert item.task_id == task.task_id and not item.skipped
        with pytest.raises(ConflictError):
            skip_task(uow, a, task_id=task.task_id)
        row = uow.session.get(Annotation, item.annotation_id)
        assert (row.lead_time_s, row.active_time_s) == (4.0, 3.0)


def test_active_time_leaves_out_idle_gaps_over_a_minute():
    t = dt.datetime(2026, 1, 1, 12, 0, 0)
    total = add_active_time(0.0, None, t)
    total = add_active_time(total, t, t + dt.timedelta(seconds=20))
    total = add_active_time(total, t + dt.timedelta(seconds=20), t + dt.timedelta(seconds=500))  # idle
    total = add_active_time(total, t + dt.timedelta(seconds=500), t + dt.timedelta(seconds=530))
    assert total == 50.0


def test_an_accepted_pre_label_is_recorded_as_unchanged_and_a_corrected_one_as_changed(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    a, b = make_user(make_uow, "ann_a"), make_user(make_uow, "ann_b")
    project = make_project(make_uow, admin, overlap=2, members={"annotator": [a, b]})
    predicted = [dict(POSITIVE[0], id="p1", score=0.9)]
    import_json(make_uow, admin, project.id, [{"data": {"text": "x"}, "predictions": [{"model_version": "m1", "score": 0.9, "result": predicted}]}])
    ta = _next(make_uow, a, project.id)
    assert ta.prediction is not None and ta.prediction.model_version == "m1"
    _submit(make_uow, a, ta.task_id, result=POSITIVE, prediction_id=ta.prediction.id)
    tb = _next(make_uow, b, project.id)
    _submit(make_uow, b, tb.task_id, result=[dict(POSITIVE[0], value={"choices": ["Negative"]})], prediction_id=tb.prediction.id)
    with make_uow() as uow:
        rows = {r.completed_by_id: r for r in uow.session.query(Annotation).all()}
        assert rows[a.id].prediction_id == ta.prediction.id and rows[a.id].prediction_changed is False
        assert rows[b.id].prediction_changed is True
    # Items that came from the pre-label say so, as Label Studio marks them; the labeler's own do not.
    tc_user = make_user(make_uow, "ann_c")
    with make_uow() as uow:
        from core.projects import add_member

        add_member(uow, admin, project_id=project.id, user_id=tc_user.id, role="annotator")
        uow.session.execute(update(Task).values(overlap=3, state="open"))
        uow.commit()
    tc = _next(make_uow, tc_user, project.id)
    kept = dict(predicted[0])
    changed = dict(predicted[0], id="p1", value={"choices": ["Neutral"]})
    own = dict(POSITIVE[0], id="mine", from_name="sentiment")
    _submit(make_uow, tc_user, tc.task_id, result=[changed], prediction_id=tc.prediction.id)
    with make_uow() as uow:
        stored = uow.session.scalar(select(Annotation.result).where(Annotation.completed_by_id == tc_user.id))
    assert [i["origin"] for i in stored] == ["prediction-changed"]
    from core.results import with_origins

    assert [i.get("origin") for i in with_origins([kept, own], predicted)] == ["prediction", None]


def _project_with_sampling(make_uow, sampling: str):
    from core.projects import ProjectSettings, add_member, create_project
    from tests.core.helpers import TEXT_CONFIG

    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    with make_uow() as uow:
        project = create_project(uow, admin, title=f"S-{sampling}", config_xml=TEXT_CONFIG, settings=ProjectSettings(sampling=sampling))
        add_member(uow, admin, project_id=project.id, user_id=ann.id, role="annotator")
        uow.commit()
    return admin, ann, project


def test_uncertainty_sampling_hands_out_the_least_confident_prediction_first(make_uow):
    admin, ann, project = _project_with_sampling(make_uow, "uncertainty")
    scores = [0.9, 0.2, None, 0.55]
    import_json(
        make_uow, admin, project.id,
        [{"data": {"text": f"s{s}"}, "predictions": ([] if s is None else [{"score": s, "result": []}])} for s in scores],
    )
    order = []
    for _ in scores:
        task = _next(make_uow, ann, project.id)
        order.append(task.data["text"])
        _submit(make_uow, ann, task.task_id)
    assert order == ["s0.2", "s0.55", "s0.9", "sNone"]  # unscored tasks come last


def test_random_sampling_still_hands_out_every_task_exactly_once(make_uow):
    import random

    admin, ann, project = _project_with_sampling(make_uow, "random")
    import_json(make_uow, admin, project.id, [{"text": f"r{i}"} for i in range(12)])
    rng = random.Random(7)
    seen = []
    while True:
        with make_uow() as uow:
            task = next_task(uow, ann, project_id=project.id, rng=rng)
            uow.commit()
        if task is None:
            break
        seen.append(task.data["text"])
        _submit(make_uow, ann, task.task_id)
    assert sorted(seen) == sorted(f"r{i}" for i in range(12))
    assert seen != [f"r{i}" for i in range(12)]  # not simply in id order


CONDITIONAL_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Choices name="reason" toName="text" visibleWhen="choice-selected" whenTagName="sentiment" whenChoiceValue="Negative">
    <Choice value="Price"/><Choice value="Quality"/>
  </Choices>
</View>"""


def test_answers_hidden_by_a_condition_are_not_stored_whoever_submits(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, config=CONDITIONAL_CONFIG, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"text": "fine"}])
    task = _next(make_uow, ann, project.id)
    reason = {"from_name": "reason", "to_name": "text", "type": "choices", "value": {"choices": ["Price"]}}
    # The reason belongs to a Negative answer; with Positive chosen it is hidden and must not be stored.
    _submit(make_uow, ann, task.task_id, result=[*POSITIVE, reason])
    with make_uow() as uow:
        stored = uow.session.scalar(select(Annotation.result).where(Annotation.task_id == task.task_id))
    assert stored == POSITIVE


def test_submit_checks_membership_and_role_with_the_task_row(make_uow, team):
    from core.errors import NotFoundError
    from core.projects import add_member

    admin, (a, *_), project = team
    outsider, reviewer = make_user(make_uow, "outsider"), make_user(make_uow, "reviewer1")
    with make_uow() as uow:
        add_member(uow, admin, project_id=project.id, user_id=reviewer.id, role="reviewer")
        uow.commit()
    task = _next(make_uow, a, project.id)
    with make_uow() as uow, pytest.raises(NotFoundError, match="no project"):  # names nothing to outsiders
        submit_annotation(uow, outsider, task_id=task.task_id, result=POSITIVE)
    with make_uow() as uow, pytest.raises(PermissionDeniedError, match="annotator"):
        submit_annotation(uow, reviewer, task_id=task.task_id, result=POSITIVE)
    with make_uow() as uow, pytest.raises(NotFoundError, match="no task"):
        submit_annotation(uow, a, task_id=task.task_id + 10_000, result=POSITIVE)
    assert _submit(make_uow, a, task.task_id).created


REQUIRED_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Header value="Is this review about the product?"/>
  <Choices name="about" toName="text" required="true"><Choice value="Yes"/><Choice value="No"/></Choices>
  <Header value="$hint"/>
  <TextArea name="note" toName="text" required="true"/>
</View>"""


def test_a_missing_required_answer_is_named_by_its_question_and_nothing_is_stored(make_uow):
    """The labeler sees headers, not control names: the refusal quotes the question above the control
    (a header reading task data says nothing fixed, so the name stands in)."""
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, config=REQUIRED_CONFIG, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"text": "great phone", "hint": "Why?"}])
    task = _next(make_uow, ann, project.id)
    with pytest.raises(InvalidResultError) as refused:
        _submit(make_uow, ann, task.task_id, result=[])
    assert str(refused.value) == (
        "Please answer “Is this review about the product?”, “Note” before submitting: they are required."
    )
    with make_uow() as uow:
        assert uow.session.scalar(select(Annotation.id).where(Annotation.task_id == task.task_id)) is None


def test_progress_counts_what_the_labeler_handled_of_what_is_there_for_them(make_uow, team):
    """ "2 of 3": a submit and a skip are handled; a task with room that the labeler has not touched is left
    for them; tasks another annotator completed are not."""
    admin, (a, b, *_), project = team  # overlap 2, 3 tasks
    with make_uow() as uow:
        assert my_progress(uow, a, project_id=project.id) == MyProgress(0, 0, 3, 3)
    first = _next(make_uow, a, project.id)
    _submit(make_uow, a, first.task_id)
    second = _next(make_uow, a, project.id)
    with make_uow() as uow:
        skip_task(uow, a, task_id=second.task_id, reason="unsure")
        uow.commit()
    with make_uow() as uow:
        progress = my_progress(uow, a, project_id=project.id)
    assert (progress.handled, progress.total, progress.left_for_me) == (2, 3, 1)
    _submit(make_uow, b, _next(make_uow, b, project.id).task_id)  # b completes a's first task (overlap 2)
    with make_uow() as uow:
        progress = my_progress(uow, a, project_id=project.id)
    assert (progress.handled, progress.total, progress.left_for_me) == (2, 3, 1)


def test_a_task_is_recognised_in_the_history_by_a_few_of_its_words_or_its_file_name():
    from core.labeling import task_snippet

    assert task_snippet({"text": "  The scent is lovely\n and lasts for hours. Will buy again, definitely."}) == \
        "The scent is lovely and lasts for hours…"
    assert task_snippet({"image": "/data/local-files/?d=demo/images/coins.jpg"}) == "coins.jpg"
    assert task_snippet({"audio": "s3://calls/2024/42.wav", "n": 3}) == "42.wav"
    assert task_snippet({"n": 3}) == "" and task_snippet(None) == ""


def test_history_items_carry_their_task_snippet(make_uow, team):
    admin, (a, *_), project = team
    _submit(make_uow, a, _next(make_uow, a, project.id).task_id)
    with make_uow() as uow:
        (item,) = my_history(uow, a, project_id=project.id)
    assert item.snippet == "task 0"


def test_a_tab_that_showed_the_task_as_new_cannot_overwrite_another_tabs_answer(make_uow: UowFactory) -> None:
    """Two tabs of one labeler on one task: the first submit is stored; the other tab, which still shows the
    task as new, is told and changes nothing, unless it sends the same answer (a retry)."""
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"text": "one"}])
    positive = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
    negative = [{**positive[0], "value": {"choices": ["Negative"]}}]
    with make_uow() as uow:
        task = next_task(uow, ann, project_id=project.id)
        uow.commit()
    assert task is not None and task.annotation_id is None
    with make_uow() as uow:  # tab B
        first = submit_annotation(uow, ann, task_id=task.task_id, result=negative, editing=None)
        uow.commit()
    with make_uow() as uow, pytest.raises(ConflictError, match="another tab or window"):  # tab A, out of date
        submit_annotation(uow, ann, task_id=task.task_id, result=positive, editing=None)
    with make_uow() as uow:  # the same answer again: a retry, accepted
        again = submit_annotation(uow, ann, task_id=task.task_id, result=negative, editing=None)
        uow.commit()
    assert again.annotation_id == first.annotation_id and not again.created
    with make_uow() as uow:  # opened from the history: an edit
        edited = submit_annotation(uow, ann, task_id=task.task_id, result=positive, editing=first.annotation_id)
        uow.commit()
        stored = uow.session.get(Annotation, edited.annotation_id)
        assert stored is not None and stored.result == positive
