"""S3 in and out: storage connections, incremental source sync, exports to a bucket, presigned media URLs.

A project may have S3 *sources* (tasks come from a bucket) and *targets* (exports go to a bucket), on AWS or
any S3-compatible store (MinIO, Ceph ...) reached at an endpoint URL. Why it is built this way:

* **SSRF.** The endpoint is typed by a manager and called by the server, so it must pass
  ``core.outbound.check_outbound_url`` when saved and again before every use, and the client then connects
  only to the addresses that check approved (no second DNS lookup that a rebinding answer could redirect).
* **Whose rights.** The server's own credentials (boto3's default chain: environment, profile, instance
  role ...) reach only the buckets, or bucket folders, an administrator lists in
  ``QUORUM_S3_ALLOWED_BUCKETS``; any other bucket needs keys entered for the connection. Otherwise a manager
  could name another team's bucket and read it into a project or overwrite it with exports. Checked when a
  connection is saved and again at every use, down to each key listed, read, written or presigned.
  They are also sent only to the endpoint they belong to, ``QUORUM_S3_SERVER_ENDPOINT`` (empty: AWS, no
  endpoint URL): an allowed bucket *name* at a manager's own endpoint would otherwise receive requests signed
  with them, and with those the access key id and any session token.
* **Secrets.** Credentials are the server's (above) or are entered;
  entered ones are sealed (``core.secret_box``) in the connection's settings and never leave the server:
  :class:`ConnectionInfo` only says whether some are saved, and every error message built here is scrubbed
  of them.
* **Incremental and all-or-nothing.** ``storage_objects`` records each imported key with its ETag; a sync
  imports only keys not seen before or whose ETag changed. Everything slow (listing, downloading) happens
  before the first write, and the whole sync is written in the caller's unit of work: it commits once, or
  nothing is imported.
* **One import path.** Objects are imported by ``core.imports.import_tasks_file`` (the upload importer):
  "each object is a file" hands it one JSON-lines file of ``s3://`` tasks, "each object holds tasks" hands
  it each object as the task file it is.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy.exc import IntegrityError

from core.config import parse_config
from core.errors import ConflictError, ImportFormatError, NotFoundError, QuorumError
from core.exports import (
    ALL_ANNOTATIONS,
    ExportProgress,
    LeftOut,
    check_selection,
    checked_format,
    export_basename,
    export_project,
    iter_selected_tasks,
)
from core.formats.readers import MEDIA_EXTENSIONS, SUPPORTED_EXTENSIONS
from core.imports import HASH_CHUNK, default_data_key, import_tasks_file
from core.media import MediaRef, resolve_media
from core.outbound import check_outbound_url
from core.outbound_http import pinned_connection_class
from core.permissions import Action, require
from core.secret_box import seal, unseal
from core.settings import (
    S3_ALLOWED_BUCKETS_ENV,
    S3_SERVER_ENDPOINT_ENV,
    S3Grant,
    Settings,
    load_settings,
    normalise_endpoint,
    plain_key_path,
)
from core.uow import UnitOfWork
from core.users import UserInfo
from storage.models import StorageConnection, utcnow
from storage.repositories import cloud_storage as repo
from storage.repositories import exports as exports_repo

SOURCE, TARGET = "source", "target"
MODE_FILES = "files"
MODE_TASKS = "tasks"
MODES: dict[str, str] = {
    MODE_FILES: "Each object is a file (one task per object, its s3:// URL in the task data)",
    MODE_TASKS: "Each object holds tasks (JSON, JSON lines, CSV, TSV, TXT)",
}
TASK_FILE_EXTENSIONS = SUPPORTED_EXTENSIONS - MEDIA_EXTENSIONS
PRESIGN_EXPIRY_S = 900
"""Presigned media URLs live 15 minutes: long enough to load a task, too short to be worth sharing."""
DOWNLOAD_WORKERS = 8
SPOOL_BYTES = 8 << 20
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60

ProgressCallback = Callable[[str, int, int], None]
"""Told (stage, done, total) while a sync runs: stage is "listing", "downloading" or "importing"."""

_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")
_REGION = re.compile(r"^[a-z0-9-]{0,40}$")
_REFUSED_CREDENTIALS = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
    "AuthorizationHeaderMalformed", "InvalidClientTokenId",
}


class StorageError(QuorumError):
    """A storage connection is misconfigured or its store refused or failed a request (nothing changed)."""


# --- what pages and the CLI see ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionSpec:
    """What a manager enters for a connection. Credentials left as None keep the saved ones."""

    bucket: str
    prefix: str = ""
    regex_filter: str = ""
    endpoint_url: str = ""
    region: str = ""
    mode: str = MODE_FILES
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    clear_credentials: bool = False

    def __repr__(self) -> str:  # a spec printed in a traceback or a log must not carry the secret
        return f"ConnectionSpec(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as it may be shown: never its credentials, only whether some are saved."""

    id: int
    project_id: int
    direction: str
    bucket: str
    prefix: str
    regex_filter: str
    endpoint_url: str
    region: str
    mode: str
    credentials_saved: bool
    last_sync_at: dt.datetime | None
    last_sync: dict[str, Any] | None
    refusal: str | None = None  # why it cannot be used as saved (server credentials not allowed), or None

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class SyncSummary:
    connection_id: int
    n_listed: int  # objects under the prefix (folders not counted)
    n_matched: int  # ... that pass the regex filter
    n_new: int  # imported for the first time
    n_changed: int  # imported again: their ETag changed
    n_skipped: int  # seen before with the same ETag
    n_duplicates: int  # new objects whose content was imported before (by content hash): no tasks
    n_tasks: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TargetExportSummary:
    connection_id: int
    format: str
    keys: tuple[str, ...]
    n_tasks: int
    n_left_out: int
    per_task: bool


