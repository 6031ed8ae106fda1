"""The S3 part of bench/bench_load.py (``--s3``): the replicas share one S3 store (moto) as they share one
database, and tasks come from it and annotations go back to it through core.

* **Setup** (once): moto's S3 server on loopback (bench/bench_s3.py's ``start_moto``); the server's credentials
  allowed for two buckets at moto's endpoint only (``QUORUM_S3_ALLOWED_BUCKETS``, ``QUORUM_S3_SERVER_ENDPOINT``,
  ``QUORUM_OUTBOUND_ALLOW=127.0.0.1``, one ``QUORUM_SECRET_KEY``), the same environment for this process and for
  every app process; a share of the benchmark project's tasks put as JSON-lines objects (100 tasks each) into the
  source bucket (bench_s3's ``put_objects``); a project "Load from S3" (the same config, the round's overlap, the
  labelers as annotators) with a source connection ("each object holds tasks") and a target connection, made
  through ``core.cloud_storage`` (no keys entered: the server's credentials), and one sync through core.
  The labelers of every round label this project, so each task they get came from the bucket.
* **Mid-round** (each round): new objects are put into the source bucket, then an administrator's tab on
  *each* replica (a browserless tab, bench/ws_client.py, on the Cloud storage page) presses "Sync now" at the
  same moment, so both app processes sync the one connection at once while the labelers work; then this process
  syncs once more through core (it must find nothing new).
* **After the round**: the project holds exactly the tasks of the bucket's objects (each object line once: none
  missing, none doubled), each object recorded once for the connection, every task at the round's overlap; the
  project is exported as Label Studio JSON to the target bucket through core (``export_to_target``) and the
  exported object, read back from moto, holds exactly the annotations stored (ids, task ids, authors,
  choices) -- among them every annotation the labelers submitted.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_s3 import put_objects, start_moto
from ws_client import Run, StreamlitClient

from core.cloud_storage import MODE_TASKS, SOURCE, TARGET, ConnectionSpec, add_connection, export_to_target, sync_connection
from core.projects import ProjectSettings, add_member, create_project
from core.sessions import COOKIE_NAME, start_session
from core.uow import UnitOfWork
from core.users import UserInfo, create_user
from storage.db import make_engine, session_factory

SOURCE_BUCKET = "quorum-load-in"
TARGET_BUCKET = "quorum-load-out"
SOURCE_PREFIX = "tasks/"
TARGET_PREFIX = "export/"
TASKS_PER_OBJECT = 100
IMPORTED = re.compile(r"([\d,]+) new objects?, ([\d,]+) tasks? imported")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOGGED_ERROR = re.compile(r"^(\w+(?:Error|Exception|Warning)): (.*)$")


def environment(endpoint: str) -> dict[str, str]:
    """What this process and every replica need to use the connections with the server's credentials."""
    allowed = os.environ.get("QUORUM_OUTBOUND_ALLOW", "")
    return {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "QUORUM_OUTBOUND_ALLOW": ",".join(filter(None, [allowed, "127.0.0.1"])),
        "QUORUM_S3_ALLOWED_BUCKETS": f"{SOURCE_BUCKET},{TARGET_BUCKET}",
        "QUORUM_S3_SERVER_ENDPOINT": endpoint,
        "QUORUM_SECRET_KEY": "quorum-load-bench-secret-box",  # one key for every replica
    }


@dataclass
class S3Setup:
    server: subprocess.Popen[bytes]
    endpoint: str
    env: dict[str, str]
    url: str  # the database
    text_project: int  # where the tasks put into the bucket are read from
    project_id: int = 0
    admin: UserInfo | None = None
    admin_token: str = ""
    source_id: int = 0
    target_id: int = 0
    put_texts: Counter[str] = field(default_factory=Counter)  # every task line put into the source bucket
    put_keys: dict[str, int] = field(default_factory=dict)  # object key -> its tasks
    next_row: int = 0  # the next task of the benchmark project to put into the bucket
    setup_sync: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> UserInfo:
        assert self.admin is not None, "prepare() first"
        return self.admin

    def stop(self) -> None:
        self.server.terminate()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait(timeout=10)


def start() -> S3Setup:
    """moto on loopback, and its environment in this process (``os.environ``: core reads it at each call)."""
    server, endpoint = start_moto()
    env = environment(endpoint)
    os.environ.update(env)
    return S3Setup(server=server, endpoint=endpoint, env=env, url="", text_project=0)


