"""Benchmark of the Quality page's data at a million annotations (issue 14 item 7).

    python bench/bench_quality.py [--tasks 333334] [--repeat 3] [--postgres URL]

Builds the labeling benchmark's 3-choice project (bench/felt_data.py ``build`` with the manager scale: three
annotations per task, consensus rows, 40 % finished), then prints, best of ``--repeat``:

* **first look** -- ``core.analytics.first_look``: what the page shows on a project never computed (volume
  and speed per annotator, read without the answers);
* **full figures** -- ``core.analytics.compute_project_analytics``: what the background worker of
  ``core.analytics_cache`` computes (the page shows the last figures meanwhile);
* **saved figures** -- a restarted process reading the last snapshot from its pickle
  (``AnalyticsCache.latest``), and a running one answering from memory (``AnalyticsCache.snapshot``).

The target: the page's data in under 1.5 s at 1,000,000 annotations. What the browser feels is measured by
``python bench/bench_felt.py --only manager --tasks 333334 --manager-tasks 333334``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from felt_data import build  # noqa: E402

from core.analytics import compute_project_analytics, first_look  # noqa: E402
from core.analytics_cache import AnalyticsCache  # noqa: E402
from core.uow import UnitOfWork  # noqa: E402
from core.users import UserInfo  # noqa: E402
from storage.db import create_scratch_database, drop_scratch_database, make_engine, session_factory  # noqa: E402


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def measure(url: str | None, args: argparse.Namespace, work: Path) -> None:
    n_tasks = args.tasks
    dataset = build(work / "db", n_tasks, n_tasks, manager_scale=True, url=url)
    print(f"{'PostgreSQL' if url else 'SQLite'}: {dataset.n_annotations:,} annotations on {n_tasks:,} tasks, "
          f"built in {dataset.build_s:.0f} s")
    make = session_factory(make_engine(dataset.url))
    admin = UserInfo(id=0, username="bench", email=None, display_name="bench", is_admin=True, is_active=True)

    def look() -> Any:
        with UnitOfWork(make) as uow:
            return first_look(uow, admin, project_id=dataset.text_project)

    def full() -> Any:
        with UnitOfWork(make) as uow:
            return compute_project_analytics(uow, project_id=dataset.text_project)

    took, quick = best_of(look, args.repeat)
    print(f"  first look (never computed)   {took:6.2f} s  ({quick.n_annotations:,} annotations, "
          f"{len(quick.annotators)} annotators)")
    took, data = best_of(full, max(1, args.repeat - 1))
    print(f"  full figures (background)     {took:6.2f} s  ({int(data.flags.shape[0])} flags)")
    folder = work / "cache"
    folder.mkdir()
    cache = AnalyticsCache(lambda: UnitOfWork(make), folder)
    with UnitOfWork(make) as uow:
        from storage.repositories.analytics import version
        current = version(uow.session, dataset.text_project)
    cache.request(dataset.text_project)
    snapshot = cache.wait_for(dataset.text_project, current, timeout_s=600)
    assert snapshot is not None

    def restarted() -> Any:
        return AnalyticsCache(lambda: UnitOfWork(make), folder).latest(dataset.text_project)

    took, saved = best_of(restarted, args.repeat)
    assert saved is not None and saved.analytics.n_annotations == data.n_annotations
    size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    print(f"  saved figures, restarted      {took:6.2f} s  ({size:.0f} MiB file)")
    took, _ = best_of(lambda: cache.snapshot(dataset.text_project, current), args.repeat)
    print(f"  saved figures, running        {took * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=333_334, help="tasks (three annotations each)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also on a scratch database of this server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure(None, args, Path(tmp) / "sqlite")
    if args.postgres:
        url, name = create_scratch_database(args.postgres, "quorum_bench_quality")
        try:
            with tempfile.TemporaryDirectory() as tmp:
                measure(url, args, Path(tmp) / "pg")
        finally:
            drop_scratch_database(args.postgres, name)


if __name__ == "__main__":
    main()
