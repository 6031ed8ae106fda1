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


def _unambiguous(url: str) -> bool:
    """Whether a browser reads ``url``'s host as :func:`urlparse` does. Browsers drop tabs and line breaks
    and read ``\\`` as ``/``, so ``http://evil.example\\@ok.example/`` loads from evil.example while
    urlparse names ok.example; user info (``user@``) has no use for media. Such URLs are refused."""
    netloc = urlparse(url).netloc
    return not any(ord(c) < 0x20 or ord(c) == 0x7F for c in url) and "\\" not in netloc and "@" not in netloc


def browser_may_load(url: object) -> bool:
    """Whether the browser may fetch ``url`` itself: a ``data:`` URL, or an ``http(s)`` URL whose host is
    in ``QUORUM_MEDIA_HOSTS``. The one rule for task media, HyperText ``<img>`` and images in instructions:
    anything else (another host, a relative path, ``file:``) would let the page make the browser call
    out, or call our own server, on someone else's behalf."""
    if not isinstance(url, str):
        return False
    url = url.strip()
    if url.startswith("data:"):
        return True
    parsed = urlparse(url)
    return (parsed.scheme in ("http", "https") and _unambiguous(url)
            and (parsed.hostname or "").lower() in allowed_hosts())


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
    parsed = urlparse(url)
    if url.startswith("data:") or parsed.scheme in ("http", "https"):
        return MediaRef(url=url) if browser_may_load(url) else MediaRef()
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
