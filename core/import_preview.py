"""What an upload would import, before anything is written: the import wizard's preview step.

The preview reads the whole file through the importer's own reader and checks (``core.imports``), so the rows
it lists as rejected are exactly those the import would refuse, with the same reasons. It writes nothing.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any

from core.config import parse_config
from core.errors import ImportFormatError
from core.formats.readers import iter_task_records
from core.import_mapping import MAPPABLE_EXTENSIONS, check_mapping, columns_of, suggest_mapping
from core.imports import (
    RejectedRow,
    Rejects,
    check_upload_size,
    too_deep_message,
    default_data_key,
    file_sha256,
    is_media_file,
    read_checked_tasks,
    reading_name,
)
from core.permissions import Action, require
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.repositories import imports as imports_repo

PREVIEW_ROWS = 5
COLUMN_SCAN_ROWS = 200
"""Rows read to list a JSON file's data keys (tasks may differ in keys; the first ones are representative)."""


@dataclass(frozen=True)
class FilePreview:
    """One uploaded file as the import would see it.

    ``error`` is set when the file cannot be imported at all (unreadable, wrong type, already imported); then
    the counts are zero. ``columns`` are the fields a mapping can choose from (empty for TXT and media files),
    ``suggested`` the mapping by name, ``first_rows`` the first tasks' data as parsed (before mapping).
    """

    filename: str
    is_media: bool
    columns: tuple[str, ...]
    suggested: dict[str, str | None]
    first_rows: tuple[dict[str, Any], ...]
    n_valid: int
    n_rejected: int
    rejected: tuple[RejectedRow, ...]
    error: str | None = None

    @property
    def is_mappable(self) -> bool:
        return bool(self.columns) and os.path.splitext(self.filename)[1].lower() in MAPPABLE_EXTENSIONS


def project_variables(uow: UnitOfWork, actor: UserInfo, *, project_id: int) -> tuple[str, ...]:
    """The ``$variables`` a project's labeling config reads: what a mapping fills."""
    project = require(uow, actor, project_id, Action.IMPORT)
    return parse_config(project.config_xml).variables


def preview_upload(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    project_id: int,
    stream: IO[bytes],
    filename: str,
    mapping: Mapping[str, str | None] | None = None,
    n_rows: int = PREVIEW_ROWS,
) -> FilePreview:
    """Read the whole upload as :func:`core.imports.import_tasks_file` would, with ``mapping``, and count the
    tasks it would import and the rows it would refuse (the first ``MAX_LISTED_REJECTS`` listed with reasons).

    The stream is rewound afterwards. Nothing is written; the caller's unit of work is only read. A file above
    :data:`core.imports.MAX_UPLOAD_MB` is refused (``error``) before it is read.
    """
    project = require(uow, actor, project_id, Action.IMPORT)
    cfg = parse_config(project.config_xml)
    filename = os.path.basename(filename) or "upload"
    media = is_media_file(filename)
    try:
        check_upload_size(stream, filename)
    except ImportFormatError as exc:
        return _refused(filename, media, str(exc))
    sha = file_sha256(stream)
    previous = imports_repo.batch_by_hash(uow.session, project_id, sha)
    if previous is not None:
        return _refused(filename, media, f"{filename} was already imported into {project.title!r} "
                                         f"(as {previous.filename}, {previous.n_tasks} tasks)")
    data_key = default_data_key(cfg)
    try:
        first = list(islice(iter_task_records(stream, filename=reading_name(stream, filename), data_key=data_key,
                                              on_row_error=lambda _error: None), COLUMN_SCAN_ROWS))
        stream.seek(0)
        columns = [] if media else columns_of(first)
        problems = check_mapping(mapping or {}, columns)
        if problems:
            raise ImportFormatError(f"{filename}: " + "; ".join(problems))
        rejects = Rejects()
        n_valid = sum(1 for _ in read_checked_tasks(stream, cfg=cfg, filename=filename, rejects=rejects,
                                                    data_key=data_key, mapping=mapping))
    except ImportFormatError as exc:
        return _refused(filename, media, str(exc))
    except RecursionError:
        return _refused(filename, media, too_deep_message(filename))
    finally:
        stream.seek(0)
    if not n_valid and not rejects.count:
        return _refused(filename, media, f"no tasks in {filename}")
    return FilePreview(
        filename=filename,
        is_media=media,
        columns=tuple(columns),
        suggested=suggest_mapping(cfg.variables, columns) if columns else {},
        first_rows=tuple(record.data for record in first[:n_rows]),
        n_valid=n_valid,
        n_rejected=rejects.count,
        rejected=tuple(rejects.rows),
    )


def _refused(filename: str, media: bool, error: str) -> FilePreview:
    return FilePreview(filename, media, (), {}, (), 0, 0, (), error=error)
