"""Benchmark of the labeling loop: ``next_task`` and ``submit_annotation`` on a project of N tasks.

    python bench/bench_labeling.py [--tasks 1000000] [--annotations 100000] [--iterations 2000]
                                   [--db sqlite|postgres|both] [--repeat 3] [--profile]

Each iteration is one annotator's round trip as the labeling page makes it: a unit of work that calls
``next_task`` and commits, then one that calls ``submit_annotation`` and commits; both are timed whole
(session, statements, commit), as Label Studio's figures are whole HTTP requests. Annotators take turns:
20 veterans (5,000 annotations each) and 20 fresh users. The script prints the median and p95 per call for
each of ``--repeat`` runs of ``--iterations`` rounds on the same dataset, the best and median of those, the
statements per call, and the ratio to Label Studio 1.23.2 on this machine (next task 97 ms median /
173 ms p95, submit 41 / 73 ms).

The dataset is built with bulk Core inserts, not through the import service (``build_dataset``): one
``INSERT ... SELECT`` over a generated series per table (``generate_series`` on PostgreSQL, a recursive CTE
on SQLite), then ANALYZE. The project has overlap 2 (two annotations per task); the annotations are
spread as a sequential hand-out with one fast annotator per block leaves them:

* tasks 1 .. 0.4 x A are completed (two annotations each, by two different veterans);
* the next 0.2 x A tasks are half done, in blocks of 1,000 consecutive tasks per veteran, so a veteran's
  next task lies after their own block (the hand-out has to pass up to 1,000 of their own tasks);
* the rest are untouched.

``--profile`` adds a cProfile of 200 rounds (top functions by own time) after the runs.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import (  # noqa: E402
    DateTime,
    Integer,
    Engine,
    String,
    case,
    cast,
    event,
    func,
    insert,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB  # noqa: E402

from core.labeling import next_task, submit_annotation  # noqa: E402
from core.projects import ProjectSettings, add_member, create_project  # noqa: E402
from core.uow import UnitOfWork  # noqa: E402
from core.users import UserInfo, create_user  # noqa: E402
from storage.db import (  # noqa: E402
    create_scratch_database,
    drop_scratch_database,
    make_engine,
    session_factory,
    upgrade_to_head,
)
from storage.models import Annotation, Task  # noqa: E402

LS_NEXT_MS = (97.0, 173.0)  # Label Studio 1.23.2, median and p95, this machine
LS_SUBMIT_MS = (41.0, 73.0)
TARGET_MS = (5.0, 20.0)
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
N_VETERANS = 20
N_FRESH = 20
BLOCK = 1000  # consecutive half-done tasks per veteran
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""
RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]
RESULT_JSON = json.dumps(RESULT)


def _series(engine: Engine, n: int, name: str) -> Any:
    """A one-column (``i``) selectable of 1..n: generate_series on PostgreSQL, a recursive CTE on SQLite."""
    if engine.dialect.name == "postgresql":
        return select(type_coerce(func.generate_series(1, n), Integer).label("i")).subquery(name)
    seed = select(literal(1).label("i")).cte(name, recursive=True)
    return seed.union_all(select((seed.c.i + 1).label("i")).where(seed.c.i < n))


def build_dataset(engine: Engine, n_tasks: int, n_annotations: int) -> tuple[int, list[UserInfo], list[UserInfo]]:
    """The project, its veterans and fresh annotators; tasks and annotations by INSERT ... SELECT."""
    make = session_factory(engine)
    tag = uuid.uuid4().hex[:6]
    with UnitOfWork(make) as uow:
        admin = create_user(uow, username=f"admin-{tag}", password=None, is_admin=True)
        project = create_project(uow, admin, title=f"labeling {tag}", config_xml=CONFIG,
                                 settings=ProjectSettings(overlap=2))
        veterans = [create_user(uow, username=f"veteran{i}-{tag}", password=None) for i in range(N_VETERANS)]
        fresh = [create_user(uow, username=f"fresh{i}-{tag}", password=None) for i in range(N_FRESH)]
        for user in veterans + fresh:
            add_member(uow, admin, project_id=project.id, user_id=user.id, role="annotator")
        uow.commit()
    first_veteran = veterans[0].id
    assert [v.id for v in veterans] == list(range(first_veteran, first_veteran + N_VETERANS))
    n_completed = int(n_annotations * 0.4)  # two annotations each
    n_half = n_annotations - 2 * n_completed  # one annotation each
    is_pg = engine.dialect.name == "postgresql"

    def as_json(value: Any) -> Any:
        return cast(value, JSONB) if is_pg else value

    now = literal(dt.datetime(2026, 1, 1), DateTime)
    series = _series(engine, n_tasks, "task_series")
    i = series.c.i
    data = literal('{"text": "Task ') + cast(i, String) + literal(
        ' of the labeling benchmark. The room was clean, the staff friendly, and breakfast fair for the price."}'
    )
    tasks = select(
        i, literal(project.id), as_json(data), as_json(literal("null")),
        case((i <= n_completed, "completed"), else_="open"), literal(2),
        case((i <= n_completed, 2), (i <= n_completed + n_half, 1), else_=0), literal(0), literal(False), now, now,
    )
    task_columns = ["id", "project_id", "data", "meta", "state", "overlap", "n_annotations", "n_locked",
                    "is_ground_truth", "created_at", "updated_at"]
    ann_columns = ["task_id", "project_id", "completed_by_id", "result", "was_cancelled", "ground_truth",
                   "lead_time_s", "config_version", "created_at", "updated_at"]

    def annotations(task_id: Any, user: Any) -> Any:
        return select(task_id, literal(project.id), user, as_json(literal(RESULT_JSON)), literal(False),
                      literal(False), literal(4.0), literal(1), now, now)

    first = _series(engine, n_completed, "first_series")
    second = _series(engine, n_completed, "second_series")
    half = _series(engine, n_half, "half_series")
    with engine.begin() as conn:
        conn.execute(insert(Task.__table__).from_select(task_columns, tasks))
        if is_pg:  # explicit ids: move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('tasks', 'id'), (SELECT max(id) FROM tasks))"))
        table = Annotation.__table__
        # completed tasks: veterans (i mod 20) and (i + 1 mod 20); half-done: one veteran per block of 1,000
        conn.execute(insert(table).from_select(
            ann_columns, annotations(first.c.i, literal(first_veteran) + first.c.i % N_VETERANS)))
        conn.execute(insert(table).from_select(
            ann_columns, annotations(second.c.i, literal(first_veteran) + (second.c.i + 1) % N_VETERANS)))
        conn.execute(insert(table).from_select(
            ann_columns,
            annotations(half.c.i + n_completed, literal(first_veteran) + ((half.c.i - 1) // BLOCK) % N_VETERANS),
        ))
        conn.execute(text("ANALYZE"))
    return project.id, veterans, fresh


# --- measuring -------------------------------------------------------------------------------------------

class StatementCounter:
    """Counts statements sent to the database (not transaction control) while ``active``."""

    def __init__(self, engine: Engine) -> None:
        self.active = False
        self.counts: Counter[str] = Counter()
        self.current = ""
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args: Any) -> None:
        if self.active:
            self.counts[self.current] += 1


def one_round(make: Any, user: UserInfo, project_id: int, counter: StatementCounter) -> tuple[float, float] | None:
    counter.current = "next"
    start = time.perf_counter()
    with UnitOfWork(make) as uow:
        task = next_task(uow, user, project_id=project_id)
        uow.commit()
    mid = time.perf_counter()
    if task is None:
        return None
    counter.current = "submit"
    with UnitOfWork(make) as uow:
        submit_annotation(uow, user, task_id=task.task_id, result=RESULT, lead_time_s=3.0)
        uow.commit()
    end = time.perf_counter()
    return (mid - start) * 1000, (end - mid) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(make: Any, project_id: int, users: list[UserInfo], veterans: set[int], iterations: int,
        counter: StatementCounter) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"next": [], "submit": [], "next_veteran": [], "next_fresh": []}
    for n in range(iterations):
        user = users[n % len(users)]
        got = one_round(make, user, project_id, counter)
        if got is None:
            continue
        times["next"].append(got[0])
        times["submit"].append(got[1])
        times["next_veteran" if user.id in veterans else "next_fresh"].append(got[0])
    return times


def profile_rounds(make: Any, project_id: int, users: list[UserInfo], counter: StatementCounter, n: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for k in range(n):
        one_round(make, users[k % len(users)], project_id, counter)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


def bench_database(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade_to_head(engine)
    start = time.perf_counter()
    project_id, veterans, fresh = build_dataset(engine, args.tasks, args.annotations)
    build_s = time.perf_counter() - start
    print(f"{name}: built {args.tasks:,} tasks and {args.annotations:,} annotations in {build_s:.1f} s", flush=True)
    make = session_factory(engine)
    counter = StatementCounter(engine)
    users = [u for pair in zip(veterans, fresh) for u in pair]
    veteran_ids = {v.id for v in veterans}
    for _ in range(20):  # warm-up: connections, compiled statements, config cache
        one_round(make, users[_ % len(users)], project_id, counter)
    runs = []
    for r in range(args.repeat):
        counter.counts.clear()
        counter.active = True
        times = run(make, project_id, users, veteran_ids, args.iterations, counter)
        counter.active = False
        rounds = len(times["next"])
        figures = {key: (statistics.median(v), percentile(v, 0.95)) for key, v in times.items() if v}
        figures["statements"] = {k: c / rounds for k, c in counter.counts.items()}
        runs.append(figures)
        print(f"  {name} run {r + 1}: next {figures['next'][0]:.2f} / {figures['next'][1]:.2f} ms, "
              f"submit {figures['submit'][0]:.2f} / {figures['submit'][1]:.2f} ms (median / p95), "
              f"veteran next {figures['next_veteran'][0]:.2f} / {figures['next_veteran'][1]:.2f}, "
              f"fresh next {figures['next_fresh'][0]:.2f} / {figures['next_fresh'][1]:.2f}; statements per call "
              + ", ".join(f"{k} {v:.1f}" for k, v in figures["statements"].items()), flush=True)
    profile = profile_rounds(make, project_id, users, counter, 200) if args.profile else ""
    engine.dispose()
    return {"db": name, "build_s": build_s, "runs": runs, "profile": profile}


def create_postgres(admin_url: str) -> tuple[str, str]:
    return create_scratch_database(admin_url, "bench_lab")


def drop_postgres(admin_url: str, name: str) -> None:
    drop_scratch_database(admin_url, name)


def _cell(runs: list[dict[str, Any]], key: str, which: int) -> str:
    values = sorted(r[key][which] for r in runs)
    return f"{values[0]:6.2f}/{statistics.median(values):6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--annotations", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile 200 extra rounds and print the top")
    parser.add_argument("--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    args = parser.parse_args()
    if args.annotations > args.tasks or BLOCK * N_VETERANS > args.annotations:
        parser.error(f"need tasks >= annotations >= {BLOCK * N_VETERANS}")
    results = []
    dbs = ("postgres", "sqlite") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:
        for db in dbs:
            if db == "postgres":
                url, name = create_postgres(args.postgres)
                try:
                    results.append(bench_database("postgres", url, args))
                finally:
                    drop_postgres(args.postgres, name)
            else:
                results.append(bench_database("sqlite", f"sqlite:///{Path(tmp) / 'labeling.db'}", args))
    print(f"\n{args.tasks:,} tasks, {args.annotations:,} annotations, {args.iterations:,} rounds x {args.repeat} runs; "
          "ms per call, best/median over runs of each run's median and p95")
    header = (f"{'db':8} {'call':16} {'median ms':>13} {'p95 ms':>13} {'x LS median':>11} {'x LS p95':>8} "
              f"{'statements':>10}")
    print(header)
    print("-" * len(header))
    for result in results:
        runs = result["runs"]
        for key, label, ls in (("next", "next_task", LS_NEXT_MS), ("next_veteran", "  by veterans", None),
                               ("next_fresh", "  by fresh users", None), ("submit", "submit", LS_SUBMIT_MS)):
            best_median = min(r[key][0] for r in runs)
            best_p95 = min(r[key][1] for r in runs)
            ratio = f"{ls[0] / best_median:11.1f} {ls[1] / best_p95:8.1f}" if ls else f"{'':11} {'':8}"
            statements = runs[-1]["statements"].get(key, 0.0) if key in ("next", "submit") else 0.0
            print(f"{result['db']:8} {label:16} {_cell(runs, key, 0)} {_cell(runs, key, 1)} {ratio} "
                  f"{statements if statements else '':>10}")
    print(f"x LS: Label Studio 1.23.2 (next {LS_NEXT_MS[0]:.0f}/{LS_NEXT_MS[1]:.0f} ms, submit "
          f"{LS_SUBMIT_MS[0]:.0f}/{LS_SUBMIT_MS[1]:.0f} ms median/p95) / our best. "
          f"Target: {TARGET_MS[0]:.0f} ms median, {TARGET_MS[1]:.0f} ms p95.")
    for result in results:
        if result["profile"]:
            print(f"\n--- {result['db']}: cProfile of 200 rounds ---\n{result['profile']}")


if __name__ == "__main__":
    main()
