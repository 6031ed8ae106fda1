"""Backups of the whole database (and the uploads folder) as one archive, and restoring them.

One ``.tar.gz`` file, dialect-neutral: a SQLite backup restores into PostgreSQL and the other way round (that
is also how a team moves from SQLite to PostgreSQL). Its members:

``tables/<table>.jsonl.gz``  one gzip'd JSON object per row, in primary-key order. A SQL NULL cell is left out
                             of its object, so in a JSON column an absent key (SQL NULL) and ``null`` (JSON
                             null) stay apart. Values are encoded by column kind: datetime/date/time as ISO
                             8601, JSON as JSON, bytes as base64, decimals as strings, non-finite floats as
                             ``"nan"``/``"inf"``/``"-inf"``.
``uploads/<path>``           the files of the uploads folder (media users uploaded), when included.
``manifest.json``            written last: format and format version, the Alembic revision of the schema, the
                             source dialect, ``created_at``, the tables in foreign-key order with their columns
                             (name and kind) and row counts, and the sha256 of every other member.

The tables are read inside one transaction (REPEATABLE READ and read-only on PostgreSQL; one read
transaction, a WAL snapshot, on SQLite), streamed from a server-side cursor and written as they come, so a
table of a million rows is never held in memory. The table list is reflected from the database itself, so a
database behind the code's schema (see :func:`backup_before_migration`) is backed up as it is.

A restore checks the archive completely before it touches the database (manifest, revision, member names and
types, every checksum), then empties (``replace``) and fills the target in one transaction, in foreign-key
order and batches, and resets PostgreSQL's sequences; any failure leaves the target as it was.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import hashlib
import io
import json
import math
import os
import stat
import tarfile
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from core.errors import QuorumError
from storage.db import MIGRATIONS_DIR, SQLITE_IMMEDIATE, make_private_dir

FORMAT = "quorum-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TABLES_PREFIX = "tables/"
UPLOADS_PREFIX = "uploads/"
BACKUPS_FOLDER = "backups"
ALEMBIC_TABLE = "alembic_version"
READ_BATCH = 2000  # rows fetched per round trip of the server-side cursor
INSERT_BATCH = 1000  # rows per executemany of the restore
MAX_MANIFEST_BYTES = 64 << 20
_INCOMING_PREFIX = ".incoming-"  # storage.blobs' scratch files of uploads in progress


class BackupError(QuorumError):
    """An archive cannot be restored (not a Quorum backup, damaged, wrong revision) or a target refuses it."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    revision: str | None
    dialect: str
    rows: dict[str, int]
    n_files: int
    n_bytes: int  # size of the archive
    seconds: float


@dataclass(frozen=True)
class RestoreSummary:
    revision: str
    source_dialect: str
    rows: dict[str, int]
    n_files: int
    replaced: bool
    seconds: float


# ---- schema revision -------------------------------------------------------------------------------------------


def code_head() -> str:
    """The Alembic head of this code's migrations."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    try:
        return ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def _revisions(conn: Connection) -> list[str]:
    if ALEMBIC_TABLE not in sa.inspect(conn).get_table_names():
        return []
    return list(conn.execute(sa.text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalars())


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _tables_with_rows(conn: Connection, names: list[str]) -> list[str]:
    return [
        name for name in names
        if name != ALEMBIC_TABLE and conn.execute(sa.text(f"SELECT 1 FROM {_q(conn, name)} LIMIT 1")).first()
    ]


def _reflect(conn: Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    with warnings.catch_warnings():  # expression and partial indexes: irrelevant to rows
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        metadata.reflect(bind=conn)
    return metadata


def _sorted_tables(metadata: sa.MetaData) -> list[sa.Table]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)  # a foreign-key cycle: order by name then
        return list(metadata.sorted_tables)


# ---- value encoding ------------------------------------------------------------------------------------------


def column_kind(type_: sa.types.TypeEngine[Any]) -> str:
    """How a column's values are written: json, datetime, date, time, bytes, bool, float, decimal, int or text."""
    if isinstance(type_, sa.JSON):
        return "json"
    if isinstance(type_, sa.DateTime):
        return "datetime"
    if isinstance(type_, sa.Date):
        return "date"
    if isinstance(type_, sa.Time):
        return "time"
    if isinstance(type_, sa.types._Binary):
        return "bytes"
    if isinstance(type_, sa.Boolean):
        return "bool"
    if isinstance(type_, sa.Float):
        return "float"
    if isinstance(type_, sa.Numeric):
        return "decimal"
    if isinstance(type_, sa.Integer):
        return "int"
    return "text"


