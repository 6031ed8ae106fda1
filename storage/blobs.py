"""Blob stores: where uploaded media live. One protocol (put, open, url, delete) for every backend.

The local store keeps files under ``<data dir>/media/uploads/`` and names them by content hash, so the
same file uploaded twice is stored once and a user-chosen file name can never escape the folder.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import IO, Protocol

UPLOAD_URL_PREFIX = "/data/upload/"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class BlobStore(Protocol):
    def put(self, stream: IO[bytes], *, filename: str, folder: str) -> str:
        """Store the stream; return the URL tasks refer to it by."""

    def open(self, url: str) -> IO[bytes]: ...

    def delete(self, url: str) -> None: ...


def safe_filename(name: str) -> str:
    """A file name with only ``[A-Za-z0-9._-]``, no leading dots, at most 120 characters."""
    cleaned = SAFE_NAME.sub("_", Path(name).name).lstrip(".")[:120]
    return cleaned or "file"


class LocalBlobStore:
    """Files under ``root`` (the data folder's ``media``), served back through ``/data/upload/...``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, url: str) -> Path:
        if not url.startswith(UPLOAD_URL_PREFIX):
            raise ValueError(f"not an upload URL: {url!r}")
        path = (self.root / url[len(UPLOAD_URL_PREFIX):]).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"upload URL leaves the upload folder: {url!r}")
        return path

    def put(self, stream: IO[bytes], *, filename: str, folder: str) -> str:
        digest = hashlib.sha256()
        target_dir = self.root / safe_filename(folder)
        target_dir.mkdir(parents=True, exist_ok=True)
        scratch = target_dir / f".incoming-{id(stream)}"
        with scratch.open("wb") as out:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        name = f"{digest.hexdigest()[:12]}-{safe_filename(filename)}"
        final = target_dir / name
        if final.exists():
            scratch.unlink()
        else:
            shutil.move(scratch, final)
        return f"{UPLOAD_URL_PREFIX}{safe_filename(folder)}/{name}"

    def open(self, url: str) -> IO[bytes]:
        return self._path(url).open("rb")

    def delete(self, url: str) -> None:
        self._path(url).unlink(missing_ok=True)