def _info(row: StorageConnection) -> ConnectionInfo:
    settings = row.settings or {}
    return ConnectionInfo(
        id=row.id,
        project_id=row.project_id,
        direction=row.direction,
        bucket=row.bucket,
        prefix=row.prefix or "",
        regex_filter=row.regex_filter or "",
        endpoint_url=row.endpoint_url or "",
        region=row.region or "",
        mode=settings.get("mode", MODE_FILES),
        credentials_saved=bool(settings.get("credentials")),
        last_sync_at=dt.datetime.fromisoformat(row.watermark) if row.watermark else None,
        last_sync=settings.get("last_sync"),
        refusal=None if settings.get("credentials") else _server_credentials_refusal(
            row.bucket, row.prefix or "", row.endpoint_url or ""),
    )


# --- the server's own credentials: only where an administrator allowed them ---------------------------------
def _server_credentials_grant(settings: Settings, bucket: str, prefix: str) -> S3Grant | None:
    """The ``QUORUM_S3_ALLOWED_BUCKETS`` entry that lets a connection without keys use (bucket, prefix).

    The prefix is judged as a folder: "team-a" and "team-a/2024/" lie in the entry "bucket/team-a", "team-ab"
    does not. Keys a listing under "team-a" returns from outside ("team-ab/x") are dropped one by one
    (:meth:`_Store.allows`).
    """
    if not plain_key_path(prefix):
        return None
    folder = f"{prefix.rstrip('/')}/" if prefix.strip("/") else ""
    return next((g for g in settings.s3_allowed_buckets if g.covers(bucket, folder)), None)


def _endpoint_refusal(settings: Settings, bucket: str, endpoint: str) -> str | None:
    """Why the server's credentials may not be sent to ``endpoint`` (the connection's, "" = AWS), or None.

    They go only where they belong, ``QUORUM_S3_SERVER_ENDPOINT`` ("" = AWS): a bucket listed in
    ``QUORUM_S3_ALLOWED_BUCKETS`` is a name, and a manager's own store can have a bucket of that name too.
    """
    try:
        typed = normalise_endpoint(endpoint)
    except ValueError:
        typed = None
    if typed == settings.s3_server_endpoint:
        return None
    shown = f"endpoint {endpoint.strip()!r}" if endpoint.strip() else "AWS S3 (no endpoint URL)"
    belongs = (f"the endpoint {settings.s3_server_endpoint} ({S3_SERVER_ENDPOINT_ENV})"
               if settings.s3_server_endpoint else f"AWS S3 (no endpoint URL; {S3_SERVER_ENDPOINT_ENV} is not set)")
    fix = (f"set the endpoint URL to {settings.s3_server_endpoint}" if settings.s3_server_endpoint
           else "leave the endpoint URL empty")
    return (
        f"bucket {bucket!r} at {shown} may not be reached with the server's own credentials: they are sent only "
        f"to {belongs}. Enter an access key for this connection, or {fix}"
    )


def _server_credentials_use(bucket: str, prefix: str, endpoint: str) -> tuple[S3Grant, str] | str:
    """For a connection without entered keys: the grant for (bucket, prefix) and the endpoint the server's
    credentials go to (normalised, "" = AWS), or why they may not be used there.

    Settings are read at each call, so an administrator's change applies without a restart; settings that do
    not parse refuse every such connection.
    """
    try:
        settings = load_settings()
    except ValueError as exc:
        return f"the server's own S3 credentials are unusable until an administrator fixes the setting: {exc}"
    refused = _endpoint_refusal(settings, bucket, endpoint)
    if refused is not None:
        return refused
    grant = _server_credentials_grant(settings, bucket, prefix)
    if grant is not None:
        return grant, settings.s3_server_endpoint
    where = f"bucket {bucket!r}" + (f" with prefix {prefix!r}" if prefix else "")
    why = (
        f"the prefix {prefix!r} has a '.' or '..' segment, a backslash or a control character, so "
        if prefix and not plain_key_path(prefix) else ""
    )
    return (
        f"{why}{where} may not be reached with the server's own credentials: enter an access key for this "
        f"connection, or ask an administrator to add the bucket (or bucket/prefix) to {S3_ALLOWED_BUCKETS_ENV}"
    )


