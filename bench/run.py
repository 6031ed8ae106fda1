"""One command for the headline figures, each beside Label Studio's on this machine, as JSON lines.

    python bench/run.py --quick [--json-out FILE]
    python bench/run.py [--postgres URL] [--json-out FILE]

Every line on stdout is one figure measured by this run::

    {"name": "submit_p50_ms", "value": 2.1, "unit": "ms", "label_studio": 41.0, "vs_label_studio": 19.5}

``label_studio`` is Label Studio 1.23.2's figure for the same operation (``LABEL_STUDIO`` below; null where it
has none) and ``vs_label_studio`` how many times better Quorum is (Label Studio's time / ours, or our rate /
Label Studio's: above 1 is better), null without a Label Studio figure. Progress goes to stderr.

``--quick`` (under two minutes on the 2-core machine), SQLite, in a temporary folder:

* ``import_tasks_per_s``, ``export_unannotated_tasks_per_s``: 100,000 text tasks from one JSON file, then
  exported as Label Studio JSON (``bench_import_export.run_child``: a fresh process and project);
* ``import_annotated_tasks_per_s``, ``export_tasks_per_s``: the same with every task annotated and predicted
  (the ``labeled`` variant), so the export compared with Label Studio's writes 100,000 annotations;
* ``next_task_p50/p95_ms``, ``submit_p50/p95_ms``: ``bench_labeling.bench_database`` on a 100,000-task project
  with 20,000 annotations, 50 rounds (one round = next_task + commit, then submit + commit) after 20 warm-up.

The full run (no ``--quick``) adds, on a scratch PostgreSQL database of ``--postgres``:

* ``postgres_1m_import_tasks_per_s``, ``postgres_1m_export_unannotated_tasks_per_s``: 1,000,000 tasks;
* ``postgres_1m_next_task_p50/p95_ms``, ``postgres_1m_submit_p50/p95_ms``: 1,000,000 tasks, 100,000
  annotations, 1,000 rounds;
* ``postgres_50_annotators_*``: ``bench/bench_load.py --labelers 50`` (50 browserless tabs on one app
  process over ``--load-tasks`` tasks, 100,000, for 60 s): submit -> next task median / p95, items/s, server
  CPU per item, errors and annotations lost or doubled (the run fails if any).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_import_export as bie  # noqa: E402
import bench_labeling as bl  # noqa: E402

# Label Studio 1.23.2 measured on this machine (issue 11, item 5; the same figures as LS_IMPORT_S / LS_EXPORT_S in
# bench_import_export.py and LS_NEXT_MS / LS_SUBMIT_MS in bench_labeling.py): import of 100,000 tasks 15.3 s,
# JSON export of 100,000 tasks 110.7 s, next task 97 ms median, submit 41 ms median. None: no figure given.
LS_TASKS = 100_000
LABEL_STUDIO: dict[str, float | None] = {
    "import_tasks_per_s": LS_TASKS / 15.3,  # 6,536 tasks/s
    "export_tasks_per_s": LS_TASKS / 110.7,  # 903 tasks/s
    "next_task_p50_ms": bl.LS_NEXT_MS[0],  # 97 ms; p95 173 ms (bench_labeling.py, same machine)
    "next_task_p95_ms": bl.LS_NEXT_MS[1],
    "submit_p50_ms": bl.LS_SUBMIT_MS[0],  # 41 ms; p95 73 ms
    "submit_p95_ms": bl.LS_SUBMIT_MS[1],
}
HIGHER_IS_BETTER = {"tasks/s", "items/s"}
DEFAULT_POSTGRES = bl.DEFAULT_POSTGRES


class Emitter:
    """Prints each figure as a JSON line as soon as it is measured (and writes it to ``--json-out``)."""

    def __init__(self, out: TextIO | None) -> None:
        self.out = out
        self.lines: list[dict[str, Any]] = []

    def __call__(self, name: str, value: float | int | None, unit: str, ls_key: str | None = None) -> None:
        """``ls_key``: the figure of ``LABEL_STUDIO`` this one compares with (None: no comparison)."""
        ls = LABEL_STUDIO[ls_key] if ls_key else None
        vs = None
        if ls is not None and value:
            vs = round(value / ls if unit in HIGHER_IS_BETTER else ls / value, 2)
        digits = 2 if unit == "ms" else 1
        line = {"name": name, "value": round(value, digits) if isinstance(value, float) else value, "unit": unit,
                "label_studio": round(ls, 1) if ls is not None else None, "vs_label_studio": vs}
        self.lines.append(line)
        text = json.dumps(line)
        print(text, flush=True)
        if self.out:
            self.out.write(text + "\n")
            self.out.flush()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- import / export (bench_import_export) ---------------------------------------------------------------

def import_export(emit: Emitter, folder: Path, url: str, n_tasks: int, prefix: str, *, variants: tuple[str, ...]
                  ) -> None:
    """One child run per variant (fresh process and project, ``run_child``): its import and export rates."""
    for variant in variants:
        task_file = folder / f"tasks-{variant}-{n_tasks}.json"
        start = time.perf_counter()
        bie.write_task_file(task_file, n_tasks, annotated=variant != "plain", every=bie.VARIANT_EVERY.get(variant, 1))
        log(f"wrote {n_tasks:,} {variant} tasks ({task_file.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - start:.1f} s")
        figures = bie.run_child(url, task_file, folder / "export.json")
        task_file.unlink()
        (folder / "export.json").unlink(missing_ok=True)
        assert figures["n_tasks"] == n_tasks, figures
        log(f"  {variant}: import {figures['import_s']:.2f} s, export {figures['export_s']:.2f} s, "
            f"peak RSS {figures['peak_rss_mb']:.0f} MB")
        if variant == "plain":
            emit(f"{prefix}import_tasks_per_s", n_tasks / figures["import_s"], "tasks/s", "import_tasks_per_s")
            emit(f"{prefix}export_unannotated_tasks_per_s", n_tasks / figures["export_s"], "tasks/s")
        else:
            emit(f"{prefix}import_annotated_tasks_per_s", n_tasks / figures["import_s"], "tasks/s")
            emit(f"{prefix}export_tasks_per_s", n_tasks / figures["export_s"], "tasks/s", "export_tasks_per_s")


# --- labeling loop (bench_labeling) ------------------------------------------------------------------------

def labeling(emit: Emitter, name: str, url: str, n_tasks: int, n_annotations: int, rounds: int, prefix: str) -> None:
    args = SimpleNamespace(tasks=n_tasks, annotations=n_annotations, iterations=rounds, repeat=1, profile=False)
    with contextlib.redirect_stdout(sys.stderr):
        result = bl.bench_database(name, url, args)
    figures = result["runs"][0]
    for call, key in (("next", "next_task"), ("submit", "submit")):
        median, p95 = figures[call]
        emit(f"{prefix}{key}_p50_ms", median, "ms", f"{key}_p50_ms")
        emit(f"{prefix}{key}_p95_ms", p95, "ms", f"{key}_p95_ms")


# --- many annotators at once (bench_load) ----------------------------------------------------------------

def load(emit: Emitter, folder: Path, admin_url: str, labelers: int, seconds: float, n_tasks: int) -> None:
    """``bench/bench_load.py`` in its own process (it starts the app server and its own scratch database)."""
    out = folder / "load.json"
    command = [sys.executable, str(Path(__file__).resolve().parent / "bench_load.py"), "--labelers", str(labelers),
               "--seconds", str(seconds), "--tasks", str(n_tasks), "--postgres", admin_url, "--json", str(out)]
    subprocess.run(command, stdout=sys.stderr, check=True)
    result = json.loads(out.read_text())[0]
    prefix = f"postgres_{labelers}_annotators_"
    emit(f"{prefix}submit_next_p50_ms", result["submit_next_p50_ms"], "ms")
    emit(f"{prefix}submit_next_p95_ms", result["submit_next_p95_ms"], "ms")
    emit(f"{prefix}items_per_s", result["items_per_s"], "items/s")
    emit(f"{prefix}server_cpu_ms_per_item", result["server_cpu_ms_per_item"], "ms")
    emit(f"{prefix}errors", result["n_errors"], "count")
    emit(f"{prefix}annotations_lost_or_doubled", len(result["stored_problems"]), "count")
    if result["n_errors"] or not result["stored_ok"]:
        raise SystemExit(f"bench_load: {result['errors'][:3]} {result['stored_problems'][:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="SQLite, 100,000 tasks only (under two minutes)")
    parser.add_argument("--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
                        help="admin URL of the PostgreSQL server for the full run's scratch databases")
    parser.add_argument("--json-out", type=Path, metavar="FILE", help="also write the JSON lines to FILE")
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks of the SQLite figures")
    parser.add_argument("--rounds", type=int, default=50, help="labeling rounds of the SQLite figures")
    parser.add_argument("--full-tasks", type=int, default=1_000_000, help="tasks of the PostgreSQL figures")
    parser.add_argument("--full-rounds", type=int, default=1000, help="labeling rounds of the PostgreSQL figures")
    parser.add_argument("--labelers", type=int, default=50, help="simulated annotators of the full run")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--load-tasks", type=int, default=100_000, help="tasks of the annotators' project")
    args = parser.parse_args()
    if args.tasks < 2 * bl.BLOCK * bl.N_VETERANS or args.full_tasks < 2 * bl.BLOCK * bl.N_VETERANS:
        parser.error(f"need at least {2 * bl.BLOCK * bl.N_VETERANS:,} tasks (bench_labeling's dataset)")

    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(args.json_out.open("w", encoding="utf-8")) if args.json_out else None
        emit = Emitter(out)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="quorum-bench-run-")))

        # SQLite, 100,000 tasks: the quick run
        import_export(emit, folder, bie.sqlite_url(folder), args.tasks, "", variants=("plain", "labeled"))
        annotations = max(args.tasks // 5, bl.BLOCK * bl.N_VETERANS)
        labeling(emit, "sqlite", f"sqlite:///{folder / 'labeling.db'}", args.tasks, annotations, args.rounds, "")

        if not args.quick:  # PostgreSQL, 1,000,000 tasks and many annotators at once
            prefix = f"postgres_{args.full_tasks // 1_000_000}m_" if args.full_tasks % 1_000_000 == 0 \
                else f"postgres_{args.full_tasks}_"
            url, name = bie.create_postgres(args.postgres)
            try:
                import_export(emit, folder, url, args.full_tasks, prefix, variants=("plain",))
            finally:
                bie.drop_postgres(args.postgres, name)
            url, name = bl.create_postgres(args.postgres)
            try:
                labeling(emit, "postgres", url, args.full_tasks, args.full_tasks // 10, args.full_rounds, prefix)
            finally:
                bl.drop_postgres(args.postgres, name)
            load(emit, folder, args.postgres, args.labelers, args.load_seconds, args.load_tasks)
    log(f"{len(emit.lines)} figures in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
