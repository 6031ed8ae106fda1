"""The server's own S3 credentials reach only the buckets (and folders) in QUORUM_S3_ALLOWED_BUCKETS.

Against the moto server on loopback (tests/conftest.py), whose test credentials stand for the server's: the
allowed bucket works without entered keys for source sync, the connection test, an export target and presigned
media; another bucket is refused when saved and again at each use; entered keys still reach it; and a prefix,
a regex filter or a listing cannot climb out of an allowed folder.

The server's credentials also go only to their own endpoint (QUORUM_S3_SERVER_ENDPOINT, here moto's): an
allowed bucket *name* at another endpoint ("their store", a second S3 server on loopback that records what it
is sent) is refused when saved and at each use, and that store never sees the server's key id; entered keys
reach it.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from sqlalchemy import select

from core.cloud_storage import (
    SOURCE,
    TARGET,
    ConnectionInfo,
    ConnectionSpec,
    StorageError,
    add_connection,
    check_connection,
    export_to_target,
    get_connection,
    media_signer,
    sync_connection,
    update_connection,
)
from core.settings import (
    S3_ALLOWED_BUCKETS_ENV,
    S3_SERVER_ENDPOINT_ENV,
    S3Grant,
    load_settings,
    normalise_endpoint,
    parse_s3_grants,
)
from core.uow import UowFactory
from storage.models import StorageConnection, Task
from tests.core.helpers import TEXT_CONFIG, import_json, make_project, make_user

IMAGE_CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Car"/></RectangleLabels></View>"""
OURS, THEIRS, SHARED = "team-ours", "team-theirs", "shared"
SECRET = "entered-Secret-For-Their-Bucket-42"
SERVER_KEY_ID = "testing-key-id"  # the server's own (tests/conftest.py S3_TEST_ENV)


@pytest.fixture
def buckets(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Three buckets with a few objects; the server's credentials allowed for OURS and SHARED/team-a only."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    objects = {
        OURS: ["a.jpg", "b.jpg"],
        THEIRS: ["secret.jpg"],
        SHARED: ["team-a/1.jpg", "team-ab/leak.jpg", "team-a/../team-b/x.jpg", "team-a/./y.jpg", "team-b/z.jpg"],
    }
    for bucket, keys in objects.items():
        client.create_bucket(Bucket=bucket)
        for key in keys:
            client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    monkeypatch.setenv(S3_ALLOWED_BUCKETS_ENV, f"{OURS}, {SHARED}/team-a/")
    monkeypatch.setenv(S3_SERVER_ENDPOINT_ENV, s3_endpoint)
    return client


@dataclass
class TheirStore:
    """A manager's own S3 server on loopback (moto, sharing the test moto's buckets) that records the
    credentials of every request it is sent."""

    url: str
    seen: list[str] = field(default_factory=list)  # Authorization and X-Amz-Security-Token headers

    def key_ids(self) -> set[str]:
        return {part.split("Credential=")[1].split("/")[0] for part in self.seen if "Credential=" in part}


