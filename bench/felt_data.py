"""Datasets and the app process of bench/bench_felt.py: scratch SQLite databases built in bulk, users made
through core, ``streamlit run`` on a free loopback port, and the server's CPU time and memory from /proc.

Each database is built by bench/bench_labeling.py's ``build_dataset`` (tasks with explicit ids 1..N, so one
such project per database), then:

* ``text``: the 3-choice text project (overlap 2) of ``build_dataset``; with ``--manager`` scale it gets
  two more annotations per task by the 20 fresh annotators (choices varied, so agreement varies), overlap
  4 for the project and its tasks, consensus rows and review/done routing for the tasks with 4
  annotations (as bench/bench_browser.py's ``score_and_spread``): 100,000 tasks and 300,000 annotations,
  40 % completed (in review or done), 60 % still open for a labeler.
* ``image``: a boxes project (the demo's RectangleLabels config) with tasks on the demo photos
  (``/data/local-files/?d=demo/images/...``), imported through core.
* the benchmark's own users, with passwords, through ``core.users.create_user`` and ``add_member``.
"""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO_ROOT))

from bench_labeling import build_dataset  # noqa: E402
from sqlalchemy import text  # noqa: E402

from core.imports import import_tasks_file  # noqa: E402
from core.projects import ProjectSettings, add_member, create_project  # noqa: E402
from core.uow import UnitOfWork  # noqa: E402
from core.users import UserInfo, create_user  # noqa: E402
from storage.db import make_engine, session_factory, upgrade_to_head  # noqa: E402

PASSWORD = "felt-bench-password"
CHOICES = ("Positive", "Negative", "Neutral")  # keys 1, 2, 3 (Label Studio's automatic hotkeys)
TEXT_MARK = "of the labeling benchmark"  # every task text: "Task <id> of the labeling benchmark. ..."
IMAGE_CONFIG = (REPO_ROOT / "assets" / "demo" / "image-boxes" / "config.xml").read_text()
DEMO_IMAGES = sorted(p.name for p in (REPO_ROOT / "assets" / "demo" / "images").glob("*.jpg"))
SERVER_START_TIMEOUT_S = 90.0


@dataclass
class Dataset:
    """What a scratch database holds for the benchmark."""

    data_dir: Path
    url: str
    text_project: int
    n_tasks: int
    n_annotations: int
    image_project: int | None = None
    users: dict[str, int] = field(default_factory=dict)  # user name -> id
    build_s: float = 0.0


def _admin(make: Any, tag: str) -> UserInfo:
    with UnitOfWork(make) as uow:
        admin = create_user(uow, username=f"felt-admin-{tag}", password=None, is_admin=True)
        uow.commit()
    return admin


def add_users(make: Any, admin: UserInfo, project_id: int, names: list[str], role: str) -> dict[str, int]:
    """Users with the benchmark's password and ``role`` in the project (argon2: ~50 ms each)."""
    ids = {}
    with UnitOfWork(make) as uow:
        for name in names:
            user = create_user(uow, username=name, password=PASSWORD)
            add_member(uow, admin, project_id=project_id, user_id=user.id, role=role)
            ids[name] = user.id
        uow.commit()
    return ids


def _add_manager_scale(engine: Any, project_id: int, fresh: list[UserInfo], n_tasks: int) -> int:
    """Two more annotations per task by the fresh annotators, overlap 4, consensus and routing for the
    completed tasks; returns how many annotations were added."""
    first_fresh = fresh[0].id
    assert [u.id for u in fresh] == list(range(first_fresh, first_fresh + len(fresh)))
    n_fresh = len(fresh)
    # Two of three answers agree with the veterans' "Positive"; the rest say Negative or Neutral.
    choice = ("CASE WHEN (id + {k}) % 3 != 0 THEN 'Positive' "
              "WHEN (id / 3) % 2 = 0 THEN 'Negative' ELSE 'Neutral' END")
    result = ("'[{{\"from_name\": \"sentiment\", \"to_name\": \"text\", \"type\": \"choices\", "
              "\"value\": {{\"choices\": [\"' || " + choice + " || '\"]}}}}]'")
    is_pg = engine.dialect.name == "postgresql"
    as_json = (lambda sql: f"CAST({sql} AS JSONB)") if is_pg else (lambda sql: sql)
    with engine.begin() as conn:
        for k in (0, 1):
            conn.execute(text(
                "INSERT INTO annotations (task_id, project_id, completed_by_id, result, was_cancelled, ground_truth, "
                "lead_time_s, config_version, created_at, updated_at) "
                f"SELECT id, project_id, :first + (id + :k) % :n, {as_json(result.format(k=k))}, "
                f"{'false' if is_pg else '0'}, {'false' if is_pg else '0'}, 3.0 + (id % 7), 1, created_at, created_at "
                "FROM tasks WHERE project_id = :p"), {"first": first_fresh, "k": k, "n": n_fresh, "p": project_id})
        conn.execute(text("UPDATE projects SET overlap = 4, maximum_annotations = 4 WHERE id = :p"), {"p": project_id})
        conn.execute(text(
            "UPDATE tasks SET overlap = 4, n_annotations = n_annotations + 2, "
            "state = CASE WHEN n_annotations + 2 >= 4 THEN 'completed' ELSE 'open' END WHERE project_id = :p"),
            {"p": project_id})
        consensus = ("'[{\"from_name\": \"sentiment\", \"to_name\": \"text\", \"type\": \"choices\", "
                     "\"value\": {\"choices\": [\"Positive\"]}}]'")
        conn.execute(text(
            f"INSERT INTO consensus (task_id, result, method, agreement, n_annotations, updated_at) "
            f"SELECT id, {as_json(consensus)}, 'majority_vote', CASE WHEN id % 3 = 0 THEN 0.5 ELSE 1.0 END, 4, "
            "updated_at FROM tasks WHERE project_id = :p AND state = 'completed'"), {"p": project_id})
        conn.execute(text(
            "UPDATE tasks SET state = CASE WHEN id % 3 = 0 THEN 'review' ELSE 'done' END "
            "WHERE project_id = :p AND state = 'completed'"), {"p": project_id})
        conn.execute(text("ANALYZE"))
    return 2 * n_tasks


