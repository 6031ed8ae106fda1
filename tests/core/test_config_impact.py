"""Config changes: what they touch (core.config_impact) and the version history (core.config_versions)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.config import parse_config
from core.config_impact import RENAMED, REMOVED, RETYPED, compare_configs, config_impact
from core.config_versions import ConfirmationRequired, change_config, config_history, version_diff
from core.errors import ConfigError, ConflictError, PermissionDeniedError, QuorumError
from core.labeling import next_task, submit_annotation
from core.projects import get_project
from storage.models import Annotation
from tests.core.helpers import TEXT_CONFIG, import_json, make_project, make_user

NER = """<View>
  <Labels name="label" toName="text">
    <Label value="PER"/><Label value="ORG"/><Label value="LOC"/>
  </Labels>
  <Text name="text" value="$text"/>
  <TextArea name="note" toName="text"/>
</View>"""


def cfg(xml: str):
    return parse_config(xml)


def test_removed_and_added_options_of_a_control_that_stays():
    new = TEXT_CONFIG.replace('<Choice value="Neutral"/>', '<Choice value="Mixed"/>')
    diff = compare_configs(cfg(TEXT_CONFIG), cfg(new))
    assert [(o.control, o.value) for o in diff.removed_options] == [("sentiment", "Neutral")]
    assert [(o.control, o.value) for o in diff.added_options] == [("sentiment", "Mixed")]
    assert diff.controls == () and diff.objects == ()


def test_an_alias_is_what_results_store_so_it_is_what_is_compared():
    new = TEXT_CONFIG.replace('<Choice value="Neutral"/>', '<Choice value="Neutral (no opinion)" alias="Neutral"/>')
    assert compare_configs(cfg(TEXT_CONFIG), cfg(new)).is_empty


def test_a_control_with_a_new_name_and_the_same_labels_is_a_rename():
    new = NER.replace('name="label"', 'name="entities"').replace('toName="text"/>', 'toName="text"/>')
    diff = compare_configs(cfg(NER), cfg(new))
    assert [(c.name, c.change, c.new_name) for c in diff.controls] == [("label", RENAMED, "entities")]
    assert diff.added_controls == ()


def test_removed_and_retyped_controls_and_changed_objects():
    new = """<View>
  <Text name="text" value="$body"/>
  <Choices name="note" toName="text"><Choice value="x"/></Choices>
  <Image name="img" value="$image"/>
</View>"""
    diff = compare_configs(cfg(NER), cfg(new))
    assert {(c.name, c.change) for c in diff.controls} == {("label", REMOVED), ("note", RETYPED)}
    assert [(o.name, o.old_variables, o.new_variables) for o in diff.objects] == [
        ("text", ("text",), ("body",)), ("img", (), ("image",))]


def test_a_layout_only_change_has_no_impact():
    new = TEXT_CONFIG.replace("<View>", '<View style="padding: 1em">').replace(
        '<Choice value="Positive"/>', '<Choice value="Positive" hotkey="p"/>')
    assert compare_configs(cfg(TEXT_CONFIG), cfg(new)).is_empty


# --- against a project's data, on both databases -------------------------------------------------------


@pytest.fixture
def labeled(make_uow):
    """A sentiment project (overlap 2) with 3 tasks, two of which lack a "title" field: ann1 answered
    Neutral on tasks 1 and 2, ann2 Positive on task 1."""
    admin = make_user(make_uow, "admin", admin=True)
    manager = make_user(make_uow, "boss")
    a, b = make_user(make_uow, "ann1"), make_user(make_uow, "ann2")
    project = make_project(make_uow, admin, overlap=2, members={"manager": [manager], "annotator": [a, b]})
    import_json(make_uow, admin, project.id, [{"text": "one"}, {"text": "two"}, {"text": "three", "title": "T"}])
    for user, answers in ((a, ["Neutral", "Neutral"]), (b, ["Positive"])):
        for answer in answers:
            with make_uow() as uow:
                task = next_task(uow, user, project_id=project.id)
                submit_annotation(uow, user, task_id=task.task_id, result=[
                    {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [answer]}}])
                uow.commit()
    return admin, manager, a, project


def impact(make_uow, actor, project, xml):
    with make_uow() as uow:
        return config_impact(uow, actor, project_id=project.id, new_xml=xml)


def test_impact_counts_the_annotations_using_each_removed_option(make_uow, labeled):
    _, manager, _, project = labeled
    new = TEXT_CONFIG.replace('<Choice value="Neutral"/>', "").replace('<Choice value="Positive"/>', "")
    found = impact(make_uow, manager, project, new)
    assert {o.value: o.n_annotations for o in found.removed_options} == {"Neutral": 2, "Positive": 1}
    assert any("used by 2 annotation(s)" in line for line in found.summary())


def test_impact_counts_annotations_of_a_renamed_control_and_tasks_lacking_a_new_field(make_uow, labeled):
    _, manager, _, project = labeled
    new = TEXT_CONFIG.replace('name="sentiment"', 'name="mood"').replace(
        '<Text name="text" value="$text"/>', '<Text name="text" value="$text"/><Header value="$title"/>'
        '<Text name="title" value="$title"/>')
    found = impact(make_uow, manager, project, new)
    assert [(c.change, c.n_annotations) for c in found.controls] == [(RENAMED, 3)]
    assert [(o.name, o.tasks_lacking) for o in found.objects] == [("title", (("title", 2),))]


def test_saving_a_change_with_an_impact_needs_confirmation_and_bumps_the_version(make_uow, labeled):
    _, manager, annotator, project = labeled
    new = TEXT_CONFIG.replace('<Choice value="Neutral"/>', "")
    with make_uow() as uow:
        with pytest.raises(ConfirmationRequired) as refused:
            change_config(uow, manager, project_id=project.id, config_xml=new, based_on_version=1)
    assert refused.value.impact.removed_options[0].n_annotations == 2
    with make_uow() as uow:
        saved = change_config(uow, manager, project_id=project.id, config_xml=new, based_on_version=1, confirmed=True)
        uow.commit()
    assert saved.version == 2
    with make_uow() as uow:  # annotations keep the version they were made under; new ones get version 2
        task = next_task(uow, annotator, project_id=project.id)
        submit_annotation(uow, annotator, task_id=task.task_id, result=[
            {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}])
        uow.commit()
    with make_uow() as uow:
        versions = uow.session.scalars(select(Annotation.config_version).order_by(Annotation.id)).all()
        assert get_project(uow, manager, project.id).config_version == 2
        history = config_history(uow, manager, project_id=project.id)
        diff = version_diff(uow, manager, project_id=project.id, old=1, new=2)
    assert versions == [1, 1, 1, 2]
    assert [(v.version, v.author) for v in history] == [(2, "boss"), (1, "admin")]
    assert '-    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>' in diff


def test_a_stale_edit_an_invalid_config_and_an_unchanged_one_are_refused(make_uow, labeled):
    _, manager, annotator, project = labeled
    with make_uow() as uow:
        with pytest.raises(ConflictError, match="version 1"):
            change_config(uow, manager, project_id=project.id, config_xml=NER, based_on_version=0)
        with pytest.raises(ConfigError):
            change_config(uow, manager, project_id=project.id, config_xml="<View><Choices name='x'/></View>",
                          based_on_version=1, confirmed=True)
        with pytest.raises(QuorumError, match="unchanged"):
            change_config(uow, manager, project_id=project.id, config_xml=TEXT_CONFIG, based_on_version=1)
        with pytest.raises(PermissionDeniedError):
            change_config(uow, annotator, project_id=project.id, config_xml=NER, based_on_version=1, confirmed=True)
