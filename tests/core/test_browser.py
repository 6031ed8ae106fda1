"""The data browser's services on SQLite and PostgreSQL: filters, sorts, keyset pages, bulk actions and
who may use them."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from core.browser import (
    AGREEMENT_BELOW,
    AGREEMENT_NONE,
    AGREEMENT_REACHED,
    SORT_AGREEMENT,
    SORT_ID,
    SORT_N_ANNOTATIONS,
    SORT_UPDATED,
    SORTS,
    BrowserFilter,
    TaskRow,
    browse_tasks,
    delete_tasks,
    deletion_preview,
    mark_ground_truth,
    requeue_tasks,
    task_detail,
)
from core.errors import ConflictError, NotFoundError, PermissionDeniedError, QuorumError
from core.labeling import next_task, submit_annotation
from core.projects import ProjectSettings, add_member, create_project
from core.uow import UowFactory
from core.users import UserInfo
from storage.models import Annotation, AuditEvent, Consensus, GroundTruth, Prediction, Task
from tests.core.helpers import TEXT_CONFIG, import_json, make_user

N_TASKS = 10


def answer(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


@dataclass
class World:
    make_uow: UowFactory
    admin: UserInfo
    manager: UserInfo
    annotators: list[UserInfo]
    outsider: UserInfo
    project_id: int
    other_project_id: int
    task_ids: list[int]


def label(make_uow: UowFactory, user: UserInfo, project_id: int, labels: list[str]) -> list[int]:
    done = []
    for value in labels:
        with make_uow() as uow:
            task = next_task(uow, user, project_id=project_id)
            uow.commit()
        assert task is not None
        with make_uow() as uow:
            submit_annotation(uow, user, task_id=task.task_id, result=answer(value), lead_time_s=2.5)
            uow.commit()
        done.append(task.task_id)
    return done


@pytest.fixture
def world(make_uow: UowFactory) -> World:
    """10 tasks, overlap 2 (maximum 3): tasks 1-3 agree (done), 4-6 disagree (escalated back to open with
    overlap 3), 7-10 untouched; task 2 has a prediction; task 10's text has a non-ASCII word."""
    admin = make_user(make_uow, "admin", admin=True)
    manager = make_user(make_uow, "manager")
    annotators = [make_user(make_uow, f"ann{i}") for i in (1, 2, 3)]
    outsider = make_user(make_uow, "outsider")
    with make_uow() as uow:
        project = create_project(uow, admin, title="Browse", config_xml=TEXT_CONFIG,
                                 settings=ProjectSettings(overlap=2, maximum_annotations=3))
        other = create_project(uow, admin, title="Other", config_xml=TEXT_CONFIG)
        add_member(uow, admin, project_id=project.id, user_id=manager.id, role="manager")
        for a in annotators:
            add_member(uow, admin, project_id=project.id, user_id=a.id, role="annotator")
        uow.commit()
    texts = [{"text": f"Review number {i}: the room was fine"} for i in range(1, N_TASKS)]
    texts.append({"text": "Un café très fort"})
    texts[1] = {"data": texts[1], "predictions": [{"model_version": "m1", "score": 0.4, "result": answer("Positive")}]}
    import_json(make_uow, admin, project.id, texts)
    import_json(make_uow, admin, other.id, [{"text": "elsewhere"}])
    with make_uow() as uow:
        ids = list(uow.session.scalars(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)))
    label(make_uow, annotators[0], project.id, ["Positive"] * 6)
    label(make_uow, annotators[1], project.id, ["Positive"] * 3 + ["Negative"] * 3)
    with make_uow() as uow:
        other_id = other.id
    return World(make_uow, admin, manager, annotators, outsider, project.id, other_id, ids)


def browse(w: World, **kwargs) -> list[TaskRow]:  # type: ignore[no-untyped-def]
    with w.make_uow() as uow:
        return list(browse_tasks(uow, w.manager, project_id=w.project_id, **kwargs).rows)


