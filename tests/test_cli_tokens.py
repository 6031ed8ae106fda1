"""``cli.py tokens``: a script gets a token without a browser (the last line of ``tokens create``), lists and
revokes it; core.api_tokens accepts the printed token as its user and refuses it once revoked."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import cli as cli_main
from core.api_tokens import authenticate
from core.bootstrap import make_uow_factory
from core.errors import AuthenticationError
from core.settings import load_settings
from storage.db import dispose_engines

class Ran:
    """What one in-process ``cli.py`` run printed."""

    def __init__(self, stdout: str, stderr: str) -> None:
        self.stdout, self.stderr = stdout, stderr


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., Ran]]:
    """``cli.py ARGS`` run in this process on a fresh data folder (a subprocess per call cost 2 s of start-up)."""
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUORUM_NO_DEMO", "1")
    monkeypatch.delenv("QUORUM_DATABASE_URL", raising=False)

    def run(*args: str, expect: int = 0) -> Ran:
        capsys.readouterr()
        code = cli_main.main(list(args))
        out, err = capsys.readouterr()
        assert code == expect, err
        return Ran(out, err)

    try:
        yield run
    finally:
        dispose_engines()


def authenticate_in(token: str) -> str:
    with make_uow_factory(load_settings())() as uow:
        username = authenticate(uow, token).username
        uow.commit()  # the last-used time, as the API's request would
        return username


def test_tokens_create_prints_the_token_last_and_it_authenticates_until_revoked(cli: Callable[..., Ran]) -> None:
    cli("users", "create", "ci-bot", "--password", "a-long-password")
    out = cli("tokens", "create", "ci-bot", "--name", "CI").stdout
    lines = out.strip().splitlines()
    token = lines[-1]
    assert "shown once" in lines[-2] and " " not in token and len(token) >= 43
    assert authenticate_in(token) == "ci-bot"

    listed = json.loads(cli("tokens", "list", "ci-bot", "--json").stdout)
    assert [(t["name"], t["prefix"], t["last_used_at"] is not None, t["revoked_at"]) for t in listed] == [
        ("CI", token[:8], True, None)]
    assert token not in cli("tokens", "list", "ci-bot").stdout

    cli("users", "create", "eve", "--password", "a-long-password")
    refused = cli("tokens", "revoke", str(listed[0]["id"]), "--as", "eve", expect=2)
    assert "eve may not revoke" in refused.stderr
    cli("tokens", "revoke", str(listed[0]["id"]), "--as", "ci-bot")
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate_in(token)
    assert "REVOKED" in cli("tokens", "list", "ci-bot").stdout