def _server_credentials_refusal(bucket: str, prefix: str, endpoint: str) -> str | None:
    """Why a connection without entered keys may not use (bucket, prefix) at ``endpoint``, or None."""
    use = _server_credentials_use(bucket, prefix, endpoint)
    return use if isinstance(use, str) else None


def _require_server_credentials(bucket: str, prefix: str, endpoint: str) -> tuple[S3Grant, str]:
    """The grant for (bucket, prefix) and the endpoint to send the server's credentials to (normalised,
    "" = AWS); StorageError naming the endpoint or bucket refused and the ways out otherwise."""
    use = _server_credentials_use(bucket, prefix, endpoint)
    if isinstance(use, str):
        raise StorageError(use)
    return use


def _action(direction: str) -> Action:
    return Action.IMPORT if direction == SOURCE else Action.EXPORT


def _load(uow: UnitOfWork, actor: UserInfo, connection_id: int, *, direction: str | None = None) -> StorageConnection:
    """The connection, once the actor may use it (import for sources, export for targets)."""
    row = repo.connection(uow.session, connection_id)
    if row is None:
        raise NotFoundError(f"no storage connection with id {connection_id}")
    require(uow, actor, row.project_id, _action(row.direction))
    if direction is not None and row.direction != direction:
        raise StorageError(f"storage connection {connection_id} is a {row.direction}, not a {direction}")
    return row


# --- managing connections ------------------------------------------------------------------------------------
def list_connections(uow: UnitOfWork, actor: UserInfo, *, project_id: int) -> list[ConnectionInfo]:
    """The project's sources (if the actor may import) and targets (if they may export)."""
    require(uow, actor, project_id, Action.VIEW_PROJECT)
    shown = []
    for row in repo.connections_of(uow.session, project_id):
        try:
            require(uow, actor, project_id, _action(row.direction))
        except QuorumError:
            continue
        shown.append(_info(row))
    return shown


def get_connection(uow: UnitOfWork, actor: UserInfo, *, connection_id: int) -> ConnectionInfo:
    return _info(_load(uow, actor, connection_id))


def _checked_fields(spec: ConnectionSpec) -> dict[str, Any]:
    bucket = (spec.bucket or "").strip()
    if not _BUCKET.match(bucket):
        raise StorageError(
            f"bucket {bucket!r} is not a valid bucket name (3 to 255 letters, digits, '.', '-' or '_')"
        )
    prefix = (spec.prefix or "").strip().lstrip("/")
    pattern = (spec.regex_filter or "").strip()
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise StorageError(f"regex filter {pattern!r} is not a valid regular expression: {exc}") from exc
    endpoint = (spec.endpoint_url or "").strip()
    if endpoint:
        check_outbound_url(endpoint, purpose="S3 endpoint")
    region = (spec.region or "").strip()
    if not _REGION.match(region):
        raise StorageError(f"region {region!r} is not a region name (like eu-west-1)")
    if spec.mode not in MODES:
        raise StorageError(f"unknown mode {spec.mode!r}; valid: {', '.join(MODES)}")
    return {
        "bucket": bucket, "prefix": prefix, "regex_filter": pattern, "endpoint_url": endpoint or None,
        "region": region or None,
    }


def _settings_with_credentials(settings: dict[str, Any], spec: ConnectionSpec) -> dict[str, Any]:
    settings = {**settings, "mode": spec.mode}
    key_id = (spec.access_key_id or "").strip()
    secret = (spec.secret_access_key or "").strip()
    if spec.clear_credentials:
        settings.pop("credentials", None)
    if key_id or secret:
        if not (key_id and secret):
            raise StorageError("enter both the access key id and the secret access key, or neither")
        sealed = {"aws_access_key_id": key_id, "aws_secret_access_key": secret}
        token = (spec.session_token or "").strip()
        if token:
            sealed["aws_session_token"] = token
        settings["credentials"] = seal(json.dumps(sealed))
    return settings