def all_pages(w: World, *, limit: int, **kwargs) -> list[TaskRow]:  # type: ignore[no-untyped-def]
    rows: list[TaskRow] = []
    after = None
    for _ in range(100):
        with w.make_uow() as uow:
            page = browse_tasks(uow, w.manager, project_id=w.project_id, after=after, limit=limit, **kwargs)
        rows.extend(page.rows)
        if page.next_key is None:
            return rows
        after = page.next_key
    raise AssertionError("the pages never ended")


def test_the_first_page_shows_each_task_with_its_state_counts_agreement_and_annotators(world: World) -> None:
    rows = browse(world)
    assert [r.task_id for r in rows] == world.task_ids
    first, fourth, seventh = rows[0], rows[3], rows[6]
    assert (first.state, first.n_annotations, first.overlap, first.agreement) == ("done", 2, 2, 1.0)
    assert first.annotators == ("ann1", "ann2")
    assert (fourth.state, fourth.overlap, fourth.agreement) == ("open", 3, 0.0)
    assert (seventh.state, seventh.n_annotations, seventh.agreement, seventh.annotators) == ("open", 0, None, ())
    assert first.preview.startswith("Review number 1") and not first.has_ground_truth


def test_filters_narrow_the_rows(world: World) -> None:
    ids = world.task_ids

    def found(**filters) -> list[int]:  # type: ignore[no-untyped-def]
        return [r.task_id for r in browse(world, filters=BrowserFilter(**filters))]

    assert found(states=("done",)) == ids[:3]
    assert found(states=("open",)) == ids[3:]
    assert found(states=("done", "review")) == ids[:3]
    assert found(annotator_id=world.annotators[1].id) == ids[:6]
    assert found(annotator_id=world.annotators[2].id) == []
    assert found(agreement=AGREEMENT_BELOW) == ids[3:6]
    assert found(agreement=AGREEMENT_REACHED) == ids[:3]
    assert found(agreement=AGREEMENT_NONE) == ids[6:]
    assert found(has_predictions=True) == [ids[1]]
    assert found(has_predictions=False) == [i for i in ids if i != ids[1]]
    assert found(text="NUMBER 7") == [ids[6]]
    assert found(text="café") == [ids[9]]
    assert found(text="100%") == []  # a LIKE wildcard is a plain character here
    assert found(ground_truth=True) == []
    assert found(states=("open",), annotator_id=world.annotators[0].id, agreement=AGREEMENT_BELOW) == ids[3:6]


def expected_order(rows: list[TaskRow], sort: str, descending: bool) -> list[int]:
    if sort == SORT_AGREEMENT:  # tasks with an agreement first (in order), then the others by id
        scored = sorted((r for r in rows if r.agreement is not None), key=lambda r: (r.agreement, r.task_id),
                        reverse=descending)
        rest = sorted((r for r in rows if r.agreement is None), key=lambda r: r.task_id, reverse=descending)
        return [r.task_id for r in scored + rest]
    key = {SORT_ID: lambda r: (r.task_id,), SORT_N_ANNOTATIONS: lambda r: (r.n_annotations, r.task_id),
           SORT_UPDATED: lambda r: (r.updated_at, r.task_id)}[sort]
    return [r.task_id for r in sorted(rows, key=key, reverse=descending)]


def test_keyset_pages_cover_every_task_once_in_order_even_when_sort_values_tie(world: World) -> None:
    everything = browse(world, limit=100)
    for sort in SORTS:
        for descending in (False, True):
            paged = all_pages(world, limit=3, sort=sort, descending=descending)
            assert [r.task_id for r in paged] == expected_order(everything, sort, descending), (sort, descending)
            assert sorted(r.task_id for r in paged) == world.task_ids  # each once, none missing