def _uow(url: str) -> tuple[Any, Any]:
    engine = make_engine(url)
    return engine, session_factory(engine)


def _texts(url: str, project_id: int, start: int, n: int) -> list[str]:
    """The texts of tasks ``start`` .. ``start + n`` (by id) of the benchmark project; made up past its end."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT data FROM tasks WHERE project_id = {int(project_id)} ORDER BY id LIMIT {int(n)} OFFSET {int(start)}"
        ).fetchall()
    engine.dispose()
    texts = [(json.loads(d) if isinstance(d, str) else d)["text"] for (d,) in rows]
    texts += [f"S3 task {start + i} of the labeling benchmark, past the project's end." for i in range(len(texts), n)]
    return texts


def _objects(setup: S3Setup, stem: str, n_objects: int) -> list[tuple[str, bytes]]:
    """``n_objects`` JSON-lines objects of the project's next tasks, recorded as put."""
    texts = _texts(setup.url, setup.text_project, setup.next_row, n_objects * TASKS_PER_OBJECT)
    setup.next_row += len(texts)
    objects = []
    for i in range(n_objects):
        chunk = texts[i * TASKS_PER_OBJECT:(i + 1) * TASKS_PER_OBJECT]
        key = f"{SOURCE_PREFIX}{stem}-{i:04d}.jsonl"
        objects.append((key, "\n".join(json.dumps({"text": t}) for t in chunk).encode()))
        setup.put_keys[key] = len(chunk)
        setup.put_texts.update(chunk)
    return objects


def put_more(setup: S3Setup, objects: list[tuple[str, bytes]]) -> None:
    """Objects into the (existing) source bucket."""
    import boto3

    client = boto3.client("s3", endpoint_url=setup.endpoint, region_name="us-east-1")
    for key, body in objects:
        client.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=body)


