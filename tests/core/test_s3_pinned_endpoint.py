"""The S3 client connects to the address the outbound check approved, not to a second DNS answer.

The endpoint is a host name that a fake resolver answers twice: 127.0.0.1 (where moto listens) the first time,
127.0.0.2 (nothing listens there) every time after. The check takes the first answer; if botocore looked the
host up again when connecting (DNS rebinding), it would get the second and fail.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from core.cloud_storage import ConnectionSpec, add_connection, check_connection, sync_connection
from core.outbound_http import pinned_connection_class
from core.uow import UowFactory
from tests.core.helpers import make_project, make_user

HOST = "quorum-s3-pinned"  # one label: moto reads the bucket from the path, as for localhost
IMAGE_CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Car"/></RectangleLabels></View>"""


class Rebinding:
    """Answers HOST with ``first`` once after :meth:`arm`, then with ``later``; other hosts as usual."""

    def __init__(self, real: Callable[..., Any], first: str = "127.0.0.1", later: str = "127.0.0.2") -> None:
        self.real, self.first, self.later = real, first, later
        self.lookups: list[str] = []
        self.armed = False

    def arm(self) -> None:
        self.armed, self.lookups = True, []

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != HOST:
            return self.real(host, port, *args, **kwargs)
        answer = self.first if self.armed and not self.lookups else self.later
        self.lookups.append(answer)
        return self.real(answer, port, *args, **kwargs)


@pytest.fixture
def rebinding(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Rebinding:
    fake = Rebinding(socket.getaddrinfo)
    fake.arm()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setenv("QUORUM_S3_ALLOWED_BUCKETS", "pinned")
    monkeypatch.setenv("QUORUM_S3_SERVER_ENDPOINT", _endpoint(s3_endpoint))  # the server's keys may go there
    return fake


def _endpoint(s3_endpoint: str) -> str:
    return f"http://{HOST}:{urlsplit(s3_endpoint).port}"


def test_the_trap_works_an_unpinned_client_follows_the_second_answer(s3_endpoint: str, rebinding: Rebinding) -> None:
    rebinding.arm()
    rebinding.lookups.append("(spent)")  # the check would have taken the first answer
    plain = boto3.client("s3", endpoint_url=_endpoint(s3_endpoint), region_name="us-east-1",
                         config=Config(retries={"max_attempts": 1}))
    with pytest.raises(EndpointConnectionError):
        plain.list_buckets()
    assert set(rebinding.lookups[1:]) == {"127.0.0.2"}


def test_sync_and_check_connect_to_the_checked_address(
    sqlite_uow: UowFactory, s3_endpoint: str, rebinding: Rebinding
) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="pinned")
    for key in ("a.jpg", "b.jpg"):
        client.put_object(Bucket="pinned", Key=key, Body=b"x")
    admin = make_user(sqlite_uow, "admin", admin=True)
    project = make_project(sqlite_uow, admin, config=IMAGE_CONFIG)
    rebinding.arm()
    with sqlite_uow() as uow:
        info = add_connection(uow, admin, project_id=project.id, direction="source",
                              spec=ConnectionSpec(bucket="pinned", endpoint_url=_endpoint(s3_endpoint)))
        uow.commit()
    rebinding.arm()
    with sqlite_uow() as uow:
        summary = sync_connection(uow, admin, connection_id=info.id)
        uow.commit()
    assert summary.n_tasks == 2
    assert rebinding.lookups == ["127.0.0.1"]  # the check's lookup only: botocore resolved nothing itself
    rebinding.arm()
    with sqlite_uow() as uow:
        assert check_connection(uow, admin, connection_id=info.id).sample_keys == ("a.jpg", "b.jpg")
    assert rebinding.lookups == ["127.0.0.1"]


def test_a_pinned_connection_tries_each_approved_address_and_no_other_host(s3_endpoint: str) -> None:
    from urllib3 import HTTPConnectionPool
    from urllib3.connection import HTTPConnection
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    port = int(urlsplit(s3_endpoint).port or 0)
    pinned = pinned_connection_class(HTTPConnection, HOST, port, ("127.0.0.2", "127.0.0.1"))
    pool = type("Pool", (HTTPConnectionPool,), {"ConnectionCls": pinned})(HOST, port, retries=False)
    assert pool.request("GET", "/").status == 200  # 127.0.0.2 refuses, 127.0.0.1 (moto) answers
    other = type("Pool", (HTTPConnectionPool,), {"ConnectionCls": pinned})("127.0.0.1", port, retries=False)
    with pytest.raises((NewConnectionError, MaxRetryError), match="only quorum-s3-pinned"):
        other.request("GET", "/")
    signing_only = pinned_connection_class(HTTPConnection, HOST, port, ())
    nowhere = type("Pool", (HTTPConnectionPool,), {"ConnectionCls": signing_only})(HOST, port, retries=False)
    with pytest.raises((NewConnectionError, MaxRetryError), match="refused to connect"):
        nowhere.request("GET", "/")