def test_keyset_pages_follow_a_filter(world: World) -> None:
    by_ann2 = BrowserFilter(annotator_id=world.annotators[1].id)
    for sort in SORTS:
        for descending in (False, True):
            paged = all_pages(world, limit=2, sort=sort, descending=descending, filters=BrowserFilter(states=("open",)))
            assert sorted(r.task_id for r in paged) == world.task_ids[3:]
            assert len(paged) == len(world.task_ids[3:])
            paged = all_pages(world, limit=4, sort=sort, descending=descending, filters=by_ann2)
            assert [r.task_id for r in paged] == expected_order(browse(world, filters=by_ann2), sort, descending)
            assert sorted(r.task_id for r in paged) == world.task_ids[:6]


def test_bad_page_arguments_are_named(world: World) -> None:
    with world.make_uow() as uow:
        with pytest.raises(QuorumError, match="unknown sort 'title'"):
            browse_tasks(uow, world.manager, project_id=world.project_id, sort="title")
        with pytest.raises(QuorumError, match="unknown task state finished"):
            browse_tasks(uow, world.manager, project_id=world.project_id, filters=BrowserFilter(states=("finished",)))


def test_only_managers_browse_and_open_tasks(world: World) -> None:
    with world.make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            browse_tasks(uow, world.annotators[0], project_id=world.project_id)
        with pytest.raises(NotFoundError):
            browse_tasks(uow, world.outsider, project_id=world.project_id)
        with pytest.raises(PermissionDeniedError):
            task_detail(uow, world.annotators[0], task_id=world.task_ids[0])


def test_opening_a_task_shows_every_annotation_with_its_author_times_and_the_consensus(world: World) -> None:
    with world.make_uow() as uow:
        detail = task_detail(uow, world.manager, task_id=world.task_ids[3])
    assert [a.annotator for a in detail.annotations] == ["ann1", "ann2"]
    assert [a.result[0]["value"]["choices"] for a in detail.annotations] == [["Positive"], ["Negative"]]
    assert all(a.lead_time_s == 2.5 and not a.is_reviewed for a in detail.annotations)
    assert detail.agreement == 0.0 and detail.ground_truth is None
    assert detail.data == {"text": "Review number 4: the room was fine"}


def count(w: World, model, *where) -> int:  # type: ignore[no-untyped-def]
    with w.make_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_marking_ground_truth_from_the_consensus_stores_it_flags_the_task_and_audits(world: World) -> None:
    ids = world.task_ids[:2]
    with world.make_uow() as uow:
        marked = mark_ground_truth(uow, world.manager, project_id=world.project_id, task_ids=ids)
        uow.commit()
    assert marked.task_ids == tuple(ids)
    with world.make_uow() as uow:
        truths = uow.session.scalars(select(GroundTruth).where(GroundTruth.task_id.in_(ids))).all()
        assert {t.source for t in truths} == {"manager"}
        assert all(t.result == answer("Positive") for t in truths)
        assert all(uow.session.get(Task, i).is_ground_truth for i in ids)
    assert [r.task_id for r in browse(world, filters=BrowserFilter(ground_truth=True))] == ids
    assert count(world, AuditEvent, AuditEvent.action == "tasks.mark_ground_truth") == 1


def test_a_tie_has_no_consensus_to_mark_and_nothing_changes(world: World) -> None:
    with world.make_uow() as uow:
        with pytest.raises(ConflictError, match=f"task {world.task_ids[3]} has no complete consensus"):
            mark_ground_truth(uow, world.manager, project_id=world.project_id, task_ids=world.task_ids[:4])
    assert count(world, GroundTruth) == 0 and count(world, AuditEvent) == 0


