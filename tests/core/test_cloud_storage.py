"""S3 sources and targets against a moto server on loopback, on SQLite and PostgreSQL.

Sync in both modes, incremental re-sync, the regex filter, clear errors that import nothing (bad, internal
or unreachable endpoint, missing bucket, a bad object), credentials never shown or leaked, presigned media,
exports to a target bucket and who may do what.
"""
from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select

from core.cloud_storage import (
    MODE_FILES,
    MODE_TASKS,
    SOURCE,
    TARGET,
    ConnectionSpec,
    StorageError,
    add_connection,
    check_connection,
    delete_connection,
    export_to_target,
    get_connection,
    list_connections,
    media_signer,
    project_media,
    sync_connection,
    update_connection,
)
from core.errors import ImportFormatError, NotFoundError, PermissionDeniedError
from core.exports import CONSENSUS_ONLY
from core.media import resolve_media
from core.outbound import OutboundURLError
from core.settings import load_settings
from core.uow import UowFactory
from storage.models import StorageConnection, StorageObject, Task
from tests.core.helpers import TEXT_CONFIG, import_json, make_project, make_user

IMAGE_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="Car"/></RectangleLabels>
</View>"""
BUCKET = "quorum-in"
SECRET = "entered-Secret-Value-0123456789"


@pytest.fixture(autouse=True)
def _server_credentials_allowed_for_the_test_buckets(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """These tests use the server's (moto's test) credentials on the buckets below, at moto's endpoint; any
    other bucket or endpoint needs entered keys (tests/core/test_s3_bucket_allow_list.py)."""
    monkeypatch.setenv("QUORUM_S3_ALLOWED_BUCKETS", f"{BUCKET},quorum-out")
    if "s3_endpoint" in request.fixturenames:
        monkeypatch.setenv("QUORUM_S3_SERVER_ENDPOINT", request.getfixturevalue("s3_endpoint"))


def _s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def _bucket(endpoint: str, name: str = BUCKET, objects: dict[str, bytes] | None = None) -> Any:
    client = _s3(endpoint)
    client.create_bucket(Bucket=name)
    for key, body in (objects or {}).items():
        client.put_object(Bucket=name, Key=key, Body=body)
    return client


def _setup(make_uow: UowFactory, config: str = IMAGE_CONFIG):  # type: ignore[no-untyped-def]
    admin = make_user(make_uow, "admin", admin=True)
    annotator = make_user(make_uow, "ann")
    project = make_project(make_uow, admin, config=config, members={"annotator": [annotator]})
    return admin, annotator, project


def _connect(make_uow: UowFactory, admin, project_id: int, endpoint: str, direction: str = SOURCE, **spec: Any):  # type: ignore[no-untyped-def]
    with make_uow() as uow:
        info = add_connection(uow, admin, project_id=project_id, direction=direction,
                              spec=ConnectionSpec(bucket=spec.pop("bucket", BUCKET), endpoint_url=endpoint, **spec))
        uow.commit()
    return info


def _sync(make_uow: UowFactory, actor, connection_id: int, **kwargs: Any):  # type: ignore[no-untyped-def]
    with make_uow() as uow:
        summary = sync_connection(uow, actor, connection_id=connection_id, **kwargs)
        uow.commit()
    return summary


def _task_data(make_uow: UowFactory, project_id: int) -> list[dict[str, Any]]:
    with make_uow() as uow:
        return list(uow.session.scalars(select(Task.data).where(Task.project_id == project_id).order_by(Task.id)))


def _n_objects(make_uow: UowFactory) -> int:
    with make_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(StorageObject)) or 0)


def test_each_object_is_a_file_then_only_new_or_changed_objects(make_uow: UowFactory, s3_endpoint: str) -> None:
    client = _bucket(s3_endpoint, objects={"img/a.jpg": b"a", "img/b.jpg": b"b", "img/sub/c.png": b"c",
                                           "other/d.jpg": b"d", "img/folder/": b""})
    admin, _, project = _setup(make_uow)
    conn = _connect(make_uow, admin, project.id, s3_endpoint, prefix="img/", mode=MODE_FILES)
    steps: list[str] = []
    first = _sync(make_uow, admin, conn.id, progress=lambda stage, done, total: steps.append(stage))
    assert (first.n_listed, first.n_new, first.n_tasks, first.n_skipped) == (3, 3, 3, 0)
    assert "importing" in steps
    assert _task_data(make_uow, project.id) == [
        {"image": f"s3://{BUCKET}/img/a.jpg"}, {"image": f"s3://{BUCKET}/img/b.jpg"},
        {"image": f"s3://{BUCKET}/img/sub/c.png"},
    ]
    again = _sync(make_uow, admin, conn.id)
    assert (again.n_new, again.n_changed, again.n_tasks, again.n_skipped) == (0, 0, 0, 3)
    client.put_object(Bucket=BUCKET, Key="img/e.jpg", Body=b"e")
    client.put_object(Bucket=BUCKET, Key="img/a.jpg", Body=b"a, edited")
    third = _sync(make_uow, admin, conn.id)
    assert (third.n_new, third.n_changed, third.n_tasks, third.n_skipped) == (1, 1, 2, 2)
    assert len(_task_data(make_uow, project.id)) == 5 and _n_objects(make_uow) == 4
    with make_uow() as uow:
        info = get_connection(uow, admin, connection_id=conn.id)
    assert info.last_sync_at is not None and info.last_sync["n_tasks"] == 2


def test_each_object_holds_tasks_through_the_importers(make_uow: UowFactory, s3_endpoint: str) -> None:
    client = _bucket(s3_endpoint, objects={
        "batch/one.json": json.dumps([{"text": "a"}, {"data": {"text": "b"}}]).encode(),
        "batch/two.jsonl": b'{"text": "c"}\n{"text": "d"}\n{"text": "e"}\n',
        "batch/three.csv": b"text\nf\ng\n",
        "batch/copy.json": json.dumps([{"text": "a"}, {"data": {"text": "b"}}]).encode(),  # same bytes as one.json
    })
    admin, _, project = _setup(make_uow, TEXT_CONFIG)
    conn = _connect(make_uow, admin, project.id, s3_endpoint, prefix="batch", mode=MODE_TASKS)
    first = _sync(make_uow, admin, conn.id)
    assert (first.n_new, first.n_tasks, first.n_duplicates) == (4, 7, 1)
    assert sorted(d["text"] for d in _task_data(make_uow, project.id)) == list("abcdefg")
    assert _sync(make_uow, admin, conn.id).n_tasks == 0
    client.put_object(Bucket=BUCKET, Key="batch/two.jsonl", Body=b'{"text": "h"}\n')
    changed = _sync(make_uow, admin, conn.id)
    assert (changed.n_changed, changed.n_tasks) == (1, 1)


def test_regex_filter_selects_objects(make_uow: UowFactory, s3_endpoint: str) -> None:
    _bucket(s3_endpoint, objects={"a.jpg": b"1", "b.JPG": b"2", "c.txt": b"3", "d.jpeg": b"4"})
    admin, _, project = _setup(make_uow)
    conn = _connect(make_uow, admin, project.id, s3_endpoint, regex_filter=r"\.jpe?g$")
    summary = _sync(make_uow, admin, conn.id)
    assert (summary.n_listed, summary.n_matched, summary.n_tasks) == (4, 2, 2)
    assert [d["image"] for d in _task_data(make_uow, project.id)] == [f"s3://{BUCKET}/a.jpg", f"s3://{BUCKET}/d.jpeg"]
    with make_uow() as uow, pytest.raises(StorageError, match="regex filter"):
        add_connection(uow, admin, project_id=project.id, direction=SOURCE,
                       spec=ConnectionSpec(bucket=BUCKET, regex_filter="(unclosed"))


def test_bad_object_imports_nothing_and_names_the_object(make_uow: UowFactory, s3_endpoint: str) -> None:
    _bucket(s3_endpoint, objects={"t/good.jsonl": b'{"text": "fine"}\n', "t/bad.json": b"[{\"text\": "})
    admin, _, project = _setup(make_uow, TEXT_CONFIG)
    conn = _connect(make_uow, admin, project.id, s3_endpoint, mode=MODE_TASKS)
    with pytest.raises(ImportFormatError, match=f"s3://{BUCKET}/t/bad.json"):
        _sync(make_uow, admin, conn.id)
    assert _task_data(make_uow, project.id) == [] and _n_objects(make_uow) == 0
    _s3(s3_endpoint).put_object(Bucket=BUCKET, Key="t/photo.png", Body=b"x")
    _s3(s3_endpoint).delete_object(Bucket=BUCKET, Key="t/bad.json")
    with pytest.raises(ImportFormatError, match="t/photo.png: not a task file"):
        _sync(make_uow, admin, conn.id)
    assert _task_data(make_uow, project.id) == []


def test_wrong_bucket_unreachable_or_internal_endpoint_is_a_clear_error(
    make_uow: UowFactory, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bucket(s3_endpoint, objects={"a.jpg": b"1"})
    admin, _, project = _setup(make_uow)
    missing = _connect(make_uow, admin, project.id, s3_endpoint, bucket="no-such-bucket",
                       access_key_id="AKIAENTERED", secret_access_key=SECRET)
    with pytest.raises(StorageError, match="bucket 'no-such-bucket' does not exist") as raised:
        _sync(make_uow, admin, missing.id)
    assert SECRET not in str(raised.value) and "AKIAENTERED" not in str(raised.value)
    with make_uow() as uow, pytest.raises(StorageError, match="bucket 'no-such-bucket' does not exist") as tested:
        check_connection(uow, admin, connection_id=missing.id)  # the "Test connection" button says it at once
    assert SECRET not in str(tested.value)
    good = _connect(make_uow, admin, project.id, s3_endpoint)
    with make_uow() as uow:
        found = check_connection(uow, admin, connection_id=good.id)
    assert found.sample_keys == ("a.jpg",) and not found.more
    closed = _connect(make_uow, admin, project.id, "http://127.0.0.1:9", secret_access_key=SECRET,
                      access_key_id="AKIAENTERED")
    with pytest.raises(StorageError, match="cannot reach endpoint http://127.0.0.1:9") as raised:
        _sync(make_uow, admin, closed.id)
    assert SECRET not in str(raised.value)
    monkeypatch.delenv("QUORUM_OUTBOUND_ALLOW")
    with make_uow() as uow, pytest.raises(OutboundURLError, match="S3 endpoint URL .* internal address"):
        add_connection(uow, admin, project_id=project.id, direction=SOURCE,
                       spec=ConnectionSpec(bucket=BUCKET, endpoint_url="http://169.254.169.254/"))
    ok = _connect_allowed_then_refused(make_uow, admin, project.id, s3_endpoint, monkeypatch)
    with pytest.raises(OutboundURLError, match="internal address 127.0.0.1"):
        _sync(make_uow, admin, ok)
    assert _task_data(make_uow, project.id) == [] and _n_objects(make_uow) == 0


def _connect_allowed_then_refused(make_uow: UowFactory, admin, project_id: int, endpoint: str, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """A connection saved while loopback was allowed: the check runs again at sync time."""
    monkeypatch.setenv("QUORUM_OUTBOUND_ALLOW", "127.0.0.1")
    conn = _connect(make_uow, admin, project_id, endpoint)
    monkeypatch.delenv("QUORUM_OUTBOUND_ALLOW")
    return conn.id


def test_entered_credentials_are_used_sealed_and_never_shown(make_uow: UowFactory, s3_endpoint: str) -> None:
    _bucket(s3_endpoint, objects={"a.jpg": b"1"})
    admin, _, project = _setup(make_uow)
    conn = _connect(make_uow, admin, project.id, s3_endpoint, access_key_id="AKIAENTERED", secret_access_key=SECRET)
    assert conn.credentials_saved and SECRET not in repr(conn) and "AKIAENTERED" not in repr(conn)
    assert _sync(make_uow, admin, conn.id).n_tasks == 1
    with make_uow() as uow:
        stored = json.dumps(uow.session.get(StorageConnection, conn.id).settings)
        listed = list_connections(uow, admin, project_id=project.id)
    assert SECRET not in stored and "AKIAENTERED" not in stored
    assert SECRET not in repr(listed) and listed[0].credentials_saved
    with make_uow() as uow:  # editing other fields keeps the saved credentials; clearing removes them
        kept = update_connection(uow, admin, connection_id=conn.id,
                                 spec=ConnectionSpec(bucket=BUCKET, endpoint_url=s3_endpoint, prefix="x/"))
        cleared = update_connection(uow, admin, connection_id=conn.id,
                                    spec=ConnectionSpec(bucket=BUCKET, endpoint_url=s3_endpoint, clear_credentials=True))
        uow.commit()
    assert kept.credentials_saved and kept.prefix == "x/" and not cleared.credentials_saved
    assert SECRET not in repr(ConnectionSpec(bucket=BUCKET, secret_access_key=SECRET))
    with make_uow() as uow, pytest.raises(StorageError, match="both the access key id and the secret"):
        add_connection(uow, admin, project_id=project.id, direction=SOURCE,
                       spec=ConnectionSpec(bucket=BUCKET, secret_access_key=SECRET))


def test_s3_media_is_shown_through_presigned_urls_of_source_connections_only(
    make_uow: UowFactory, s3_endpoint: str
) -> None:
    _bucket(s3_endpoint, objects={"img/a.jpg": b"pixels", "private/b.jpg": b"secret"})
    _bucket(s3_endpoint, "elsewhere", objects={"img/a.jpg": b"other"})
    admin, annotator, project = _setup(make_uow)
    _connect(make_uow, admin, project.id, s3_endpoint, prefix="img/")
    with make_uow() as uow:
        signer = media_signer(uow, annotator, project_id=project.id)
    settings = load_settings()
    media = resolve_media(f"s3://{BUCKET}/img/a.jpg", settings, s3=signer)
    assert media.url is not None and media.url.startswith(f"{s3_endpoint}/{BUCKET}/img/a.jpg?")
    assert "X-Amz-Expires=900" in media.url and "X-Amz-Signature" in media.url
    with urllib.request.urlopen(media.url) as response:
        assert response.read() == b"pixels"
    for refused in (f"s3://{BUCKET}/private/b.jpg", "s3://elsewhere/img/a.jpg", f"s3://{BUCKET}/img/../private/b.jpg"):
        assert not resolve_media(refused, settings, s3=signer).available, refused
    assert not resolve_media(f"s3://{BUCKET}/img/a.jpg", settings).available  # no signer: refused as before
    # The label, review and data-browser pages all resolve media through this one resolver.
    with make_uow() as uow:
        page_media = project_media(uow, annotator, project_id=project.id, settings=settings)
    assert page_media(f"s3://{BUCKET}/img/a.jpg").url.startswith(f"{s3_endpoint}/{BUCKET}/img/a.jpg?")
    assert not page_media(f"s3://{BUCKET}/private/b.jpg").available


def test_export_to_target_as_one_file_and_one_object_per_task(make_uow: UowFactory, s3_endpoint: str) -> None:
    client = _bucket(s3_endpoint, "quorum-out")
    admin, _, project = _setup(make_uow, TEXT_CONFIG)
    choice = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
    import_json(make_uow, admin, project.id, [
        {"data": {"text": "a"}, "annotations": [{"completed_by": None, "result": choice, "ground_truth": True}]},
        {"data": {"text": "b"}}, {"data": {"text": "c"}},
    ])
    target = _connect(make_uow, admin, project.id, s3_endpoint, direction=TARGET, bucket="quorum-out", prefix="exports/")
    seen: list[tuple[int, int]] = []
    with make_uow() as uow:
        one = export_to_target(uow, admin, connection_id=target.id, fmt="JSON",
                               progress=lambda done, total: seen.append((done, total)))
        per_task = export_to_target(uow, admin, connection_id=target.id, fmt="JSON", per_task=True)
        csv_per_task = export_to_target(uow, admin, connection_id=target.id, fmt="CSV", per_task=True,
                                        selection=CONSENSUS_ONLY)
    assert len(one.keys) == 1 and one.keys[0].startswith("exports/reviews-json-") and one.n_tasks == 3
    body = json.loads(client.get_object(Bucket="quorum-out", Key=one.keys[0])["Body"].read())
    assert [t["data"]["text"] for t in body] == ["a", "b", "c"] and seen[-1] == (3, 3)
    assert len(per_task.keys) == 3 and all(k.startswith("exports/") and k.endswith(".json") for k in per_task.keys)
    task = json.loads(client.get_object(Bucket="quorum-out", Key=per_task.keys[0])["Body"].read())
    assert task["data"] == {"text": "a"} and len(task["annotations"]) == 1
    assert csv_per_task.n_tasks == 1 and csv_per_task.n_left_out == 2 and csv_per_task.keys[0].endswith(".csv")
    text = client.get_object(Bucket="quorum-out", Key=csv_per_task.keys[0])["Body"].read().decode()
    assert "Positive" in text
    with make_uow() as uow, pytest.raises(StorageError, match="is a target, not a source"):
        sync_connection(uow, admin, connection_id=target.id)


def test_annotator_cannot_sync_export_or_manage_connections(make_uow: UowFactory, s3_endpoint: str) -> None:
    _bucket(s3_endpoint, objects={"a.jpg": b"1"})
    admin, annotator, project = _setup(make_uow)
    source = _connect(make_uow, admin, project.id, s3_endpoint)
    target = _connect(make_uow, admin, project.id, s3_endpoint, direction=TARGET)
    with make_uow() as uow:
        with pytest.raises(PermissionDeniedError):
            sync_connection(uow, annotator, connection_id=source.id)
        with pytest.raises(PermissionDeniedError):
            export_to_target(uow, annotator, connection_id=target.id, fmt="JSON")
        with pytest.raises(PermissionDeniedError):
            add_connection(uow, annotator, project_id=project.id, direction=SOURCE, spec=ConnectionSpec(bucket=BUCKET))
        with pytest.raises(PermissionDeniedError):
            delete_connection(uow, annotator, connection_id=source.id)
        assert list_connections(uow, annotator, project_id=project.id) == []
    assert _task_data(make_uow, project.id) == []
    with make_uow() as uow:
        delete_connection(uow, admin, connection_id=source.id)
        uow.commit()
    with make_uow() as uow, pytest.raises(NotFoundError):
        get_connection(uow, admin, connection_id=source.id)


def test_cli_storage_sync(make_uow: UowFactory, s3_endpoint: str, database_url: str,
                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import cli
    from storage.db import dispose_engines

    _bucket(s3_endpoint, objects={"a.jpg": b"1", "b.jpg": b"2"})
    admin, _, project = _setup(make_uow)
    conn = _connect(make_uow, admin, project.id, s3_endpoint)
    monkeypatch.setenv("QUORUM_DATABASE_URL", database_url)
    try:
        assert cli.main(["storage", "sync", project.title, str(conn.id), "--as", "admin"]) == 0
        assert "2 new objects, 2 tasks" in capsys.readouterr().out
        assert cli.main(["storage", "sync", project.title, str(conn.id), "--as", "ann"]) == 2
        assert "may not import data" in capsys.readouterr().err
        assert cli.main(["storage", "list", project.title, "--as", "admin"]) == 0
        assert f"{conn.id}" in capsys.readouterr().out
    finally:
        dispose_engines()
    assert len(_task_data(make_uow, project.id)) == 2



def test_error_messages_are_scrubbed_of_credentials_whatever_the_store_answers() -> None:
    from botocore.exceptions import ClientError

    from core.cloud_storage import _storage_error, _Store

    store = _Store(client=None, bucket=BUCKET, where="endpoint http://127.0.0.1:1", secrets=("AKIAENTERED", SECRET))
    echoed = ClientError({"Error": {"Code": "SomethingOdd", "Message": f"key AKIAENTERED with {SECRET} refused"}},
                         "ListObjectsV2")
    refused = ClientError({"Error": {"Code": "InvalidAccessKeyId", "Message": "AKIAENTERED unknown"}}, "ListObjectsV2")
    for error in (echoed, refused):
        text = str(_storage_error(store, error, "listing bucket"))
        assert SECRET not in text and "AKIAENTERED" not in text
    assert "SomethingOdd" in str(_storage_error(store, echoed, "listing bucket"))
    assert "refused the credentials" in str(_storage_error(store, refused, "listing bucket"))