def prepare(setup: S3Setup, url: str, text_project: int, labelers: dict[str, int], *, overlap: int,
            n_tasks: int) -> None:
    """The buckets, the project "Load from S3" with its source and target connections (through core), the
    labelers as its annotators, and the first sync (through core): ``n_tasks`` tasks from the bucket."""
    from bench_labeling import CONFIG

    setup.url, setup.text_project = url, text_project
    n_objects = max(1, -(-n_tasks // TASKS_PER_OBJECT))
    put_objects(setup.endpoint, SOURCE_BUCKET, _objects(setup, "initial", n_objects))
    put_objects(setup.endpoint, TARGET_BUCKET, [])
    engine, make = _uow(url)
    try:
        with UnitOfWork(make) as uow:
            admin = create_user(uow, username="load-s3-admin", password=None, is_admin=True)
            project = create_project(uow, admin, title="Load from S3", config_xml=CONFIG,
                                     settings=ProjectSettings(overlap=overlap))
            for user_id in labelers.values():
                add_member(uow, admin, project_id=project.id, user_id=user_id, role="annotator")
            source = add_connection(uow, admin, project_id=project.id, direction=SOURCE, spec=ConnectionSpec(
                bucket=SOURCE_BUCKET, prefix=SOURCE_PREFIX, endpoint_url=setup.endpoint, mode=MODE_TASKS))
            target = add_connection(uow, admin, project_id=project.id, direction=TARGET, spec=ConnectionSpec(
                bucket=TARGET_BUCKET, prefix=TARGET_PREFIX, endpoint_url=setup.endpoint))
            setup.admin_token = start_session(uow, admin)
            uow.commit()
        setup.admin, setup.project_id, setup.source_id, setup.target_id = admin, project.id, source.id, target.id
        with UnitOfWork(make) as uow:
            summary = sync_connection(uow, admin, connection_id=source.id)
            uow.commit()
    finally:
        engine.dispose()
    setup.setup_sync = summary.as_dict()
    if summary.n_tasks != sum(setup.put_keys.values()):
        raise SystemExit(f"the first sync imported {summary.n_tasks} tasks, the bucket holds {sum(setup.put_keys.values())}")


# --- the replicas' Cloud storage page, as an administrator's tab ---------------------------------------------
class PageClient(StreamlitClient):
    """A tab that also reads the page's buttons and alerts (ws_client reads only components)."""

    def __init__(self, base_url: str, *, cookies: dict[str, str]) -> None:
        super().__init__(base_url, cookies=cookies)
        self.buttons: list[tuple[str, str]] = []  # (widget id, label)
        self.alerts: list[tuple[int, str]] = []  # (Alert.Format, body)

    async def run(self, **kwargs: Any) -> Run:
        self.buttons, self.alerts = [], []
        return await super().run(**kwargs)

    def _read_delta(self, fwd: Any, run: Run) -> None:  # type: ignore[override]
        StreamlitClient._read_delta(fwd, run)
        delta = fwd.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        which = element.WhichOneof("type")
        if which == "button":
            self.buttons.append((element.button.id, element.button.label))
        elif which == "alert":
            self.alerts.append((element.alert.format, element.alert.body))


@dataclass
class ReplicaSync:
    app_url: str
    seconds: float = 0.0
    n_tasks: int | None = None  # what its "Sync now" imported (from the page's message)
    outcome: str = ""


async def _open_storage_page(setup: S3Setup, app_url: str) -> tuple[PageClient, str]:
    client = PageClient(app_url, cookies={COOKIE_NAME: setup.admin_token})
    await client.connect()
    await client.run(page_name="cloud_storage", query_string=f"project={setup.project_id}")
    button = next((wid for wid, label in client.buttons
                   if label == "Sync now" and wid.endswith(f"sync_{setup.source_id}")), None)
    if button is None:
        raise RuntimeError(f"{app_url}: no 'Sync now' button for connection {setup.source_id} on the Cloud storage "
                           f"page (buttons: {[label for _, label in client.buttons]}, alerts: {client.alerts})")
    return client, button


async def _press_sync(setup: S3Setup, client: PageClient, button: str, result: ReplicaSync) -> None:
    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    pressed = WidgetState(id=button, trigger_value=True)
    started = time.perf_counter()
    run = await client.run(page_name="cloud_storage", query_string=f"project={setup.project_id}",
                           widget_states=[pressed])
    result.seconds = time.perf_counter() - started
    for fmt, body in client.alerts:
        found = IMPORTED.search(body)
        if fmt == Alert.SUCCESS and found:
            result.n_tasks = int(found.group(2).replace(",", ""))
            result.outcome = body.split(";")[0]
            return
        if fmt == Alert.ERROR:
            result.outcome = "refused: " + " ".join(body.split())[:300]
            return
    if run.exceptions:
        result.outcome = "exception: " + run.exceptions[0][:300]
    else:
        result.outcome = f"no message (alerts: {client.alerts[:3]})"


def logged_error(log_path: Path) -> str:
    """The last exception an app process logged (a user sees it redacted): "Type: first line of its message"."""
    try:
        lines = ANSI.sub("", log_path.read_text(errors="replace")).splitlines()
    except OSError:
        return "(no log)"
    found = [m for m in (LOGGED_ERROR.match(line.strip()) for line in lines) if m]
    return f"{found[-1].group(1)}: {found[-1].group(2)[:160]}" if found else "(nothing logged)"


async def sync_mid_round(setup: S3Setup, app_urls: list[str], *, at: float, n_objects: int, stem: str,
                         logs: dict[str, Path] | None = None) -> dict[str, Any]:
    """At ``at`` (time.monotonic()): put new objects, press "Sync now" on every replica at once, then sync
    through core once more. Returns what each did (an error page named by the replica's log, ``logs``)."""
    pages = [await _open_storage_page(setup, url) for url in app_urls]
    try:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        objects = _objects(setup, stem, n_objects)
        await asyncio.to_thread(put_more, setup, objects)
        replicas = [ReplicaSync(url) for url in app_urls]
        await asyncio.gather(*(_press_sync(setup, client, button, r) for (client, button), r in zip(pages, replicas)))
    finally:
        for client, _ in pages:
            await client.close()
    for r in replicas:
        if r.outcome.startswith("exception") and logs and r.app_url in logs:
            r.outcome = f"error page; its log: {logged_error(logs[r.app_url])}"
    after = await asyncio.to_thread(_core_sync, setup)
    return {
        "objects": len(objects), "tasks": len(objects) * TASKS_PER_OBJECT,
        "replicas": [r.__dict__ for r in replicas], "core_sync_after": after,
    }


def _core_sync(setup: S3Setup) -> dict[str, Any]:
    engine, make = _uow(setup.url)
    try:
        with UnitOfWork(make) as uow:
            summary = sync_connection(uow, setup.actor, connection_id=setup.source_id)
            uow.commit()
    finally:
        engine.dispose()
    return summary.as_dict()


# --- after the round -----------------------------------------------------------------------------------------
def _choice(result: Any) -> str | None:
    items = json.loads(result) if isinstance(result, str) else result
    try:
        return str(items[0]["value"]["choices"][0])
    except (IndexError, KeyError, TypeError):
        return None


def check(setup: S3Setup, *, overlap: int, submitted: list[tuple[int, int, str]]) -> dict[str, Any]:
    """The project's tasks against the bucket's, the connection's recorded objects, and an export to the
    target bucket against the stored annotations. ``submitted``: (user id, task id, choice) of the round."""
    import boto3

    problems: list[str] = []
    engine, make = _uow(setup.url)
    false = "false" if setup.url.startswith("postgresql") else "0"
    pid = int(setup.project_id)
    with engine.connect() as conn:
        tasks = conn.exec_driver_sql(f"SELECT id, data, overlap FROM tasks WHERE project_id = {pid}").fetchall()
        keys = dict(conn.exec_driver_sql(
            f"SELECT key, n_tasks FROM storage_objects WHERE connection_id = {int(setup.source_id)}").fetchall())
        stored = conn.exec_driver_sql(
            f"SELECT id, task_id, completed_by_id, result FROM annotations WHERE project_id = {pid} "
            f"AND was_cancelled = {false}").fetchall()
    texts = Counter((json.loads(d) if isinstance(d, str) else d)["text"] for _, d, _ in tasks)
    missing = setup.put_texts - texts
    extra = texts - setup.put_texts
    doubled = sum(n - 1 for n in texts.values() if n > 1)
    if missing:
        problems.append(f"{sum(missing.values())} task lines of the bucket are not in the project")
    if extra:
        problems.append(f"{sum(extra.values())} tasks of the project are not (or not that often) in the bucket "
                        f"({doubled} doubled)")
    if keys != setup.put_keys:
        problems.append(f"the connection recorded {len(keys)} objects ({sum(keys.values())} tasks), "
                        f"{len(setup.put_keys)} were put ({sum(setup.put_keys.values())} tasks)")
    off = sum(1 for _, _, o in tasks if o != overlap)
    if off:
        problems.append(f"{off} tasks do not have overlap {overlap}")

    with UnitOfWork(make) as uow:
        exported = export_to_target(uow, setup.actor, connection_id=setup.target_id, fmt="JSON")
    engine.dispose()
    client = boto3.client("s3", endpoint_url=setup.endpoint, region_name="us-east-1")
    out_tasks: list[dict[str, Any]] = []
    for key in exported.keys:
        out_tasks += json.loads(client.get_object(Bucket=TARGET_BUCKET, Key=key)["Body"].read())
    out_annotations = {(a["id"], t["id"], a["completed_by"], _choice(a["result"]))
                       for t in out_tasks for a in t.get("annotations", ()) if not a.get("was_cancelled")}
    db_annotations = {(int(i), int(t), int(u), _choice(r)) for i, t, u, r in stored}
    if len(out_tasks) != len(tasks) or {t["id"] for t in out_tasks} != {int(t) for t, _, _ in tasks}:
        problems.append(f"the export holds {len(out_tasks)} tasks, the project {len(tasks)} (or other ids)")
    if out_annotations != db_annotations:
        problems.append(f"the export holds {len(out_annotations)} annotations, {len(db_annotations)} are stored; "
                        f"{len(db_annotations - out_annotations)} stored ones are missing, "
                        f"{len(out_annotations - db_annotations)} exported ones are not stored")
    exported_by = {(u, t, c) for _, t, u, c in out_annotations}
    not_out = [s for s in submitted if s not in exported_by]
    if not_out:
        problems.append(f"{len(not_out)} annotations submitted this round are not in the export")
    return {
        "project_tasks": len(tasks), "bucket_tasks": sum(setup.put_texts.values()), "bucket_objects": len(setup.put_keys),
        "tasks_missing": sum(missing.values()), "tasks_doubled": doubled,
        "export_keys": list(exported.keys), "export_tasks": len(out_tasks),
        "export_annotations": len(out_annotations), "stored_annotations": len(db_annotations),
        "export_task_ids_with_annotations": len({t for _, t, _, _ in out_annotations}),
        "submitted_in_export": len(submitted) - len(not_out),
        "problems": problems, "ok": not problems,
    }
