"""Helpers for the browser journeys: the running app, waiting on its run state, finding widgets.

Widgets are found by Streamlit test id plus their label (STYLE.md, tests); every wait is on the app's
script-run state or on an element, never a sleep.
"""
from __future__ import annotations

import json
import os
import re
import time
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

# The first session seeds the demo database (argon2 hashes, four imports): several seconds.
FIRST_LOAD_TIMEOUT_MS = 45_000
RUN_TIMEOUT_MS = 20_000

# Counts finished script runs: a run has finished when stApp's data-test-script-state turns to
# "notRunning" after having been anything else. Installed before any page script, so no run is missed.
RUN_COUNTER_JS = """
(() => {
  // Counts finished script runs (whole page or fragment). A fast run can flip the state to running and back
  // before the observer is called, so the states are read from the mutation records, not only from the DOM.
  window.__quorumRuns = 0;
  let last = null;
  const STATE = 'data-test-script-state';
  const step = (state) => {
    if (state !== last) {
      if (state === 'notRunning' && last !== null) window.__quorumRuns += 1;
      last = state;
    }
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'attributes' && record.attributeName === STATE && record.oldValue !== null) step(record.oldValue);
    }
    const app = document.querySelector('[data-testid="stApp"]');
    step(app ? app.getAttribute(STATE) : null);
  }).observe(document, {subtree: true, childList: true, attributes: true, attributeOldValue: true,
                        attributeFilter: [STATE]});
})();
"""


# --- the app under test ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppServer:
    url: str
    data_dir: Path
    log_path: Path

    @property
    def db_path(self) -> Path:
        return self.data_dir / "quorum.db"

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows from the app's SQLite database (read-only, so the running app is never blocked)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def user_id(self, username: str) -> int:
        return int(self.query("SELECT id FROM users WHERE username = ?", (username,))[0]["id"])

    def project_id(self, title: str) -> int:
        return int(self.query("SELECT id FROM projects WHERE title = ?", (title,))[0]["id"])

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"


# --- waiting on the app --------------------------------------------------------------------------

IDLE_AS_DONE_MS = 1500


def finished_runs(page: Any) -> int:
    return int(page.evaluate("window.__quorumRuns || 0"))