def add_connection(
    uow: UnitOfWork, actor: UserInfo, *, project_id: int, direction: str, spec: ConnectionSpec
) -> ConnectionInfo:
    """Save a new source or target connection (the caller commits). Nothing is called yet."""
    if direction not in (SOURCE, TARGET):
        raise StorageError(f"direction must be {SOURCE!r} or {TARGET!r}, not {direction!r}")
    require(uow, actor, project_id, _action(direction))
    fields = _checked_fields(spec)
    settings = _settings_with_credentials({}, spec)
    if not settings.get("credentials"):
        _require_server_credentials(fields["bucket"], fields["prefix"], fields["endpoint_url"] or "")
    row = repo.add_connection(
        uow.session, project_id=project_id, direction=direction, provider="s3", settings=settings, **fields,
    )
    return _info(row)


def update_connection(uow: UnitOfWork, actor: UserInfo, *, connection_id: int, spec: ConnectionSpec) -> ConnectionInfo:
    """Change a connection; credentials are replaced only when new ones are entered (or cleared)."""
    row = _load(uow, actor, connection_id)
    fields = _checked_fields(spec)
    settings = _settings_with_credentials(dict(row.settings or {}), spec)
    if not settings.get("credentials"):  # checked before anything changes: a refusal leaves the row as it was
        _require_server_credentials(fields["bucket"], fields["prefix"], fields["endpoint_url"] or "")
    for name, value in fields.items():
        setattr(row, name, value)
    row.settings = settings
    uow.session.flush()
    return _info(row)


def delete_connection(uow: UnitOfWork, actor: UserInfo, *, connection_id: int) -> None:
    """Forget the connection and the objects it saw; imported tasks stay."""
    repo.delete_connection(uow.session, _load(uow, actor, connection_id))


# --- talking to the store ------------------------------------------------------------------------------------
@dataclass
class _Store:
    """A boto3 client for one connection, with what error messages must scrub."""

    client: Any
    bucket: str
    where: str
    secrets: tuple[str, ...] = field(default=(), repr=False)
    area: S3Grant | None = None  # server credentials: the only keys they may touch; None with entered keys

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def allows(self, key: str) -> bool:
        """May this client touch ``key``? Always with entered keys; with the server's credentials only inside
        the allowed folder, and never through a key a path normaliser would move ("a/../b")."""
        return self.area is None or (self.area.covers(self.bucket, key) and plain_key_path(key))

    def require(self, key: str, doing: str) -> None:
        if not self.allows(key):
            raise StorageError(
                f"refused {doing}: s3://{self.bucket}/{key} lies outside s3://{self.area}, the only place the "
                f"server's own credentials may reach for this connection ({S3_ALLOWED_BUCKETS_ENV})"
            )


def _credentials(row: StorageConnection) -> dict[str, str]:
    sealed = (row.settings or {}).get("credentials")
    return json.loads(unseal(sealed)) if sealed else {}


_BOTOCORE_LOCK = threading.Lock()
_BOTOCORE: list[Any] = []


def _botocore_session() -> Any:
    """One botocore session per process: building one loads the service models (~0.5 s); clients made from
    it get entered credentials explicitly (the session's own chain, the environment, is used otherwise).

    Timestamps (LastModified) stay text: botocore parses each with dateutil, which was most of the time of
    listing 10,000 keys, and a sync only compares keys and ETags.
    """
    if not _BOTOCORE:
        import botocore.session

        session = botocore.session.get_session()
        session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
        _BOTOCORE.append(session)
    return _BOTOCORE[0]


def _store(row: StorageConnection, *, check_endpoint: bool = True) -> _Store:
    """A client for the connection, refused (StorageError) when it would use the server's credentials on a
    bucket not allowed for them or at an endpoint they do not belong to, or (OutboundURLError) when the
    endpoint now points somewhere internal.

    ``check_endpoint=False`` is for clients that only presign URLs: they get no approved address, so any
    connection they tried to open would be refused.
    """
    from botocore.config import Config

    credentials = _credentials(row)
    area: S3Grant | None = None
    endpoint = row.endpoint_url or None
    if not credentials:  # the server's credentials: only on allowed buckets, only at their own endpoint
        area, server_endpoint = _require_server_credentials(row.bucket, row.prefix or "", row.endpoint_url or "")
        endpoint = server_endpoint or None  # the administrator's spelling of the connection's (equal) endpoint
    addresses: tuple[str, ...] = ()
    if endpoint and check_endpoint:  # again at use: the host's addresses may have changed since it was saved
        addresses = check_outbound_url(endpoint, purpose="S3 endpoint").addresses
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": 2, "mode": "standard"}, signature_version="s3v4",
        s3={"addressing_style": "path"} if endpoint else {}, max_pool_connections=DOWNLOAD_WORKERS * 2,
        proxies={} if endpoint else None,  # a proxy would resolve the host itself, past the check
    )
    with _BOTOCORE_LOCK:  # botocore sessions are not thread-safe; Streamlit serves each browser in a thread
        client = _botocore_session().create_client(
            "s3", region_name=row.region or None, endpoint_url=endpoint, config=config, **credentials
        )
    if endpoint:
        _pin_endpoint(client, endpoint, addresses)
    where = f"endpoint {endpoint}" if endpoint else f"AWS S3{' (' + row.region + ')' if row.region else ''}"
    return _Store(client, row.bucket, where, tuple(credentials.values()), area)


