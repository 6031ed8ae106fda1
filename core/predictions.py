"""Model predictions added one at a time (the HTTP API's ``POST /api/predictions``, a model server's answers).

An import brings predictions in bulk (:mod:`core.imports`); this adds one to a task that exists, checked like a
labeler's answer (the result must fit the project's labeling config), and keeps the task's ``prediction_score``
(what uncertainty sampling orders by) on the newest prediction, as an import does. Who may: those who may import
into the project (managers, administrators): a prediction is data a pipeline brings, not someone's answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.errors import NotFoundError, QuorumError
from core.permissions import Action, require
from core.quality import project_config
from core.results import check_result
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import Prediction, Task, utcnow
from storage.repositories import audit as audit_repo
from storage.repositories import predictions as predictions_repo

MAX_MODEL_VERSION = 200  # the column's width


@dataclass(frozen=True)
class PredictionInfo:
    id: int
    task_id: int
    project_id: int
    model_version: str
    score: float | None
    result: list[dict[str, Any]]
    created_at: Any


def _info(prediction: Prediction, project_id: int) -> PredictionInfo:
    return PredictionInfo(prediction.id, prediction.task_id, project_id, prediction.model_version, prediction.score,
                          prediction.result, prediction.created_at)


def add_prediction(uow: UnitOfWork, actor: UserInfo, *, task_id: int, result: Any, model_version: str | None = None,
                   score: float | None = None) -> PredictionInfo:
    """Add a prediction to a task; InvalidResultError names what does not fit the config. The caller commits."""
    uow.begin_write()
    task = uow.session.get(Task, task_id)
    if task is None:
        raise NotFoundError(f"no task with id {task_id}")
    project = require(uow, actor, task.project_id, Action.IMPORT)
    check_result(project_config(project.config_xml), result, task.data)
    version = "undefined" if model_version is None else str(model_version)
    if len(version) > MAX_MODEL_VERSION:
        raise QuorumError(f"model_version is longer than {MAX_MODEL_VERSION} characters")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))
                              or not math.isfinite(score)):
        raise QuorumError(f"score must be a number, not {score!r:.40}")
    prediction = Prediction(task_id=task_id, model_version=version, score=None if score is None else float(score),
                            result=result, created_at=utcnow())
    uow.session.add(prediction)
    if score is not None:
        task.prediction_score = float(score)
    uow.session.flush()
    audit_repo.record(uow.session, actor_id=actor.id, project_id=task.project_id, action="prediction.create",
                      detail={"task_id": task_id, "prediction_id": prediction.id, "model_version": version})
    return _info(prediction, task.project_id)


def predictions_of(uow: UnitOfWork, actor: UserInfo, *, task_id: int | None = None,
                   project_id: int | None = None, limit: int = 10_000) -> list[PredictionInfo]:
    """The predictions of one task or of a project (those who see every annotation: managers, reviewers,
    administrators), oldest first, at most ``limit``."""
    if (task_id is None) == (project_id is None):
        raise QuorumError("name a task or a project")
    session = uow.session
    if task_id is not None:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFoundError(f"no task with id {task_id}")
        project_id = task.project_id
    assert project_id is not None
    require(uow, actor, project_id, Action.SEE_ALL_ANNOTATIONS)
    return [_info(p, project_id)
            for p in predictions_repo.of_project(session, project_id, task_id=task_id, limit=limit)]
