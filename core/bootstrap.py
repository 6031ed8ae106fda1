"""The one place that wires real dependencies: settings -> engine (migrated) -> unit-of-work factory."""
from __future__ import annotations

from functools import partial

from core.settings import Settings, load_settings
from core.uow import UnitOfWork, UowFactory
from storage.blobs import BlobStore as BlobStore  # re-exported: what the pages hand on to core.imports
from storage.blobs import LocalBlobStore
from storage.db import get_engine, session_factory


def make_uow_factory(settings: Settings | None = None) -> UowFactory:
    """A factory of units of work on the configured database, with the schema brought to head."""
    settings = settings or load_settings()
    engine = get_engine(settings.database_url)
    return partial(UnitOfWork, session_factory(engine))


def make_blob_store(settings: Settings | None = None) -> LocalBlobStore:
    """Where uploaded media go: the data folder's uploads (S3 targets come with storage connections)."""
    return LocalBlobStore((settings or load_settings()).uploads_dir)