@pytest.fixture
def their_store(s3_endpoint: str) -> Iterator[TheirStore]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    moto_app = DomainDispatcherApplication(create_backend_app)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = TheirStore(f"http://127.0.0.1:{port}")

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        store.seen.extend(environ[h] for h in ("HTTP_AUTHORIZATION", "HTTP_X_AMZ_SECURITY_TOKEN") if h in environ)
        return moto_app(environ, start_response)

    server = make_server("127.0.0.1", port, recording, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield store
    server.shutdown()
    thread.join()


def _setup(make_uow: UowFactory, config: str = IMAGE_CONFIG):  # type: ignore[no-untyped-def]
    admin = make_user(make_uow, "admin", admin=True)
    return admin, make_project(make_uow, admin, config=config)


def _add(make_uow: UowFactory, admin, project_id: int, endpoint: str, bucket: str,  # type: ignore[no-untyped-def]
         direction: str = SOURCE, **spec: Any) -> ConnectionInfo:
    with make_uow() as uow:
        info = add_connection(uow, admin, project_id=project_id, direction=direction,
                              spec=ConnectionSpec(bucket=bucket, endpoint_url=endpoint, **spec))
        uow.commit()
    return info


def _sync(make_uow: UowFactory, admin, connection_id: int):  # type: ignore[no-untyped-def]
    with make_uow() as uow:
        summary = sync_connection(uow, admin, connection_id=connection_id)
        uow.commit()
    return summary


def _tasks(make_uow: UowFactory, project_id: int) -> list[dict[str, Any]]:
    with make_uow() as uow:
        return list(uow.session.scalars(select(Task.data).where(Task.project_id == project_id)))


def _images(make_uow: UowFactory, project_id: int) -> list[str]:
    return [data["image"] for data in _tasks(make_uow, project_id)]


def _signed(make_uow: UowFactory, admin, project_id: int, url: str) -> str | None:  # type: ignore[no-untyped-def]
    with make_uow() as uow:
        signer = media_signer(uow, admin, project_id=project_id)
    return signer(url)


def test_the_allowed_bucket_works_with_the_server_credentials(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any
) -> None:
    admin, project = _setup(sqlite_uow)
    source = _add(sqlite_uow, admin, project.id, s3_endpoint, OURS)
    assert source.refusal is None and not source.credentials_saved
    assert _sync(sqlite_uow, admin, source.id).n_tasks == 2
    with sqlite_uow() as uow:
        assert check_connection(uow, admin, connection_id=source.id).sample_keys == ("a.jpg", "b.jpg")
    url = _signed(sqlite_uow, admin, project.id, f"s3://{OURS}/a.jpg")
    assert url is not None and url.startswith(f"{s3_endpoint}/{OURS}/a.jpg?")
    target = _add(sqlite_uow, admin, project.id, s3_endpoint, OURS, direction=TARGET, prefix="out/")
    with sqlite_uow() as uow:
        written = export_to_target(uow, admin, connection_id=target.id, fmt="JSON")
    assert len(written.keys) == 1 and written.keys[0].startswith("out/")
    assert len(json.loads(buckets.get_object(Bucket=OURS, Key=written.keys[0])["Body"].read())) == 2


@pytest.mark.parametrize("direction", [SOURCE, TARGET])
def test_another_bucket_is_refused_when_saved_with_a_message_saying_what_to_do(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, direction: str
) -> None:
    admin, project = _setup(sqlite_uow)
    with sqlite_uow() as uow, pytest.raises(StorageError) as refused:
        add_connection(uow, admin, project_id=project.id, direction=direction,
                       spec=ConnectionSpec(bucket=THEIRS, endpoint_url=s3_endpoint))
    message = str(refused.value)
    assert f"bucket {THEIRS!r}" in message and "enter an access key" in message
    assert S3_ALLOWED_BUCKETS_ENV in message
    with sqlite_uow() as uow:
        assert uow.session.scalars(select(StorageConnection)).all() == []


def test_a_connection_allowed_once_is_refused_at_every_use_after_the_list_changes(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, project = _setup(sqlite_uow, TEXT_CONFIG)
    import_json(sqlite_uow, admin, project.id, [{"data": {"text": "a"}}])
    monkeypatch.setenv(S3_ALLOWED_BUCKETS_ENV, f"{OURS},{THEIRS}")
    source = _add(sqlite_uow, admin, project.id, s3_endpoint, THEIRS)
    target = _add(sqlite_uow, admin, project.id, s3_endpoint, THEIRS, direction=TARGET)
    assert _signed(sqlite_uow, admin, project.id, f"s3://{THEIRS}/secret.jpg") is not None
    monkeypatch.setenv(S3_ALLOWED_BUCKETS_ENV, OURS)  # the administrator takes the bucket off the list
    with sqlite_uow() as uow:
        with pytest.raises(StorageError, match=f"bucket '{THEIRS}' may not be reached with the server's own"):
            sync_connection(uow, admin, connection_id=source.id)
        with pytest.raises(StorageError, match=S3_ALLOWED_BUCKETS_ENV):
            check_connection(uow, admin, connection_id=source.id)
        with pytest.raises(StorageError, match="enter an access key"):
            export_to_target(uow, admin, connection_id=target.id, fmt="JSON")
        assert "enter an access key" in (get_connection(uow, admin, connection_id=source.id).refusal or "")
    assert _signed(sqlite_uow, admin, project.id, f"s3://{THEIRS}/secret.jpg") is None
    assert len(_tasks(sqlite_uow, project.id)) == 1  # the one imported above: the sync imported nothing
    assert "Contents" not in buckets.list_objects_v2(Bucket=THEIRS, Prefix="reviews")  # nothing was written


def test_entered_keys_still_reach_another_bucket_and_forgetting_them_is_refused(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any
) -> None:
    admin, project = _setup(sqlite_uow)
    keys = {"access_key_id": "AKIATHEIRS", "secret_access_key": SECRET}
    source = _add(sqlite_uow, admin, project.id, s3_endpoint, THEIRS, **keys)
    assert source.refusal is None
    assert _sync(sqlite_uow, admin, source.id).n_tasks == 1
    assert _signed(sqlite_uow, admin, project.id, f"s3://{THEIRS}/secret.jpg") is not None
    with sqlite_uow() as uow:
        assert check_connection(uow, admin, connection_id=source.id).sample_keys == ("secret.jpg",)
        with pytest.raises(StorageError, match=f"bucket '{THEIRS}'.*{S3_ALLOWED_BUCKETS_ENV}"):
            update_connection(uow, admin, connection_id=source.id,
                              spec=ConnectionSpec(bucket=THEIRS, endpoint_url=s3_endpoint, clear_credentials=True))
    with sqlite_uow() as uow:  # the refused update changed nothing
        assert get_connection(uow, admin, connection_id=source.id).credentials_saved
    target = _add(sqlite_uow, admin, project.id, s3_endpoint, THEIRS, direction=TARGET, prefix="out", **keys)
    with sqlite_uow() as uow:
        assert export_to_target(uow, admin, connection_id=target.id, fmt="JSON").keys[0].startswith("out/")


@pytest.mark.parametrize("prefix", ["team-a/../team-b", "team-a/./", "team-b/", "", "team-a\\..\\team-b", "team"])
def test_a_prefix_outside_the_allowed_folder_is_refused(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, prefix: str
) -> None:
    admin, project = _setup(sqlite_uow)
    with sqlite_uow() as uow, pytest.raises(StorageError, match=f"bucket '{SHARED}'.*{S3_ALLOWED_BUCKETS_ENV}"):
        add_connection(uow, admin, project_id=project.id, direction=SOURCE,
                       spec=ConnectionSpec(bucket=SHARED, prefix=prefix, endpoint_url=s3_endpoint))


def test_a_listing_or_a_regex_filter_cannot_leave_the_allowed_folder(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any
) -> None:
    """The prefix "team-a" lists "team-ab/..." too, and keys with dot segments lie "inside" it as text: the
    server's credentials read, import and presign none of them."""
    admin, project = _setup(sqlite_uow)
    source = _add(sqlite_uow, admin, project.id, s3_endpoint, SHARED, prefix="team-a", regex_filter=r"\.jpg$")
    summary = _sync(sqlite_uow, admin, source.id)
    assert (summary.n_listed, summary.n_tasks) == (1, 1)
    assert _images(sqlite_uow, project.id) == [f"s3://{SHARED}/team-a/1.jpg"]
    with sqlite_uow() as uow:
        assert check_connection(uow, admin, connection_id=source.id).sample_keys == ("team-a/1.jpg",)
    assert _signed(sqlite_uow, admin, project.id, f"s3://{SHARED}/team-a/1.jpg") is not None
    for outside in ("team-ab/leak.jpg", "team-a/../team-b/x.jpg", "team-a/%2E%2E/team-b/z.jpg", "team-b/z.jpg"):
        assert _signed(sqlite_uow, admin, project.id, f"s3://{SHARED}/{outside}") is None, outside
    greedy = _add(sqlite_uow, admin, project.id, s3_endpoint, SHARED, prefix="team-a/", regex_filter="team-b")
    assert _sync(sqlite_uow, admin, greedy.id).n_tasks == 0


def test_an_export_target_writes_only_inside_the_allowed_folder(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any
) -> None:
    admin, project = _setup(sqlite_uow, TEXT_CONFIG)
    import_json(sqlite_uow, admin, project.id, [{"data": {"text": "a"}}, {"data": {"text": "b"}}])
    target = _add(sqlite_uow, admin, project.id, s3_endpoint, SHARED, direction=TARGET, prefix="team-a")
    with sqlite_uow() as uow:
        written = export_to_target(uow, admin, connection_id=target.id, fmt="JSON", per_task=True)
    assert len(written.keys) == 2 and all(key.startswith("team-a/") for key in written.keys)


def test_the_allow_list_is_parsed_into_folders_and_bad_entries_are_named() -> None:
    assert parse_s3_grants(" ours , shared/team-a/ ,, shared/b/c ") == (
        S3Grant("ours"), S3Grant("shared", "team-a/"), S3Grant("shared", "b/c/"),
    )
    assert not S3Grant("shared", "team-a/").covers("shared", "team-ab/x")
    for bad, why in (("shared/a/../b", "'..' segments"), ("/team-a", "bucket name"), ("s3://x", "bucket name")):
        with pytest.raises(ValueError, match=f"{S3_ALLOWED_BUCKETS_ENV}: .*{why}") as raised:
            parse_s3_grants(f"ours,{bad}")
        assert repr(bad) in str(raised.value)


def test_the_allow_list_is_read_into_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(S3_ALLOWED_BUCKETS_ENV, raising=False)
    assert load_settings().s3_allowed_buckets == ()
    monkeypatch.setenv(S3_ALLOWED_BUCKETS_ENV, "ours,shared/team-a")
    assert load_settings().s3_allowed_buckets == (S3Grant("ours"), S3Grant("shared", "team-a/"))


# --- the server's credentials go only to their own endpoint (QUORUM_S3_SERVER_ENDPOINT) ----------------------
def _other_endpoint(which: str, s3_endpoint: str, their_store: TheirStore) -> str:
    return {
        "their store": their_store.url,
        "the same server by another name": f"http://localhost:{urlsplit(s3_endpoint).port}",
        "AWS (no endpoint URL)": "",
    }[which]


@pytest.mark.parametrize("direction", [SOURCE, TARGET])
@pytest.mark.parametrize("which", ["their store", "the same server by another name", "AWS (no endpoint URL)"])
def test_an_allowed_bucket_name_at_another_endpoint_is_refused_with_the_server_credentials(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, their_store: TheirStore, direction: str, which: str
) -> None:
    admin, project = _setup(sqlite_uow)
    endpoint = _other_endpoint(which, s3_endpoint, their_store)
    with sqlite_uow() as uow, pytest.raises(StorageError) as refused:
        add_connection(uow, admin, project_id=project.id, direction=direction,
                       spec=ConnectionSpec(bucket=OURS, endpoint_url=endpoint))
    message = str(refused.value)
    assert f"bucket {OURS!r} at " in message and "enter an access key" in message.lower()
    assert (f"endpoint {endpoint!r}" if endpoint else "AWS S3 (no endpoint URL)") in message
    assert f"sent only to the endpoint {s3_endpoint} ({S3_SERVER_ENDPOINT_ENV})" in message
    with sqlite_uow() as uow:
        assert uow.session.scalars(select(StorageConnection)).all() == []
    assert their_store.seen == []


def test_a_connection_at_another_endpoint_is_refused_at_every_use_once_the_server_endpoint_changes(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, their_store: TheirStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved while the administrator's endpoint was theirs (so the trap is real: a sync then sends them the
    server's key id); once the setting moves back, nothing more reaches them."""
    admin, project = _setup(sqlite_uow)
    monkeypatch.setenv(S3_SERVER_ENDPOINT_ENV, their_store.url)
    source = _add(sqlite_uow, admin, project.id, their_store.url, OURS)
    target = _add(sqlite_uow, admin, project.id, their_store.url, OURS, direction=TARGET)
    assert _sync(sqlite_uow, admin, source.id).n_tasks == 2
    assert their_store.key_ids() == {SERVER_KEY_ID}
    assert _signed(sqlite_uow, admin, project.id, f"s3://{OURS}/a.jpg") is not None

    monkeypatch.setenv(S3_SERVER_ENDPOINT_ENV, s3_endpoint)  # the administrator's setting, as it should be
    their_store.seen.clear()
    named = f"bucket {OURS!r} at endpoint {their_store.url!r}"
    with sqlite_uow() as uow:
        for use in (lambda: sync_connection(uow, admin, connection_id=source.id),
                    lambda: check_connection(uow, admin, connection_id=source.id),
                    lambda: export_to_target(uow, admin, connection_id=target.id, fmt="JSON")):
            with pytest.raises(StorageError, match="may not be reached with the server's own") as refused:
                use()
            assert named in str(refused.value) and S3_SERVER_ENDPOINT_ENV in str(refused.value)
        assert named in (get_connection(uow, admin, connection_id=source.id).refusal or "")
    assert _signed(sqlite_uow, admin, project.id, f"s3://{OURS}/a.jpg") is None
    assert their_store.seen == []
    assert [o["Key"] for o in buckets.list_objects_v2(Bucket=OURS)["Contents"]] == ["a.jpg", "b.jpg"]  # no export


def test_entered_keys_reach_an_allowed_bucket_name_at_another_endpoint(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, their_store: TheirStore
) -> None:
    admin, project = _setup(sqlite_uow)
    source = _add(sqlite_uow, admin, project.id, their_store.url, OURS,
                  access_key_id="AKIATHEIRS", secret_access_key=SECRET)
    assert source.refusal is None
    assert _sync(sqlite_uow, admin, source.id).n_tasks == 2
    url = _signed(sqlite_uow, admin, project.id, f"s3://{OURS}/a.jpg")
    assert url is not None and url.startswith(f"{their_store.url}/{OURS}/a.jpg?") and SERVER_KEY_ID not in url
    assert their_store.key_ids() == {"AKIATHEIRS"}  # their keys went there, the server's never did


def test_the_configured_endpoint_is_allowed_however_it_is_spelt(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = urlsplit(s3_endpoint).port
    monkeypatch.setenv(S3_SERVER_ENDPOINT_ENV, f"HTTP://127.0.0.1:{port}/")
    admin, project = _setup(sqlite_uow)
    source = _add(sqlite_uow, admin, project.id, f"http://127.0.0.1:{port}//", OURS)
    assert source.refusal is None and _sync(sqlite_uow, admin, source.id).n_tasks == 2
    url = _signed(sqlite_uow, admin, project.id, f"s3://{OURS}/a.jpg")
    assert url is not None and url.startswith(f"http://127.0.0.1:{port}/{OURS}/a.jpg?")


def test_a_malformed_server_endpoint_setting_refuses_connections_without_keys(
    sqlite_uow: UowFactory, s3_endpoint: str, buckets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, project = _setup(sqlite_uow)
    source = _add(sqlite_uow, admin, project.id, s3_endpoint, OURS)
    monkeypatch.setenv(S3_SERVER_ENDPOINT_ENV, "ftp://minio.internal")
    with sqlite_uow() as uow:
        with pytest.raises(StorageError, match=f"fixes the setting: {S3_SERVER_ENDPOINT_ENV}: .*'ftp://minio.internal'"):
            sync_connection(uow, admin, connection_id=source.id)
        assert S3_SERVER_ENDPOINT_ENV in (get_connection(uow, admin, connection_id=source.id).refusal or "")


def test_endpoints_are_compared_in_one_spelling() -> None:
    same = {
        "https://minio.internal": ["HTTPS://MinIO.Internal", "https://minio.internal:443/", " https://minio.internal// "],
        "http://10.0.0.5:9000": ["http://10.0.0.5:9000/", "HTTP://10.0.0.5:9000"],
        "http://[::1]:9000/s3": ["http://[::1]:9000/s3/"],
        "http://minio.internal": ["http://minio.internal:80"],
        "": ["", "  "],
    }
    for normal, spellings in same.items():
        assert {normalise_endpoint(normal), *map(normalise_endpoint, spellings)} == {normal}, normal
    different = ["http://minio.internal", "https://minio.internal:80", "https://minio.internal.",
                 "https://minio.internal:9000", "https://minio.internal/s3", "https://minio.internal.evil.example"]
    assert len({normalise_endpoint(url) for url in [*different, "https://minio.internal"]}) == len(different) + 1
    for bad in ("ftp://minio.internal", "minio.internal:9000", "http://user:pw@minio.internal",
                "http://minio.internal/?x=1", "http://minio.internal/#x", "http://minio.internal:99999"):
        with pytest.raises(ValueError):
            normalise_endpoint(bad)


def test_the_server_endpoint_is_read_into_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(S3_SERVER_ENDPOINT_ENV, raising=False)
    assert load_settings().s3_server_endpoint == ""
    monkeypatch.setenv(S3_SERVER_ENDPOINT_ENV, "HTTPS://MinIO.internal:443/")
    assert load_settings().s3_server_endpoint == "https://minio.internal"
    monkeypatch.setenv(S3_SERVER_ENDPOINT_ENV, "minio.internal:9000")
    with pytest.raises(ValueError, match=f"{S3_SERVER_ENDPOINT_ENV}: endpoint URL 'minio.internal:9000'"):
        load_settings()