def _encode_float(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # "nan", "inf", "-inf": float() reads them back


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": lambda v: v.isoformat(),
    "date": lambda v: v.isoformat(),
    "time": lambda v: v.isoformat(),
    "bytes": lambda v: base64.b64encode(bytes(v)).decode("ascii"),
    "bool": bool,
    "float": lambda v: _encode_float(float(v)),
    "decimal": str,
}

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "bytes": lambda v: base64.b64decode(v.encode("ascii"), validate=True),
    "bool": bool,
    "float": float,
    "decimal": decimal.Decimal,
}


def _json_value(raw: Any) -> tuple[Any, bool]:
    """A JSON cell read as stored text -> (its value, whether only Python's json reads it: NaN, huge ints)."""
    if not isinstance(raw, (str, bytes)):
        return raw, False  # SQLite's NUMERIC affinity stored a bare number as a number
    try:
        return orjson.loads(raw), False
    except orjson.JSONDecodeError:
        return json.loads(raw), True


def _json_text(value: Any, python_json: bool) -> str:
    return json.dumps(value, ensure_ascii=False) if python_json else orjson.dumps(value).decode()


def _dump_line(row: dict[str, Any], python_json: bool) -> bytes:
    if python_json:
        return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    return orjson.dumps(row, default=str, option=orjson.OPT_APPEND_NEWLINE)


# ---- writing -------------------------------------------------------------------------------------------------


def default_backup_dir(data_dir: Path) -> Path:
    return Path(data_dir) / BACKUPS_FOLDER


