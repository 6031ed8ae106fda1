"""Benchmark of the Quality page's project overview (``core.project_analytics.project_overview``) at scale.

    python bench/bench_analytics_overview.py [--tasks 300000] [--annotations 1000000]
                                             [--db sqlite|postgres|both] [--repeat 3]

Builds one project with bulk Core inserts (``INSERT ... SELECT`` over a generated series, as
``bench_labeling.build_dataset``; no service in the loop), then times ``project_overview`` whole (session,
statements, pandas) ``--repeat`` times after one warm-up, two ways: reading every task's answers itself
(grouped by task and result text in the database), and given the label frames ``core.analytics`` already
built (``label_frames=``, what the Quality page passes); it checks both give the same per-label agreement
and prints the best and median in seconds and the slowest statements. The project (a single-choice sentiment control, three labels, 20 annotators)
is shaped like a real one 50 days in:

* ``--tasks`` tasks, created in two imports (day 0 and day 20); the first 80 % finished (a tenth of them
  ``completed``, the rest ``done``) spread over days 1-45, the next 10,000 in review, the rest open;
* ``--annotations`` annotations: 3 per task, 4 on the first ``annotations - 3 x tasks`` tasks, by annotators
  who are right 71-90 % of the time (each their own rate);
* a consensus (the true label, an agreement from 0 to 1) on every finished and review task, ground truth
  on every 100th task, two model versions predicting 70 % of the tasks (one pre-label accepted per task
  on half of them) and 2,000 review decisions.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import DateTime, Engine, case, cast, event, insert, literal, null, select, text  # noqa: E402
from sqlalchemy.dialects.postgresql import JSONB  # noqa: E402

import bench_labeling as bl  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from core.project_analytics import project_overview  # noqa: E402
from core.projects import ProjectSettings, add_member, create_project  # noqa: E402
from core.uow import UnitOfWork  # noqa: E402
from core.users import UserInfo, create_user  # noqa: E402
from storage.db import create_scratch_database, drop_scratch_database, make_engine, session_factory, upgrade_to_head  # noqa: E402
from storage.models import Annotation, Consensus, GroundTruth, Prediction, Review, Task  # noqa: E402

N_ANNOTATORS = 20
N_REVIEW = 10_000
N_REVIEWS = 2_000
FINISHED_SHARE = 0.8
PREDICTED_SHARE = 0.7
DAYS = 50
LABELS = ("Positive", "Negative", "Neutral")
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""


def choice_json(label: str) -> str:
    return json.dumps([{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}])


def build_dataset(engine: Engine, n_tasks: int, n_annotations: int) -> tuple[int, UserInfo, int]:
    """The project, its manager and the first annotator's id (the others follow); every row by INSERT ... SELECT."""
    if not 3 * n_tasks <= n_annotations <= 4 * n_tasks:
        raise ValueError("need 3 x tasks <= annotations <= 4 x tasks")
    make = session_factory(engine)
    tag = uuid.uuid4().hex[:6]
    with UnitOfWork(make) as uow:
        admin = create_user(uow, username=f"admin-{tag}", password=None, is_admin=True)
        manager = create_user(uow, username=f"manager-{tag}", password=None)
        project = create_project(uow, admin, title=f"overview {tag}", config_xml=CONFIG,
                                 settings=ProjectSettings(overlap=3))
        add_member(uow, admin, project_id=project.id, user_id=manager.id, role="manager")
        people = [create_user(uow, username=f"annotator{i}-{tag}", password=None) for i in range(N_ANNOTATORS)]
        for person in people:
            add_member(uow, admin, project_id=project.id, user_id=person.id, role="annotator")
        uow.commit()
    first_user = people[0].id
    assert [p.id for p in people] == list(range(first_user, first_user + N_ANNOTATORS))
    is_pg = engine.dialect.name == "postgresql"
    n_four = n_annotations - 3 * n_tasks  # tasks 1..n_four have a fourth annotation
    n_finished = int(n_tasks * FINISHED_SHARE)
    n_review_end = min(n_tasks, n_finished + N_REVIEW)
    n_predicted = int(n_tasks * PREDICTED_SHARE)
    base = dt.datetime.combine(dt.date.today() - dt.timedelta(days=DAYS), dt.time(9, 0))

    def as_json(value: Any) -> Any:
        return cast(value, JSONB) if is_pg else value

    def on_day(day: Any) -> Any:
        """A timestamp on ``day`` (an integer expression 0..DAYS) after ``base``: a CASE over literals, the
        same on both databases (no interval arithmetic)."""
        return case({d: literal(base + dt.timedelta(days=d, minutes=d), DateTime) for d in range(DAYS + 1)},
                    value=day)

    def label_json(index: Any) -> Any:
        return as_json(case({k: literal(choice_json(v)) for k, v in enumerate(LABELS)}, value=index))

    def task_day(i: Any) -> Any:
        """The day a task last changed: finished ones on days 1..45 in id order, review ones day 46, open 48."""
        return case((i <= n_finished, 1 + i * 44 // n_finished), (i <= n_review_end, 46), else_=48)

    truth = lambda i: i % 3  # noqa: E731 - the true label of task i
    series = bl._series(engine, n_tasks, "task_series")
    i = series.c.i
    created = case((i <= n_tasks // 2, literal(base, DateTime)), else_=on_day(literal(20)))
    tasks = select(
        i, literal(project.id), as_json(literal('{"text": "a review"}')), as_json(literal("null")),
        case((i <= n_finished, case((i % 10 == 0, "completed"), else_="done")), (i <= n_review_end, "review"),
             else_="open"),
        literal(3), case((i <= n_four, 4), else_=3), literal(0), literal(False), created, on_day(task_day(i)),
    )
    task_columns = ["id", "project_id", "data", "meta", "state", "overlap", "n_annotations", "n_locked",
                    "is_ground_truth", "created_at", "updated_at"]

    # Annotation j -> (task, k): four per task up to n_four, three after.
    ann = bl._series(engine, n_annotations, "annotation_series")
    j = ann.c.i - 1
    task_of = case((j < 4 * n_four, j // 4 + 1), else_=n_four + (j - 4 * n_four) // 3 + 1)
    k_of = case((j < 4 * n_four, j % 4), else_=(j - 4 * n_four) % 3)
    numbered = select(task_of.label("task"), k_of.label("k")).subquery("numbered")
    t, k = numbered.c.task, numbered.c.k
    who = (t * 7 + k * 3) % N_ANNOTATORS  # distinct for k = 0..3
    wrong = (t * 79 + who * 37) % 100 < 10 + who  # small factors: no 32-bit overflow at 300,000 tasks
    label = case((wrong, (truth(t) + 1 + t % 2) % 3), else_=truth(t))
    predicted_label = case((t <= n_predicted // 2, case((t % 5 == 0, (truth(t) + 1) % 3), else_=truth(t))),
                           else_=case((t % 10 == 0, (truth(t) + 2) % 3), else_=truth(t)))
    from_prediction = (k == 0) & (t <= n_predicted) & (t % 2 == 0)
    annotations = select(
        t, literal(project.id), literal(first_user) + who, label_json(label), literal(False), literal(False),
        literal(5.0) + who, literal(4.0) + who, case((from_prediction, t), else_=null()),
        case((from_prediction, label != predicted_label), else_=null()), literal(1), literal(False),
        on_day(task_day(t)), on_day(task_day(t)),
    )
    ann_columns = ["task_id", "project_id", "completed_by_id", "result", "was_cancelled", "ground_truth",
                   "lead_time_s", "active_time_s", "prediction_id", "prediction_changed", "config_version", "flagged",
                   "created_at", "updated_at"]

    pred_series = bl._series(engine, n_predicted, "prediction_series")
    p = pred_series.c.i
    predictions = select(
        p, p, case((p <= n_predicted // 2, "model-v1"), else_="model-v2"), literal(0.5) + (p % 50) / 100.0,
        label_json(case((p <= n_predicted // 2, case((p % 5 == 0, (truth(p) + 1) % 3), else_=truth(p))),
                        else_=case((p % 10 == 0, (truth(p) + 2) % 3), else_=truth(p)))),
        literal(base, DateTime),
    )
    scored_series = bl._series(engine, n_review_end, "scored_series")
    s = scored_series.c.i
    agreements = {0: 1.0, 1: 1.0, 2: 1.0, 3: 2 / 3, 4: 2 / 3, 5: 1 / 3, 6: 0.5}
    consensus = select(
        s, label_json(truth(s)), literal("majority_vote"), case(agreements, value=(s * 31) % 7),
        case((s <= n_four, 4), else_=3), on_day(task_day(s)),
    )
    gold_series = bl._series(engine, n_tasks // 100, "gold_series")
    g = gold_series.c.i * 100
    gold = select(g, label_json(truth(g)), literal("review"), literal(manager.id), on_day(task_day(g)))
    review_series = bl._series(engine, N_REVIEWS, "review_series")
    r = review_series.c.i * (n_finished // N_REVIEWS)
    reviews = select(r, literal(manager.id), literal("consensus"), literal(""), label_json(truth(r)),
                     literal(30.0), on_day(task_day(r)))
    with engine.begin() as conn:
        conn.execute(insert(Task.__table__).from_select(task_columns, tasks))
        conn.execute(insert(Prediction.__table__).from_select(
            ["id", "task_id", "model_version", "score", "result", "created_at"], predictions))
        conn.execute(insert(Annotation.__table__).from_select(ann_columns, annotations))
        conn.execute(insert(Consensus.__table__).from_select(
            ["task_id", "result", "method", "agreement", "n_annotations", "updated_at"], consensus))
        conn.execute(insert(GroundTruth.__table__).from_select(
            ["task_id", "result", "source", "created_by_id", "created_at"], gold))
        conn.execute(insert(Review.__table__).from_select(
            ["task_id", "reviewer_id", "verdict", "comment", "fixed_result", "time_s", "created_at"], reviews))
        if is_pg:  # explicit ids: move the sequences past them
            for table in ("tasks", "predictions"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    return project.id, manager, first_user


def label_frames(n_tasks: int, n_annotations: int, first_user: int) -> dict[str, pd.DataFrame]:
    """The long label frame core.analytics would hand over for this dataset (``ProjectAnalytics.label_frames``),
    made with the same formulas as the annotations' INSERT, in numpy."""
    n_four = n_annotations - 3 * n_tasks
    task = np.concatenate([np.repeat(np.arange(1, n_four + 1), 4), np.repeat(np.arange(n_four + 1, n_tasks + 1), 3)])
    k = np.concatenate([np.tile(np.arange(4), n_four), np.tile(np.arange(3), n_tasks - n_four)])
    who = (task * 7 + k * 3) % N_ANNOTATORS
    wrong = (task * 79 + who * 37) % 100 < 10 + who
    label = np.where(wrong, (task % 3 + 1 + task % 2) % 3, task % 3)
    return {"sentiment": pd.DataFrame({"task": task, "annotator": first_user + who,
                                       "label": np.asarray(LABELS, dtype=object)[label]})}


class StatementTimer:
    """Seconds per statement (the first 60 characters of its SQL) while ``active``."""

    def __init__(self, engine: Engine) -> None:
        self.active = False
        self.times: list[tuple[str, float]] = []
        self._start: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self._start[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.active:
            self.times.append((" ".join(statement.split())[:60], time.perf_counter() - self._start.pop(id(cursor), 0.0)))


def timed(make: Any, manager: UserInfo, project_id: int, timer: StatementTimer, name: str, label: str,
          repeat: int, **kwargs: Any) -> tuple[list[float], Any]:
    """``repeat`` timed calls of project_overview after a warm-up; prints each and the slowest statements."""
    runs, overview = [], None
    for r in range(repeat + 1):  # the first is a warm-up (caches, connections)
        timer.times.clear()
        timer.active = True
        start = time.perf_counter()
        with UnitOfWork(make) as uow:
            overview = project_overview(uow, manager, project_id=project_id, **kwargs)
        seconds = time.perf_counter() - start
        timer.active = False
        if r:
            runs.append(seconds)
        print(f"  {name} {label} {'warm-up' if not r else f'run {r}'}: {seconds:.3f} s "
              f"({sum(t for _, t in timer.times):.3f} s in {len(timer.times)} statements)", flush=True)
    for sql, seconds in sorted(timer.times, key=lambda x: -x[1])[:4]:
        print(f"    {seconds * 1000:8.1f} ms  {sql}")
    return runs, overview


def bench_database(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade_to_head(engine)
    start = time.perf_counter()
    project_id, manager, first_user = build_dataset(engine, args.tasks, args.annotations)
    print(f"{name}: built {args.tasks:,} tasks and {args.annotations:,} annotations in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    make = session_factory(engine)
    timer = StatementTimer(engine)
    read, overview = timed(make, manager, project_id, timer, name, "(reading the answers)", args.repeat)
    frames = label_frames(args.tasks, args.annotations, first_user)
    given, same = timed(make, manager, project_id, timer, name, "(core.analytics' label frames)", args.repeat,
                        label_frames=frames)
    pd.testing.assert_frame_equal(same.label_agreement, overview.label_agreement)  # the two paths agree
    print(f"  {name}: {overview.n_tasks:,} tasks, {overview.n_finished:,} finished, pace "
          f"{overview.pace_per_day or 0:,.0f}/day, finish {overview.estimated_finish}; "
          f"{len(overview.label_agreement)} label rows, {len(overview.predictions)} model versions, "
          f"{overview.n_waiting_review:,} waiting for review", flush=True)
    engine.dispose()
    return {"db": name, "read": (min(read), statistics.median(read)), "frames": (min(given), statistics.median(given))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=300_000)
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", bl.DEFAULT_POSTGRES))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:
        for db in (("postgres", "sqlite") if args.db == "both" else (args.db,)):
            if db == "postgres":
                url, name = create_scratch_database(args.postgres, "bench_overview")
                try:
                    results.append(bench_database("postgres", url, args))
                finally:
                    drop_scratch_database(args.postgres, name)
            else:
                results.append(bench_database("sqlite", f"sqlite:///{Path(tmp) / 'overview.db'}", args))
    print(f"\nproject_overview, {args.tasks:,} tasks, {args.annotations:,} annotations, seconds (best / median of "
          f"{args.repeat}):")
    for res in results:
        print(f"  {res['db']:8} reading the answers {res['read'][0]:.3f} / {res['read'][1]:.3f}; "
              f"with core.analytics' label frames {res['frames'][0]:.3f} / {res['frames'][1]:.3f}")


if __name__ == "__main__":
    main()
