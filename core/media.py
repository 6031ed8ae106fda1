"""Where a task's media URL points, decided against an allow-list before anything is opened.

Task data holds Label Studio style URLs. Quorum opens only:
* ``/data/local-files/?d=REL`` and ``/data/upload/REL``: files under one of the configured media roots
  (``core.settings``), after resolving ``..`` and links, so ``d=../../etc/passwd`` goes nowhere;
* ``http(s)://`` URLs whose host is listed in ``QUORUM_MEDIA_HOSTS`` (the browser fetches them; the
  server never does);
* ``data:`` URLs (inline images), passed to the browser as they are;
* ``s3://bucket/key`` URLs, only through the caller's ``s3`` signer (``core.cloud_storage.media_signer``),
  which presigns a key only when it lies in one of the project's S3 source connections.
Anything else resolves to nothing, and the page says the media is unavailable.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from core.settings import Settings

LOCAL_FILES_PREFIX = "/data/local-files/"
UPLOAD_PREFIX = "/data/upload/"


@dataclass(frozen=True)
class MediaRef:
    """A resolved media reference: a local file to stream, or a URL the browser may load."""

    path: Path | None = None
    url: str | None = None

    @property
    def available(self) -> bool:
        return self.path is not None or self.url is not None


def allowed_hosts() -> frozenset[str]:
    return frozenset(h.strip().lower() for h in os.environ.get("QUORUM_MEDIA_HOSTS", "").split(",") if h.strip())


def _under_roots(relative: str, roots: tuple[Path, ...]) -> Path | None:
    relative = unquote(relative).lstrip("/")
    if not relative or "\x00" in relative:
        return None
    for root in roots:
        root = root.resolve()
        candidate = (root / relative).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return candidate
    return None


S3Signer = Callable[[str], "str | None"]
"""Turns an ``s3://`` URL into a presigned https URL, or None when the URL is not the project's."""


def resolve_media(url: object, settings: Settings, *, s3: S3Signer | None = None) -> MediaRef:
    """The file or URL that ``url`` may be shown from; an empty MediaRef when it is not allowed."""
    if not isinstance(url, str) or not url.strip():
        return MediaRef()
    url = url.strip()
    if url.startswith("data:"):
        return MediaRef(url=url)
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        if (parsed.hostname or "").lower() in allowed_hosts():
            return MediaRef(url=url)
        return MediaRef()
    if parsed.scheme == "s3" and s3 is not None:
        signed = s3(url)
        return MediaRef(url=signed) if signed else MediaRef()
    if parsed.scheme or parsed.netloc:
        return MediaRef()  # file://, gs://, an s3:// URL of no source connection ...: refused
    if parsed.path.startswith(LOCAL_FILES_PREFIX):
        relative = parse_qs(parsed.query).get("d", [""])[0]
        return MediaRef(path=_under_roots(relative, settings.media_roots))
    if parsed.path.startswith(UPLOAD_PREFIX):
        return MediaRef(path=_under_roots(parsed.path[len(UPLOAD_PREFIX):], (settings.uploads_dir,)))
    return MediaRef()
