"""Settings of a running project (core.projects.update_settings) and member management."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, update

from core.errors import ConflictError, NotFoundError, PermissionDeniedError, QuorumError
from core.labeling import next_task, submit_annotation
from core.projects import (
    ProjectSettings,
    add_member_by_login,
    deactivate_member,
    get_project,
    list_members,
    set_member_role,
    update_settings,
)
from storage.models import AuditEvent, Task, TaskLock
from tests.core.helpers import import_json, make_project, make_user


def choice(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


@pytest.fixture
def team(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    manager = make_user(make_uow, "boss")
    annotators = [make_user(make_uow, f"ann{i}") for i in range(3)]
    project = make_project(make_uow, admin, overlap=2, members={"manager": [manager], "annotator": annotators})
    import_json(make_uow, admin, project.id, [{"text": f"review {i}"} for i in range(4)])
    return admin, manager, annotators, project


def save(make_uow, actor, project, **changes):
    """update_settings with the project's current values, except ``changes`` (settings or texts)."""
    with make_uow() as uow:
        current = get_project(uow, actor, project.id)
        texts = {k: changes.pop(k, getattr(current, k)) for k in ("title", "description", "instructions")}
        settings = dataclasses.replace(current.settings, **changes)
        out = update_settings(uow, actor, project_id=project.id, settings=settings, **texts)
        uow.commit()
    return out


def label(make_uow, user, project_id, answer="Positive") -> int:
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id)
        assert task is not None
        submit_annotation(uow, user, task_id=task.task_id, result=choice(answer))
        uow.commit()
    return task.task_id


def tasks(make_uow, project_id) -> dict[int, tuple[str, int, int, int]]:
    """task id -> (state, overlap, n_annotations, n_locked)."""
    with make_uow() as uow:
        rows = uow.session.execute(
            select(Task.id, Task.state, Task.overlap, Task.n_annotations, Task.n_locked).where(Task.project_id == project_id)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_every_setting_is_saved_and_audited_with_old_and_new_values(make_uow, team):
    _, manager, _, project = team
    out = save(make_uow, manager, project, title="Reviews v2", description="d", instructions="# Do it\nwell",
               agreement_threshold=0.6, sampling="random", lock_ttl_s=600, honeypot_rate=0.1, repeat_rate=0.05,
               show_predictions=False, allow_skip=False, escalation_order="review_first", maximum_annotations=5)
    assert set(out.changed) == {"title", "description", "instructions", "agreement_threshold", "sampling", "lock_ttl_s",
                                "honeypot_rate", "repeat_rate", "show_predictions", "allow_skip", "escalation_order",
                                "maximum_annotations"}
    with make_uow() as uow:
        info = get_project(uow, manager, project.id)
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "project.settings")).one()
        actor_id, detail = event.actor_id, event.detail
    assert info.title == "Reviews v2" and info.instructions == "# Do it\nwell"
    assert info.settings == ProjectSettings(overlap=2, maximum_annotations=5, agreement_threshold=0.6, sampling="random",
                                            lock_ttl_s=600, honeypot_rate=0.1, repeat_rate=0.05, show_predictions=False,
                                            allow_skip=False, escalation_order="review_first")
    assert actor_id == manager.id and detail["changed"]["sampling"] == ["sequential", "random"]


def test_saving_unchanged_settings_changes_nothing(make_uow, team):
    _, manager, _, project = team
    assert save(make_uow, manager, project).changed == ()
    with make_uow() as uow:
        assert uow.session.scalars(select(AuditEvent)).all() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"overlap": 0}, "annotations per task"),
        ({"overlap": 2, "maximum_annotations": 1001}, "maximum annotations"),
        ({"overlap": 3, "maximum_annotations": 2}, "maximum annotations"),
        ({"agreement_threshold": 1.5}, "agreement threshold"),
        ({"sampling": "newest"}, "sampling"),
        ({"lock_ttl_s": 0}, "lock time-to-live"),
        ({"honeypot_rate": 1.0}, "honeypot share"),
        ({"repeat_rate": -0.1}, "repeat share"),
        ({"escalation_order": "never"}, "escalation order"),
        ({"show_predictions": "yes"}, "show predictions"),
        ({"overlap": 2.5}, "annotations per task"),
        ({"title": "  "}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"instructions": "x" * 50_001}, "instructions"),
    ],
)
def test_a_bad_value_is_refused_with_a_message_naming_the_field_and_nothing_changes(make_uow, team, changes, field):
    _, manager, _, project = team
    with pytest.raises(QuorumError, match=field):
        save(make_uow, manager, project, **changes)
    with make_uow() as uow:
        assert get_project(uow, manager, project.id).settings.overlap == 2


def test_a_title_another_project_has_is_refused(make_uow, team):
    admin, manager, _, project = team
    make_project(make_uow, admin, title="Other")
    with pytest.raises(ConflictError, match="title"):
        save(make_uow, manager, project, title="other")


def test_annotators_and_reviewers_may_not_change_settings(make_uow, team):
    _, _, annotators, project = team
    with pytest.raises(PermissionDeniedError):
        save(make_uow, annotators[0], project, agreement_threshold=0.5)


def test_raising_the_overlap_raises_it_on_unfinished_tasks_only(make_uow, team):
    _, manager, annotators, project = team
    first = label(make_uow, annotators[0], project.id)
    label(make_uow, annotators[1], project.id)  # the same task (sequential): overlap 2 reached, agreement 1 -> done
    assert tasks(make_uow, project.id)[first][0] == "done"
    out = save(make_uow, manager, project, overlap=3, maximum_annotations=3)
    after = tasks(make_uow, project.id)
    assert after[first] == ("done", 2, 2, 0)  # a finished task keeps its state and consensus
    assert {v[:2] for k, v in after.items() if k != first} == {("open", 3)}
    assert out.n_scored == 0


