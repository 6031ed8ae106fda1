"""Label Studio's REST shapes over Quorum's services: what ``/api/projects``, ``/api/tasks`` ... answer and take.

The HTTP routes (``api/rest/``) only read the request and write the answer; everything a request does is here,
as plain functions a test or the CLI can call, and each goes through the same ``core/`` service as the pages
(``create_project``, ``update_settings``, ``change_config``, ``import_tasks_file``, ``submit_annotation``,
``delete_tasks`` ...), which check role and membership. Nothing here repeats a rule of those services: it turns
Label Studio's field names into their arguments and their results into Label Studio's JSON.

Field names and shapes are Label Studio 1.23's (its ``ProjectSerializer``, ``TaskSerializer`` ...); fields Quorum
has no notion of are left out, and a field a client sends that Quorum cannot honour is refused by name
(:class:`FieldProblem`, which the HTTP layer answers 400 with the field in ``validation_errors``) rather than ignored, except the display-only ones listed in
:data:`IGNORED_PROJECT_FIELDS`.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import time
from typing import Any

from core import exports
from core.annotator_actions import delete_annotation
from core.browser import delete_tasks
from core.config_versions import change_config
from core.errors import NotFoundError, PermissionDeniedError, QuorumError
from core.imports import import_tasks_file
from core.labeling import is_users_task, next_task, skip_task, submit_annotation
from core.permissions import Action, can, require
from core.predictions import PredictionInfo, add_prediction, predictions_of
from core.projects import ProjectSettings, create_project, delete_project, get_project, list_my_projects, update_settings
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.repositories import audit as audit_repo
from storage.repositories import imports as imports_repo
from storage.repositories import tasks as tasks_repo

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

IGNORED_PROJECT_FIELDS = frozenset({
    "color", "is_published", "is_draft", "organization", "workspace", "show_instruction", "show_skip_button",
    "enable_empty_annotation", "show_annotation_history", "show_collab_predictions", "model_version",
    "min_annotations_to_start_training", "start_training_on_annotation_update", "control_weights",
    "evaluate_predictions_automatically", "reveal_preannotations_interactively", "show_ground_truth_first",
    "show_overlap_first", "overlap_cohort_percentage", "pinned_at", "task_data_login", "task_data_password",
    "skip_queue", "created_by", "id", "created_at",
})
"""Label Studio project fields a client may send (the SDK's create sends some) that only change Label Studio's
own display or training loop: taken and not stored."""

SAMPLING = {"Sequential sampling": "sequential", "Uniform sampling": "random",
            "Uncertainty sampling": "uncertainty"}
"""Label Studio's ``sampling`` names and Quorum's."""


class FieldProblem(QuorumError):
    """A request field Quorum cannot take; ``field`` names it (the HTTP layer answers 400 with it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def iso(value: dt.datetime | None) -> str | None:
    """A stored UTC time as Label Studio writes it."""
    return value.isoformat() + "Z" if value is not None else None


def _text(body: dict[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FieldProblem(key, f"must be text, not {type(value).__name__}")
    return value


def _whole(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldProblem(key, f"must be a whole number, not {value!r:.40}")
    return value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise FieldProblem("body", "must be a JSON object")
    return body


# --- projects --------------------------------------------------------------------------------------------


def _project_json(uow: UnitOfWork, actor: UserInfo, project_id: int, summary: Any = None) -> dict[str, Any]:
    info = get_project(uow, actor, project_id)
    if summary is None:
        summary = next((s for s in list_my_projects_for(uow, actor, [project_id])), None)
    states = summary.state_counts if summary is not None else {}
    n_tasks = sum(states.values())
    s = info.settings
    return {
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "label_config": info.config_xml,
        "expert_instruction": info.instructions,
        "maximum_annotations": s.overlap,
        "sampling": next((name for name, mode in SAMPLING.items() if mode == s.sampling), s.sampling),
        "show_skip_button": s.allow_skip,
        "show_collab_predictions": s.show_predictions,
        "task_number": n_tasks,
        "num_tasks_with_annotations": n_tasks - states.get("open", 0) if summary is not None else 0,
        "total_annotations_number": summary.n_annotations if summary is not None else 0,
        "finished_task_number": states.get("done", 0),
        "config_version": info.config_version,
    }


def list_my_projects_for(uow: UnitOfWork, actor: UserInfo, project_ids: list[int]) -> list[Any]:
    """The home page's summaries of ``project_ids`` among the actor's projects (counts of tasks per state)."""
    wanted = set(project_ids)
    return [s for s in list_my_projects(uow, actor) if s.id in wanted]


def project(uow: UnitOfWork, actor: UserInfo, project_id: int) -> dict[str, Any]:
    """``GET /api/projects/{id}``: a project the actor belongs to (any role), as Label Studio shows it."""
    return _project_json(uow, actor, project_id)


def projects(uow: UnitOfWork, actor: UserInfo, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
             title: str | None = None) -> dict[str, Any]:
    """``GET /api/projects``: the actor's projects (every project for an administrator), paged as Label Studio
    pages (``count``, ``next``, ``previous``, ``results``), newest first; ``title`` filters by a part of it."""
    summaries = sorted(list_my_projects(uow, actor), key=lambda s: -s.id)
    if title:
        summaries = [s for s in summaries if title.lower() in s.title.lower()]
    start = (page - 1) * page_size
    chosen = summaries[start:start + page_size]
    return {
        "count": len(summaries),
        "next": page + 1 if start + page_size < len(summaries) else None,
        "previous": page - 1 if page > 1 else None,
        "results": [_project_json(uow, actor, s.id, s) for s in chosen],
    }


def _settings_from(body: dict[str, Any], current: ProjectSettings) -> ProjectSettings:
    overlap = _whole(body, "maximum_annotations")
    sampling = body.get("sampling")
    if sampling is not None and sampling not in SAMPLING:
        raise FieldProblem("sampling", f"must be one of {', '.join(SAMPLING)}")
    values = dict(current.__dict__)
    if overlap is not None:
        values["overlap"] = overlap
        values["maximum_annotations"] = max(overlap, current.maximum_annotations or overlap)
    if sampling is not None:
        values["sampling"] = SAMPLING[sampling]
    for key, name in (("show_skip_button", "allow_skip"), ("show_collab_predictions", "show_predictions")):
        if key in body and body[key] is not None:
            if not isinstance(body[key], bool):
                raise FieldProblem(key, "must be true or false")
            values[name] = body[key]
    return ProjectSettings(**values)


def _refuse_unknown(body: dict[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(body) - known - IGNORED_PROJECT_FIELDS)
    if unknown:
        raise FieldProblem(unknown[0], "is not a project field Quorum takes (see /api/docs)")


PROJECT_FIELDS = frozenset({"title", "description", "label_config", "expert_instruction", "maximum_annotations",
                            "sampling", "show_skip_button", "show_collab_predictions"})


def create(uow: UnitOfWork, actor: UserInfo, body: Any) -> dict[str, Any]:
    """``POST /api/projects``: a new project (administrators, as on the pages) with its labeling config."""
    body = _object(body)
    _refuse_unknown(body, PROJECT_FIELDS)
    title = _text(body, "title", "").strip()
    if not title:
        raise FieldProblem("title", "a project needs a title")
    config = _text(body, "label_config", "")
    if not config.strip():
        raise FieldProblem("label_config", "a project needs a labeling config (Label Studio's XML)")
    settings = _settings_from(body, ProjectSettings())
    info = create_project(uow, actor, title=title, config_xml=config, description=_text(body, "description", ""),
                          instructions=_text(body, "expert_instruction", ""), settings=settings)
    return _project_json(uow, actor, info.id)


def update(uow: UnitOfWork, actor: UserInfo, project_id: int, body: Any) -> dict[str, Any]:
    """``PATCH /api/projects/{id}``: title, description, instructions, overlap and the labeling config
    (managers). A new config that would affect existing annotations is saved as Label Studio saves it (the
    client asked for it), and the audit trail records its impact."""
    body = _object(body)
    _refuse_unknown(body, PROJECT_FIELDS)
    info = get_project(uow, actor, project_id)
    update_settings(uow, actor, project_id=project_id, title=_text(body, "title", info.title),
                    description=_text(body, "description", info.description),
                    instructions=_text(body, "expert_instruction", info.instructions),
                    settings=_settings_from(body, info.settings))
    config = body.get("label_config")
    if config is not None:
        if not isinstance(config, str):
            raise FieldProblem("label_config", "must be text (Label Studio's XML)")
        if config.strip() != info.config_xml.strip():
            change_config(uow, actor, project_id=project_id, config_xml=config, based_on_version=info.config_version,
                          confirmed=True)
    return _project_json(uow, actor, project_id)


def delete(uow: UnitOfWork, actor: UserInfo, project_id: int) -> None:
    """``DELETE /api/projects/{id}`` (administrators)."""
    require(uow, actor, project_id, Action.VIEW_PROJECT)  # a stranger's project is "not found" to them first
    delete_project(uow, actor, project_id=project_id)


# --- tasks -----------------------------------------------------------------------------------------------


def _sees_everything(uow: UnitOfWork, actor: UserInfo, project_id: int) -> bool:
    """Managers, reviewers and administrators see every task and answer; an annotator only their own."""
    return can(uow, actor, project_id, Action.SEE_ALL_ANNOTATIONS)


def _only_theirs(task: dict[str, Any], actor: UserInfo) -> dict[str, Any]:
    """An annotator's view of a task: their own annotations and drafts, no one else's."""
    mine = [a for a in task["annotations"] if exports.author_id(a["completed_by"]) == actor.id]
    cancelled = sum(1 for a in mine if a["was_cancelled"])
    return {**task, "annotations": mine, "drafts": [d for d in task["drafts"] if d["user"] in (actor.email, str(actor.id))],
            "total_annotations": len(mine) - cancelled, "cancelled_annotations": cancelled}


def tasks(uow: UnitOfWork, actor: UserInfo, *, project_id: int, page: int = 1,
          page_size: int = DEFAULT_PAGE_SIZE) -> dict[str, Any]:
    """``GET /api/tasks?project=ID&page=N&page_size=M``: one page of the project's tasks by id, with their
    annotations, predictions and drafts, and the totals Label Studio gives beside them. An annotator gets only the
    tasks they annotated, skipped or hold, with their own answers (the hand-out decides what else they see)."""
    require(uow, actor, project_id, Action.VIEW_PROJECT)
    everything = _sees_everything(uow, actor, project_id)
    ids, total = tasks_repo.api_task_page(uow.session, project_id, offset=(page - 1) * page_size, limit=page_size,
                                          user_id=None if everything else actor.id)
    found = exports.ls_tasks_by_ids(uow.session, project_id, ids)
    if not everything:
        found = [_only_theirs(t, actor) for t in found]
    return {
        "tasks": found,
        "total": total,
        "total_annotations": sum(t["total_annotations"] for t in found),
        "total_predictions": sum(t["total_predictions"] for t in found),
    }


def _task_project(uow: UnitOfWork, task_id: int, actor: UserInfo | None = None) -> int:
    """The project of a task; with ``actor``, one they belong to: a task of another project is "not found" to
    them, as a task that does not exist (its project's id is not theirs to learn)."""
    project_id = tasks_repo.project_of_task(uow.session, task_id)
    if project_id is None or (actor is not None and not can(uow, actor, project_id, Action.VIEW_PROJECT)):
        raise NotFoundError(f"no task with id {task_id}")
    return project_id


def task(uow: UnitOfWork, actor: UserInfo, task_id: int) -> dict[str, Any]:
    """``GET /api/tasks/{id}``: one task as in :func:`tasks` (an annotator: only a task of theirs)."""
    project_id = _task_project(uow, task_id, actor)
    [found] = exports.ls_tasks_by_ids(uow.session, project_id, [task_id])
    if _sees_everything(uow, actor, project_id):
        return found
    theirs, _ = tasks_repo.api_task_page(uow.session, project_id, offset=0, limit=1, user_id=actor.id,
                                        task_id=task_id)
    if not theirs:
        raise PermissionDeniedError(f"task {task_id} is not yours to see: the hand-out gives annotators their tasks")
    return _only_theirs(found, actor)


def delete_task(uow: UnitOfWork, actor: UserInfo, task_id: int) -> None:
    """``DELETE /api/tasks/{id}`` (managers), with its annotations, as the Data page deletes tasks."""
    delete_tasks(uow, actor, project_id=_task_project(uow, task_id, actor), task_ids=[task_id])


def next_task_json(uow: UnitOfWork, actor: UserInfo, project_id: int) -> dict[str, Any]:
    """``GET /api/projects/{id}/next``: the task the hand-out gives the actor now (locked to them, as Start
    labeling does), with their own work on it; NotFoundError when nothing is left for them."""
    handed = next_task(uow, actor, project_id=project_id)
    if handed is None:
        raise NotFoundError(f"no more tasks for you in project {project_id}")
    uow.session.flush()
    return task(uow, actor, handed.task_id)


# --- annotations -----------------------------------------------------------------------------------------


def annotations(uow: UnitOfWork, actor: UserInfo, task_id: int) -> list[dict[str, Any]]:
    """``GET /api/tasks/{id}/annotations``: the task's annotations (an annotator: their own)."""
    return list(task(uow, actor, task_id)["annotations"])


def annotation(uow: UnitOfWork, actor: UserInfo, annotation_id: int) -> dict[str, Any]:
    """``GET /api/annotations/{id}``."""
    task_id = tasks_repo.task_of_annotation(uow.session, annotation_id)
    if task_id is None:
        raise NotFoundError(f"no annotation with id {annotation_id}")
    found = next((a for a in task(uow, actor, task_id)["annotations"] if a["id"] == annotation_id), None)
    if found is None:
        raise PermissionDeniedError(f"annotation {annotation_id} is someone else's")
    return found


def _result(body: dict[str, Any]) -> list[dict[str, Any]]:
    result = body.get("result")
    if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
        raise FieldProblem("result", "must be a list of result objects ({\"from_name\", \"to_name\", \"type\", "
                                     "\"value\"})")
    return result


def _seconds(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise FieldProblem(key, "must be a number of seconds")
    return float(value)


ANNOTATION_FIELDS = frozenset({"result", "lead_time", "was_cancelled", "ground_truth", "completed_by", "task",
                               "project", "parent_prediction", "parent_annotation", "draft_id", "unique_id",
                               "last_action", "import_id", "id", "created_at", "updated_at"})


def create_annotation(uow: UnitOfWork, actor: UserInfo, task_id: int, body: Any) -> tuple[dict[str, Any], bool]:
    """``POST /api/tasks/{id}/annotations``: the actor's answer to the task, submitted as the labeling page
    submits it (annotators of the project and administrators; the result must fit the config; sending it again
    changes the same annotation). A skip is ``"was_cancelled": true``. Others are told to import annotations.
    (the annotation, whether it is new)."""
    body = _object(body)
    unknown = sorted(set(body) - ANNOTATION_FIELDS)
    if unknown:
        raise FieldProblem(unknown[0], "is not an annotation field Quorum takes (see /api/docs)")
    project_id = _task_project(uow, task_id, actor)
    if not can(uow, actor, project_id, Action.LABEL):
        raise PermissionDeniedError(
            f"only annotators of project {project_id} (and administrators) create annotations; to bring annotations "
            f"made elsewhere, POST them with their tasks to /api/projects/{project_id}/import")
    if not actor.is_admin and not is_users_task(uow, actor, task_id):
        raise PermissionDeniedError(
            f"task {task_id} was not handed out to you: GET /api/projects/{project_id}/next gives you your next task "
            "(as Start labeling does); you may also answer a task you hold, answered or have a draft of")
    completed_by = body.get("completed_by")
    if completed_by not in (None, actor.id):
        raise FieldProblem("completed_by", "an annotation is made by the token's user; import annotations to "
                                           "bring other people's")
    if body.get("ground_truth"):
        raise FieldProblem("ground_truth", "a ground truth is decided in review (or imported), not submitted")
    prediction = body.get("parent_prediction")
    if prediction is not None and (isinstance(prediction, bool) or not isinstance(prediction, int)):
        raise FieldProblem("parent_prediction", "must be a prediction id")
    lead = _seconds(body, "lead_time")
    if body.get("was_cancelled"):
        skip_task(uow, actor, task_id=task_id)
        submitted = None
    else:
        submitted = submit_annotation(uow, actor, task_id=task_id, result=_result(body), lead_time_s=lead,
                                      prediction_id=prediction)
    uow.session.flush()
    mine = next(a for a in task(uow, actor, task_id)["annotations"] if exports.author_id(a["completed_by"]) == actor.id
                and (submitted is None or a["id"] == submitted.annotation_id))
    return mine, submitted is None or submitted.created


def update_annotation(uow: UnitOfWork, actor: UserInfo, annotation_id: int, body: Any) -> dict[str, Any]:
    """``PATCH /api/annotations/{id}``: its author changes their answer (as on My earlier tasks: refused once
    it was reviewed)."""
    body = _object(body)
    current = annotation(uow, actor, annotation_id)
    if exports.author_id(current["completed_by"]) != actor.id:
        raise PermissionDeniedError(f"annotation {annotation_id} is someone else's: only its author changes it")
    submit_annotation(uow, actor, task_id=current["task"], result=_result(body),
                      lead_time_s=_seconds(body, "lead_time"), editing=annotation_id)
    uow.session.flush()
    return annotation(uow, actor, annotation_id)


def remove_annotation(uow: UnitOfWork, actor: UserInfo, annotation_id: int) -> None:
    """``DELETE /api/annotations/{id}`` (managers): the task goes back to the annotators when it falls short."""
    try:
        delete_annotation(uow, actor, annotation_id=annotation_id)
    except PermissionDeniedError:
        raise PermissionDeniedError(f"only managers of the project delete annotations (annotation {annotation_id}); "
                                    "an annotator changes their answer instead (PATCH)") from None


# --- predictions -----------------------------------------------------------------------------------------


def _prediction_json(p: PredictionInfo) -> dict[str, Any]:
    return {"id": p.id, "task": p.task_id, "project": p.project_id, "model_version": p.model_version,
            "score": p.score, "result": p.result, "created_at": iso(p.created_at)}


def create_prediction(uow: UnitOfWork, actor: UserInfo, body: Any) -> dict[str, Any]:
    """``POST /api/predictions``: ``{"task", "result", "model_version", "score"}`` (managers)."""
    body = _object(body)
    task_id = _whole(body, "task")
    if task_id is None:
        raise FieldProblem("task", "name the task the prediction is for")
    score = body.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise FieldProblem("score", "must be a number")
    version = body.get("model_version")
    if version is not None and not isinstance(version, str):
        raise FieldProblem("model_version", "must be text")
    return _prediction_json(add_prediction(uow, actor, task_id=task_id, result=_result(body), model_version=version,
                                           score=score))


def predictions(uow: UnitOfWork, actor: UserInfo, *, task_id: int | None, project_id: int | None) -> list[dict[str, Any]]:
    """``GET /api/predictions?task=ID`` or ``?project=ID``."""
    if task_id is None and project_id is None:
        raise FieldProblem("task", "name a task (?task=ID) or a project (?project=ID)")
    return [_prediction_json(p) for p in predictions_of(uow, actor, task_id=task_id,
                                                        project_id=None if task_id is not None else project_id)]


# --- import and the user ---------------------------------------------------------------------------------


def import_tasks(uow: UnitOfWork, actor: UserInfo, project_id: int, payload: bytes, *,
                 with_task_ids: bool = False) -> dict[str, Any]:
    """``POST /api/projects/{id}/import``: a JSON list of tasks (Label Studio's task format, annotations and
    predictions included) imported as a file would be (all or nothing, the same checks and report), answered as
    Label Studio answers an import; with the new tasks' ids when asked (``?return_task_ids=true``)."""
    started = time.perf_counter()
    summary = import_tasks_file(uow, actor, project_id=project_id, stream=io.BytesIO(payload),
                                filename="request.json", repeatable=True)
    return {
        "task_count": summary.n_tasks, "annotation_count": summary.n_annotations,
        "prediction_count": summary.n_predictions, "predictions_count": summary.n_predictions,
        "duration": round(time.perf_counter() - started, 3), "file_upload_ids": [], "could_be_tasks_list": False,
        "found_formats": [], "data_columns": [], "notes": list(summary.notes),
        **({"task_ids": imports_repo.task_ids_of_batch(uow.session, summary.batch_id)} if with_task_ids else {}),
    }


def whoami(actor: UserInfo) -> dict[str, Any]:
    """``GET /api/current-user/whoami`` (and ``/api/users/me``): the token's user."""
    first, _, last = (actor.display_name or "").strip().partition(" ")
    return {"id": actor.id, "username": actor.username, "email": actor.email or "", "first_name": first,
            "last_name": last.strip(), "is_superuser": actor.is_admin, "active_organization": None}


def record_write(uow: UnitOfWork, actor: UserInfo, *, method: str, path: str, token_id: int) -> None:
    """Audit a write made through the API (``api.write``: method, path, the token's id), in the write's own
    transaction, beside what the service itself records; the project is named when the path names it."""
    parts = path.strip("/").split("/")
    project_id = int(parts[2]) if len(parts) > 2 and parts[1] == "projects" and parts[2].isdigit() else None
    if method == "DELETE" and project_id is not None and len(parts) == 3:
        project_id = None  # the project is gone: its events go with it
    audit_repo.record(uow.session, actor_id=actor.id, project_id=project_id, action="api.write",
                      detail={"method": method, "path": path[:300], "token_id": token_id})
