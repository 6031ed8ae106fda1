"""Where Quorum keeps its things, read from the environment once per process.

``QUORUM_DATABASE_URL``  SQLAlchemy URL; default: a SQLite file in the data folder (zero set-up).
``QUORUM_DATA_DIR``      data folder for the SQLite file, uploads and exports; default ``./data``.
``QUORUM_MEDIA_ROOTS``   extra folders (``os.pathsep``-separated) whose files tasks may reference through
                         Label Studio's ``/data/local-files/?d=...`` URLs. The data folder's ``media`` and
                         the repo's ``assets`` are always allowed; nothing else is (no path a user types is
                         opened unless it lies under one of these).
``QUORUM_NO_DEMO``       set to 1 to start with an empty database instead of the seeded demo.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    media_roots: tuple[Path, ...]
    seed_demo: bool

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
    )
