"""scripts/start.sh: listens on this machine only unless HOST says otherwise, says where, keeps data private.

The script runs in a copy of the repo's layout whose venv, set-up and streamlit are stand-ins that record
their arguments (nothing is installed or served).
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STUB = "#!/usr/bin/env bash\necho \"$(basename \"$0\") $*\" >> \"$CALLS\"\n"


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "start.sh", tmp_path / "scripts" / "start.sh")
    (tmp_path / "scripts" / "setup_venv.sh").write_text("#!/usr/bin/env bash\ntrue\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "streamlit"):
        (bin_dir / name).write_text(STUB + ("umask >> \"$CALLS\"\n" if name == "streamlit" else ""))
        (bin_dir / name).chmod(stat.S_IRWXU)
    return tmp_path


def run(folder: Path, **env: str) -> tuple[str, str]:
    calls = folder / "calls.txt"
    base = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "QUORUM_DEV")}
    done = subprocess.run(["bash", str(folder / "scripts" / "start.sh")], env={**base, **env, "CALLS": str(calls)},
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout, calls.read_text()


def test_it_listens_on_loopback_by_default_and_says_so(fake_repo: Path) -> None:
    out, calls = run(fake_repo)
    assert "listens on http://127.0.0.1:8501" in out
    assert "--server.address 127.0.0.1 --server.port 8501" in calls
    assert "showErrorDetails" not in calls
    assert calls.strip().splitlines()[-1] == "0077"  # files it creates: owner only


def test_host_opens_it_to_the_network_and_quorum_dev_shows_error_details(fake_repo: Path) -> None:
    out, calls = run(fake_repo, HOST="0.0.0.0", PORT="9000", QUORUM_DEV="1")
    assert "listens on 0.0.0.0:9000" in out and "network" in out
    assert "--server.address 0.0.0.0 --server.port 9000 --client.showErrorDetails full" in calls


def test_error_details_are_off_in_the_served_config() -> None:
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_the_sqlite_file_and_its_data_folder_are_created_for_the_owner_only(tmp_path: Path) -> None:
    from sqlalchemy import text

    from storage.db import make_engine

    folder = tmp_path / "fresh" / "data"
    engine = make_engine(f"sqlite:///{folder / 'quorum.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    try:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for path in folder.iterdir():  # the database and its -wal / -shm files
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        engine.dispose()


def test_the_secret_key_folder_is_created_for_the_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.secret_box import seal, unseal

    monkeypatch.delenv("QUORUM_SECRET_KEY", raising=False)
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path / "data"))
    assert unseal(seal("s3cret")) == "s3cret"
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "secret.key").stat().st_mode) == 0o600
