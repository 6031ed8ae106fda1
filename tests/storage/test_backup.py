"""Backups and restores (storage/backup.py) on SQLite and PostgreSQL, and across the two."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

import storage.backup as backup
from core.labeling import next_task, submit_annotation
from core.uow import UnitOfWork
from core.users import create_user
from storage.backup import BackupError, backup_before_migration, code_head, manifest_of, restore_backup, write_backup
from storage.db import alembic_config, create_scratch_database, drop_scratch_database, make_engine, session_factory
from storage.models import AuditEvent, Base, Prediction, Review, StorageConnection, Task
from tests.conftest import DEFAULT_POSTGRES_URL
from tests.core.helpers import import_json, make_project, make_user

UNICODE = "Grüße, naïve café — 東京 😀"
CHOICE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]


# ---- fixtures -------------------------------------------------------------------------------------------------


def _fresh_engine(dialect: str, tmp_path: Path, name: str) -> Iterator[sa.Engine]:
    """An empty database migrated to head, of ``dialect``, dropped afterwards."""
    if dialect == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / f'{name}.db'}")
        command.upgrade(alembic_config(engine), "head")
        yield engine
        engine.dispose()
        return
    admin_url = os.environ.get("QUORUM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        url, db_name = create_scratch_database(admin_url, f"quorum_{name}")
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("QUORUM_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {admin_url}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {admin_url}")
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "head")
    yield engine
    engine.dispose()
    drop_scratch_database(admin_url, db_name)


@pytest.fixture
def target(engine: sa.Engine, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database of the same kind as ``engine``."""
    yield from _fresh_engine(engine.dialect.name, tmp_path, "restore")


