"""Benchmark: the HTTP API's import (``POST /api/projects/{id}/import``) against the command line's, same tasks.

    python bench/bench_api_import.py [--tasks 100000] [--db sqlite|postgres|both] [--repeat 2] [--annotated]

Per database and run: a fresh database, a project, a personal token; ``cli.py import`` of the file (the time it
reports for the import itself) into one project and the same file POSTed to the API, served by uvicorn in its own
process as ``serve.py`` serves it, into another (the time from the first byte sent to the answer read, measured by
the client: the upload, the JSON parse and the import). Prints both, the ratio (the bar: 1.5) and the server's
peak RSS. The file is bench_import_export.py's (100-200 characters of review text per task).
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_import_export import (  # noqa: E402
    CONFIG,
    DEFAULT_POSTGRES,
    create_postgres,
    drop_postgres,
    sqlite_url,
    write_task_file,
)

ROOT = Path(__file__).resolve().parents[1]
BAR = 1.5


def serve(url: str, port: int) -> None:
    """The child: the API routes on loopback, on ``url``'s database (as serve.py mounts them)."""
    import uvicorn
    from starlette.applications import Starlette

    from api.rest.routes import routes
    from core.uow import UnitOfWork
    from storage.db import make_engine, session_factory

    engine = make_engine(url)
    from functools import partial

    factory = partial(UnitOfWork, session_factory(engine))
    uvicorn.run(Starlette(routes=routes(lambda: factory)), host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=env, capture_output=True, text=True,
                          check=False, input=stdin)
    if done.returncode != 0:
        raise RuntimeError(f"cli.py {' '.join(args)}: {done.stderr.strip()[-500:]}")
    return done.stdout


def one_run(url: str, task_file: Path, folder: Path) -> dict[str, float]:
    import httpx

    env = {**os.environ, "QUORUM_DATABASE_URL": url, "QUORUM_NO_DEMO": "1", "QUORUM_DATA_DIR": str(folder / "data")}
    config = folder / "config.xml"
    config.write_text(CONFIG)
    _cli(env, "users", "create", "bench", "--email", "bench@example.com", "--admin", "--password-stdin",
         stdin="a-long-bench-password\n")
    _cli(env, "project", "create", "By CLI", "--config", str(config))
    _cli(env, "project", "create", "By API", "--config", str(config))
    token = _cli(env, "tokens", "create", "bench", "--name", "bench").strip().splitlines()[-1]
    out = _cli(env, "import", "By CLI", str(task_file))
    cli_s = float(re.search(r"in ([0-9.]+) s", out).group(1))  # type: ignore[union-attr]
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)], env=env)
    try:
        headers = {"Authorization": f"Token {token}"}
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        projects = httpx.get(f"http://127.0.0.1:{port}/api/projects?title=By%20API", headers=headers).json()
        project_id = projects["results"][0]["id"]
        body = task_file.read_bytes()
        started = time.perf_counter()
        answer = httpx.post(f"http://127.0.0.1:{port}/api/projects/{project_id}/import", content=body,
                            headers={**headers, "Content-Type": "application/json"}, timeout=600)
        api_s = time.perf_counter() - started
        if answer.status_code != 201:
            raise RuntimeError(f"API import: {answer.status_code} {answer.text[:300]}")
        n = answer.json()["task_count"]
    finally:
        server.terminate()
        _, status, usage = os.wait4(server.pid, 0)
    export_s, export_rss, n_exported = _export(env, url, token, project_id)
    if n_exported != n:
        raise RuntimeError(f"the export has {n_exported} tasks, the import said {n}")
    return {"cli_s": cli_s, "api_s": api_s, "tasks": n, "server_rss_mb": usage.ru_maxrss / 1024,
            "export_s": export_s, "export_rss_mb": export_rss}


def _start(env: dict[str, str], url: str) -> tuple[subprocess.Popen[bytes], int]:
    import httpx

    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)], env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return server, port
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.1)


def _export(env: dict[str, str], url: str, token: str, project_id: int) -> tuple[float, float, int]:
    """The JSON export through the API in a server of its own (its peak RSS is the export's): (seconds, MB,
    tasks), the body read as a stream and counted, not held."""
    import httpx

    server, port = _start(env, url)
    try:
        started = time.perf_counter()
        size = 0
        with httpx.stream("GET", f"http://127.0.0.1:{port}/api/projects/{project_id}/export?exportType=JSON",
                          headers={"Authorization": f"Token {token}"}, timeout=600) as answer:
            tail = b""  # the last bytes of the previous chunk, shorter than the marker: a split marker still counts
            marker = b'"data":'
            for chunk in answer.iter_bytes():
                joined = tail + chunk
                size += joined.count(marker)
                tail = joined[-(len(marker) - 1):]
        seconds = time.perf_counter() - started
        if not tail.rstrip().endswith(b"]"):  # "]\n": the array's end
            raise RuntimeError("the export did not end as a JSON array")
    finally:
        server.terminate()
        _, _, usage = os.wait4(server.pid, 0)
    return seconds, usage.ru_maxrss / 1024, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--annotated", action="store_true", help="one task in 10 with an annotation and a prediction")
    parser.add_argument("--postgres", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        task_file = folder / "tasks.json"
        write_task_file(task_file, args.tasks, annotated=args.annotated)
        print(f"{args.tasks:,} tasks, {task_file.stat().st_size / 1e6:.1f} MB{' (annotated)' if args.annotated else ''}")
        for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
            runs = []
            for n in range(args.repeat):
                run_folder = folder / f"{db}-{n}"
                run_folder.mkdir()
                url, pg_name = create_postgres(args.postgres) if db == "postgres" else (sqlite_url(run_folder), None)
                try:
                    runs.append(one_run(url, task_file, run_folder))
                finally:
                    if pg_name:
                        drop_postgres(args.postgres, pg_name)
            cli = statistics.median(r["cli_s"] for r in runs)
            api = statistics.median(r["api_s"] for r in runs)
            rss = max(r["server_rss_mb"] for r in runs)
            export = statistics.median(r["export_s"] for r in runs)
            export_rss = max(r["export_rss_mb"] for r in runs)
            print(f"{db:9s} CLI import {cli:6.2f} s | API import {api:6.2f} s | API/CLI {api / cli:4.2f} "
                  f"(bar {BAR}) | API server peak RSS {rss:,.0f} MB | API JSON export {export:5.2f} s, server peak "
                  f"{export_rss:,.0f} MB | runs: "
                  + ", ".join(f"{r['cli_s']:.2f}/{r['api_s']:.2f}" for r in runs))


if __name__ == "__main__":
    main()