def _add_image_project(make: Any, admin: UserInfo, n_tasks: int) -> int:
    with UnitOfWork(make) as uow:
        project = create_project(uow, admin, title="Felt boxes", config_xml=IMAGE_CONFIG,
                                 settings=ProjectSettings(overlap=1))
        tasks = [{"image": f"/data/local-files/?d=demo/images/{DEMO_IMAGES[i % len(DEMO_IMAGES)]}", "n": i + 1}
                 for i in range(n_tasks)]
        import_tasks_file(uow, admin, project_id=project.id, stream=io.BytesIO(json.dumps(tasks).encode()),
                          filename="felt-images.json")
        uow.commit()
    return project.id


def build(data_dir: Path, n_tasks: int, n_annotations: int, *, manager_scale: bool = False,
          image_tasks: int = 0, labelers: list[str] = (), image_labelers: list[str] = (),
          managers: list[str] = (), url: str | None = None) -> Dataset:
    """A scratch database with the projects and users above: SQLite in ``data_dir`` (``quorum.db``), or the
    empty database at ``url`` (PostgreSQL)."""
    start = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = url or f"sqlite:///{data_dir / 'quorum.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    project_id, _veterans, fresh = build_dataset(engine, n_tasks, n_annotations)
    total = n_annotations
    if manager_scale:
        total += _add_manager_scale(engine, project_id, fresh, n_tasks)
    make = session_factory(engine)
    admin = _admin(make, data_dir.name[-6:])
    dataset = Dataset(data_dir=data_dir, url=url, text_project=project_id, n_tasks=n_tasks, n_annotations=total)
    dataset.users.update(add_users(make, admin, project_id, list(labelers), "annotator"))
    dataset.users.update(add_users(make, admin, project_id, list(managers), "manager"))
    if image_tasks:
        dataset.image_project = _add_image_project(make, admin, image_tasks)
        dataset.users.update(add_users(make, admin, dataset.image_project, list(image_labelers), "annotator"))
    engine.dispose()
    dataset.build_s = time.perf_counter() - start
    return dataset


# --- the app process ---------------------------------------------------------------------------------

def entry_script() -> str:
    """``serve.py`` (the st.App wrapper with HTTP routes) when the repo has it, else ``app.py``."""
    return "serve.py" if (REPO_ROOT / "serve.py").exists() else "app.py"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class AppProcess:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    started_at: float  # time.monotonic() just before Popen
    healthy_after_s: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_app(data_dir: Path, *, database_url: str | None = None,
              extra_env: dict[str, str] | None = None) -> AppProcess:
    """``streamlit run <entry>`` on a free 127.0.0.1 port with this data folder; waits for /_stcore/health."""
    port = free_port()
    log_path = data_dir / f"server-{port}.log"
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir), "QUORUM_NO_DEMO": "1", "PYTHONUNBUFFERED": "1",
           "QUORUM_WEBHOOK_RUNNER": "0", **(extra_env or {})}
    env.pop("QUORUM_DATABASE_URL", None)
    if database_url:
        env["QUORUM_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "streamlit", "run", entry_script(),
               "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    app = AppProcess(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path, started_at=started)
    deadline = started + SERVER_START_TIMEOUT_S
    while not healthy(app.url):
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{app.log_tail()}")
        if time.monotonic() > deadline:
            app.stop()
            raise RuntimeError(f"streamlit not healthy after {SERVER_START_TIMEOUT_S} s:\n{app.log_tail()}")
        time.sleep(0.02)
    app.healthy_after_s = time.monotonic() - started
    return app


# --- /proc -------------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (its own threads, not children), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "; field 3 (state) is fields[0]
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def browser_cpu_seconds(root: int | None = None) -> float:
    """utime + stime of the chromium processes under this process (the browsers the benchmark drives)."""
    root = root or os.getpid()
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
        if "chrom" in comm or "headless" in comm:
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def under_root(pid: int) -> bool:
        for _ in range(50):
            if pid == root:
                return True
            pid = parents.get(pid, 0)
            if pid <= 1:
                return False
        return False

    return sum(value for pid, value in cpu.items() if under_root(pid))


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MB: VmRSS and VmHWM of /proc/PID/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            values[key] = int(value.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)
