"""Drafts saved in parts: the browser's answers and the page's widgets each replace only their own."""
from __future__ import annotations

import pytest

from core.errors import PermissionDeniedError
from core.labeling import REPLACE_ALL_BUT, REPLACE_ONLY, next_task, save_draft_part
from core.results import InvalidResultError
from tests.core.helpers import import_json, make_project, make_user

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
  <TextArea name="comment" toName="text"/>
</View>"""


def _choice(value: str) -> dict:
    return {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}


def _comment(text: str) -> dict:
    return {"from_name": "comment", "to_name": "text", "type": "textarea", "value": {"text": [text]}}


@pytest.fixture
def held(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann, other = make_user(make_uow, "ann"), make_user(make_uow, "other")
    project = make_project(make_uow, admin, config=CONFIG, overlap=2, members={"annotator": [ann, other]})
    import_json(make_uow, admin, project.id, [{"text": "a review"}])
    with make_uow() as uow:
        task = next_task(uow, ann, project_id=project.id)
        uow.commit()
    return ann, other, project, task


def _save(make_uow, user, task_id, names, items, mode=REPLACE_ONLY, **kw):
    with make_uow() as uow:
        merged = save_draft_part(uow, user, task_id=task_id, names=frozenset(names), items=items, mode=mode, **kw)
        uow.commit()
    return merged


def _draft(make_uow, user, project_id):
    with make_uow() as uow:
        task = next_task(uow, user, project_id=project_id)
        uow.commit()
    return task


def test_the_browser_part_and_the_page_part_of_a_draft_never_overwrite_each_other(make_uow, held):
    ann, _, project, task = held
    _save(make_uow, ann, task.task_id, {"sentiment"}, [_choice("Positive")])
    # The page's rerun saves its widgets (all but the browser-kept control) with its stale view of the choice.
    _save(make_uow, ann, task.task_id, {"sentiment"}, [_comment("too short")], mode=REPLACE_ALL_BUT, active_time_s=7.0)
    _save(make_uow, ann, task.task_id, {"sentiment"}, [_choice("Negative")])
    resumed = _draft(make_uow, ann, project.id)
    assert sorted(resumed.result, key=lambda i: i["from_name"]) == [_comment("too short"), _choice("Negative")]
    assert resumed.draft_active_time_s == 7.0  # a browser part keeps the active time the page counted
    _save(make_uow, ann, task.task_id, {"sentiment"}, [])  # the choice cleared in the browser
    assert _draft(make_uow, ann, project.id).result == [_comment("too short")]


def test_a_first_draft_part_merges_into_the_pre_label_the_page_showed(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, config=CONFIG, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"data": {"text": "pre-labeled"}, "predictions": [
        {"model_version": "m1", "score": 0.9, "result": [_comment("model says"), _choice("Positive")]}]}])
    task = _draft(make_uow, ann, project.id)
    assert task.starting_result == [_comment("model says"), _choice("Positive")]
    merged = _save(make_uow, ann, task.task_id, {"sentiment"}, [_choice("Negative")])
    assert merged == [_comment("model says"), _choice("Negative")]


def test_a_draft_part_is_refused_for_someone_elses_task_for_other_controls_and_for_bad_values(make_uow, held):
    ann, other, _, task = held
    with pytest.raises(PermissionDeniedError, match="not yours"):
        _save(make_uow, other, task.task_id, {"sentiment"}, [_choice("Positive")])
    with pytest.raises(InvalidResultError, match="may hold only"):
        _save(make_uow, ann, task.task_id, {"sentiment"}, [_comment("sneaked in")])
    with pytest.raises(InvalidResultError):
        _save(make_uow, ann, task.task_id, {"sentiment"}, [_choice("Furious")])
    with make_uow() as uow:
        task_again = next_task(uow, ann, project_id=task.project_id)
    assert task_again.result == []  # nothing of the refused calls was stored
