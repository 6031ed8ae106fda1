"""The Cloud storage page through AppTest, against the moto server: add a source with entered credentials
(never shown back), sync it with the summary, and see the last sync."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from streamlit.testing.v1 import AppTest

from core.bootstrap import make_uow_factory
from core.settings import load_settings
from views.services import USER_ID_KEY, uow_factory
from storage.db import dispose_engines
from tests.core.helpers import make_project, make_user

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "cloud_storage.py")
SECRET = "page-Secret-Value-987654321"
IMAGE_CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Car"/></RectangleLabels></View>"""


@pytest.fixture
def app_db(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, str]]:
    """An empty SQLite portal (no demo) with an admin and an image project; yields the admin's id."""
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path / "portal"))
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    uow_factory.clear()
    dispose_engines()
    make_uow = make_uow_factory(load_settings())
    admin = make_user(make_uow, "admin", admin=True)
    make_project(make_uow, admin, title="Cars", config=IMAGE_CONFIG)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="cars")
    for key in ("a.jpg", "b.jpg"):
        client.put_object(Bucket="cars", Key=key, Body=b"x")
    yield admin.id, s3_endpoint
    uow_factory.clear()
    dispose_engines()


def _texts(at: AppTest) -> str:
    parts: list[Any] = [*at.markdown, *at.text, *at.caption, *at.success, *at.error, *at.info]
    return "\n".join(str(p.value) for p in parts)


def test_manager_adds_a_source_syncs_it_and_never_sees_the_secret_again(app_db: tuple[int, str]) -> None:
    admin_id, endpoint = app_db
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[USER_ID_KEY] = admin_id
    at.run()
    assert not at.exception and at.title[0].value == "Cloud storage"
    form = {t.label: t for t in at.text_input}
    form["Bucket"].input("cars")
    form["Endpoint URL (MinIO and other S3-compatible stores)"].input(endpoint)
    form["Access key id"].input("AKIAPAGEKEY")
    form["Secret access key"].input(SECRET)
    next(b for b in at.button if b.label == "Add connection").click()
    at.run()
    assert not at.exception and not at.error
    assert "credentials saved" in _texts(at) and "never" in _texts(at)
    assert all(SECRET not in str(t.value) and "AKIAPAGEKEY" not in str(t.value) for t in at.text_input)
    next(b for b in at.button if b.label == "Test connection").click()
    at.run()
    assert not at.exception and not at.error
    assert any(s.value.startswith("Reached s3://cars/") and "objects there include" in s.value for s in at.success)
    next(b for b in at.button if b.label == "Sync now").click()
    at.run()
    assert not at.exception
    assert "2 new objects, 2 tasks imported" in at.success[0].value
    assert "Last sync: " in _texts(at) and "(2 new objects, 2 tasks)" in _texts(at)
    assert SECRET not in _texts(at)


def test_without_keys_the_server_credentials_go_only_to_the_server_endpoint(
    app_db: tuple[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An allowed bucket at an endpoint the server's credentials do not belong to is refused on the page
    with the endpoint, the bucket and the setting named; at the server's endpoint it is saved and works."""
    admin_id, endpoint = app_db
    monkeypatch.setenv("QUORUM_S3_ALLOWED_BUCKETS", "cars")
    monkeypatch.delenv("QUORUM_S3_SERVER_ENDPOINT", raising=False)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[USER_ID_KEY] = admin_id
    at.run()

    def add() -> None:
        form = {t.label: t for t in at.text_input}
        form["Bucket"].input("cars")
        form["Endpoint URL (MinIO and other S3-compatible stores)"].input(endpoint)
        next(b for b in at.button if b.label == "Add connection").click()
        at.run()

    add()
    assert not at.exception and len(at.error) == 1
    refused = str(at.error[0].value)
    assert f"bucket 'cars' at endpoint '{endpoint}'" in refused and "QUORUM_S3_SERVER_ENDPOINT" in refused
    assert "Test connection" not in [b.label for b in at.button]  # nothing was saved
    monkeypatch.setenv("QUORUM_S3_SERVER_ENDPOINT", endpoint)
    add()
    assert not at.exception and not at.error
    assert "from the server environment" in _texts(at)
    next(b for b in at.button if b.label == "Test connection").click()
    at.run()
    assert not at.exception and not at.error
    assert any(s.value.startswith("Reached s3://cars/") for s in at.success)
