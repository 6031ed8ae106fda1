"""PostgreSQL restarted while a labeler works (issue 11): the submit after a restart is stored with no error
shown; a submit while the database is away says so, keeps the answer on the page, and the next press stores it.

The app runs on a scratch PostgreSQL database of the machine's server (never restarted itself): a restart is
every backend of that database terminated; "away" is the database refusing connections for a while.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from storage.db import create_scratch_database, drop_scratch_database
from tests.conftest import DEFAULT_POSTGRES_URL
from tests.core.test_db_outage import Outage
from tests.e2e.conftest import REPO_ROOT, SEED_SCRIPT, SERVER_START_TIMEOUT_S, _free_port, _healthy
from tests.e2e.helpers import (
    AppServer,
    act,
    choice,
    chosen,
    progress_caption,
    sign_in,
    start_labeling,
    submit_button,
    wait_for_app_run,
)

PROJECT = "Product review sentiment"
USER, PASSWORD = "newcomer", "newcomer-demo"
DB_DOWN_TEXT = "The database did not answer"


class PgApp:
    def __init__(self, server: AppServer, url: str) -> None:
        self.server, self.url = server, url
        self.outage = Outage(url)
        self._engine = create_engine(url, pool_pre_ping=True)

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(text(sql), params).mappings())

    def held_task(self, username: str, project: str) -> int:
        return int(self.query(
            "SELECT l.task_id FROM task_locks l JOIN users u ON u.id = l.user_id JOIN projects p ON p.id = l.project_id "
            "WHERE u.username = :user AND p.title = :project ORDER BY l.id DESC", user=username, project=project,
        )[0]["task_id"])

    def annotations(self, username: str, task_id: int) -> list[Any]:
        return self.query("SELECT a.result FROM annotations a JOIN users u ON u.id = a.completed_by_id "
                          "WHERE u.username = :user AND a.task_id = :task", user=username, task=task_id)

    def close(self) -> None:
        self.outage.close()
        self._engine.dispose()


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgApp]:
    """``streamlit run serve.py`` on a scratch PostgreSQL database seeded with the demo."""
    admin_url = os.environ.get("QUORUM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        url, name = create_scratch_database(admin_url, "quorum_e2e_outage")
    except Exception as exc:  # noqa: BLE001 - no server here
        if os.environ.get("QUORUM_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {admin_url}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {admin_url}")
    data_dir = tmp_path_factory.mktemp("quorum-pg-data")
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir), "QUORUM_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    env.pop("QUORUM_NO_DEMO", None)
    process = None
    app = None
    try:
        seeded = subprocess.run([sys.executable, "-c", SEED_SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
        assert seeded.returncode == 0, f"seeding the demo on PostgreSQL failed:\n{seeded.stdout}\n{seeded.stderr}"
        port = _free_port()
        log_path = data_dir / "server.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
                 "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                 "--server.fileWatcherType", "none"],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        server = AppServer(url=f"http://127.0.0.1:{port}", data_dir=data_dir, log_path=log_path)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _healthy(server.url):  # the server's own readiness signal, as in tests/e2e/conftest.py
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{server.log_tail()}")
            time.sleep(0.1)
        app = PgApp(server, url)
        yield app
    finally:
        if app is not None:
            app.close()
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        drop_scratch_database(admin_url, name)


def _pick(page: Any) -> str:
    picked = next(c for c in ("Negative", "Neutral") if chosen(page, c).count() == 0)  # not the pre-label's
    choice(page, picked).click()
    expect(chosen(page, picked)).to_be_visible()
    return picked


def _no_error_shown(page: Any) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text(DB_DOWN_TEXT, exact=False).count() == 0


@pytest.mark.e2e
def test_a_submit_after_a_database_restart_is_stored_with_no_error_shown(pg_app, page, shot):
    sign_in(page, pg_app.server, USER, PASSWORD)
    start_labeling(page, PROJECT)
    task_id = pg_app.held_task(USER, PROJECT)
    picked = _pick(page)
    pg_app.outage.restart()  # every connection of the app is dead now
    shot("01-chosen-then-restart")
    act(page, lambda: submit_button(page).click())
    expect(progress_caption(page)).to_contain_text("You: 1 submitted")
    wait_for_app_run(page)
    shot("02-submitted-after-restart")
    _no_error_shown(page)
    rows = pg_app.annotations(USER, task_id)
    assert len(rows) == 1 and [i["value"]["choices"] for i in rows[0]["result"]] == [[picked]]


@pytest.mark.e2e
def test_a_submit_while_the_database_is_away_keeps_the_answer_and_the_next_press_stores_it_once(pg_app, page, shot):
    sign_in(page, pg_app.server, USER, PASSWORD)
    start_labeling(page, PROJECT)
    task_id = pg_app.held_task(USER, PROJECT)
    before = page.get_by_test_id("stProgress").inner_text()
    picked = _pick(page)
    with pg_app.outage.down():
        act(page, lambda: submit_button(page).click())
        expect(page.get_by_text(DB_DOWN_TEXT, exact=False).first).to_be_visible()
        shot("01-submit-while-down")
        assert page.get_by_test_id("stException").count() == 0
        expect(chosen(page, picked)).to_be_visible()  # the answer is still on the page
        expect(submit_button(page)).to_be_enabled()
    assert not pg_app.annotations(USER, task_id)
    act(page, lambda: submit_button(page).click())  # the second press, the database back
    expect(page.get_by_test_id("stProgress")).not_to_have_text(before)
    wait_for_app_run(page)
    shot("02-second-press")
    _no_error_shown(page)
    rows = pg_app.annotations(USER, task_id)
    assert len(rows) == 1 and [i["value"]["choices"] for i in rows[0]["result"]] == [[picked]]
