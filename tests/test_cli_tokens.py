"""``cli.py tokens``: a script gets a token without a browser (the last line of ``tokens create``), lists and
revokes it; core.api_tokens accepts the printed token as its user and refuses it once revoked."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.api_tokens import authenticate
from core.bootstrap import make_uow_factory
from core.errors import AuthenticationError
from core.settings import load_settings
from storage.db import dispose_engines

ROOT = Path(__file__).resolve().parents[1]


def cli(data_dir: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir)}
    env.pop("QUORUM_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == expect, proc.stderr
    return proc


def authenticate_in(data_dir: Path, token: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("QUORUM_DATA_DIR", str(data_dir))
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)
    try:
        with make_uow_factory(load_settings())() as uow:
            username = authenticate(uow, token).username
            uow.commit()  # the last-used time, as the API's request would
            return username
    finally:
        dispose_engines()


def test_tokens_create_prints_the_token_last_and_it_authenticates_until_revoked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli(tmp_path, "users", "create", "ci-bot", "--password", "a-long-password")
    out = cli(tmp_path, "tokens", "create", "ci-bot", "--name", "CI").stdout
    lines = out.strip().splitlines()
    token = lines[-1]
    assert "shown once" in lines[-2] and " " not in token and len(token) >= 43
    assert authenticate_in(tmp_path, token, monkeypatch) == "ci-bot"

    listed = json.loads(cli(tmp_path, "tokens", "list", "ci-bot", "--json").stdout)
    assert [(t["name"], t["prefix"], t["last_used_at"] is not None, t["revoked_at"]) for t in listed] == [
        ("CI", token[:8], True, None)]
    assert token not in cli(tmp_path, "tokens", "list", "ci-bot").stdout

    cli(tmp_path, "users", "create", "eve", "--password", "a-long-password")
    refused = cli(tmp_path, "tokens", "revoke", str(listed[0]["id"]), "--as", "eve", expect=2)
    assert "eve may not revoke" in refused.stderr
    cli(tmp_path, "tokens", "revoke", str(listed[0]["id"]), "--as", "ci-bot")
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate_in(tmp_path, token, monkeypatch)
    assert "REVOKED" in cli(tmp_path, "tokens", "list", "ci-bot").stdout
