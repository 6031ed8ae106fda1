"""Shared fixtures: a migrated database per test, on SQLite and on PostgreSQL.

``make_uow`` is parametrised over both databases, so every storage-touching test runs twice. The
PostgreSQL server comes from ``QUORUM_TEST_POSTGRES_URL`` (default: the machine's 127.0.0.1:5432, user
postgres); a fresh database is created for the test session and dropped after it. When the server is not
reachable the PostgreSQL half is skipped, unless ``QUORUM_REQUIRE_POSTGRES=1`` (set by the test command
and CI), which turns that into a failure: CI must run it, not skip it.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text

from core.uow import UnitOfWork, UowFactory
from storage.db import create_scratch_database, drop_scratch_database, make_engine, session_factory, upgrade_to_head
from storage.models import Base

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/ (the acceptance data beside the repository).

    Missing data fails the test, with what is missing and where it was looked for: a skip would let a
    run without the data look green.
    """
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"acceptance data missing: {path} does not exist. These tests need the shared data "
                    f"checked out beside the repository, at {SHARED_DIR}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin_url = os.environ.get("QUORUM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        url, name = create_scratch_database(admin_url, "quorum_test")
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        if os.environ.get("QUORUM_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {admin_url}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {admin_url}")
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield url
    drop_scratch_database(admin_url, name)


def _truncate_postgres(engine) -> None:  # type: ignore[no-untyped-def]
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database migrated to head once per session; each test gets a copy of the file
    (:func:`fresh_sqlite`): migrating a new file for every test cost ~0.2 s, some four minutes of a CI run."""
    path = tmp_path_factory.mktemp("sqlite-template") / "quorum.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()  # the last connection closed: the write-ahead log is checkpointed into the file
    return path


def fresh_sqlite(template: Path, folder: Path) -> str:
    """The URL of a migrated, empty SQLite database in ``folder``: a copy of the session's template."""
    target = folder / "quorum.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: a SQLite file under tmp_path, or the session's PostgreSQL db."""
    if request.param == "sqlite":
        yield fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        yield url
        engine = make_engine(url)
        _truncate_postgres(engine)
        engine.dispose()


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_uow(engine) -> UowFactory:  # type: ignore[no-untyped-def]
    return partial(UnitOfWork, session_factory(engine))


@pytest.fixture
def sqlite_uow(tmp_path: Path, sqlite_template: Path) -> Iterator[UowFactory]:
    """SQLite only, for tests of pure service logic where the database makes no difference."""
    engine = make_engine(fresh_sqlite(sqlite_template, tmp_path))
    yield partial(UnitOfWork, session_factory(engine))
    engine.dispose()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """argon2 with production parameters costs ~60 ms a hash; tests make hundreds of accounts. The hash
    stays argon2id (the tests of core/users check that), with the smallest cost."""
    from argon2 import PasswordHasher

    import core.users

    original = core.users._hasher
    core.users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    core.users._hasher = original


# ===== S3 (moto server on loopback) — tests of core/cloud_storage.py =========================================
S3_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto S3 server (ThreadedMotoServer) on 127.0.0.1 at a free port, for the whole test session;
    yields its endpoint URL. Its state is reset per test by ``s3_endpoint``."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The moto endpoint, emptied, with test AWS credentials in the environment, loopback allowed as an
    outbound address and a secret key for sealed credentials (so nothing is written to ./data)."""
    import urllib.request

    for name, value in S3_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("QUORUM_OUTBOUND_ALLOW", "127.0.0.1")
    monkeypatch.setenv("QUORUM_SECRET_KEY", "tests-secret-box-key")
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path / "data"))
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).close()
    yield moto_server
# ===== end of S3 section =====================================================================================