@pytest.fixture
def other_target(engine: sa.Engine, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database of the other kind: SQLite -> PostgreSQL and PostgreSQL -> SQLite."""
    yield from _fresh_engine("postgresql" if engine.dialect.name == "sqlite" else "sqlite", tmp_path, "cross")


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    root = tmp_path / "source-data" / "media" / "uploads"
    (root / "7").mkdir(parents=True)
    (root / "7" / "0123456789ab-cat.jpg").write_bytes(bytes(range(256)) * 40)
    (root / "7" / "fedcba987654-notes_é.txt").write_text(UNICODE, encoding="utf-8")
    (root / "7" / ".incoming-123").write_bytes(b"half an upload")  # scratch of an upload in progress: left out
    return root


def _uow(engine: sa.Engine) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(session_factory(engine))


def populate(make_uow: Callable[[], UnitOfWork], monkeypatch: pytest.MonkeyPatch) -> None:
    """Users, a project, tasks, an annotation (through the services), plus rows with a JSON null beside a SQL
    NULL, a sealed secret, unicode and microsecond datetimes."""
    from core.secret_box import seal

    monkeypatch.setenv("QUORUM_SECRET_KEY", "backup-tests-key")
    admin = make_user(make_uow, "admin", admin=True)
    with make_uow() as uow:
        anna = create_user(uow, username="anna", password="password-123", email="anna@example.com", display_name=UNICODE)
        uow.commit()
    project = make_project(make_uow, admin, overlap=1, members={"annotator": [anna]})
    import_json(make_uow, admin, project.id, [{"text": UNICODE}, {"text": "second"}, {"text": "third", "n": 3.25}])
    with make_uow() as uow:
        held = next_task(uow, anna, project_id=project.id)
        assert held is not None
        submit_annotation(uow, anna, task_id=held.task_id, result=CHOICE, lead_time_s=1.5, active_time_s=None)
        uow.commit()
    with make_uow() as uow:
        session = uow.session
        task_ids = list(session.scalars(sa.select(Task.id).order_by(Task.id)))
        session.add(Prediction(task_id=task_ids[1], model_version="m-1", score=0.25, result=CHOICE))
        session.add(
            StorageConnection(
                project_id=project.id, direction="source", bucket="b", settings={"credentials": seal("s3-secret ✓")}
            )
        )
        session.add(Review(task_id=task_ids[0], reviewer_id=admin.id, verdict="accepted", fixed_result=None))  # JSON null
        session.flush()
        session.add(Review(task_id=task_ids[0], reviewer_id=admin.id, verdict="accepted"))  # SQL NULL
        session.add(
            AuditEvent(
                actor_id=admin.id, action="test", detail={"nested": {"list": [1, 2.5, None, True, "ü"]}, "empty": {}},
                created_at=dt.datetime(2026, 1, 2, 3, 4, 5, 678901),
            )
        )
        uow.commit()


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order, with "is SQL NULL" beside each JSON column."""
    rows = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns: list[Any] = list(table.columns)
            columns += [c.is_(None).label(f"{c.name}_is_null") for c in table.columns if isinstance(c.type, sa.JSON)]
            rows[table.name] = [tuple(r) for r in conn.execute(sa.select(*columns).order_by(*table.primary_key))]
    return rows


def rebuild(
    src: Path,
    dst: Path,
    *,
    edit_manifest: Callable[[dict[str, Any]], None] = lambda m: None,
    replace: dict[str, bytes] | None = None,
    extra: list[tuple[tarfile.TarInfo, bytes]] = (),  # type: ignore[assignment]
    list_extra: bool = True,
) -> Path:
    """A copy of archive ``src`` with members replaced, extra members added (listed with their true sha256 when
    ``list_extra``) and the manifest edited."""
    with tarfile.open(src, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    manifest = json.loads(dict((m.name, b) for m, b in members)["manifest.json"])
    with tarfile.open(dst, "w:gz") as out:
        for info, body in members:
            if info.name == "manifest.json":
                continue
            body = (replace or {}).get(info.name, body)
            info.size = len(body)
            out.addfile(info, io.BytesIO(body))
        for info, body in extra:
            if list_extra:
                manifest["members"][info.name] = hashlib.sha256(body).hexdigest()
            out.addfile(info, io.BytesIO(body) if info.isreg() else None)
        edit_manifest(manifest)
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        out.addfile(info, io.BytesIO(body))
    return dst


def _file(name: str, body: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    return info, body


# ---- round trips ------------------------------------------------------------------------------------------------


def test_backup_then_restore_gives_every_row_and_upload_back(engine, make_uow, target, uploads, tmp_path, monkeypatch):
    monkeypatch.setattr(backup, "READ_BATCH", 3)  # several server-side cursor batches and insert batches
    monkeypatch.setattr(backup, "INSERT_BATCH", 2)
    populate(make_uow, monkeypatch)
    folder = tmp_path / "backups"
    folder.mkdir()
    summary = write_backup(engine, folder, uploads_dir=uploads)

    assert summary.path.parent == folder and summary.path.name.startswith("quorum-")
    assert summary.path.name.endswith(".tar.gz")
    assert stat.S_IMODE(summary.path.stat().st_mode) == 0o600
    assert summary.n_files == 2 and summary.rows["users"] == 2 and summary.rows["tasks"] == 3
    manifest = manifest_of(summary.path)
    assert manifest["format"] == "quorum-backup" and manifest["alembic_revision"] == code_head()
    assert manifest["dialect"] == engine.dialect.name
    assert {t["name"] for t in manifest["tables"]} == {t.name for t in Base.metadata.tables.values()} | {"alembic_version"}
    assert "uploads/7/fedcba987654-notes_é.txt" in manifest["members"]
    assert all(len(sha) == 64 for sha in manifest["members"].values())
    assert not any(".incoming-" in name for name in manifest["members"])

    restored_uploads = tmp_path / "target-data" / "media" / "uploads"
    result = restore_backup(target, summary.path, uploads_dir=restored_uploads)

    assert result.rows["annotations"] == 1 and result.n_files == 2
    assert snapshot(target) == snapshot(engine)
    for name in ("0123456789ab-cat.jpg", "fedcba987654-notes_é.txt"):
        assert (restored_uploads / "7" / name).read_bytes() == (uploads / "7" / name).read_bytes()
    assert not (restored_uploads / "7" / ".incoming-123").exists()
    # JSON null and SQL NULL stayed apart; the sealed secret still opens; ids continue after the restored ones.
    with target.connect() as conn:
        nulls = conn.execute(sa.select(Review.fixed_result.is_(None)).order_by(Review.id)).scalars().all()
    assert nulls == [False, True]
    from core.secret_box import unseal

    with _uow(target)() as uow:
        sealed = uow.session.scalars(sa.select(StorageConnection.settings)).one()["credentials"]
        assert unseal(sealed) == "s3-secret ✓"
        new = create_user(uow, username="newcomer", password="password-123")
        uow.commit()
    assert new.id == 3


def test_a_backup_restores_into_the_other_database_kind(engine, make_uow, other_target, uploads, tmp_path, monkeypatch):
    populate(make_uow, monkeypatch)
    summary = write_backup(engine, tmp_path / "moving.tar.gz", uploads_dir=uploads)

    restore_backup(other_target, summary.path, uploads_dir=tmp_path / "elsewhere")

    assert manifest_of(summary.path)["dialect"] == engine.dialect.name != other_target.dialect.name
    assert snapshot(other_target) == snapshot(engine)
    with _uow(other_target)() as uow:
        assert create_user(uow, username="next", password="password-123").id == 3
        uow.commit()


def test_the_restore_is_one_transaction_a_late_failure_leaves_the_target_empty(engine, make_uow, target, tmp_path, monkeypatch):
    populate(make_uow, monkeypatch)
    good = write_backup(engine, tmp_path / "good.tar.gz").path

    def wrong_count(manifest: dict[str, Any]) -> None:  # the manifest's own counts are not checksummed
        manifest["tables"][-1]["rows"] += 1

    bad = rebuild(good, tmp_path / "bad.tar.gz", edit_manifest=wrong_count)
    with pytest.raises(BackupError, match="rows in the archive"):
        restore_backup(target, bad)
    assert all(not rows for rows in snapshot(target).values())


# ---- refusals -----------------------------------------------------------------------------------------------------


def test_restore_refuses_a_non_empty_database_unless_replace(engine, make_uow, target, tmp_path, monkeypatch):
    populate(make_uow, monkeypatch)
    archive = write_backup(engine, tmp_path / "b.tar.gz").path
    make_user(_uow(target), "somebody-else")
    before = snapshot(target)

    with pytest.raises(BackupError, match=r"not empty \(rows in users\).*--replace"):
        restore_backup(target, archive)
    assert snapshot(target) == before

    restore_backup(target, archive, replace=True)
    assert snapshot(target) == snapshot(engine)


def test_a_tampered_archive_is_refused_and_the_database_left_alone(engine, make_uow, target, tmp_path, monkeypatch):
    populate(make_uow, monkeypatch)
    archive = write_backup(engine, tmp_path / "b.tar.gz").path
    with tarfile.open(archive, "r:gz") as tar:
        users = gzip.decompress(tar.extractfile("tables/users.jsonl.gz").read())  # type: ignore[union-attr]
    forged = gzip.compress(users.replace(b'"is_admin":false', b'"is_admin":true'))
    tampered = rebuild(archive, tmp_path / "tampered.tar.gz", replace={"tables/users.jsonl.gz": forged})
    make_user(_uow(target), "keep-me")
    before = snapshot(target)

    with pytest.raises(BackupError, match=r"'tables/users.jsonl.gz' does not match its sha256"):
        restore_backup(target, tampered, replace=True)
    assert snapshot(target) == before


def test_a_backup_of_another_schema_revision_is_refused_with_what_to_do(engine, make_uow, target, tmp_path, monkeypatch):
    populate(make_uow, monkeypatch)
    archive = write_backup(engine, tmp_path / "b.tar.gz").path
    older = rebuild(archive, tmp_path / "older.tar.gz", edit_manifest=lambda m: m.update(alembic_revision="0003"))
    newer = rebuild(archive, tmp_path / "newer.tar.gz", edit_manifest=lambda m: m.update(alembic_revision="0099"))

    with pytest.raises(BackupError, match=rf"revision '0003', but this code's schema is at revision '{code_head()}'.*0003"):
        restore_backup(target, older)
    with pytest.raises(BackupError, match=r"'0099'.*newer than this code"):
        restore_backup(target, newer)
    assert all(not rows for rows in snapshot(target).values())


def test_files_that_are_not_quorum_backups_are_refused(target, tmp_path):
    text_file = tmp_path / "notes.tar.gz"
    text_file.write_text("hello")
    with pytest.raises(BackupError, match="not a Quorum backup: not a readable .tar.gz"):
        restore_backup(target, text_file)
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        tar.addfile(_file("readme.txt", b"hi")[0], io.BytesIO(b"hi"))
    with pytest.raises(BackupError, match="not a Quorum backup: it has no manifest.json"):
        restore_backup(target, plain)


@pytest.mark.parametrize(
    "member",
    [
        _file("uploads/../../escaped.txt", b"pwned"),
        _file("/tmp/absolute-quorum-test.txt", b"pwned"),
        _file("tables/../../escaped.txt", b"pwned"),
    ],
    ids=["dot-dot", "absolute", "dot-dot-in-tables"],
)
def test_members_with_unsafe_paths_are_refused(engine, make_uow, target, tmp_path, monkeypatch, member):
    populate(make_uow, monkeypatch)
    archive = write_backup(engine, tmp_path / "b.tar.gz").path
    evil = rebuild(archive, tmp_path / "evil.tar.gz", extra=[member])
    uploads_dir = tmp_path / "data" / "media" / "uploads"

    with pytest.raises(BackupError, match=rf"member '{member[0].name}' has an absolute or parent-relative path"):
        restore_backup(target, evil, uploads_dir=uploads_dir)
    assert not (tmp_path / "data" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/absolute-quorum-test.txt").exists()
    assert all(not rows for rows in snapshot(target).values())


def test_links_devices_and_unlisted_members_are_refused(engine, target, tmp_path):
    archive = write_backup(engine, tmp_path / "b.tar.gz").path
    link = tarfile.TarInfo("uploads/7/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    device = tarfile.TarInfo("uploads/7/null")
    device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
    cases = [
        ([(link, b"")], "'uploads/7/passwd' is a symbolic link", True),
        ([(device, b"")], "'uploads/7/null' is a character device", True),
        ([_file("uploads/7/sneaked-in.txt", b"x")], "'uploads/7/sneaked-in.txt' is not listed in manifest.json", False),
        ([_file("elsewhere.txt", b"x")], "'elsewhere.txt' is not listed in manifest.json", True),
    ]
    for i, (extra, message, listed) in enumerate(cases):
        bad = rebuild(archive, tmp_path / f"bad{i}.tar.gz", extra=extra, list_extra=listed)
        with pytest.raises(BackupError, match=message.replace(".", r"\.")):
            restore_backup(target, bad, uploads_dir=tmp_path / "uploads")
    missing = rebuild(archive, tmp_path / "missing.tar.gz", edit_manifest=lambda m: m["members"].update({"uploads/x": "0" * 64}))
    with pytest.raises(BackupError, match="'uploads/x' listed in manifest.json is missing"):
        restore_backup(target, missing)
    assert not (tmp_path / "uploads" / "7").exists()


def test_backup_refuses_to_overwrite_a_file(engine, tmp_path):
    existing = tmp_path / "b.tar.gz"
    existing.write_text("precious")
    with pytest.raises(BackupError, match="exists already"):
        write_backup(engine, existing)
    assert existing.read_text() == "precious"


# ---- before a migration -------------------------------------------------------------------------------------------


def test_backup_before_migration_only_when_behind_head_and_not_empty(engine, make_uow, tmp_path):
    data_dir = tmp_path / "data"
    head = code_head()
    assert backup_before_migration(engine, data_dir) is None  # at head, empty
    make_user(make_uow, "anna")
    assert backup_before_migration(engine, data_dir) is None  # at head, with data
    assert not (data_dir / "backups").exists()
    cfg = alembic_config(engine)
    try:
        command.downgrade(cfg, "0004")  # a fixed revision: the test holds whichever migration is the newest
        with engine.connect() as conn:
            previous = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        assert previous != head

        path = backup_before_migration(engine, data_dir)

        assert path is not None and path.parent == data_dir / "backups"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        manifest = manifest_of(path)
        assert manifest["alembic_revision"] == previous and manifest["uploads"] is None
        assert head in manifest["note"] and previous in manifest["note"]
        tables = {t["name"]: t for t in manifest["tables"]}
        assert tables["users"]["rows"] == 1
        # The old schema's tables, read from the database (0005 adds tasks.review_reason).
        assert "review_reason" not in tables["tasks"]["columns"]
        with engine.begin() as conn:  # behind head but empty: nothing to keep
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in tables:
                    conn.execute(sa.text(f'DELETE FROM "{table.name}"'))
        assert backup_before_migration(engine, data_dir) is None
    finally:
        command.upgrade(cfg, "head")  # not storage.db.upgrade_to_head: that may back up into the real data folder


def test_backup_before_migration_with_a_given_head_and_restoring_it_needs_that_revision(engine, make_uow, target, tmp_path):
    make_user(make_uow, "anna")
    path = backup_before_migration(engine, tmp_path / "data", head="0099")  # as if the code were at 0099
    assert path is not None and manifest_of(path)["alembic_revision"] == code_head()
    with pytest.raises(BackupError, match="this code's schema is at revision '0099'"):
        restore_backup(target, path, head="0099")
    restore_backup(target, path)
    assert snapshot(target) == snapshot(engine)
