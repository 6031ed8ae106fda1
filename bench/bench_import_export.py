"""Benchmark of bulk import and export: N text tasks from one JSON file, then all of them as Label Studio JSON.

    python bench/bench_import_export.py [--tasks 100000] [--db sqlite|postgres|both] [--repeat 3]
                                        [--variants plain,annotated]

Each measurement runs in a fresh child process (``--child``) against a fresh project, so the parent reads that
child's own peak RSS from ``os.wait4`` (the import and the export of one run share a process: the figure is
the larger of the two). Per variant and database the script prints the best and the median of ``--repeat``
runs and the ratio to Label Studio 1.23.2 on this machine (import 15.3 s, export 110.7 s for 100,000 tasks).

The file is ``[{"data": {"text": "..."}}, ...]`` with 100-200 characters of text per task; the ``annotated``
variant gives 10 % of the tasks one annotation (a Choices result by one of 5 authors) and one prediction, the
``labeled`` variant every task (issue 4's "100,000 annotated tasks").
SQLite databases live in a temporary folder; PostgreSQL databases (``bench_io_<random>``) are created on
``--postgres`` (default: postgres@127.0.0.1:5432) and dropped afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LS_IMPORT_S = 15.3  # Label Studio 1.23.2, 100,000 tasks, this machine
LS_EXPORT_S = 110.7
TARGET_S = 3.0
VARIANT_EVERY = {"annotated": 10, "labeled": 1}  # one task in N has an annotation and a prediction
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""
WORDS = (
    "the quick brown fox jumps over lazy dog service delivery was great terrible slow fast staff friendly "
    "room clean dirty price value would recommend never again hotel food tasty cold warm order arrived late "
    "early package damaged perfect support answered question refund request product quality excellent poor"
).split()
CHOICES = ("Positive", "Negative", "Neutral")


def review_text(rng: random.Random) -> str:
    """100-200 characters of review-like prose: sentences, commas, now and then a number or a price."""
    target = rng.randint(100, 200)
    sentences = []
    length = 0
    while length < target:
        words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), rng.choice((str(rng.randint(2, 30)), f"${rng.randint(20, 300)}.99")))
        if len(words) > 6:
            words[3] += ","
        sentence = " ".join(words).capitalize() + rng.choice(".!.?.")
        sentences.append(sentence)
        length += len(sentence) + 1
    return " ".join(sentences)[:target].rstrip()


def write_task_file(path: Path, n_tasks: int, *, annotated: bool, every: int = 10, seed: int = 7) -> None:
    """The import file, written as a stream (a million tasks is ~170 MB); with ``annotated``, one task in
    ``every`` has an annotation and a prediction."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for i in range(n_tasks):
            task: dict[str, object] = {"data": {"text": review_text(rng)}}
            if annotated and i % every == 0:
                choice = rng.choice(CHOICES)
                result = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                           "value": {"choices": [choice]}}]
                task["annotations"] = [{"result": result, "completed_by": 1 + i // 10 % 5, "lead_time": 4.2,
                                        "created_at": "2025-05-01T10:00:00.000000Z"}]
                task["predictions"] = [{"result": result, "model_version": "v1", "score": rng.random()}]
            out.write(json.dumps(task, ensure_ascii=False))
            out.write(",\n" if i < n_tasks - 1 else "\n")
        out.write("]\n")


# --- the child: one import and one export in a fresh project -------------------------------------------

def child(url: str, task_file: Path, out_file: Path) -> None:
    from core.exports import export_project
    from core.imports import import_tasks_file
    from core.projects import create_project
    from core.uow import UnitOfWork
    from core.users import create_user
    from storage.db import make_engine, session_factory

    engine = make_engine(url)
    make_uow = session_factory(engine)
    tag = uuid.uuid4().hex[:8]
    with UnitOfWork(make_uow) as uow:
        admin = create_user(uow, username=f"bench-{tag}", password=None, is_admin=True)
        project = create_project(uow, admin, title=f"bench {tag}", config_xml=CONFIG)
        uow.commit()
    start = time.perf_counter()
    with UnitOfWork(make_uow) as uow, task_file.open("rb") as stream:
        summary = import_tasks_file(uow, admin, project_id=project.id, stream=stream, filename=task_file.name)
        uow.commit()
    import_s = time.perf_counter() - start
    start = time.perf_counter()
    with UnitOfWork(make_uow) as uow:
        result = export_project(uow, admin, project_id=project.id, fmt="JSON", out=out_file)
    export_s = time.perf_counter() - start
    assert result.n_tasks == summary.n_tasks, (result.n_tasks, summary.n_tasks)
    engine.dispose()
    print(json.dumps({"import_s": import_s, "export_s": export_s, "n_tasks": summary.n_tasks,
                      "n_annotations": summary.n_annotations, "out_bytes": out_file.stat().st_size}))