def _timestamped_path(folder: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path, n = folder / f"quorum-{stamp}.tar.gz", 1
    while path.exists():
        path, n = folder / f"quorum-{stamp}-{n}.tar.gz", n + 1
    return path


def _read_transaction(engine: Engine) -> Connection:
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return engine.connect()  # storage.db's begin hook opens a (deferred) transaction: one WAL snapshot


def _dump_table(conn: Connection, table: sa.Table, out: Path) -> tuple[dict[str, str], int]:
    """Stream ``table``'s rows into a gzip'd JSON-lines file; ({column: kind}, row count)."""
    postgres = conn.dialect.name == "postgresql"
    columns, selected, encoders = [], [], []
    for column in table.columns:
        kind = column_kind(column.type)
        columns.append([str(column.name), kind])
        if kind == "json":  # as stored text, so that SQL NULL (None) and JSON null ("null") stay apart
            raw = sa.cast(column, sa.Text) if postgres else sa.type_coerce(column, sa.Text)
            selected.append(raw.label(column.name))
        else:
            selected.append(column)
        encoders.append(_ENCODERS.get(kind))
    kinds = [kind for _, kind in columns]
    names = [name for name, _ in columns]
    columns_manifest = dict(columns)
    query = sa.select(*selected).order_by(*table.primary_key.columns)
    n = 0
    with gzip.GzipFile(out, "wb", compresslevel=6, mtime=0) as gz:
        result = conn.execute(query, execution_options={"yield_per": READ_BATCH})
        for partition in result.partitions():
            lines = []
            for values in partition:
                row: dict[str, Any] = {}
                python_json = False
                for name, kind, encode, value in zip(names, kinds, encoders, values):
                    if value is None:
                        continue
                    if kind == "json":
                        value, needs = _json_value(value)
                        python_json |= needs
                    elif encode is not None:
                        value = encode(value)
                    elif isinstance(value, (bytes, bytearray, memoryview)):  # an untyped blob
                        value = base64.b64encode(bytes(value)).decode("ascii")
                    row[name] = value
                lines.append(_dump_line(row, python_json))
            gz.write(b"".join(lines))
            n += len(partition)
        result.close()
    return columns_manifest, n


class _HashingReader:
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha = raw, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> str:
    """Add ``path`` as the regular file ``name`` (owner-only mode, no owner names); its sha256."""
    with open(path, "rb") as handle:
        info = tarfile.TarInfo(name)
        st = os.fstat(handle.fileno())
        info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o600
        reader = _HashingReader(handle)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return reader.sha.hexdigest()


def _upload_files(uploads_dir: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path) of every regular file under the uploads folder; links are not followed."""
    for folder, dirs, files in os.walk(uploads_dir):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith(_INCOMING_PREFIX) or not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            yield path.relative_to(uploads_dir).as_posix(), path


def write_backup(
    engine: Engine, dest: Path, *, uploads_dir: Path | None = None, note: str | None = None
) -> BackupSummary:
    """Write a backup archive of the whole database (and ``uploads_dir``'s files) to ``dest``.

    ``dest`` is a file to create (never overwritten), or an existing folder that gets
    ``quorum-<UTC timestamp>.tar.gz``. The archive is created owner-only (0600); a folder made for it is 0700.
    It appears under its name only when complete.
    """
    started = time.perf_counter()
    dest = Path(dest)
    if dest.is_dir():
        final = _timestamped_path(dest)
    else:
        if dest.exists():
            raise BackupError(f"{dest} exists already; choose another file name (backups are never overwritten)")
        make_private_dir(dest.parent)
        final = dest
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=".quorum-backup-") as scratch:
        staged: list[tuple[str, Path]] = []
        tables_manifest: list[dict[str, Any]] = []
        with _read_transaction(engine) as conn, conn.begin():
            metadata = _reflect(conn)
            revisions = _revisions(conn)
            for i, table in enumerate(_sorted_tables(metadata)):
                member = f"{TABLES_PREFIX}{table.name}.jsonl.gz"
                path = Path(scratch) / f"{i:04d}.jsonl.gz"
                columns, n_rows = _dump_table(conn, table, path)
                staged.append((member, path))
                tables_manifest.append({"name": str(table.name), "member": member, "rows": n_rows, "columns": columns})
            dialect = conn.dialect.name
        members: dict[str, str] = {}
        fd, partial = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".partial")  # 0600
        try:
            n_files = 0
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
                for member, path in staged:
                    members[member] = _add_file(tar, member, path)
                if uploads_dir is not None and Path(uploads_dir).is_dir():
                    for relative, path in _upload_files(Path(uploads_dir)):
                        members[UPLOADS_PREFIX + relative] = _add_file(tar, UPLOADS_PREFIX + relative, path)
                        n_files += 1
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "alembic_revision": revisions[0] if len(revisions) == 1 else (revisions or None),
                    "dialect": dialect,
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                    "note": note,
                    "tables": tables_manifest,
                    "uploads": None if uploads_dir is None else {"files": n_files},
                    "members": members,
                }
                body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), int(time.time()), 0o600
                tar.addfile(info, io.BytesIO(body))
            try:
                os.link(partial, final)  # fails when `final` appeared meanwhile: a backup is never overwritten
            except FileExistsError:
                raise BackupError(f"{final} appeared while the backup was written; it was left alone") from None
            Path(partial).unlink()
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return BackupSummary(
        path=final,
        revision=manifest["alembic_revision"],
        dialect=dialect,
        rows={t["name"]: t["rows"] for t in tables_manifest},
        n_files=n_files,
        n_bytes=final.stat().st_size,
        seconds=time.perf_counter() - started,
    )


def backup_before_migration(engine: Engine, data_dir: Path | None = None, *, head: str | None = None) -> Path | None:
    """Before migrating: when the database is behind the code's head and holds data, back it up (database only,
    as it is: the old schema's tables) to ``<data dir>/backups/`` and return the archive's path; else None.

    Nothing is written for a new database (no ``alembic_version``), one at head, an empty one, or one at a
    revision this code does not know (Alembic refuses to migrate that anyway). Restoring such a backup needs the
    code whose head is the revision in its manifest.
    """
    head = head or code_head()
    with engine.connect() as conn:
        revisions = _revisions(conn)
        if len(revisions) != 1 or revisions[0] == head or not _known_revision(revisions[0]):
            return None
        if not _tables_with_rows(conn, sa.inspect(conn).get_table_names()):
            return None
    if data_dir is None:
        from core.settings import load_settings

        data_dir = load_settings().data_dir
    folder = default_backup_dir(Path(data_dir))
    make_private_dir(folder)
    summary = write_backup(engine, folder, note=f"before migrating from revision {revisions[0]} to {head}")
    return summary.path


# ---- reading and checking an archive -------------------------------------------------------------------------


_TYPE_NAMES = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.DIRTYPE: "a directory",
}


def _check_member_name(info: tarfile.TarInfo, scratch: Path) -> None:
    name = info.name
    if not info.isreg():
        kind = _TYPE_NAMES.get(info.type, f"of tar type {info.type!r}")
        raise BackupError(f"archive member {name!r} is {kind}; a Quorum backup holds only regular files")
    parts = PurePosixPath(name).parts
    if (
        name.startswith(("/", "\\")) or ".." in parts or "\\" in name or (len(name) > 1 and name[1] == ":")
        or any(ord(c) < 32 for c in name)
    ):
        raise BackupError(f"archive member {name!r} has an absolute or parent-relative path; refusing the archive")
    try:
        tarfile.data_filter(info, str(scratch))
    except tarfile.FilterError as exc:
        raise BackupError(f"archive member {name!r} is unsafe to extract: {exc}") from exc


def _load_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        info = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError(f"{archive} is not a Quorum backup: it has no {MANIFEST}") from None
    if not info.isreg() or info.size > MAX_MANIFEST_BYTES:
        raise BackupError(f"{archive} is not a Quorum backup: its {MANIFEST} is not a plain file of sensible size")
    handle = tar.extractfile(info)
    assert handle is not None
    try:
        manifest = json.loads(handle.read())
    except ValueError as exc:
        raise BackupError(f"{archive} is not a Quorum backup: its {MANIFEST} is not JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a Quorum backup: {MANIFEST} does not say format {FORMAT!r}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BackupError(
            f"{archive} is a Quorum backup of format version {version!r}; this code reads version {FORMAT_VERSION}: "
            "restore it with the Quorum release that wrote it"
        )
    if not isinstance(manifest.get("members"), dict) or not isinstance(manifest.get("tables"), list):
        raise BackupError(f"{archive} is not a Quorum backup: {MANIFEST} lacks its tables or members")
    return manifest


def _check_revision(manifest: dict[str, Any], head: str, archive: Path) -> str:
    revision = manifest.get("alembic_revision")
    if revision == head:
        return head
    if isinstance(revision, str) and _known_revision(revision):
        advice = (
            f"restore it with the Quorum release whose newest migration is {revision}, then start the current "
            "release against that database: it migrates the data forward"
        )
    else:
        advice = f"restore it with a Quorum release that knows revision {revision!r} (newer than this code)"
    raise BackupError(
        f"{archive} holds a database at schema revision {revision!r}, but this code's schema is at revision "
        f"{head!r}; {advice}"
    )


def _stage_members(tar: tarfile.TarFile, manifest: dict[str, Any], scratch: Path) -> dict[str, Path]:
    """Check every member (name, type, listed, checksum) and copy it to ``scratch``: {member name: staged path}."""
    expected: dict[str, str] = manifest["members"]
    tables = {t.get("member") for t in manifest["tables"] if isinstance(t, dict)}
    for member in tables - set(expected):
        raise BackupError(f"archive's {MANIFEST} names table member {member!r} without a checksum")
    staged: dict[str, Path] = {}
    for i, info in enumerate(tar):
        if info.name == MANIFEST:
            continue
        _check_member_name(info, scratch)
        if info.name not in expected or not (info.name in tables or info.name.startswith(UPLOADS_PREFIX)):
            raise BackupError(f"archive member {info.name!r} is not listed in {MANIFEST}; refusing the archive")
        if info.name in staged:
            raise BackupError(f"archive member {info.name!r} appears twice; refusing the archive")
        source = tar.extractfile(info)
        assert source is not None
        path = scratch / f"{i:08d}"
        digest = hashlib.sha256()
        with source, open(path, "wb") as out:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected[info.name]:
            raise BackupError(
                f"archive member {info.name!r} does not match its sha256 in {MANIFEST}: the archive is damaged or "
                "was altered; nothing was restored"
            )
        staged[info.name] = path
    for member in expected:
        if member not in staged:
            raise BackupError(f"archive member {member!r} listed in {MANIFEST} is missing; nothing was restored")
    return staged


# ---- restoring -----------------------------------------------------------------------------------------------


def _not_empty_message(conn: Connection, names: list[str]) -> str:
    url = conn.engine.url.render_as_string(hide_password=True)
    return (
        f"the target database {url} is not empty (rows in {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}); "
        "restore into an empty database (set QUORUM_DATABASE_URL or QUORUM_DATA_DIR), or pass --replace to empty "
        "this one first"
    )


def _insert_statement(table: sa.Table, postgres: bool) -> tuple[sa.Insert, set[str]]:
    """An INSERT whose JSON columns are bound as JSON text (``<column>__json``), so NULL and null stay apart."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if isinstance(column.type, sa.JSON):
            param = sa.bindparam(f"{column.name}__json", type_=sa.Text)
            values[column.name] = sa.cast(param, column.type) if postgres else param
    return (table.insert().values(values) if values else table.insert()), set(values)


def _iter_rows(path: Path, member: str) -> Iterator[tuple[dict[str, Any], bool]]:
    with gzip.open(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                yield orjson.loads(line), False
            except orjson.JSONDecodeError:
                try:
                    yield json.loads(line), True
                except ValueError as exc:
                    raise BackupError(f"archive member {member!r}, line {number}: not JSON ({exc})") from exc


def _restore_table(conn: Connection, table: sa.Table, entry: dict[str, Any], path: Path) -> int:
    member = entry["member"]
    columns = list(entry["columns"].items())
    missing = [name for name, _ in columns if name not in table.columns]
    if missing:
        raise BackupError(f"table {table.name!r} of the archive has columns {missing} the target database lacks")
    statement, json_columns = _insert_statement(table, conn.dialect.name == "postgresql")
    decoders = [(name, _DECODERS.get(kind), name in json_columns) for name, kind in columns]
    n, batch = 0, []
    for row, python_json in _iter_rows(path, member):
        params: dict[str, Any] = {}
        for name, decode, as_json in decoders:
            if as_json:
                params[f"{name}__json"] = _json_text(row[name], python_json) if name in row else None
            else:
                value = row.get(name)
                params[name] = decode(value) if value is not None and decode is not None else value
        batch.append(params)
        if len(batch) >= INSERT_BATCH:
            conn.execute(statement, batch)
            n, batch = n + len(batch), []
    if batch:
        conn.execute(statement, batch)
        n += len(batch)
    if n != entry.get("rows"):
        raise BackupError(f"table {table.name!r}: {n} rows in the archive, but its {MANIFEST} says {entry.get('rows')}")
    return n


def _reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer):
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": _q(conn, table.name), "column": column.name},
            ).scalar()
            if sequence:
                conn.execute(
                    sa.text(
                        f"SELECT setval(:sequence, COALESCE((SELECT MAX({_q(conn, column.name)}) "
                        f"FROM {_q(conn, table.name)}), 0) + 1, false)"
                    ),
                    {"sequence": sequence},
                )


def _empty_tables(conn: Connection, tables: list[sa.Table]) -> None:
    if not tables:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"TRUNCATE {', '.join(_q(conn, t.name) for t in tables)} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            conn.execute(table.delete())


def _place_uploads(staged: dict[str, Path], uploads_dir: Path) -> int:
    root = Path(uploads_dir)
    make_private_dir(root)
    root = root.resolve()
    n = 0
    for member, path in staged.items():
        if not member.startswith(UPLOADS_PREFIX):
            continue
        target = (root / member[len(UPLOADS_PREFIX):]).resolve()
        if not target.is_relative_to(root) or target == root:  # checked before; a symlinked folder in the target
            raise BackupError(f"archive member {member!r} would land outside {root}; it was not restored")
        make_private_dir(target.parent)
        os.chmod(path, 0o600)
        os.replace(path, target)
        n += 1
    return n


def restore_backup(
    engine: Engine,
    archive: Path,
    *,
    uploads_dir: Path | None = None,
    replace: bool = False,
    head: str | None = None,
) -> RestoreSummary:
    """Restore ``archive`` into ``engine``'s database (which must be migrated to the code's head) and its upload
    files into ``uploads_dir`` (None: leave them out). Refuses a non-empty target unless ``replace`` (then the
    target is emptied in the same transaction). Upload files are added to the folder (existing files of the same
    name are overwritten); nothing there is deleted.
    """
    started = time.perf_counter()
    head = head or code_head()
    archive = Path(archive)
    try:
        tar = tarfile.open(archive, "r:gz")
    except FileNotFoundError:
        raise BackupError(f"{archive}: no such file") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{archive} is not a Quorum backup: not a readable .tar.gz archive ({exc})") from exc
    with tar:
        try:
            manifest = _load_manifest(tar, archive)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{archive} is not a Quorum backup: the archive is damaged ({exc})") from exc
        _check_revision(manifest, head, archive)
        with engine.connect() as conn:
            target_revisions = _revisions(conn)
            if target_revisions != [head]:
                raise BackupError(
                    f"the target database is at schema revision {target_revisions or 'none'}, not this code's {head!r}: "
                    "start Quorum (or any cli.py command) against it once so it is migrated, then restore"
                )
            if not replace:
                full = _tables_with_rows(conn, sa.inspect(conn).get_table_names())
                if full:
                    raise BackupError(_not_empty_message(conn, full))
        if uploads_dir is not None:
            make_private_dir(Path(uploads_dir).parent)
        scratch_parent = Path(uploads_dir).parent if uploads_dir is not None else None
        with tempfile.TemporaryDirectory(dir=scratch_parent, prefix=".quorum-restore-") as scratch_name:
            scratch = Path(scratch_name)
            try:
                staged = _stage_members(tar, manifest, scratch)
            except (tarfile.TarError, EOFError, zlib.error) as exc:
                raise BackupError(f"{archive} is damaged: {exc}; nothing was restored") from exc
            rows = _restore_database(engine, manifest, staged, replace=replace)
            n_files = _place_uploads(staged, Path(uploads_dir)) if uploads_dir is not None else 0
    return RestoreSummary(
        revision=head,
        source_dialect=str(manifest.get("dialect")),
        rows=rows,
        n_files=n_files,
        replaced=replace,
        seconds=time.perf_counter() - started,
    )


def _restore_database(engine: Engine, manifest: dict[str, Any], staged: dict[str, Path], *, replace: bool) -> dict[str, int]:
    entries = {t["name"]: t for t in manifest["tables"] if t.get("name") != ALEMBIC_TABLE}
    connection = engine.connect()
    if engine.dialect.name == "sqlite":
        connection = connection.execution_options(**{SQLITE_IMMEDIATE: True})  # take the write lock at BEGIN
    rows: dict[str, int] = {}
    with connection as conn, conn.begin():
        metadata = _reflect(conn)
        tables = [t for t in _sorted_tables(metadata) if t.name != ALEMBIC_TABLE]
        unknown = sorted(set(entries) - {t.name for t in tables})
        if unknown:
            raise BackupError(f"the archive has tables the target database lacks: {', '.join(unknown)}")
        if replace:
            _empty_tables(conn, tables)
        else:
            full = _tables_with_rows(conn, [t.name for t in tables])
            if full:
                raise BackupError(_not_empty_message(conn, full))
        for table in tables:
            entry = entries.get(table.name)
            if entry is not None:
                rows[table.name] = _restore_table(conn, table, entry, staged[entry["member"]])
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, tables)
    return rows


def manifest_of(archive: Path) -> dict[str, Any]:
    """The manifest of a backup archive (tests, and `restore` to describe what it is about to do)."""
    with tarfile.open(archive, "r:gz") as tar:
        return _load_manifest(tar, Path(archive))


__all__ = [
    "BackupError",
    "BackupSummary",
    "RestoreSummary",
    "backup_before_migration",
    "code_head",
    "default_backup_dir",
    "manifest_of",
    "restore_backup",
    "write_backup",
]