def _pin_endpoint(client: Any, endpoint: str, addresses: tuple[str, ...]) -> None:
    """Make the client's connections go to ``addresses`` (what the outbound check approved), not to what
    DNS answers when botocore connects: a rebinding answer in between cannot send it somewhere internal.

    botocore has no public hook for its connection classes, so this swaps them in its urllib3 pool manager;
    should a botocore upgrade move them, it refuses (StorageError) rather than connect unpinned.
    """
    from botocore.awsrequest import (
        AWSHTTPConnection,
        AWSHTTPConnectionPool,
        AWSHTTPSConnection,
        AWSHTTPSConnectionPool,
    )

    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    pools = {
        "http": type("PinnedAWSHTTPConnectionPool", (AWSHTTPConnectionPool,), {
            "ConnectionCls": pinned_connection_class(AWSHTTPConnection, host, port, addresses)}),
        "https": type("PinnedAWSHTTPSConnectionPool", (AWSHTTPSConnectionPool,), {
            "ConnectionCls": pinned_connection_class(AWSHTTPSConnection, host, port, addresses)}),
    }
    http_session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    manager = getattr(http_session, "_manager", None)
    if manager is None or not hasattr(manager, "pool_classes_by_scheme"):
        raise StorageError("cannot pin the S3 endpoint's address with this botocore version; nothing was sent")
    manager.clear()
    manager.pool_classes_by_scheme = pools
    http_session._pool_classes_by_scheme = pools  # type: ignore[union-attr]  # (proxy managers; none are used)


def _storage_error(store: _Store, exc: Exception, doing: str) -> StorageError:
    """A clear message for a failed request, with no credential in it."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("NoSuchBucket", "404") and "bucket" in doing:
            text = f"bucket {store.bucket!r} does not exist at {store.where}"
        elif code == "NoSuchBucket":
            text = f"bucket {store.bucket!r} does not exist at {store.where}"
        elif code in _REFUSED_CREDENTIALS or code == "403":
            text = f"{store.where} refused the credentials for bucket {store.bucket!r} ({code}) while {doing}"
        else:
            text = f"{store.where} answered {code or 'an error'} while {doing}: {error.get('Message', '')}".rstrip(": ")
    elif isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        text = (
            "no S3 credentials: enter an access key for this connection (the server has no AWS credentials "
            f"of its own to use for buckets listed in {S3_ALLOWED_BUCKETS_ENV})"
        )
    elif isinstance(exc, EndpointConnectionError):
        text = f"cannot reach {store.where} while {doing}; check the endpoint URL and that the store is running"
    elif isinstance(exc, BotoCoreError):
        text = f"S3 request to {store.where} failed while {doing}: {type(exc).__name__}"
    else:
        text = f"S3 request to {store.where} failed while {doing}: {type(exc).__name__}"
    return StorageError(store.scrub(text))


def _call(store: _Store, doing: str, request: Callable[[], Any]) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return request()
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _storage_error(store, exc, doing) from None  # no chained traceback holding request details


@dataclass(frozen=True)
class _Object:
    key: str
    etag: str


def _list_objects(store: _Store, prefix: str) -> Iterator[_Object]:
    paginator = store.client.get_paginator("list_objects_v2")
    pages = _call(store, f"listing bucket {store.bucket!r}", lambda: iter(paginator.paginate(Bucket=store.bucket, Prefix=prefix)))
    while True:
        page = _call(store, f"listing bucket {store.bucket!r}", lambda: next(pages, None))
        if page is None:
            return
        for item in page.get("Contents", ()):
            key = item["Key"]
            if _listed(store, prefix, key):
                yield _Object(key, str(item.get("ETag", "")).strip('"'))


def _listed(store: _Store, prefix: str, key: str) -> bool:
    """Is a key a listing returned one to use? Not a folder marker, under the prefix asked for (a store
    answering with other keys is not trusted), and inside what the store's credentials may touch."""
    return not key.endswith("/") and key.startswith(prefix) and store.allows(key)


@dataclass(frozen=True)
class ConnectionCheck:
    """What a connection test found: the bucket answers; a few keys under the prefix (sources)."""

    location: str
    sample_keys: tuple[str, ...]
    more: bool


