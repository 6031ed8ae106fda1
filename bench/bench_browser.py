"""Benchmark of the data browser: fetching one page (50 rows) of a project of N tasks, by keys.

    python bench/bench_browser.py [--tasks 1000000] [--annotations 200000] [--repeat 30]
                                  [--db sqlite|postgres|both] [--explain]

Each fetch is what the page does on a rerun: a unit of work that calls ``core.browser.browse_tasks`` (the
permission check, the page query, the annotators of the rows), timed whole. The script prints median and p95
over ``--repeat`` fetches (after 3 warm-up fetches) per scenario.

The dataset is bench/bench_labeling.py's ``build_dataset`` (bulk INSERT ... SELECT: 1,000,000 tasks, two
annotations on 0.4 x A tasks by 20 veterans, one on 0.2 x A), then, by plain SQL, what a scored project has:

* every completed task gets a consensus row with an agreement of (id mod 5) / 4 (five values: many ties)
  and is routed: agreement 1.0 -> ``done``, the rest -> ``review``;
* ``updated_at`` is spread over one day ((id x 7919) mod 86,400 seconds: ~12 tasks share each second).

``--explain`` prints the query plan of each scenario's page query on PostgreSQL (EXPLAIN ANALYZE).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_labeling import DEFAULT_POSTGRES, RESULT_JSON, build_dataset, percentile  # noqa: E402
from sqlalchemy import Engine, event, text  # noqa: E402

from core.browser import (  # noqa: E402
    AGREEMENT_BELOW,
    SORT_AGREEMENT,
    SORT_N_ANNOTATIONS,
    SORT_UPDATED,
    BrowserFilter,
    PageKey,
    browse_tasks,
)
from core.uow import UnitOfWork  # noqa: E402
from core.users import UserInfo, create_user  # noqa: E402
from storage.db import (  # noqa: E402
    create_scratch_database,
    drop_scratch_database,
    make_engine,
    session_factory,
    upgrade_to_head,
)

WARM_UP = 3


def score_and_spread(engine: Engine, project_id: int) -> None:
    """Consensus rows for the completed tasks, their routing, and updated_at spread over a day."""
    is_pg = engine.dialect.name == "postgresql"
    result = "CAST(:result AS JSONB)" if is_pg else ":result"
    spread = ("updated_at + make_interval(secs => (CAST(id AS BIGINT) * 7919) % 86400)" if is_pg
              # SQLAlchemy's own text form of a DateTime on SQLite (microseconds), so keys compare right
              else "datetime(updated_at, '+' || ((id * 7919) % 86400) || ' seconds') || '.000000'")
    with engine.begin() as conn:
        conn.execute(text(
            f"INSERT INTO consensus (task_id, result, method, agreement, n_annotations, updated_at) "
            f"SELECT id, {result}, 'majority_vote', (id % 5) * 0.25, 2, updated_at FROM tasks "
            "WHERE project_id = :p AND state = 'completed'"), {"p": project_id, "result": RESULT_JSON})
        conn.execute(text(
            "UPDATE tasks SET state = CASE WHEN id % 5 = 4 THEN 'done' ELSE 'review' END "
            "WHERE project_id = :p AND state = 'completed'"), {"p": project_id})
        conn.execute(text(f"UPDATE tasks SET updated_at = {spread} WHERE project_id = :p"), {"p": project_id})
        conn.execute(text("ANALYZE"))


def scenarios(n_tasks: int, annotator_id: int) -> list[tuple[str, dict[str, Any]]]:
    deep = int(n_tasks * 0.9)
    return [
        ("first page (by id)", {}),
        ("deep page via keys (90 % in)", {"after": PageKey(deep, deep)}),
        ("first page, descending id", {"descending": True}),
        ("filter state = review", {"filters": BrowserFilter(states=("review",))}),
        ("filter state = open, 90 % in", {"filters": BrowserFilter(states=("open",)), "after": PageKey(deep, deep)}),
        ("filter annotator", {"filters": BrowserFilter(annotator_id=annotator_id)}),
        ("filter agreement below threshold", {"filters": BrowserFilter(agreement=AGREEMENT_BELOW)}),
        ("sort agreement (ascending)", {"sort": SORT_AGREEMENT}),
        ("sort agreement (descending)", {"sort": SORT_AGREEMENT, "descending": True}),
        ("sort agreement, deep page via keys", {"sort": SORT_AGREEMENT, "after": PageKey(0.5, deep // 2)}),
        ("sort annotations (descending)", {"sort": SORT_N_ANNOTATIONS, "descending": True}),
        ("sort last change (descending)", {"sort": SORT_UPDATED, "descending": True}),
        ("sort agreement + filter annotator", {"sort": SORT_AGREEMENT, "filters": BrowserFilter(annotator_id=annotator_id)}),
        ("filter text (scans the task data)", {"filters": BrowserFilter(text="Task 999999 of")}),
    ]


def fetch(make: Any, user: UserInfo, project_id: int, kwargs: dict[str, Any]) -> tuple[float, int]:
    start = time.perf_counter()
    with UnitOfWork(make) as uow:
        page = browse_tasks(uow, user, project_id=project_id, **kwargs)
    return (time.perf_counter() - start) * 1000, len(page.rows)


def explain_last_page_query(engine: Engine) -> Callable[[], str]:
    """Captures the page query (the first SELECT of tasks after the permission check) for EXPLAIN."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM tasks" in statement and "LIMIT" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)

    def explain() -> str:
        if not seen:
            return "(no page query seen)"
        statement, parameters = seen[-1]
        seen.clear()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN ANALYZE " + statement, parameters)
            return "\n".join(f"    {row[0]}" for row in cursor.fetchall())
        finally:
            raw.close()

    return explain


