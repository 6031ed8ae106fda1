"""``GET /api/docs``: the OpenAPI 3.1 description of the API, built from one table kept beside the routes.

A test (tests/api/test_api_docs.py) checks that every route of :func:`api.rest.routes.routes` is described here
and that nothing is described that no route serves, so the two cannot drift apart. A browser asking for HTML gets
the same content as a plain page (no script, no asset from elsewhere); anything else gets the JSON.
"""
from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from api.rest.base import API_VERSION

Operation = tuple[str, str, str, str]
"""(method, path, summary, who may and what happens)"""

OPERATIONS: tuple[Operation, ...] = (
    ("GET", "/api/projects", "List projects",
     "The token user's projects (every project for an administrator), newest first, paged: ?page, ?page_size, "
     "?title (a part of it). Answer: {count, next, previous, results}."),
    ("POST", "/api/projects", "Create a project",
     "Administrators. Body: title, label_config (Label Studio's XML), description, expert_instruction, "
     "maximum_annotations (annotations per task), sampling, show_skip_button, show_collab_predictions. 201."),
    ("GET", "/api/projects/{id}", "Get a project", "Members of the project."),
    ("PATCH", "/api/projects/{id}", "Update a project",
     "Managers. The fields of create; a new label_config is saved as a new config version."),
    ("PUT", "/api/projects/{id}", "Update a project", "As PATCH."),
    ("DELETE", "/api/projects/{id}", "Delete a project", "Administrators; everything in it goes. 204."),
    ("POST", "/api/projects/{id}/import", "Import tasks",
     "Managers. Body: a JSON list of tasks in Label Studio's format (data, annotations, predictions, meta, "
     "drafts) or of data objects; all or nothing, bad tasks named. 201 {task_count, annotation_count, "
     "prediction_count, notes}, and task_ids with ?return_task_ids=true."),
    ("GET", "/api/projects/{id}/tasks", "List a project's tasks (older form)",
     "As GET /api/tasks?project=id, answered as a plain list."),
    ("GET", "/api/projects/{id}/next", "Next task to label",
     "Annotators: the task the hand-out gives the token's user now, locked to them as Start labeling does (404 "
     "when nothing is left); answer it with POST /api/tasks/{id}/annotations."),
    ("GET", "/api/projects/{id}/export", "Export",
     "Managers. ?exportType (or export_type) = JSON (streamed), JSON_MIN, CSV, TSV, COCO, YOLO, YOLO_OBB, VOC, "
     "CONLL2003, ASR_MANIFEST; folder formats come as a zip."),
    ("GET", "/api/tasks", "List tasks",
     "?project (required), ?page, ?page_size. Managers and reviewers get every task with every annotation; an "
     "annotator only the tasks they annotated, skipped or hold, with their own answers. {tasks, total, "
     "total_annotations, total_predictions}; a page past the end has no tasks."),
    ("GET", "/api/tasks/{id}", "Get a task", "As in the list (an annotator: only a task of theirs)."),
    ("DELETE", "/api/tasks/{id}", "Delete a task", "Managers, with its annotations. 204."),
    ("GET", "/api/tasks/{id}/annotations", "List a task's annotations", "A list (an annotator: their own)."),
    ("POST", "/api/tasks/{id}/annotations", "Create an annotation",
     "Annotators of the project (on a task handed out to them: /api/projects/{id}/next, or one they answered or "
     "have a draft of) and administrators submit their own answer, as on the Label page (the result must fit the "
     "config; sending it again changes it; was_cancelled: true skips). Others import annotations."),
    ("GET", "/api/annotations/{id}", "Get an annotation", "Managers and reviewers, or its author."),
    ("PATCH", "/api/annotations/{id}", "Change an annotation", "Its author, until it was reviewed."),
    ("PUT", "/api/annotations/{id}", "Change an annotation", "As PATCH."),
    ("DELETE", "/api/annotations/{id}", "Delete an annotation",
     "Managers; the task goes back to the annotators when it falls short of its overlap. 204."),
    ("GET", "/api/predictions", "List predictions", "?task or ?project; managers and reviewers. A list."),
    ("POST", "/api/predictions", "Create a prediction",
     "Managers. Body: task, result (must fit the config), model_version, score. 201."),
    ("GET", "/api/current-user/whoami", "Who am I", "The token's user."),
    ("GET", "/api/current-user", "Who am I", "As whoami."),
    ("GET", "/api/users/me", "Who am I", "As whoami."),
    ("GET", "/api/version", "Version", "{release, edition: Community} (Label Studio's SDK reads the edition)."),
    ("GET", "/api/docs", "This description", "OpenAPI 3.1 as JSON; as a page for a browser. No token needed."),
    ("GET", "/health", "Health", "{status: UP}. No token needed."),
)

OUTSIDE_SUBSET = (
    "Anything else under /api answers 501 with the endpoint named: among Label Studio's endpoints, Quorum has no "
    "ML backends (/api/ml), data manager views and actions (/api/dm), cloud storages (/api/storages: use the "
    "Cloud storage page or cli.py storage), webhooks (/api/webhooks: the Webhooks page), organizations, "
    "comments, export snapshots (/api/projects/{id}/exports) and token refresh (/api/token/refresh: Quorum's "
    "tokens do not expire; revoke them on My account)."
)


def _parameters(path: str) -> list[dict[str, Any]]:
    return [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}] if "{id}" in path else []


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`OPERATIONS`."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, description in OPERATIONS:
        open_route = path in ("/api/docs", "/health")
        paths.setdefault(path, {})[method.lower()] = {
            "summary": summary,
            "description": description,
            "parameters": _parameters(path),
            "security": [] if open_route else [{"token": []}],
            "responses": {
                "200": {"description": "done"},
                "400": {"description": "a field is wrong: {status_code, detail, validation_errors: {field: [..]}}"},
                "401": {"description": "no token, or an unknown or revoked one"},
                "403": {"description": "the token's user may not do this"},
                "404": {"description": "no such object (or not one of the user's projects)"},
                "429": {"description": "too many requests with this token (Retry-After)"},
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Quorum API (Label Studio-compatible subset)", "version": API_VERSION,
                 "description": "Label Studio's REST API as its clients use it, over Quorum's permission checks. "
                                "Paths also take Label Studio's trailing slash. " + OUTSIDE_SUBSET},
        "components": {"securitySchemes": {"token": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "Token <token> (My account page, or python cli.py tokens create USER)"}}},
        "paths": paths,
    }


def _page() -> str:
    rows = "".join(
        f"<tr><td><code>{html.escape(method)}</code></td><td><code>{html.escape(path)}</code></td>"
        f"<td>{html.escape(summary)}</td><td>{html.escape(description)}</td></tr>"
        for method, path, summary, description in OPERATIONS
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Quorum API</title></head><body>"
        "<h1>Quorum API</h1><p>Label Studio's REST API as its clients use it. Send <code>Authorization: Token "
        "&lt;token&gt;</code> (My account page, or <code>python cli.py tokens create USER</code>). The same content "
        f"as JSON: <code>Accept: application/json</code>.</p><p>{html.escape(OUTSIDE_SUBSET)}</p>"
        f"<table border='1' cellpadding='4'><tr><th>method</th><th>path</th><th>what</th><th>who, how</th></tr>{rows}"
        "</table></body></html>"
    )


async def docs(request: Request) -> Response:
    """``GET /api/docs``: JSON, or a page for a browser (``Accept: text/html``)."""
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_page())
    return JSONResponse(openapi())
