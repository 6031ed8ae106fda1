"""Where Quorum keeps its things, read from the environment once per process.

``QUORUM_DATABASE_URL``  SQLAlchemy URL; default: a SQLite file in the data folder (zero set-up).
``QUORUM_DATA_DIR``      data folder for the SQLite file, uploads and exports; default ``./data``.
``QUORUM_MEDIA_ROOTS``   extra folders (``os.pathsep``-separated) whose files tasks may reference through
                         Label Studio's ``/data/local-files/?d=...`` URLs. The data folder's ``media`` and
                         the repo's ``assets`` are always allowed; nothing else is (no path a user types is
                         opened unless it lies under one of these).
``QUORUM_NO_DEMO``       set to 1 to start with an empty database instead of the seeded demo.
``QUORUM_S3_ALLOWED_BUCKETS``  comma-separated ``bucket`` or ``bucket/prefix`` entries: the only places an S3
                         connection without entered keys may reach with the server's own AWS credentials
                         (environment, profile, instance role). Empty (the default): none, every connection
                         needs its own keys. Without this list any manager could name another team's bucket
                         and read or overwrite it with the server's rights.
``QUORUM_S3_SERVER_ENDPOINT``  the S3 endpoint URL the server's own credentials belong to (its MinIO, say:
                         ``https://minio.internal:9000``); they are sent nowhere else. Empty (the default):
                         AWS, so a connection without entered keys must leave its endpoint URL empty. Compared
                         after normalising (scheme and host lower-case, default port and trailing slash
                         dropped); the host is compared as written, not as it resolves.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
S3_ALLOWED_BUCKETS_ENV = "QUORUM_S3_ALLOWED_BUCKETS"
S3_SERVER_ENDPOINT_ENV = "QUORUM_S3_SERVER_ENDPOINT"
_BUCKET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")


@dataclass(frozen=True)
class S3Grant:
    """One entry of ``QUORUM_S3_ALLOWED_BUCKETS``: a bucket, and within it a folder ("" = the whole bucket).

    ``prefix`` is kept as a folder ending in "/" (``team-a/``), so the grant ``bucket/team-a`` does not also
    cover the keys of ``team-ab/``.
    """

    bucket: str
    prefix: str = ""

    def covers(self, bucket: str, key: str) -> bool:
        """True when ``key`` (an object key, or a folder-like prefix) lies in this grant's bucket and folder."""
        return bucket == self.bucket and key.startswith(self.prefix)

    def __str__(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket


def parse_s3_grants(text: str) -> tuple[S3Grant, ...]:
    """The grants of ``QUORUM_S3_ALLOWED_BUCKETS``; ValueError naming the variable and the bad entry.

    A prefix may not hold "." or ".." segments, backslashes or control characters: an S3-compatible store or
    a browser that normalises paths would otherwise read "team-a/../team-b" as "team-b".
    """
    grants = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        bucket, _, prefix = entry.partition("/")
        if not _BUCKET_NAME.match(bucket):
            raise ValueError(
                f"{S3_ALLOWED_BUCKETS_ENV}: entry {entry!r} does not start with a bucket name "
                "(3 to 255 letters, digits, '.', '-' or '_'); write 'bucket' or 'bucket/prefix'"
            )
        prefix = prefix.strip("/")
        if prefix and not plain_key_path(prefix):
            raise ValueError(
                f"{S3_ALLOWED_BUCKETS_ENV}: the prefix of entry {entry!r} may not contain '.' or '..' segments, "
                "backslashes or control characters"
            )
        grants.append(S3Grant(bucket, f"{prefix}/" if prefix else ""))
    return tuple(grants)


def normalise_endpoint(url: str) -> str:
    """An S3 endpoint URL in one spelling, for comparing: ``HTTPS://MinIO.internal:443/`` is
    ``https://minio.internal``; "" stays "" (AWS). ValueError when it is not a plain http(s) URL (a user
    name, a query or a fragment has no place in an endpoint).

    The host is compared as written: ``minio.internal`` and ``minio.internal.`` (or its address) are not the
    same endpoint, since a resolver's search list can send them to different machines.
    """
    text = (url or "").strip()
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"endpoint URL {text!r} is malformed: {exc}") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError(f"endpoint URL {text!r} must be http:// or https:// and name a host")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError(f"endpoint URL {text!r} may not carry a user name, a password, a query or a fragment")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != (443 if scheme == "https" else 80):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


def parse_s3_server_endpoint(text: str) -> str:
    """``QUORUM_S3_SERVER_ENDPOINT`` normalised ("" = AWS); ValueError naming the variable."""
    try:
        return normalise_endpoint(text)
    except ValueError as exc:
        raise ValueError(f"{S3_SERVER_ENDPOINT_ENV}: {exc}") from exc


def plain_key_path(key: str) -> bool:
    """True for an S3 key or prefix that means the same thing to every store and browser: no "." or ".."
    segment (a path normaliser would climb out of the folder), no backslash (a separator to some stores), no
    control character."""
    return (
        "\\" not in key and not any(ord(c) < 32 or ord(c) == 127 for c in key)
        and all(segment not in (".", "..") for segment in key.split("/"))
    )


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    media_roots: tuple[Path, ...]
    seed_demo: bool
    s3_allowed_buckets: tuple[S3Grant, ...] = ()
    s3_server_endpoint: str = ""  # normalised; "" = AWS

    @property
    def uploads_dir(self) -> Path:
        """Uploaded media (``/data/upload/...`` URLs)."""
        return self.data_dir / "media" / "uploads"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("QUORUM_DATA_DIR", REPO_ROOT / "data")).resolve()
    url = os.environ.get("QUORUM_DATABASE_URL") or f"sqlite:///{data_dir / 'quorum.db'}"
    extra = [Path(p).resolve() for p in os.environ.get("QUORUM_MEDIA_ROOTS", "").split(os.pathsep) if p]
    roots = (data_dir / "media", REPO_ROOT / "assets", *extra)
    return Settings(
        database_url=url,
        data_dir=data_dir,
        media_roots=roots,
        seed_demo=os.environ.get("QUORUM_NO_DEMO", "") not in ("1", "true", "yes"),
        s3_allowed_buckets=parse_s3_grants(os.environ.get(S3_ALLOWED_BUCKETS_ENV, "")),
        s3_server_endpoint=parse_s3_server_endpoint(os.environ.get(S3_SERVER_ENDPOINT_ENV, "")),
    )