def test_lowering_the_overlap_scores_tasks_that_now_have_enough_annotations(make_uow, team):
    _, manager, annotators, project = team
    task_id = label(make_uow, annotators[0], project.id)
    with make_uow() as uow:  # a second annotator holds the same task
        held = next_task(uow, annotators[1], project_id=project.id)
        uow.commit()
    assert held is not None and held.task_id == task_id
    other = label(make_uow, annotators[2], project.id)
    assert other != task_id
    out = save(make_uow, manager, project, overlap=1, maximum_annotations=1)
    after = tasks(make_uow, project.id)
    assert after[other] == ("done", 1, 1, 0)  # one annotation is all it needs now: its consensus
    assert after[task_id] == ("open", 2, 1, 1)  # the lock holder may still submit: the slot stays
    assert out.n_scored == 1 and out.n_done == 1
    # every task satisfies the schema's rule n_locked + n_annotations <= overlap
    assert all(n_ann + n_locked <= overlap for _, overlap, n_ann, n_locked in after.values())


def test_lowering_the_overlap_keeps_the_extra_slots_escalation_gave(make_uow, team):
    _, manager, annotators, project = team
    save(make_uow, manager, project, maximum_annotations=3)
    task_id = label(make_uow, annotators[0], project.id, "Positive")
    label(make_uow, annotators[1], project.id, "Negative")  # disagreement: escalated to a third annotator
    assert tasks(make_uow, project.id)[task_id] == ("open", 3, 2, 0)
    out = save(make_uow, manager, project, overlap=1)  # extra slot kept: 1 + 1 = 2 annotations, which it has
    # scored again at once: still a disagreement, and ann2 is left to ask, so it escalates once more
    assert tasks(make_uow, project.id)[task_id] == ("open", 3, 2, 0)
    assert (out.n_scored, out.n_escalated) == (1, 1)


def test_add_member_by_name_checks_the_person_exists_and_is_not_a_member_yet(make_uow, team):
    _, manager, _, project = team
    newbie = make_user(make_uow, "newbie")
    with make_uow() as uow:
        with pytest.raises(NotFoundError, match="invite"):
            add_member_by_login(uow, manager, project_id=project.id, login="nobody", role="annotator")
        add_member_by_login(uow, manager, project_id=project.id, login="newbie@example.com", role="reviewer")
        uow.commit()
    with make_uow() as uow:
        with pytest.raises(ConflictError, match="reviewer"):
            add_member_by_login(uow, manager, project_id=project.id, login="newbie", role="reviewer")
        assert (newbie.id, "reviewer") in {(u.id, r) for u, r in list_members(uow, manager, project.id)}


def test_changing_a_role_replaces_the_old_one_but_keeps_a_manager(make_uow, team):
    admin, manager, annotators, project = team
    with make_uow() as uow:
        set_member_role(uow, manager, project_id=project.id, user_id=annotators[0].id, role="reviewer")
        set_member_role(uow, manager, project_id=project.id, user_id=admin.id, role="reviewer")  # boss remains
        uow.commit()
    with make_uow() as uow:
        roles = {r for u, r in list_members(uow, manager, project.id) if u.id == annotators[0].id}
        with pytest.raises(ConflictError, match="manager"):
            set_member_role(uow, manager, project_id=project.id, user_id=manager.id, role="annotator")
    assert roles == {"reviewer"}


def test_deactivating_a_member_releases_their_locks_in_the_project(make_uow, team):
    _, manager, annotators, project = team
    with make_uow() as uow:
        held = next_task(uow, annotators[0], project_id=project.id)
        uow.commit()
    assert tasks(make_uow, project.id)[held.task_id][3] == 1
    with make_uow() as uow:
        assert deactivate_member(uow, manager, project_id=project.id, user_id=annotators[0].id) == 1
        uow.commit()
    assert tasks(make_uow, project.id)[held.task_id][3] == 0
    with make_uow() as uow:
        assert uow.session.scalars(select(TaskLock)).all() == []
        assert annotators[0].id not in {u.id for u, _ in list_members(uow, manager, project.id)}
        with pytest.raises(NotFoundError):
            next_task(uow, annotators[0], project_id=project.id)


def test_waiting_tasks_that_need_more_annotations_under_a_higher_overlap_go_back_to_the_annotators(make_uow, team):
    admin, manager, _, project = team
    imported = [{"data": {"text": "imported"}, "annotations": [
        {"completed_by": {"email": f"ext{i}@example.com"}, "result": choice("Positive")} for i in range(2)]}]
    import_json(make_uow, admin, project.id, imported, filename="with-annotations.json")
    waiting = next(k for k, v in tasks(make_uow, project.id).items() if v[2] == 2)
    with make_uow() as uow:  # waiting to be scored, as an import before scoring at import left its tasks
        uow.session.execute(update(Task).where(Task.id == waiting).values(state="completed"))
        uow.commit()
    out = save(make_uow, manager, project, overlap=3, maximum_annotations=3)
    assert tasks(make_uow, project.id)[waiting] == ("open", 3, 2, 0)
    assert out.n_reopened == 1
    out = save(make_uow, manager, project, overlap=2)  # back down: it has enough again, and they agree
    assert tasks(make_uow, project.id)[waiting] == ("done", 2, 2, 0)
    assert (out.n_scored, out.n_done) == (1, 1)
