"""`python cli.py backup` and `restore`: default place and rights, refusals as exit code 2."""
from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli
from storage.db import dispose_engines


@pytest.fixture
def data_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    yield tmp_path / "old", tmp_path / "new"
    dispose_engines()


def _use(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("QUORUM_DATA_DIR", str(data_dir))


def test_backup_and_restore_from_the_command_line(data_dirs, monkeypatch, capsys):
    old, new = data_dirs
    _use(monkeypatch, old)
    assert cli.main(["users", "create", "alice", "--password", "password-123", "--email", "a@example.com"]) == 0
    (old / "media" / "uploads" / "3").mkdir(parents=True)
    (old / "media" / "uploads" / "3" / "abc-photo.png").write_bytes(b"\x89PNG...")

    assert cli.main(["backup"]) == 0
    (archive,) = (old / "backups").glob("quorum-*.tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE((old / "backups").stat().st_mode) == 0o700
    assert f"and 1 uploaded files to {archive}" in capsys.readouterr().out

    _use(monkeypatch, new)
    assert cli.main(["restore", str(archive)]) == 0
    assert "restored 1 rows" in capsys.readouterr().out  # the user; alembic_version is not counted
    assert (new / "media" / "uploads" / "3" / "abc-photo.png").read_bytes() == b"\x89PNG..."
    assert cli.main(["users", "list"]) == 0
    assert "alice" in capsys.readouterr().out

    assert cli.main(["restore", str(archive)]) == 2
    assert "is not empty (rows in users)" in capsys.readouterr().err
    assert cli.main(["restore", str(archive), "--replace"]) == 2  # no terminal to ask: needs --yes
    assert "add --yes" in capsys.readouterr().err
    assert cli.main(["restore", str(archive), "--replace", "--yes"]) == 0
    assert "(replacing its rows)" in capsys.readouterr().out

    assert cli.main(["restore", str(new / "nope.tar.gz")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["backup", "--to", str(archive)]) == 2
    assert "exists already" in capsys.readouterr().err


def test_backup_to_a_chosen_file_and_the_help_explains_moving_to_postgresql(data_dirs, monkeypatch, capsys, tmp_path):
    old, _ = data_dirs
    _use(monkeypatch, old)
    target = tmp_path / "elsewhere" / "q.tar.gz"
    assert cli.main(["backup", "--to", str(target), "--no-uploads"]) == 0
    assert target.is_file() and stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(SystemExit):
        cli.main(["backup", "--help"])
    assert "SQLite to PostgreSQL" in capsys.readouterr().out
