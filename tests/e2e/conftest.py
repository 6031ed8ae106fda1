"""Browser journeys: a real ``streamlit run serve.py`` per test module, driven by Debian's chromium.

Layout copied from Streamlit's own ``e2e_playwright`` suite (streamlit-notes.md section 6): a
module-scoped server on a free port with its own ``QUORUM_DATA_DIR`` (a fresh SQLite database, seeded
with the demo on the first session), polled on ``/_stcore/health``; one browser per test session and a
fresh context per test. Waiting is always on the app's run state or on an element, never a sleep.

Without ``/usr/bin/chromium`` the tests are skipped, unless ``QUORUM_REQUIRE_BROWSER=1`` (CI), which
turns that into a failure.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import RUN_COUNTER_JS, RUN_TIMEOUT_MS, AppServer

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "test-results"
CHROMIUM = Path(os.environ.get("QUORUM_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SERVER_START_TIMEOUT_S = 30.0
VIEWPORT = {"width": 1280, "height": 1400}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


SEED_SCRIPT = """
from core.bootstrap import make_uow_factory
from core.demo import seed_demo
seed_demo(make_uow_factory())
"""


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, seeded once per test session (argon2 hashes and four imports are slow);
    each module's server starts from its own copy."""
    data_dir = tmp_path_factory.mktemp("quorum-seed")
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir)}
    env.pop("QUORUM_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", SEED_SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"seeding the demo database failed:\n{done.stdout}\n{done.stderr}")
    return data_dir / "quorum.db"


@pytest.fixture(scope="module")
def app_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """``streamlit run serve.py`` (the pages and the HTTP routes) on a free port with a fresh data folder,
    for one test module.

    The folder holds a copy of the session's seeded demo database, unless the module sets
    ``FIRST_START = True``: then the folder is empty and the app seeds the demo itself on first use.
    """
    data_dir = tmp_path_factory.mktemp("quorum-data")
    if not getattr(request.module, "FIRST_START", False):
        shutil.copy(request.getfixturevalue("seeded_database"), data_dir / "quorum.db")
    port = _free_port()
    log_path = data_dir / "server.log"
    env = {**os.environ, "QUORUM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("QUORUM_DATABASE_URL", None)
    env.pop("QUORUM_NO_DEMO", None)
    command = [
        sys.executable, "-m", "streamlit", "run", "serve.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(url=f"http://127.0.0.1:{port}", data_dir=data_dir, log_path=log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        # Polling the health endpoint is waiting on the server's own readiness signal, as Streamlit's
        # e2e suite does; the short pause between polls is not a wait for the app under test.
        while not _healthy(server.url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {SERVER_START_TIMEOUT_S}s:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the browser ---------------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def chromium_present() -> None:
    """Skip the browser tests when chromium is missing (before any server starts), or fail with
    ``QUORUM_REQUIRE_BROWSER=1``: CI must run them, not skip them."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install it with `apt-get install -y chromium`"
        if os.environ.get("QUORUM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"QUORUM_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)


@pytest.fixture(scope="session")
def browser(chromium_present: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:150]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh browser context; a full-page screenshot lands in test-results/ at the end."""
    from playwright.sync_api import expect

    expect.set_options(timeout=RUN_TIMEOUT_MS)
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RUN_COUNTER_JS)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    yield page
    RESULTS_DIR.mkdir(exist_ok=True)
    call = getattr(request.node, "rep_call", None)
    outcome = "failed" if call is not None and call.failed else "end"
    try:
        page.screenshot(path=str(RESULTS_DIR / f"{_safe_name(request.node.name)}-{outcome}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Any:
    """``shot("03-submitted")`` saves a full-page screenshot of this step under test-results/<test>/."""
    folder = RESULTS_DIR / _safe_name(request.node.name)

    def take(step: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{_safe_name(step)}.png"
        page.screenshot(path=str(path))  # the 1280x1400 viewport holds the labeling page; cheaper
        return path

    return take