def test_a_chosen_annotation_becomes_the_ground_truth_of_its_task(world: World) -> None:
    task_id = world.task_ids[3]
    with world.make_uow() as uow:
        chosen = task_detail(uow, world.manager, task_id=task_id).annotations[1]
    with world.make_uow() as uow:
        mark_ground_truth(uow, world.manager, project_id=world.project_id, task_ids=[task_id],
                          annotation_id=chosen.annotation_id)
        uow.commit()
    with world.make_uow() as uow:
        detail = task_detail(uow, world.manager, task_id=task_id)
    assert detail.ground_truth == answer("Negative") and detail.state == "done" and detail.is_ground_truth
    assert [a.is_ground_truth for a in detail.annotations] == [False, True]
    with world.make_uow() as uow, pytest.raises(NotFoundError):
        mark_ground_truth(uow, world.manager, project_id=world.project_id, task_ids=[world.task_ids[0]],
                          annotation_id=chosen.annotation_id)


def test_requeue_opens_the_task_for_one_more_annotation_even_past_the_maximum(world: World) -> None:
    done = world.task_ids[0]
    with world.make_uow() as uow:
        out = requeue_tasks(uow, world.manager, project_id=world.project_id, task_ids=[done])
        uow.commit()
    assert out.task_ids == (done,) and out.nobody_left == ()
    with world.make_uow() as uow:
        task = uow.session.get(Task, done)
        assert (task.state, task.overlap) == ("open", 3)
    # ann3 is handed the requeued task (the first open one they have not seen).
    assert label(world.make_uow, world.annotators[2], world.project_id, ["Positive"]) == [done]
    # The project's maximum (3) bounds automatic escalation only: a manager may ask for a fourth opinion.
    with world.make_uow() as uow:
        again = requeue_tasks(uow, world.manager, project_id=world.project_id, task_ids=[done])
        uow.commit()
    assert again.task_ids == (done,) and again.nobody_left == (done,)  # all three annotators did it: said so
    with world.make_uow() as uow:
        assert (uow.session.get(Task, done).state, uow.session.get(Task, done).overlap) == ("open", 4)
    assert count(world, AuditEvent, AuditEvent.action == "tasks.requeue") == 2


def test_deleting_tasks_takes_their_annotations_and_says_how_many_first(world: World) -> None:
    ids = world.task_ids[:2]
    with world.make_uow() as uow:
        preview = deletion_preview(uow, world.manager, project_id=world.project_id, task_ids=ids)
    assert (preview.n_tasks, preview.n_annotations) == (2, 4)
    with world.make_uow() as uow:
        gone = delete_tasks(uow, world.manager, project_id=world.project_id, task_ids=ids)
        uow.commit()
    assert (gone.n_tasks, gone.n_annotations) == (2, 4)
    assert count(world, Task, Task.id.in_(ids)) == 0
    assert count(world, Annotation, Annotation.task_id.in_(ids)) == 0
    assert count(world, Consensus, Consensus.task_id.in_(ids)) == 0
    assert count(world, Prediction) == 0
    assert count(world, AuditEvent, AuditEvent.action == "tasks.delete") == 1


def test_bulk_actions_need_the_manager_role_and_tasks_of_the_project(world: World) -> None:
    ids = world.task_ids[:1]
    with world.make_uow() as uow:
        stranger = uow.session.scalar(select(Task.id).where(Task.project_id == world.other_project_id))
    for call in (mark_ground_truth, requeue_tasks, delete_tasks, deletion_preview):
        with world.make_uow() as uow, pytest.raises(PermissionDeniedError):
            call(uow, world.annotators[0], project_id=world.project_id, task_ids=ids)
        with world.make_uow() as uow, pytest.raises(NotFoundError):
            call(uow, world.outsider, project_id=world.project_id, task_ids=ids)
        with world.make_uow() as uow, pytest.raises(NotFoundError, match=f"no task {stranger}"):
            call(uow, world.manager, project_id=world.project_id, task_ids=[*ids, stranger])
    assert count(world, Task) == N_TASKS + 1 and count(world, AuditEvent) == 0
    assert count(world, GroundTruth) == 0
    with world.make_uow() as uow:
        assert uow.session.get(Task, ids[0]).state == "done"
