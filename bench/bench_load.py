"""Many labelers at once on one (or two) app processes: submit -> next task under load, server CPU per item,
memory per signed-in labeler, and no annotation lost or doubled.

    python bench/bench_load.py [--labelers 20 50] [--seconds 60] [--pace 3] [--tasks 100000]
        [--apps 1] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--overlap 1]
        [--s3 | --no-s3] [--s3-tasks 2000] [--s3-mid-objects 3] [--json results.json]

Each simulated labeler is a browserless tab (bench/ws_client.py: Streamlit's own WebSocket protocol, the
messages a tab sends and receives) signed in by its session cookie on the Label page of a 3-choice text
project. Every ``--pace`` seconds (the starts staggered over one pace) it does what the page's components do
for a key press and a submit: the choice's draft call (``POST /api/labeling/draft``, as the buttons send it
250 ms after the key) and, after a glance (``--think-ms``), the submit bar's trigger with the whole answer.
Submit -> next is from sending the submit to receiving the next task's choice buttons (what the tab paints),
"+run" until the run finished. A browser's own rendering (about 10-20 ms on this machine, bench_felt.py) is
not in these figures.

``--apps 2`` starts two app processes on two ports over one database (PostgreSQL with ``--postgres``), the
labelers split between them (replicas behind a load balancer); ``--overlap 3`` sets the project's overlap
so that a task is handed out to three people: then no task may end with more than three annotations.

``--s3`` (on by default with ``--apps 2``; ``--no-s3`` turns it off) makes the replicas share one S3 store as
they share the database (bench/load_s3.py): moto's S3 server on loopback (bench/bench_s3.py's helpers), every
app process started with the same S3 environment (the server's credentials allowed for the two buckets at
moto's endpoint only: ``QUORUM_S3_ALLOWED_BUCKETS``, ``QUORUM_S3_SERVER_ENDPOINT``, ``QUORUM_OUTBOUND_ALLOW``,
one ``QUORUM_SECRET_KEY``); ``--s3-tasks`` of the project's tasks put into a bucket as JSON-lines objects and
synced through ``core.cloud_storage`` into a project "Load from S3" (same config, ``--overlap``, the labelers
its annotators), which the labelers of every round label. Mid-round ``--s3-mid-objects`` new objects go into
the bucket and an administrator's tab on *each* replica presses "Sync now" on the Cloud storage page at the
same moment (both app processes sync the one connection at once), then one more sync through core must find
nothing new. After the round: the project holds each task line of the bucket exactly once (none missing,
none doubled), every object recorded once, every task at its overlap; the project is exported as Label
Studio JSON to a target bucket through core and the object read back holds exactly the annotations stored
(ids, task ids, authors, choices), every one submitted in the round among them. With ``--s3`` the server's
CPU per item includes the mid-round sync and the administrator's two page runs.

After each round the database is read: every labeler's stored annotations are exactly those submitted (task
and choice), none lost, none doubled, and no task beyond its overlap. The server's CPU time per item is
utime+stime of the app processes over the round; memory is VmRSS once every labeler's tab is open and at the
end (the memory a replica needs per signed-in labeler). The load generator's own CPU is printed too: it
shares the 2 cores with the server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import felt_data as fd  # noqa: E402
import load_s3  # noqa: E402
from ws_client import Run, StreamlitClient  # noqa: E402

from core.sessions import COOKIE_NAME, start_session  # noqa: E402
from core.uow import UnitOfWork  # noqa: E402
from core.users import get_user  # noqa: E402
from storage.db import create_scratch_database, drop_scratch_database, make_engine, session_factory  # noqa: E402

DRAFT_DEBOUNCE_S = 0.25  # the choice buttons' draft call goes out this long after the key
KEYS = ("Positive", "Negative", "Neutral")


@dataclass
class Labeler:
    name: str
    user_id: int
    token: str
    app_url: str
    submitted: list[tuple[int, str]] = field(default_factory=list)  # (task id, choice)
    next_ms: list[float] = field(default_factory=list)
    run_ms: list[float] = field(default_factory=list)
    draft_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    open_ms: float = 0.0


@dataclass
class Screen:
    """What the Label page shows a labeler now: the task and its two components."""

    task_id: int
    choice: Any
    bar: Any

    @classmethod
    def of(cls, run: Run) -> Screen | None:
        choices, bars = run.named("choice_buttons"), run.named("submit_bar")
        if not choices or not bars:
            return None
        choice, bar = choices[-1], bars[-1]
        return cls(int(choice.data["task_id"]), choice, bar)


async def post_draft(http: httpx.AsyncClient, lab: Labeler, screen: Screen, item: dict[str, Any]) -> None:
    started = time.perf_counter()
    answer = await http.post(f"{lab.app_url}/api/labeling/draft", cookies={COOKIE_NAME: lab.token},
                             headers={"Origin": lab.app_url},
                             json={"task_id": screen.task_id, "names": [screen.choice.data["control"]],
                                   "items": [item]})
    lab.draft_ms.append((time.perf_counter() - started) * 1000)
    if answer.status_code != 200:
        lab.errors.append(f"draft HTTP {answer.status_code}: {answer.text[:120]}")


async def label(lab: Labeler, project_id: int, *, start_at: float, until: float, pace: float, think: float,
                http: httpx.AsyncClient, opened: asyncio.Barrier) -> None:
    """One labeler's loop: open the Label page, then one item per ``pace`` seconds until ``until``."""
    client = StreamlitClient(lab.app_url, cookies={COOKIE_NAME: lab.token})
    query = f"project={project_id}"
    try:
        await client.connect()
        started = time.perf_counter()
        run = await client.run(page_name="label", query_string=query)
        lab.open_ms = (time.perf_counter() - started) * 1000
        screen = Screen.of(run)
        await opened.wait()
        slot = start_at
        n = 0
        while screen is not None and slot < until:
            await asyncio.sleep(max(0.0, slot - time.monotonic()))
            value = KEYS[n % len(KEYS)]
            item = {**screen.choice.data["template"], "value": {"choices": [value]}}
            await asyncio.sleep(DRAFT_DEBOUNCE_S)
            await post_draft(http, lab, screen, item)
            await asyncio.sleep(max(0.0, think - DRAFT_DEBOUNCE_S))
            submit = {"seq": n + 1, "items": [item], "names": [screen.choice.data["control"]], "active_s": think}
            sent = time.perf_counter()
            run = await client.run(page_name="label", query_string=query, fragment_id=screen.bar.fragment_id,
                                   widget_states=[screen.bar.state({"armed": True}), screen.bar.trigger("submit", submit)])
            if run.exceptions:
                lab.errors.append(f"task {screen.task_id}: {run.exceptions[0][:200]}")
            following = Screen.of(run)
            if following is None or following.task_id == screen.task_id:
                lab.errors.append(f"task {screen.task_id}: no next task after the submit")
            else:
                lab.submitted.append((screen.task_id, value))
                arrived = next(c for c in run.named("choice_buttons") if int(c.data["task_id"]) == following.task_id)
                lab.next_ms.append((arrived.received_at - sent) * 1000)
                lab.run_ms.append((run.finished_at - sent) * 1000)
            screen = following
            n += 1
            slot += pace
    except Exception as exc:  # noqa: BLE001 - counted and reported, the other labelers go on
        lab.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        await client.close()


