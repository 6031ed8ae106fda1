"""Sealing secrets a manager types (S3 keys) before they reach the database, and opening them for use.

Why: a database dump, a backup or a read-only SQL console must not hand out a project's cloud credentials.
Secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key that is
*not* in the database:

* ``QUORUM_SECRET_KEY`` when set (any string; a Fernet key is derived from it with SHA-256), so several
  replicas share one key;
* otherwise ``<data dir>/secret.key``, created on first use with mode 0600.

A sealed value is only ever opened to build a client; it is never shown back, logged, or put in a message.
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.errors import QuorumError
from core.settings import load_settings

KEY_ENV = "QUORUM_SECRET_KEY"
KEY_FILE = "secret.key"


class SecretBoxError(QuorumError):
    """A sealed secret cannot be opened (the key changed or the value was altered)."""


def _key_from_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:  # O_EXCL: two processes starting together keep one key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _fernet() -> Fernet:
    configured = os.environ.get(KEY_ENV, "")
    if configured:
        key = base64.urlsafe_b64encode(hashlib.sha256(configured.encode()).digest())
    else:
        key = _key_from_file(load_settings().data_dir / KEY_FILE)
    return Fernet(key)


def seal(secret: str) -> str:
    """The secret encrypted, as text to store."""
    return _fernet().encrypt(secret.encode()).decode("ascii")


def unseal(token: str) -> str:
    """The secret back; SecretBoxError (saying nothing about the value) when it cannot be opened."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretBoxError(
            f"saved credentials cannot be decrypted (was {KEY_ENV} or the data folder's {KEY_FILE} changed?); "
            "enter them again"
        ) from exc