def check_connection(uow: UnitOfWork, actor: UserInfo, *, connection_id: int) -> ConnectionCheck:
    """Reach the bucket with the saved settings and list up to 5 keys under the prefix, so a wrong bucket,
    endpoint or key shows when the connection is set up rather than at its first sync or export. A
    StorageError (credentials scrubbed) says what failed; nothing is written."""
    row = _load(uow, actor, connection_id)
    store = _store(row)
    prefix = row.prefix or ""
    answer = _call(store, f"listing bucket {store.bucket!r}",
                   lambda: store.client.list_objects_v2(Bucket=store.bucket, Prefix=prefix, MaxKeys=5))
    keys = tuple(key for key in (item["Key"] for item in answer.get("Contents", ())) if _listed(store, prefix, key))
    return ConnectionCheck(f"s3://{row.bucket}/{row.prefix or ''}", keys, bool(answer.get("IsTruncated")))


def _s3_url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{quote(key, safe='/!-_.*()')}"


# --- source sync ---------------------------------------------------------------------------------------------
def sync_connection(
    uow: UnitOfWork, actor: UserInfo, *, connection_id: int, progress: ProgressCallback | None = None
) -> SyncSummary:
    """Import the source's new and changed objects into its project; the caller commits (all or nothing).

    Raises StorageError for an unreachable or refused store, ImportFormatError (naming the object) for an
    object that is not a task file in "each object holds tasks" mode or holds bad tasks.
    """
    started = time.perf_counter()
    row = _load(uow, actor, connection_id, direction=SOURCE)
    info = _info(row)
    store = _store(row)
    pattern = re.compile(info.regex_filter) if info.regex_filter else None
    seen = repo.seen_etags(uow.session, row.id)
    listed = matched = 0
    todo: list[_Object] = []
    for obj in _list_objects(store, info.prefix):
        listed += 1
        if pattern is not None and not pattern.search(obj.key):
            continue
        matched += 1
        if seen.get(obj.key) != obj.etag:
            todo.append(obj)
        if progress and listed % 1000 == 0:
            progress("listing", listed, 0)
    changed = {obj.key for obj in todo if obj.key in seen}
    if info.mode == MODE_TASKS:
        n_tasks, duplicates, recorded = _import_task_objects(uow, actor, row, store, todo, progress)
    else:
        n_tasks, duplicates, recorded = _import_file_objects(uow, actor, row, todo, progress)
    try:
        repo.record_objects(uow.session, row.id, recorded, changed=changed)
    except IntegrityError as exc:  # (connection, key) is unique: another sync of it recorded these keys first
        raise ConflictError(
            f"another sync of storage connection {row.id} finished first; nothing was imported by this one, "
            "sync again to import what is still new"
        ) from exc
    summary = SyncSummary(
        connection_id=row.id, n_listed=listed, n_matched=matched, n_new=len(todo) - len(changed),
        n_changed=len(changed), n_skipped=matched - len(todo), n_duplicates=duplicates, n_tasks=n_tasks,
        seconds=round(time.perf_counter() - started, 3),
    )
    repo.mark_synced(uow.session, row, at=utcnow(), summary=summary.as_dict())
    return summary


def _sync_filename(row: StorageConnection, suffix: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"s3-{row.bucket}-connection-{row.id}-{stamp}{suffix}"


def _import_file_objects(
    uow: UnitOfWork, actor: UserInfo, row: StorageConnection, todo: list[_Object],
    progress: ProgressCallback | None,
) -> tuple[int, int, list[tuple[str, str, int]]]:
    """One task per object, all in one JSON-lines file handed to the importer.

    The task's ``meta`` names the connection, key and ETag: it says where the task came from, and it makes
    the file's content (hashed by the importer against duplicate imports) unique per object version.
    """
    if not todo:
        return 0, 0, []
    project = require(uow, actor, row.project_id, Action.IMPORT)
    data_key = (row.settings or {}).get("data_key") or default_data_key(parse_config(project.config_xml))
    dumps = json.dumps
    lines = "\n".join(
        dumps({"data": {data_key: _s3_url(row.bucket, obj.key)},
               "meta": {"storage_connection": row.id, "s3_key": obj.key, "s3_etag": obj.etag}})
        for obj in todo
    )
    reporter = (lambda done: progress("importing", done, len(todo))) if progress else None
    summary = import_tasks_file(
        uow, actor, project_id=row.project_id, stream=io.BytesIO(lines.encode("utf-8")),
        filename=_sync_filename(row, ".jsonl"), progress=reporter,
    )
    return summary.n_tasks, 0, [(obj.key, obj.etag, 1) for obj in todo]


def _download(store: _Store, key: str) -> IO[bytes]:
    store.require(key, "reading")
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)

    def fetch() -> None:
        response = store.client.get_object(Bucket=store.bucket, Key=key)
        with response["Body"] as stream:
            shutil.copyfileobj(stream, body, HASH_CHUNK)

    _call(store, f"downloading s3://{store.bucket}/{key}", fetch)
    body.seek(0)
    return body