def bench_database(name: str, url: str, args: argparse.Namespace) -> list[tuple[str, float, float, int]]:
    engine = make_engine(url)
    upgrade_to_head(engine)
    start = time.perf_counter()
    project_id, veterans, _fresh = build_dataset(engine, args.tasks, args.annotations)
    score_and_spread(engine, project_id)
    print(f"{name}: built {args.tasks:,} tasks, {args.annotations:,} annotations in {time.perf_counter() - start:.0f} s",
          flush=True)
    make = session_factory(engine)
    with UnitOfWork(make) as uow:
        manager = create_user(uow, username=f"browser-admin-{project_id}", password=None, is_admin=True)
        uow.commit()
    explain = explain_last_page_query(engine) if args.explain and name == "postgres" else None
    out = []
    for label, kwargs in scenarios(args.tasks, veterans[0].id):
        repeat = max(3, args.repeat // 6) if "text" in label else args.repeat
        for _ in range(WARM_UP):
            fetch(make, manager, project_id, kwargs)
        times, rows = [], 0
        for _ in range(repeat):
            ms, rows = fetch(make, manager, project_id, kwargs)
            times.append(ms)
        median, p95 = statistics.median(times), percentile(times, 0.95)
        out.append((label, median, p95, rows))
        print(f"  {name:8} {label:42} {median:8.2f} {p95:8.2f} ms  ({rows} rows)", flush=True)
        if explain is not None:
            print(explain())
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--annotations", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each page query (PostgreSQL)")
    parser.add_argument("--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float, float, int]]] = {}
    dbs = ("postgres", "sqlite") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:
        for db in dbs:
            if db == "postgres":
                url, scratch = create_scratch_database(args.postgres, "bench_browser")
                try:
                    results[db] = bench_database(db, url, args)
                finally:
                    drop_scratch_database(args.postgres, scratch)
            else:
                results[db] = bench_database(db, f"sqlite:///{Path(tmp) / 'browser.db'}", args)
    print(f"\n{args.tasks:,} tasks, {args.annotations:,} annotations; one page of 50 rows, ms per fetch "
          f"(unit of work + browse_tasks), median / p95 of {args.repeat}")
    names = list(results)
    print(f"{'scenario':42} " + " ".join(f"{n:>17}" for n in names))
    for i, (label, *_rest) in enumerate(next(iter(results.values()))):
        cells = " ".join(f"{results[n][i][1]:7.2f} / {results[n][i][2]:7.2f}" for n in names)
        print(f"{label:42} {cells}")


if __name__ == "__main__":
    main()
