"""Projects, members and the permission checks every core action runs."""
from __future__ import annotations

import pytest

from core.errors import ConfigError, ConflictError, NotFoundError, PermissionDeniedError, QuorumError
from core.labeling import next_task
from core.permissions import Action, allowed_actions, require
from core.projects import ProjectSettings, create_project, list_my_projects
from tests.core.helpers import TEXT_CONFIG, import_json, make_project, make_user


def test_only_an_admin_creates_projects_and_becomes_their_manager(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    alice = make_user(make_uow, "alice")
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            create_project(uow, alice, title="Mine", config_xml=TEXT_CONFIG)
        project = create_project(uow, admin, title="Reviews", config_xml=TEXT_CONFIG)
        uow.commit()
    with make_uow() as uow:
        assert require(uow, admin, project.id, Action.MANAGE).title == "Reviews"


def test_a_project_with_an_invalid_config_or_a_taken_title_is_refused(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    make_project(make_uow, admin, title="Reviews")
    with make_uow() as uow:
        with pytest.raises(ConflictError, match="exists already"):
            create_project(uow, admin, title="reviews", config_xml=TEXT_CONFIG)
        with pytest.raises(ConfigError, match="Bogus"):
            create_project(uow, admin, title="B", config_xml='<View><Text name="t" value="$t"/><Bogus name="b" toName="t"/></View>')


def test_settings_that_make_no_sense_are_refused_naming_the_setting(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    with make_uow() as uow:
        with pytest.raises(QuorumError, match="maximum annotations"):
            create_project(uow, admin, title="X", config_xml=TEXT_CONFIG, settings=ProjectSettings(overlap=3, maximum_annotations=2))
        with pytest.raises(QuorumError, match="sampling"):
            create_project(uow, admin, title="X", config_xml=TEXT_CONFIG, settings=ProjectSettings(sampling="loudest"))


def test_roles_decide_what_a_member_may_do_and_outsiders_do_not_even_see_the_project(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann, rev, outsider = (make_user(make_uow, n) for n in ("ann", "rev", "outsider"))
    project = make_project(make_uow, admin, members={"annotator": [ann], "reviewer": [rev]})
    with make_uow() as uow:
        assert require(uow, ann, project.id, Action.LABEL)
        with pytest.raises(PermissionDeniedError, match="needs the"):
            require(uow, ann, project.id, Action.EXPORT)
        with pytest.raises(PermissionDeniedError):
            require(uow, ann, project.id, Action.SEE_ALL_ANNOTATIONS)
        assert require(uow, rev, project.id, Action.REVIEW)
        with pytest.raises(PermissionDeniedError):
            require(uow, rev, project.id, Action.LABEL)
        with pytest.raises(NotFoundError):
            require(uow, outsider, project.id, Action.VIEW_PROJECT)
        assert Action.LABEL in allowed_actions(uow, ann) and Action.MANAGE not in allowed_actions(uow, ann)
        assert allowed_actions(uow, outsider) == frozenset()


def test_core_refuses_labeling_to_a_non_member_even_without_the_menu(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    outsider = make_user(make_uow, "outsider")
    project = make_project(make_uow, admin)
    import_json(make_uow, admin, project.id, [{"text": "hello"}])
    with make_uow() as uow, pytest.raises(NotFoundError):
        next_task(uow, outsider, project_id=project.id)


def test_home_page_summaries_count_tasks_and_the_users_own_annotations(make_uow):
    admin = make_user(make_uow, "admin", admin=True)
    ann = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, members={"annotator": [ann]})
    import_json(make_uow, admin, project.id, [{"text": f"t{i}"} for i in range(5)])
    with make_uow() as uow:
        (summary,) = list_my_projects(uow, ann)
    assert summary.title == "Reviews" and summary.n_tasks == 5 and summary.n_open == 5
    assert summary.roles == frozenset({"annotator"}) and summary.my_annotations == 0