def tokens_for(url: str, users: dict[str, int]) -> dict[str, str]:
    """A session cookie per labeler, as signing in would give (core.sessions)."""
    engine = make_engine(url)
    make = session_factory(engine)
    with UnitOfWork(make) as uow:
        out = {name: start_session(uow, get_user(uow, uid)) for name, uid in users.items()}
        uow.commit()
    engine.dispose()
    return out


def set_overlap(url: str, project_id: int, overlap: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE projects SET maximum_annotations = {int(overlap)}, overlap = {int(overlap)} "
                             f"WHERE id = {int(project_id)}")
        conn.exec_driver_sql(f"UPDATE tasks SET overlap = {int(overlap)} WHERE project_id = {int(project_id)} "
                             f"AND state = 'open'")
    engine.dispose()


def last_annotation_id(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT max(id) FROM annotations").scalar()
    engine.dispose()
    return int(found or 0)


def check_stored(url: str, project_id: int, labelers: list[Labeler], overlap: int, after_id: int) -> list[str]:
    """Every labeler's annotations of this round (ids above ``after_id``) are exactly what it submitted; no
    task beyond its overlap."""
    engine = make_engine(url)
    false = "false" if url.startswith("postgresql") else "0"
    problems: list[str] = []
    with engine.connect() as conn:
        for lab in labelers:
            rows = conn.exec_driver_sql(
                f"SELECT task_id, result FROM annotations WHERE project_id = {int(project_id)} "
                f"AND completed_by_id = {int(lab.user_id)} AND was_cancelled = {false} AND id > {int(after_id)}"
            ).fetchall()
            stored = sorted((int(t), (json.loads(r) if isinstance(r, str) else r)[0]["value"]["choices"][0])
                            for t, r in rows)
            if stored != sorted(lab.submitted):
                problems.append(f"{lab.name}: stored {len(stored)} annotations, submitted {len(lab.submitted)}")
        over = conn.exec_driver_sql(
            f"SELECT task_id, count(*) FROM annotations WHERE project_id = {int(project_id)} "
            f"AND was_cancelled = {false} AND ground_truth = {false} GROUP BY task_id HAVING count(*) > {int(overlap)}"
        ).fetchall()
    engine.dispose()
    problems += [f"task {t} has {n} annotations, overlap {overlap}" for t, n in over]
    return problems


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


async def one_round(apps: list[fd.AppProcess], ds: fd.Dataset, names: list[str], args: argparse.Namespace,
                    s3: Any = None, round_no: int = 0) -> dict[str, Any]:
    """One round of ``names`` labelers; with ``s3`` (a load_s3.S3Setup) on its project of tasks from the
    bucket, with the mid-round sync on every replica and the S3 checks after."""
    project_id = s3.project_id if s3 is not None else ds.text_project
    tokens = tokens_for(ds.url, {n: ds.users[n] for n in names})
    before = last_annotation_id(ds.url)
    labelers = [Labeler(n, ds.users[n], tokens[n], apps[i % len(apps)].url) for i, n in enumerate(names)]
    opened = asyncio.Barrier(len(labelers) + 1)
    limits = httpx.Limits(max_connections=len(labelers) + 4)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        now = time.monotonic()
        first = now + 5.0 + len(labelers) * 0.05  # every tab open first (not measured as load)
        until = first + args.seconds
        tasks = [asyncio.create_task(label(lab, project_id, start_at=first + i * args.pace / len(labelers),
                                           until=until, pace=args.pace, think=args.think_ms / 1000, http=http,
                                           opened=opened))
                 for i, lab in enumerate(labelers)]
        mid = None
        if s3 is not None:  # new objects mid-round, "Sync now" pressed on every replica at once
            mid = asyncio.create_task(load_s3.sync_mid_round(
                s3, [a.url for a in apps], at=first + args.seconds / 2, n_objects=args.s3_mid_objects,
                stem=f"round{round_no}-mid", logs={a.url: a.log_path for a in apps}))
        await opened.wait()
        rss_open = sum(fd.memory_mb(a.pid)[0] for a in apps)
        cpu0 = sum(fd.cpu_seconds(a.pid) for a in apps)
        own0 = time.process_time()
        await asyncio.gather(*tasks)
        synced = await mid if mid is not None else None
        cpu = sum(fd.cpu_seconds(a.pid) for a in apps) - cpu0
        own = time.process_time() - own0
    items = sum(len(lab.submitted) for lab in labelers)
    nexts = [v for lab in labelers for v in lab.next_ms]
    runs = [v for lab in labelers for v in lab.run_ms]
    drafts = [v for lab in labelers for v in lab.draft_ms]
    errors = [f"{lab.name}: {e}" for lab in labelers for e in lab.errors]
    problems = check_stored(ds.url, project_id, labelers, args.overlap, before)
    rss_end = [fd.memory_mb(a.pid) for a in apps]
    s3_part: dict[str, Any] = {}
    if s3 is not None:
        checked = load_s3.check(s3, overlap=args.overlap, submitted=[
            (lab.user_id, t, c) for lab in labelers for t, c in lab.submitted])
        s3_part = {"s3": {
            "items_per_replica": [sum(len(lab.submitted) for lab in labelers if lab.app_url == a.url) for a in apps],
            "mid_round_sync": synced, **checked}}
    return {
        "labelers": len(labelers), "apps": len(apps), "seconds": args.seconds, "pace_s": args.pace,
        "items": items, "items_per_s": items / args.seconds, "offered_per_s": len(labelers) / args.pace,
        "submit_next_p50_ms": statistics.median(nexts) if nexts else None, "submit_next_p95_ms": pct(nexts, 0.95),
        "submit_run_p50_ms": statistics.median(runs) if runs else None, "submit_run_p95_ms": pct(runs, 0.95),
        "draft_p50_ms": statistics.median(drafts) if drafts else None, "draft_p95_ms": pct(drafts, 0.95),
        "open_p50_ms": statistics.median([lab.open_ms for lab in labelers]),
        "server_cpu_ms_per_item": cpu * 1000 / items if items else None, "server_cpu_cores": cpu / args.seconds,
        "generator_cpu_cores": own / args.seconds,
        "rss_open_mb": rss_open, "rss_end_mb": sum(r[0] for r in rss_end), "rss_peak_mb": sum(r[1] for r in rss_end),
        "errors": errors[:10], "n_errors": len(errors), "stored_problems": problems[:10],
        "stored_ok": not problems, **s3_part,
    }


def s3_report(r: dict[str, Any]) -> str:
    """What the S3 part of a round checked, in words."""
    s = r["s3"]
    mid = s["mid_round_sync"]
    after = mid["core_sync_after"]
    errors = sum(1 for x in mid["replicas"] if x["outcome"].startswith(("error page", "exception", "no message")))
    return "\n".join([
        f"S3, {r['labelers']} labelers: items per replica {' / '.join(map(str, s['items_per_replica']))}, all on tasks "
        f"synced from the bucket",
        f"  mid-round: {mid['objects']} objects ({mid['tasks']} tasks) put, 'Sync now' pressed on every replica at once:",
        *(f"    replica {x['app_url']}: {x['outcome']} ({x['seconds']:.2f} s)" for x in mid["replicas"]),
        f"    then a sync through core: {after['n_new']} new objects, {after['n_tasks']} tasks",
        f"  project: {s['project_tasks']:,} tasks = the bucket's {s['bucket_tasks']:,} task lines in "
        f"{s['bucket_objects']} objects ({s['tasks_missing']} missing, {s['tasks_doubled']} doubled)",
        f"  export to s3://{load_s3.TARGET_BUCKET}/{', '.join(s['export_keys'])}: {s['export_tasks']:,} tasks, "
        f"{s['export_annotations']:,} annotations on {s['export_task_ids_with_annotations']:,} tasks; stored "
        f"{s['stored_annotations']:,}; submitted this round and exported {s['submitted_in_export']:,}",
        f"  S3 checks: {'OK' if s['ok'] else s['problems']}" + (
            f"; {errors} replica(s) showed an error page instead of a result or a refusal" if errors else ""),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelers", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pace", type=float, default=3.0, help="seconds between two items of one labeler")
    parser.add_argument("--think-ms", type=float, default=400.0, help="key press -> submit")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--annotations", type=int, help="annotations already in the project (default: 0.4 per task)")
    parser.add_argument("--apps", type=int, default=1, help="app processes over the one database")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="a scratch PostgreSQL database instead of SQLite")
    parser.add_argument("--overlap", type=int, default=2, help="annotators per task (the dataset's is 2)")
    parser.add_argument("--s3", action=argparse.BooleanOptionalAction, default=None,
                        help="label tasks synced from a moto S3 bucket, sync mid-round on every replica, export to S3 "
                             "and check (default: on with --apps 2 or more)")
    parser.add_argument("--s3-tasks", type=int, default=2000, help="tasks put into the bucket before the first round")
    parser.add_argument("--s3-mid-objects", type=int, default=3,
                        help=f"objects of {load_s3.TASKS_PER_OBJECT} tasks put into the bucket mid-round")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.apps > 1 and not args.postgres:
        parser.error("--apps 2 needs --postgres (replicas share one database server)")
    if args.s3 is None:
        args.s3 = args.apps > 1

    work = Path(tempfile.mkdtemp(prefix="quorum-load-"))
    scratch = create_scratch_database(args.postgres, "quorum_load") if args.postgres else None
    names = [f"load-{i}" for i in range(max(args.labelers))]
    if args.annotations is None:
        args.annotations = args.tasks * 4 // 10
    ds = fd.build(work / "db", args.tasks, args.annotations, labelers=names, url=scratch[0] if scratch else None)
    if args.overlap != 2:
        set_overlap(ds.url, ds.text_project, args.overlap)
    print(f"built {ds.n_tasks:,} tasks, {len(names)} labelers in {ds.build_s:.1f} s ({'PostgreSQL' if scratch else 'SQLite'})",
          flush=True)
    results = []
    s3 = None
    try:
        if args.s3:
            s3 = load_s3.start()
            load_s3.prepare(s3, ds.url, ds.text_project, ds.users, overlap=args.overlap, n_tasks=args.s3_tasks)
            print(f"S3 (moto at {s3.endpoint}): {s3.setup_sync['n_tasks']:,} tasks of {s3.setup_sync['n_new']} objects "
                  f"synced through core into project {s3.project_id} in {s3.setup_sync['seconds']:.2f} s; every "
                  f"replica gets the same {', '.join(sorted(s3.env))}", flush=True)
        for round_no, n in enumerate(args.labelers, start=1):
            apps = [fd.start_app(work / f"app{i}", database_url=ds.url, extra_env=s3.env if s3 else None)
                    for i in range(args.apps)]
            try:
                result = asyncio.run(one_round(apps, ds, names[:n], args, s3, round_no))
            finally:
                for app in apps:
                    app.stop()
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        if s3:
            s3.stop()
        if scratch:
            drop_scratch_database(args.postgres, scratch[1])
    print()
    print(f"{'labelers':>8} {'apps':>4} {'items/s':>8} {'next p50':>9} {'next p95':>9} {'run p95':>8} "
          f"{'CPU/item':>9} {'server cores':>12} {'RSS open/end MB':>16} {'errors':>6} stored")
    for r in results:
        print(f"{r['labelers']:>8} {r['apps']:>4} {r['items_per_s']:>8.2f} {r['submit_next_p50_ms']:>7.1f}ms "
              f"{r['submit_next_p95_ms']:>7.1f}ms {r['submit_run_p95_ms']:>6.1f}ms {r['server_cpu_ms_per_item']:>7.1f}ms "
              f"{r['server_cpu_cores']:>12.2f} {r['rss_open_mb']:>7.0f}/{r['rss_end_mb']:<8.0f} {r['n_errors']:>6} "
              f"{'OK' if r['stored_ok'] else r['stored_problems']}")
    for r in results:
        if "s3" in r:
            print(s3_report(r))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
