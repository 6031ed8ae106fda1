"""Small builders for core tests: users and projects made through the real services."""
from __future__ import annotations

import io
import json
from typing import Any

from core.imports import ImportSummary, import_tasks_file
from core.projects import ProjectInfo, ProjectSettings, add_member, create_project
from core.uow import UowFactory
from core.users import UserInfo, create_user

TEXT_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""


def make_user(make_uow: UowFactory, username: str, *, admin: bool = False, password: str = "password-123") -> UserInfo:
    with make_uow() as uow:
        user = create_user(uow, username=username, password=password, email=f"{username}@example.com", is_admin=admin)
        uow.commit()
    return user


def make_project(
    make_uow: UowFactory,
    admin: UserInfo,
    *,
    title: str = "Reviews",
    config: str = TEXT_CONFIG,
    overlap: int = 1,
    members: dict[str, list[UserInfo]] | None = None,
) -> ProjectInfo:
    with make_uow() as uow:
        project = create_project(
            uow, admin, title=title, config_xml=config, settings=ProjectSettings(overlap=overlap)
        )
        for role, users in (members or {}).items():
            for user in users:
                add_member(uow, admin, project_id=project.id, user_id=user.id, role=role)
        uow.commit()
    return project


def import_json(
    make_uow: UowFactory, actor: UserInfo, project_id: int, tasks: list[Any], filename: str = "tasks.json"
) -> ImportSummary:
    with make_uow() as uow:
        summary = import_tasks_file(
            uow, actor, project_id=project_id, stream=io.BytesIO(json.dumps(tasks).encode()), filename=filename
        )
        uow.commit()
    return summary
