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
# Every Fernet token starts with its version byte 0x80 and a 64-bit timestamp whose high bytes are zero (until
# 2106): base64 "gAAAAA". A secret stored before sealing was introduced (a 43-character token_urlsafe) never does.
SEALED_PREFIX = "gAAAAA"
MIN_SEALED_LENGTH = 100


class SecretBoxError(QuorumError):
    """A sealed secret cannot be opened (the key changed or the value was altered)."""


def _key_from_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    from storage.db import make_private_dir

    make_private_dir(path.parent)
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


def is_sealed(value: str | None) -> bool:
    """Whether a stored value is a sealed one (rather than a secret stored in clear by an older version)."""
    return isinstance(value, str) and value.startswith(SEALED_PREFIX) and len(value) >= MIN_SEALED_LENGTH


def open_stored(value: str) -> str:
    """A stored secret for use: unsealed, or as it is when it was stored in clear before sealing existed
    (:func:`seal` it on the next write). SecretBoxError when a sealed one cannot be opened."""
    return unseal(value) if is_sealed(value) else value