def _import_task_objects(
    uow: UnitOfWork, actor: UserInfo, row: StorageConnection, store: _Store, todo: list[_Object],
    progress: ProgressCallback | None,
) -> tuple[int, int, list[tuple[str, str, int]]]:
    """Each object imported as the task file it is: downloaded first (in parallel), then imported in key
    order, so the write transaction holds no network wait."""
    for obj in todo:
        extension = Path(obj.key).suffix.lower()
        if extension not in TASK_FILE_EXTENSIONS:
            raise ImportFormatError(
                f"s3://{row.bucket}/{obj.key}: not a task file ({', '.join(sorted(TASK_FILE_EXTENSIONS))}); "
                "narrow the prefix or the regex filter, or use the mode 'each object is a file'"
            )
    bodies: dict[str, IO[bytes]] = {}
    try:
        with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
            for done, (key, body) in enumerate(
                zip((o.key for o in todo), pool.map(lambda o: _download(store, o.key), todo)), start=1
            ):
                bodies[key] = body
                if progress:
                    progress("downloading", done, len(todo))
        n_tasks = duplicates = 0
        recorded: list[tuple[str, str, int]] = []
        for done, obj in enumerate(todo, start=1):
            try:
                summary = import_tasks_file(
                    uow, actor, project_id=row.project_id, stream=bodies[obj.key],
                    filename=obj.key.replace("/", "_"),
                )
            except ConflictError:  # the same content came in before (another key, or an upload)
                duplicates += 1
                recorded.append((obj.key, obj.etag, 0))
                continue
            except ImportFormatError as exc:
                raise ImportFormatError(f"s3://{row.bucket}/{obj.key}: {exc}") from None
            n_tasks += summary.n_tasks
            recorded.append((obj.key, obj.etag, summary.n_tasks))
            if progress:
                progress("importing", done, len(todo))
        return n_tasks, duplicates, recorded
    finally:
        for body in bodies.values():
            body.close()


# --- exports to a target -------------------------------------------------------------------------------------
def _key(prefix: str, name: str) -> str:
    return f"{prefix.rstrip('/')}/{name}" if prefix else name


def export_to_target(
    uow: UnitOfWork,
    actor: UserInfo,
    *,
    connection_id: int,
    fmt: str,
    per_task: bool = False,
    selection: str = ALL_ANNOTATIONS,
    progress: ExportProgress | None = None,
) -> TargetExportSummary:
    """Export the project through the download exporters into the target's bucket and prefix.

    One file (``<prefix>/<project>-<format>-<stamp>.<ext>``; folder formats as a folder of objects), or one
    object per task (``<prefix>/<task id>.<ext>``, or a folder per task for folder formats); Label Studio
    JSON per task is the task object itself, as Label Studio's target storage writes it.
    """
    row = _load(uow, actor, connection_id, direction=TARGET)
    export_format, schema = checked_format(uow, actor, project_id=row.project_id, fmt=fmt)
    check_selection(selection)
    store = _store(row)
    _call(store, f"opening bucket {row.bucket!r}", lambda: store.client.head_bucket(Bucket=row.bucket))
    prefix = (row.prefix or "").strip("/")
    with tempfile.TemporaryDirectory(prefix="quorum-s3-export-") as scratch_name:
        scratch = Path(scratch_name)
        if per_task:
            keys, n_tasks, n_left_out = _export_per_task(
                uow, actor, row, store, export_format, schema, prefix, selection, scratch, progress
            )
        else:
            base = export_basename(uow, actor, project_id=row.project_id, fmt=fmt)
            suffix = Path(export_format.filename or "result.json").suffix
            out = scratch / (base if export_format.layout == "folder" else base + suffix)
            written = export_project(
                uow, actor, project_id=row.project_id, fmt=fmt, out=out, selection=selection, progress=progress
            )
            uploads = [(path, _key(prefix, str(path.relative_to(scratch)))) for path in _files(written.files)]
            _upload_all(store, uploads)
            keys, n_tasks, n_left_out = [k for _, k in uploads], written.n_tasks, written.n_left_out
    return TargetExportSummary(row.id, export_format.name, tuple(keys), n_tasks, n_left_out, per_task)


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return found


def _upload_all(store: _Store, uploads: list[tuple[Path, str]]) -> None:
    for _, key in uploads:  # all checked before the first is written
        store.require(key, "writing")

    def upload(item: tuple[Path, str]) -> None:
        path, key = item
        def put() -> None:
            with path.open("rb") as body:
                store.client.put_object(Bucket=store.bucket, Key=key, Body=body)

        _call(store, f"writing s3://{store.bucket}/{key}", put)

    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
        list(pool.map(upload, uploads))