def run_child(url: str, task_file: Path, out_file: Path) -> dict[str, float]:
    """One child run; its timings plus its own peak RSS in MB (``wait4``, not the children's maximum)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", url, str(task_file), str(out_file)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode})")
    figures = json.loads(output.strip().splitlines()[-1])
    figures["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return figures


# --- databases ---------------------------------------------------------------------------------------------

def sqlite_url(folder: Path) -> str:
    from storage.db import make_engine, upgrade_to_head

    url = f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    return url


def create_postgres(admin_url: str) -> tuple[str, str]:
    """A fresh PostgreSQL database for one run, migrated to head: (its URL, its name)."""
    from storage.db import create_scratch_database, make_engine, upgrade_to_head

    url, name = create_scratch_database(admin_url, "bench_io")
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    return url, name


def drop_postgres(admin_url: str, name: str) -> None:
    from storage.db import drop_scratch_database

    drop_scratch_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", default="plain,annotated", help="comma-separated: plain, annotated, labeled")
    parser.add_argument("--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--child", nargs=3, metavar=("URL", "TASK_FILE", "OUT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    scale = args.tasks / 100_000  # Label Studio's figures are for 100,000 tasks; compare per task
    rows = []
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:
        folder = Path(tmp)
        for variant in variants:
            task_file = folder / f"tasks-{variant}-{args.tasks}.json"
            write_task_file(task_file, args.tasks, annotated=variant != "plain", every=VARIANT_EVERY.get(variant, 1))
            size_mb = task_file.stat().st_size / 1e6
            for db in dbs:
                pg_name = None
                url, pg_name = create_postgres(args.postgres) if db == "postgres" else (sqlite_url(folder), None)
                try:
                    runs = []
                    for i in range(args.repeat):
                        figures = run_child(url, task_file, folder / "export.json")
                        runs.append(figures)
                        print(f"  {variant:9} {db:8} run {i + 1}: import {figures['import_s']:.2f} s, export "
                              f"{figures['export_s']:.2f} s, peak RSS {figures['peak_rss_mb']:.0f} MB", flush=True)
                finally:
                    if pg_name:
                        drop_postgres(args.postgres, pg_name)
                rows.append((variant, db, size_mb, runs))
    print(f"\n{args.tasks:,} tasks, best / median of {args.repeat} runs, each in a fresh process and project")
    header = (f"{'variant':9} {'db':8} {'file MB':>7} {'import s':>13} {'x LS':>6} {'export s':>13} {'x LS':>6} "
              f"{'peak RSS MB':>11}")
    print(header)
    print("-" * len(header))
    for variant, db, size_mb, runs in rows:
        imp = sorted(r["import_s"] for r in runs)
        exp = sorted(r["export_s"] for r in runs)
        rss = max(r["peak_rss_mb"] for r in runs)
        print(f"{variant:9} {db:8} {size_mb:7.0f} {imp[0]:6.2f}/{statistics.median(imp):6.2f} "
              f"{LS_IMPORT_S * scale / imp[0]:6.1f} {exp[0]:6.2f}/{statistics.median(exp):6.2f} "
              f"{LS_EXPORT_S * scale / exp[0]:6.1f} {rss:11.0f}")
    print(f"x LS: Label Studio 1.23.2's time (import {LS_IMPORT_S} s, export {LS_EXPORT_S} s per 100,000 tasks, "
          f"scaled to {args.tasks:,}) / our best. Target: under {TARGET_S:.0f} s each at 100,000 tasks.")


if __name__ == "__main__":
    main()
