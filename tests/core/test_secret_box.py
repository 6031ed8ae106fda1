"""Sealed secrets: encrypted at rest under a key outside the database, opened only with that key."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.secret_box import KEY_ENV, KEY_FILE, SecretBoxError, seal, unseal


def test_a_key_file_is_made_once_with_owner_only_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("QUORUM_DATA_DIR", str(tmp_path))
    sealed = seal("s3-secret-value")
    assert "s3-secret-value" not in sealed and unseal(sealed) == "s3-secret-value"
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert unseal(seal("again")) == "again" and key_file.read_bytes() == key


def test_another_key_cannot_open_it_and_the_message_does_not_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "first key")
    sealed = seal("s3-secret-value")
    monkeypatch.setenv(KEY_ENV, "second key")
    with pytest.raises(SecretBoxError, match="cannot be decrypted") as raised:
        unseal(sealed)
    assert "s3-secret-value" not in str(raised.value) and sealed not in str(raised.value)
