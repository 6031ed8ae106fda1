"""`backup` and `restore`: the whole database and the uploads folder as one archive, and back."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from commands._common import emit
from core.errors import QuorumError

MOVE_EXAMPLE = (
    "Moving from SQLite to PostgreSQL (or back): the archive is dialect-neutral, so back up with the old\n"
    "settings and restore with the new ones:\n"
    "  python cli.py backup --to quorum.tar.gz\n"
    "  QUORUM_DATABASE_URL=postgresql+psycopg://user@host/quorum python cli.py restore quorum.tar.gz"
)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _backup(args: argparse.Namespace) -> int:
    from core.settings import load_settings
    from storage.backup import default_backup_dir, write_backup
    from storage.db import get_engine, make_private_dir

    settings = load_settings()
    engine = get_engine(settings.database_url)
    if args.to:
        dest = Path(args.to)
    else:
        dest = default_backup_dir(settings.data_dir)
        make_private_dir(dest)
    summary = write_backup(engine, dest, uploads_dir=None if args.no_uploads else settings.uploads_dir)
    n_rows = sum(n for name, n in summary.rows.items() if name != "alembic_version")
    emit(
        args,
        {**summary.__dict__, "path": str(summary.path)},
        f"backed up {len(summary.rows)} tables ({n_rows} rows, schema revision {summary.revision}) and "
        f"{summary.n_files} uploaded files to {summary.path} ({_size(summary.n_bytes)}) in {summary.seconds:.2f} s",
    )
    return 0


def _confirm(url: str, args: argparse.Namespace) -> None:
    if args.yes:
        return
    question = f"--replace deletes every row of {url} before restoring {args.archive}. Type 'yes' to go on: "
    if not sys.stdin.isatty():
        raise QuorumError(f"--replace deletes every row of {url}; add --yes to confirm it without a prompt")
    if input(question).strip().lower() != "yes":
        raise QuorumError("restore cancelled; nothing was changed")


def _restore(args: argparse.Namespace) -> int:
    from core.settings import load_settings
    from storage.backup import restore_backup
    from storage.db import get_engine

    settings = load_settings()
    archive = Path(args.archive)
    if not archive.is_file():
        raise QuorumError(f"{archive}: no such file")
    engine = get_engine(settings.database_url)  # migrated to head: a backup restores at the code's revision
    url = engine.url.render_as_string(hide_password=True)
    if args.replace:
        _confirm(url, args)
    summary = restore_backup(
        engine, archive, uploads_dir=None if args.no_uploads else settings.uploads_dir, replace=args.replace
    )
    n_rows = sum(summary.rows.values())
    emit(
        args,
        summary.__dict__,
        f"restored {n_rows} rows in {len(summary.rows)} tables (from {summary.source_dialect}, schema revision "
        f"{summary.revision}) and {summary.n_files} uploaded files into {url}"
        f"{' (replacing its rows)' if summary.replaced else ''} in {summary.seconds:.2f} s",
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    backup = sub.add_parser(
        "backup",
        help="write the whole database and the uploads folder to one archive",
        description="Write a consistent snapshot of the whole database (every table, read in one transaction) and "
        "the uploads folder to one .tar.gz archive (owner-only, 0600), with a manifest of the schema revision, "
        "row counts and checksums. Default: <data dir>/backups/quorum-<UTC timestamp>.tar.gz.\n\n"
        + MOVE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backup.add_argument("--to", metavar="PATH", help="archive file to create, or an existing folder to write it in")
    backup.add_argument("--no-uploads", action="store_true", help="leave the uploads folder out")
    backup.add_argument("--json", action="store_true")
    backup.set_defaults(handler=_backup)

    restore = sub.add_parser(
        "restore",
        help="restore a backup archive into the configured database (SQLite or PostgreSQL)",
        description="Restore an archive written by `backup` into the configured database (QUORUM_DATABASE_URL, "
        "else the data folder's SQLite file) and its uploads folder, all rows in one transaction: a failure "
        "leaves the database as it was. Refused when the database is not empty (unless --replace), when the "
        "archive's schema revision is not this code's, or when a checksum does not match. Uploaded files are "
        "added to the uploads folder.\n\n"
        + MOVE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    restore.add_argument("archive", metavar="PATH", help="the backup archive (.tar.gz)")
    restore.add_argument("--replace", action="store_true", help="empty a non-empty database first (same transaction)")
    restore.add_argument("--yes", action="store_true", help="do not ask before --replace empties the database")
    restore.add_argument("--no-uploads", action="store_true", help="restore the database only")
    restore.add_argument("--json", action="store_true")
    restore.set_defaults(handler=_restore)
