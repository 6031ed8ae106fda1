"""``/api/docs`` describes exactly the routes the API serves (its table and the routes' cannot drift apart)."""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from api.rest.openapi import OPERATIONS, openapi
from api.rest.routes import routes


def _served() -> set[tuple[str, str]]:
    out = set()
    for route in routes(lambda: None):  # type: ignore[arg-type, return-value]
        assert isinstance(route, Route)
        path = route.path.replace("{id:int}", "{id}").rstrip("/") or "/"
        if "{rest:path}" in path or path == "/api/openapi.json":
            continue
        out.update((method, path) for method in route.methods or () if method != "HEAD")
    return out


def test_every_route_is_described_and_every_description_is_a_route() -> None:
    described = {(method, path) for method, path, _, _ in OPERATIONS}
    assert _served() == described


def test_the_description_is_openapi_json_or_a_page_without_outside_assets() -> None:
    client = TestClient(Starlette(routes=routes(lambda: None)))  # type: ignore[arg-type, return-value]
    document = client.get("/api/docs").json()
    assert document == openapi() and document["openapi"].startswith("3.1")
    assert document["paths"]["/api/tasks"]["get"]["security"] == [{"token": []}]
    page = client.get("/api/docs", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "/api/projects/{id}/import" in page.text
    assert "<script" not in page.text and "src=" not in page.text