def wait_for_app_run(page: Any, *, after: int | None = None, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until the script is not running (and, with ``after``, until a run newer than that count
    finished): Streamlit's ``data-test-script-state`` on stApp, as its own ``wait_for_app_run`` does.

    A fragment run can be so short that React paints only its end, leaving no trace in the DOM; so, with
    ``after``, an app that stays idle for IDLE_AS_DONE_MS without a counted run is taken as done too."""
    page.evaluate("window.__quorumIdleFrom = null")
    page.wait_for_function(
        """([after, quietMs]) => {
          const app = document.querySelector('[data-testid="stApp"]');
          const idle = !!app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
            && app.getAttribute('data-test-script-state') === 'notRunning';
          if (after === null || (window.__quorumRuns || 0) > after) return idle;
          if (!idle) { window.__quorumIdleFrom = null; return false; }
          if (window.__quorumIdleFrom === null) window.__quorumIdleFrom = performance.now();
          return performance.now() - window.__quorumIdleFrom > quietMs;
        }""",
        arg=[after, IDLE_AS_DONE_MS],
        timeout=timeout_ms,
    )


def act(page: Any, action: Any) -> None:
    """Do ``action()`` (a click, a key press ...) and wait for the script run it causes to finish."""
    before = finished_runs(page)
    action()
    wait_for_app_run(page, after=before)


def open_app(page: Any, server: AppServer) -> None:
    page.goto(server.url)
    wait_for_app_run(page, timeout_ms=FIRST_LOAD_TIMEOUT_MS)


def sign_in(page: Any, server: AppServer, user: str, password: str, *, go: bool = True) -> None:
    """Sign in on the sign-in page (opened first unless ``go=False``) and wait for the menu."""
    if go:
        open_app(page, server)
    form = page.get_by_test_id("stForm")
    expect(form).to_be_visible(timeout=FIRST_LOAD_TIMEOUT_MS)
    wait_for_app_run(page)
    dialog = page.get_by_test_id("stDialog")
    if dialog.is_visible():  # "Page not found": a signed-out session opened a page URL (e.g. a reload)
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_be_hidden()
    form.get_by_role("textbox", name="User name or e-mail").fill(user)
    form.get_by_role("textbox", name="Password").fill(password)
    act(page, lambda: form.get_by_role("button", name="Sign in").click())
    expect(page.get_by_test_id("stSidebarNav").get_by_text("My projects", exact=True)).to_be_visible()
    wait_for_app_run(page)


def nav_titles(page: Any) -> list[str]:
    """The page titles in the sidebar menu, in order (each link's last line; the first is its icon)."""
    links = page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink")
    return [text.strip().splitlines()[-1].strip() for text in links.all_inner_texts()]


def start_labeling(page: Any, project_title: str) -> None:
    """On the home page, press the project's Start labeling and wait for the labeling page."""
    row = page.get_by_test_id("stHorizontalBlock").filter(has=page.get_by_role("heading", name=project_title))
    act(page, lambda: row.get_by_role("button", name="Start labeling").click())
    expect(page.get_by_test_id("stMain").get_by_role("heading", name=project_title, level=3).first).to_be_visible()
    expect(submit_button(page)).to_be_visible()
    wait_for_app_run(page)


def submit_button(page: Any) -> Any:
    """The labeling page's Submit (or Update) button: the submit bar component (browser_answers.py)."""
    return page.locator("button.qs-submit")


def choice(page: Any, value: str) -> Any:
    """A choice of the labeling page's Choices component, by its value (DOM contract of browser_answers.py)."""
    return page.locator(f'button.qc-option[data-value="{value}"]')


def chosen(page: Any, value: str) -> Any:
    """That choice while it is shown selected."""
    return page.locator(f'button.qc-option[data-value="{value}"][aria-pressed="true"]')


def wait_for_rows(server: AppServer, sql: str, params: tuple[Any, ...], done: Any, *, timeout_s: float = 10.0) -> list[Any]:
    """Poll the database until ``done(rows)``: writes the browser sends without a rerun (draft calls) have
    no script run to wait on. Fails with the last rows seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = server.query(sql, params)
        if done(rows) or time.monotonic() > deadline:
            assert done(rows), f"{sql} {params}: {[dict(r) for r in rows]}"
            return rows
        time.sleep(0.05)


def button(page: Any, label: str | re.Pattern[str]) -> Any:
    """An st.button by its exact label (shortcut hints and icons are not part of the label)."""
    text = page.get_by_test_id("stMarkdownContainer").get_by_text(label, exact=True) if isinstance(label, str) \
        else page.get_by_test_id("stMarkdownContainer").get_by_text(label)
    return page.get_by_test_id("stButton").filter(has=text)


def primary(button_locator: Any) -> Any:
    """The button shown as primary (Quorum's chosen option / active label). A button with ``help=``
    is rendered twice inside its stButton (tooltip target), hence ``first``."""
    return button_locator.get_by_test_id("stBaseButton-primary").first


def secondary(button_locator: Any) -> Any:
    return button_locator.get_by_test_id("stBaseButton-secondary").first


def is_selected(button_locator: Any) -> bool:
    """Quorum shows a chosen option or active label as a primary button."""
    return button_locator.get_by_test_id("stBaseButton-primary").count() >= 1


def progress_caption(page: Any) -> Any:
    """The labeling page's progress bar text: "12 of 50 · You: 11 submitted, 1 skipped"."""
    return page.get_by_test_id("stProgress").filter(has_text="submitted")


def submitted_count(page: Any) -> int:
    """The "You: N submitted" number of the labeling page's progress bar."""
    expect(progress_caption(page)).to_be_visible()
    match = re.search(r"You:\s*(\d+)\s+submitted", progress_caption(page).inner_text())
    assert match, progress_caption(page).inner_text()
    return int(match.group(1))


def open_task_id(server: AppServer, user_id: int, project_id: int) -> int | None:
    """The task the user currently holds (locked) in the project, from the database."""
    rows = server.query(
        "SELECT task_id FROM task_locks WHERE user_id = ? AND project_id = ? ORDER BY id DESC", (user_id, project_id)
    )
    return int(rows[0]["task_id"]) if rows else None


def submit_and_read_result(page: Any, server: Any, shot: Any, *, user_id: int, task_id: int, before: int,
                           step: str) -> list[dict[str, Any]]:
    """Press Submit, wait for the progress caption to count it, and return the one stored result."""
    act(page, lambda: submit_button(page).click())
    expect(progress_caption(page)).to_contain_text(f"You: {before + 1} submitted")
    wait_for_app_run(page)
    shot(step)
    rows = server.query("SELECT result FROM annotations WHERE completed_by_id = ? AND task_id = ?",
                        (user_id, task_id))
    assert len(rows) == 1, rows
    return json.loads(rows[0]["result"])


def run_cli(server: Any, *args: str) -> None:
    """``python cli.py ARGS`` on the app's data folder (its SQLite database), as a manager would set a project
    up; fails the test with the command's output."""
    env = {**os.environ, "QUORUM_DATA_DIR": str(server.data_dir)}
    env.pop("QUORUM_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "cli.py", *args], cwd=Path(__file__).resolve().parents[2], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"cli {args}: {done.stdout}\n{done.stderr}"


def wait_until_still(page: Any, locator: Any) -> None:
    """Wait for the app to be idle and ``locator``'s element to stay put for 200 ms: a rerun that shortens the
    page can still scroll it after the app went idle, and a drag aimed at the old place lands off. (An element
    handle, not a selector: the drawing canvas lives in a component's shadow root.)"""
    wait_for_app_run(page)
    page.wait_for_function(
        """(el) => {
          const r = el.getBoundingClientRect();
          const key = [r.x, r.y, r.width, r.height, window.scrollY].join();
          const same = el.__quorumStillBox === key;
          el.__quorumStillBox = key;
          return same;
        }""",
        arg=locator.element_handle(), polling=200, timeout=10_000,
    )


def drag_across_chart(page: Any, position_js: str, start: Any, end: Any) -> None:
    """Press at ``start`` and release at ``end`` on a plotly chart, in steps (plotly's box select needs the
    moves); ``position_js`` maps an axis value to the page point (the chart's own d2p)."""
    wait_until_still(page, page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first)
    a = page.evaluate(position_js, start)
    b = page.evaluate(position_js, end)
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(a["x"] + (b["x"] - a["x"]) * step / 8, a["y"])
    page.mouse.up()