def _export_per_task(
    uow: UnitOfWork, actor: UserInfo, row: StorageConnection, store: _Store, export_format: Any, schema: Any,
    prefix: str, selection: str, scratch: Path, progress: ExportProgress | None,
) -> tuple[list[str], int, int]:
    total = exports_repo.count_tasks(uow.session, row.project_id)
    left_out = LeftOut()
    keys: list[str] = []
    batch: list[tuple[Path, str]] = []
    n_tasks = 0
    suffix = Path(export_format.filename or "result.json").suffix
    for task in iter_selected_tasks(uow, actor, project_id=row.project_id, selection=selection, left_out=left_out):
        n_tasks += 1
        task_id = task["id"]
        if export_format.name == "JSON":
            path = scratch / f"{task_id}.json"
            path.write_text(json.dumps(task, ensure_ascii=False), encoding="utf-8")
            batch.append((path, _key(prefix, f"{task_id}.json")))
        else:
            folder = scratch / str(task_id)
            files = export_format.export([task], folder, schema=schema)
            for path in _files(files):
                name = f"{task_id}{suffix}" if export_format.layout == "file" and path.parent == folder else (
                    f"{task_id}/{path.relative_to(folder)}"
                )
                batch.append((path, _key(prefix, name)))
        if len(batch) >= 200:
            _upload_all(store, batch)
            keys.extend(k for _, k in batch)
            _remove(batch)
            batch = []
            if progress:
                progress(min(n_tasks + left_out.count, total), total)
    _upload_all(store, batch)
    keys.extend(k for _, k in batch)
    if progress:
        progress(total, total)
    return keys, n_tasks, left_out.count


def _remove(uploaded: list[tuple[Path, str]]) -> None:
    for path, _ in uploaded:
        path.unlink(missing_ok=True)


# --- media ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SourceRef:
    row_id: int
    bucket: str
    prefix: str
    pattern: re.Pattern[str] | None

    def covers(self, bucket: str, key: str) -> bool:
        segments = key.split("/")
        if "." in segments or ".." in segments or any(ord(c) < 32 for c in key):
            return False  # a browser or proxy would normalise the path out of the prefix
        return (
            bucket == self.bucket and key.startswith(self.prefix)
            and (self.pattern is None or bool(self.pattern.search(key)))
        )


class S3MediaSigner:
    """Turns an ``s3://bucket/key`` URL of a task into a short-lived presigned GET URL for the browser,
    only when the key lies in one of the project's source connections (bucket, prefix and regex filter);
    any other ``s3://`` URL gets None (refused), in the spirit of ``core.media``'s allow-list.

    Presigning is local (no request); clients are built on first use and kept for the signer's life.
    """

    def __init__(self, rows: list[StorageConnection]) -> None:
        self._rows = {row.id: row for row in rows}
        self._sources = [
            _SourceRef(row.id, row.bucket, row.prefix or "", re.compile(row.regex_filter) if row.regex_filter else None)
            for row in rows
        ]
        self._stores: dict[int, _Store | None] = {}  # None: the connection may not be used (refused)

    def __bool__(self) -> bool:
        return bool(self._sources)

    def __call__(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            return None
        key = unquote(parts.path.lstrip("/"))
        for source in self._sources:
            if source.covers(parts.netloc, key):
                store = self._store_of(source.row_id)
                if store is None or not store.allows(key):
                    return None
                return str(store.client.generate_presigned_url(
                    "get_object", Params={"Bucket": parts.netloc, "Key": key}, ExpiresIn=PRESIGN_EXPIRY_S
                ))
        return None

    def _store_of(self, row_id: int) -> _Store | None:
        """The connection's presigning client, built once; None (remembered) when it is refused, e.g. the
        server's credentials on a bucket not allowed for them."""
        if row_id not in self._stores:
            try:
                self._stores[row_id] = _store(self._rows[row_id], check_endpoint=False)
            except QuorumError:
                self._stores[row_id] = None
        return self._stores[row_id]


def media_signer(uow: UnitOfWork, actor: UserInfo, *, project_id: int) -> S3MediaSigner:
    """The presigner for the project's source connections, for anyone who may see the project's tasks."""
    require(uow, actor, project_id, Action.VIEW_PROJECT)
    rows = repo.connections_of(uow.session, project_id, SOURCE)
    for row in rows:
        uow.session.expunge(row)  # the signer outlives the unit of work
    return S3MediaSigner(rows)


def project_media(
    uow: UnitOfWork, actor: UserInfo, *, project_id: int, settings: Settings
) -> Callable[[object], MediaRef]:
    """How the project's task media are shown on every page (label, review, data browser): files and hosts
    on the allow-list (core.media), and s3:// objects of the project's S3 sources as presigned URLs."""
    signer = media_signer(uow, actor, project_id=project_id)
    return lambda url: resolve_media(url, settings, s3=signer)
