"""What a labeler and a manager FEEL: a real-browser benchmark in headless Debian chromium (Playwright).

    python bench/bench_felt.py [--tasks 1000 100000] [--items 50] [--warmup 5] [--image-items 50]
        [--manager-tasks 100000] [--manager-rounds 6] [--cold-repeat 5] [--open-repeat 10]
        [--think-ms 400] [--labelers 20 --load-seconds 60 --pace 3]
        [--label-studio http://127.0.0.1:8089 --ls-email E --ls-password P --ls-token T
         --ls-project ID [ID ...] --ls-image-project ID --ls-pid PID]
        [--only cold,text,open,image,manager,load,ls] [--json results.json] [--keep --workdir DIR]

Figures (median and p95 of each, in milliseconds, timed inside the page: see bench/felt_js.py):

(a) key press (1/2/3) -> the choice shown as selected;
(b) submit key (Ctrl+Enter) -> the next task's text visible and its choices there (ready for the next key);
    "+idle" also waits until the app is idle (Streamlit's script run finished; Label Studio: no request in
    flight);
(c) opening the Label page -> first task ready: by the menu (click "Label") and by a full page load (from
    navigation start; the session cookie signs the tab in);
(d) each manager page (Data, Quality, Review, Import & export, Settings) clicked in the menu -> fully rendered
    (idle, no spinner/skeleton/stale element, its title and main content there, charts and grids drawn), on the
    ``--manager-tasks`` database (100,000 tasks, 300,000 annotations); the first round apart (cold caches);
(e) cold start with a fresh database (empty data folder): ``streamlit run`` spawned -> sign-in page rendered;
image project: mouse released after dragging a box -> the box listed in the region list; submit -> next image.

Each text database is bench/bench_labeling.py's ``build_dataset`` (3-choice text project) in a scratch SQLite
file, plus the benchmark's users (bench/felt_data.py); the app is ``streamlit run serve.py`` (``app.py`` when
there is no serve.py) on a free 127.0.0.1 port with ``QUORUM_NO_DEMO=1``. Loops label ``--warmup`` items
first, then ``--items`` measured ones; keys cycle 1, 2, 3, and ``--think-ms`` (400) pass between an answer
and its submit (a human's glance; it lets the new page's debounced draft save go out). After each loop the
database is read: exactly one annotation per item pressed, with the choice pressed (none lost, none doubled,
no other). The server's CPU
time per labeled item is utime+stime of the app process (/proc/PID/stat) over the measured items; RSS is
VmRSS (final) and VmHWM (peak).

``--labelers N``: N browser contexts in the same chromium, each its own annotator, labeling one item every
``--pace`` seconds (staggered) for ``--load-seconds`` against one app process (the largest ``--tasks``
database); gives key -> selected and submit -> next under that load, the server's CPU per item and the
chromium processes' CPU (they share the machine with the server).

``--label-studio URL``: the same text loop (and the image loop with ``--ls-image-project``) against a running
Label Studio's labeling stream (``/projects/ID/data?labeling=1``; keys 1-3 select, Ctrl+Enter submits),
signed in with ``--ls-email``/``--ls-password``; stored annotations are checked through its API with
``--ls-token``; ``--ls-pid`` adds its CPU time and RSS. bench/felt_ls_setup.py makes such projects.

Everything talks to 127.0.0.1 only; every wait has a timeout; the app processes are stopped at exit. An item
that fails (the selection or the next task does not come, or the app shows an exception) is counted, the page
reloaded and the loop goes on (5 failures stop it); ``QUORUM_FELT_SHOTS=DIR`` saves a screenshot of each.
To measure another checkout (e.g. the last commit): copy bench/bench_felt.py and bench/felt_*.py into it
and run it from there (the app and the dataset code are then that checkout's).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import felt_data as fd  # noqa: E402
from felt_js import FELT_JS  # noqa: E402

CHROMIUM = Path(os.environ.get("QUORUM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 # every page of the load test is a foreground page: no timer or frame throttling
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]
VIEWPORT = {"width": 1280, "height": 1400}
KEY_TIMEOUT_MS = 20_000
MAX_FAILURES = 5
THINK_S = 0.4  # between a key press and the submit (--think-ms)
LOAD_GRACE_S = 90.0  # the load test's items still running this long after its deadline are cut
NEXT_TIMEOUT_MS = 60_000
PAGE_TIMEOUT_MS = 240_000
MANAGER_PAGES = {  # menu title -> main content that must be there (CSS, inside stMain)
    "Data": ['[data-testid="stDataFrame"]'],
    "Quality": ['[data-testid="stDataFrame"]', '[data-testid="stExpander"]'],  # charts: drawn when opened
    "Review": ['[data-testid="stMetric"]'],
    "Import & export": ['[data-testid="stTabs"]', '[data-testid="stFileUploader"]'],
    "Settings": ['[data-testid="stTabs"]', '[data-testid="stForm"]'],
}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
LS_NAME = "Label Studio 1.23.2"


# --- figures ---------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Figure:
    target: str  # "Quorum 1,000 tasks", "Label Studio" ...
    name: str  # "(a) key -> selected" ...
    values: list[float] = field(default_factory=list)  # ms (or s for cold start, see unit)
    unit: str = "ms"
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def p95(self) -> float:
        return percentile(self.values, 0.95) if self.values else float("nan")


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # server CPU/RSS, integrity checks, failures

    def add(self, target: str, name: str, values: list[float], unit: str = "ms", note: str = "") -> Figure:
        figure = Figure(target, name, list(values), unit, note)
        self.figures.append(figure)
        print(f"  {target:28} {name:44} n={len(values):4}  median {figure.median:9.1f} {unit}  "
              f"p95 {figure.p95:9.1f} {unit}" + (f"  {note}" if note else ""), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  {text}", flush=True)


class MeasureError(RuntimeError):
    pass


@dataclass
class Sample:
    ms: float  # event -> first frame showing the result
    idle_ms: float  # event -> first frame showing it with the app idle
    value: Any
    frames: int
    max_gap: float


async def measure(page: Any, spec: dict[str, Any], action: Callable[[], Awaitable[Any]]) -> Sample:
    """Arm the in-page timer, do ``action`` (the key press, the click ...), wait for the result."""
    spec = {"idle": True, **spec}
    await page.evaluate("spec => window.__felt.arm(spec)", spec)
    await action()
    try:
        result = await asyncio.wait_for(page.evaluate("() => window.__felt.wait()"), spec["timeout"] / 1000 + 15)
    except asyncio.TimeoutError as exc:
        raise MeasureError(f"{spec['cond']}: no answer from the page") from exc
    if result.get("error") or result.get("t0") is None:
        raise MeasureError(f"{spec['cond']} {spec.get('arg')}: {result.get('error') or 'the event never came'}")
    return Sample(ms=result["t1"] - result["t0"], idle_ms=result["tIdle"] - result["t0"], value=result["value"],
                  frames=result["frames"], max_gap=result["maxGap"])


async def wait_until(page: Any, cond: str, arg: dict[str, Any] | None = None, *, timeout_ms: int = NEXT_TIMEOUT_MS,
                     idle: bool = True) -> Any:
    """Wait (untimed) for a condition of felt_js; returns its value."""
    return (await measure(page, {"trigger": "now", "cond": cond, "arg": arg or {}, "timeout": timeout_ms,
                                 "idle": idle}, _nothing)).value


async def _nothing() -> None:
    return None


async def current_task(page: Any) -> Any:
    value = await page.evaluate("() => window.__felt.cond.current()")
    if not value:
        raise MeasureError("no task on screen")
    return value["task"]


# --- the app's server process ----------------------------------------------------------------------

class ProcWatch:
    """CPU seconds and RSS of a process between two points."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.cpu0 = fd.cpu_seconds(pid) if pid else 0.0

    def restart(self) -> None:
        if self.pid:
            self.cpu0 = fd.cpu_seconds(self.pid)

    def done(self, items: int, unit: str = "item") -> str:
        if not self.pid:
            return "server CPU/RSS: not measured (no PID)"
        cpu = fd.cpu_seconds(self.pid) - self.cpu0
        rss, peak = fd.memory_mb(self.pid)
        per_item = f"{cpu / items * 1000:.1f} ms CPU per {unit}" if items else f"no {unit}"
        return f"server: {cpu:.2f} s CPU for {items} {unit}s = {per_item}; RSS final {rss:.0f} MB, peak {peak:.0f} MB"


# --- Quorum in the browser -------------------------------------------------------------------------

async def new_page(browser: Any, init: str = "") -> Any:
    context = await browser.new_context(viewport=VIEWPORT)
    if init:
        await context.add_init_script(init)
    await context.add_init_script(FELT_JS)
    context.set_default_timeout(NEXT_TIMEOUT_MS)
    return await context.new_page()


async def quorum_sign_in(page: Any, url: str, user: str) -> None:
    await page.goto(url)
    await wait_until(page, "signIn", timeout_ms=NEXT_TIMEOUT_MS)
    form = page.get_by_test_id("stForm")
    await form.get_by_role("textbox", name="User name or e-mail").fill(user)
    await form.get_by_role("textbox", name="Password").fill(fd.PASSWORD)
    await form.get_by_role("button", name="Sign in").click()
    await page.get_by_test_id("stSidebarNav").get_by_text("My projects", exact=True).wait_for()
    await wait_until(page, "idle")


def nav_link(page: Any, title: str) -> Any:
    return page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink").filter(
        has=page.get_by_text(title, exact=True))


async def open_label_page(page: Any, url: str, project_id: int, *, cond: str = "ready") -> Sample:
    """A full load of the Label page of the project (signed in by the session cookie): navigation start ->
    the first task ready."""
    spec = {"cond": cond, "arg": {"prev": None, "nChoices": 3}, "timeout": NEXT_TIMEOUT_MS, "idle": True}
    await page.evaluate("spec => sessionStorage.setItem('__feltLoad', JSON.stringify(spec))", spec)
    await page.goto(f"{url}/label?project={project_id}")
    result = await asyncio.wait_for(page.evaluate("() => window.__felt.wait()"), NEXT_TIMEOUT_MS / 1000 + 15)
    if result.get("error"):
        raise MeasureError(f"opening the Label page: {result['error']}")
    return Sample(ms=result["t1"], idle_ms=result["tIdle"], value=result["value"], frames=result["frames"],
                  max_gap=result["maxGap"])


@dataclass
class LoopOutcome:
    key: list[Sample] = field(default_factory=list)
    submit: list[Sample] = field(default_factory=list)
    pressed: dict[Any, str] = field(default_factory=dict)  # task -> choice pressed (warm-up included)
    tasks: list[Any] = field(default_factory=list)  # every task labeled, in order (warm-up included)
    failures: list[str] = field(default_factory=list)  # items that failed (the page was reloaded)
    uncertain: set[Any] = field(default_factory=set)  # their tasks: stored or not, but never twice
    kinds: set[str] = field(default_factory=set)
    error: str = ""


async def text_item(page: Any, n: int, task: Any) -> tuple[Sample, Sample, str]:
    """Press the n-th item's key on ``task``, look at it for THINK_S, then Ctrl+Enter: (key sample, submit
    sample, choice)."""
    key = str(1 + n % 3)
    value = fd.CHOICES[n % 3]
    selected = await measure(page, {"trigger": "keydown", "key": key, "cond": "selected",
                                    "arg": {"task": task, "value": value}, "timeout": KEY_TIMEOUT_MS},
                             lambda: page.keyboard.press(key))
    await asyncio.sleep(THINK_S)  # a labeler's glance before submitting (lets a debounced draft save go out)
    submitted = await measure(page, {"trigger": "keydown", "key": "Enter", "ctrl": True, "cond": "ready",
                                     "arg": {"prev": task, "nChoices": 3}, "timeout": NEXT_TIMEOUT_MS},
                              lambda: page.keyboard.press("Control+Enter"))
    return selected, submitted, value


async def text_loop(page: Any, items: int, warmup: int, watch: ProcWatch,
                    reopen: Callable[[], Awaitable[Any]]) -> LoopOutcome:
    """``warmup`` + ``items`` items; an item that fails (no selection, no next task within the timeout) is
    recorded, the page reloaded (``reopen``) and the loop goes on, up to MAX_FAILURES."""
    out = LoopOutcome()
    task = await current_task(page)
    n = 0
    while n < warmup + items:
        if n == warmup:
            watch.restart()
        try:
            selected, submitted, value = await text_item(page, n, task)
        except MeasureError as exc:
            if not await recover(page, out, f"item {n} (task {task}): {exc}", task, reopen, f"text-{n}"):
                break
            task = await current_task(page)
            continue
        out.pressed[task] = value
        out.kinds.add(selected.value)
        if n >= warmup:
            out.key.append(selected)
            out.submit.append(submitted)
        task = submitted.value["task"]
        n += 1
    return out


async def recover(page: Any, out: LoopOutcome, failure: str, task: Any, reopen: Callable[[], Awaitable[Any]],
                  shot: str) -> bool:
    """Record a failed item (its task may or may not be stored), reload the page; False: give up."""
    out.failures.append(failure)
    out.uncertain.add(task)
    await failure_shot(page, shot)
    if len(out.failures) >= MAX_FAILURES:
        out.error = f"{len(out.failures)} failed items, stopped"
        return False
    try:
        await reopen()
    except MeasureError as exc:
        out.error = f"reloading after a failed item: {exc}"
        return False
    return True


def check_quorum_store(url: str, user_id: int, project_id: int, pressed: dict[Any, str],
                       uncertain: set[Any] = frozenset()) -> str:
    """Read the database: one submitted annotation per task pressed, with that choice, and no other."""
    from sqlalchemy import select

    from storage.db import make_engine
    from storage.models import Annotation

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Annotation.task_id, Annotation.result, Annotation.was_cancelled).where(
                Annotation.completed_by_id == user_id, Annotation.project_id == project_id)).all()
    finally:
        engine.dispose()
    stored: dict[int, list[Any]] = {}
    for task_id, result, cancelled in rows:
        if not cancelled:
            stored.setdefault(int(task_id), []).append(result)
    lost = [t for t in pressed if t not in stored]
    extra = [t for t in stored if t not in pressed and t not in uncertain]
    doubled = [t for t, results in stored.items() if len(results) > 1]
    wrong = [t for t in pressed if t in stored and t not in doubled and _choices(stored[t][0]) != [pressed[t]]]
    verdict = "OK" if not (lost or extra or doubled or wrong) else "MISMATCH"
    return (f"stored annotations {verdict}: {len(pressed)} pressed, {sum(map(len, stored.values()))} stored; "
            f"lost {lost[:5]}, doubled {doubled[:5]}, not pressed {extra[:5]}, wrong choice {wrong[:5]}")


def _choices(result: Any) -> list[str]:
    items = json.loads(result) if isinstance(result, str) else result
    return [c for item in items or [] if item.get("type") == "choices" for c in item["value"]["choices"]]


def check_quorum_boxes(url: str, user_id: int, project_id: int, tasks: list[Any],
                       uncertain: set[Any] = frozenset()) -> str:
    from sqlalchemy import select

    from storage.db import make_engine
    from storage.models import Annotation

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Annotation.task_id, Annotation.result).where(
                Annotation.completed_by_id == user_id, Annotation.project_id == project_id,
                Annotation.was_cancelled.is_(False))).all()
    finally:
        engine.dispose()
    boxes = {int(t): [i for i in (json.loads(r) if isinstance(r, str) else r) if i.get("type") == "rectanglelabels"]
             for t, r in rows}
    counts = [len(boxes.get(int(t), [])) for t in tasks]
    per_task = [int(t) for t, _r in rows]
    extra = set(per_task) - {int(t) for t in tasks} - {int(t) for t in uncertain}
    ok = len(per_task) == len(set(per_task)) and not extra and all(c == 1 for c in counts)
    return (f"stored boxes {'OK' if ok else 'MISMATCH'}: {len(tasks)} tasks drawn, {len(rows)} annotations, "
            f"boxes per task {sorted(set(counts))}")


async def failure_shot(page: Any, name: str) -> None:
    """A screenshot of the page where a loop stopped, under $QUORUM_FELT_SHOTS (if set)."""
    folder = os.environ.get("QUORUM_FELT_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}-{int(time.time())}.png"))


# --- image loop (both tools) -------------------------------------------------------------------------

async def canvas_box(page: Any) -> dict[str, float]:
    """Where to drag: the drawing surface (Quorum: the canvas in the component's shadow root, once its image
    is painted; Label Studio: the loaded image), the same for three looks 150 ms apart with the app idle
    (a rerun right after the task opened can remount the canvas, and a drag in between is lost)."""
    seen: list[Any] = []
    deadline = time.monotonic() + NEXT_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        seen = [*seen[-2:], await page.evaluate("() => window.__felt.cond.drawable()")]
        if len(seen) == 3 and seen[0] and seen[0] == seen[1] == seen[2]:
            return seen[0]
        await asyncio.sleep(0.15)
    raise MeasureError(f"the drawing surface is not ready or does not hold still: {seen}")


async def image_loop(page: Any, items: int, warmup: int, watch: ProcWatch, *, label_key: str | None,
                     reopen: Callable[[], Awaitable[Any]]) -> LoopOutcome:
    out = LoopOutcome()
    task = (await wait_until(page, "imageReady", {"prev": None}))["task"]
    n = 0
    while n < warmup + items:
        if n == warmup:
            watch.restart()
        try:
            if label_key:  # Label Studio: pick the first label by its hotkey before drawing
                await page.keyboard.press(label_key)
            box = await canvas_box(page)
            fx, fy = 0.15 + 0.1 * (n % 5), 0.2 + 0.1 * (n % 4)
            x0, y0 = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
            x1, y1 = x0 + 0.2 * box["width"], y0 + 0.15 * box["height"]

            async def drag() -> None:
                await page.mouse.move(x0, y0)
                await page.mouse.down()
                await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
                await page.mouse.move(x1, y1, steps=4)
                await page.mouse.up()

            drawn = await measure(page, {"trigger": "mouseup", "cond": "regions", "arg": {"task": task, "count": 1},
                                         "timeout": KEY_TIMEOUT_MS}, drag)
            await asyncio.sleep(THINK_S)
            submitted = await measure(page, {"trigger": "keydown", "key": "Enter", "ctrl": True, "cond": "imageReady",
                                             "arg": {"prev": task}, "timeout": NEXT_TIMEOUT_MS},
                                      lambda: page.keyboard.press("Control+Enter"))
        except MeasureError as exc:
            if not await recover(page, out, f"image item {n} (task {task}): {exc}", task, reopen, f"image-{n}"):
                break
            task = (await wait_until(page, "imageReady", {"prev": None}))["task"]
            continue
        out.tasks.append(task)
        out.kinds.add(drawn.value["kind"])
        if n >= warmup:
            out.key.append(drawn)
            out.submit.append(submitted)
        task = submitted.value["task"]
        n += 1
    return out


# --- scenarios -----------------------------------------------------------------------------------------

def frames_note(samples: list[Sample]) -> str:
    gaps = [s.max_gap for s in samples]
    worst = max(gaps) if gaps else 0.0
    return f"(frame gap max {worst:.0f} ms)" if worst > 50 else ""


def add_loop_figures(report: Report, target: str, out: LoopOutcome, *, image: bool = False) -> None:
    kinds = "/".join(sorted(k if isinstance(k, str) else k.get("kind", "?") for k in out.kinds))
    if image:
        report.add(target, "image: box drawn -> listed", [s.ms for s in out.key], note=kinds)
        report.add(target, "image: submit -> next image ready", [s.ms for s in out.submit],
                   note=frames_note(out.submit))
        report.add(target, "image: submit -> next image ready +idle", [s.idle_ms for s in out.submit])
    else:
        report.add(target, "(a) key -> selected", [s.ms for s in out.key], note=kinds)
        report.add(target, "(a) key -> selected +idle", [s.idle_ms for s in out.key])
        report.add(target, "(b) submit -> next task ready", [s.ms for s in out.submit], note=frames_note(out.submit))
        report.add(target, "(b) submit -> next task ready +idle", [s.idle_ms for s in out.submit])
    if out.failures:
        report.note(f"{target}: {len(out.failures)} failed items (page reloaded), first: {out.failures[:3]}")
    if out.error:
        report.note(f"{target}: loop stopped: {out.error}")


async def scenario_text(browser: Any, app: fd.AppProcess, ds: fd.Dataset, args: argparse.Namespace,
                        report: Report, target: str) -> None:
    """(a) and (b) by the labeling loop, then (c) on the same signed-in page."""
    page = await new_page(browser)
    try:
        await quorum_sign_in(page, app.url, "felt-text")
        await open_label_page(page, app.url, ds.text_project)
        if "text" in args.only:
            watch = ProcWatch(app.pid)
            out = await text_loop(page, args.items, args.warmup, watch,
                                  lambda: open_label_page(page, app.url, ds.text_project))
            add_loop_figures(report, target, out)
            report.note(f"{target}: {watch.done(len(out.key))}")
            stored = check_quorum_store(ds.url, ds.users["felt-text"], ds.text_project, out.pressed, out.uncertain)
            report.note(f"{target}: {stored}")
        if "open" in args.only:
            await scenario_open(page, app, ds, args, report, target)
    finally:
        await page.context.close()


async def scenario_open(page: Any, app: fd.AppProcess, ds: fd.Dataset, args: argparse.Namespace, report: Report,
                        target: str) -> None:
    """(c): the Label page by the menu from My projects, and by full loads."""
    by_menu: list[Sample] = []
    full: list[Sample] = []
    try:
        for _ in range(args.open_repeat + 1):
            await nav_link(page, "My projects").click()  # then wait until the Label page is gone
            await wait_until(page, "page", {"title": "My projects", "content": []})
            by_menu.append(await measure(page, {"trigger": "click", "cond": "ready",
                                                "arg": {"prev": None, "nChoices": 3}, "timeout": NEXT_TIMEOUT_MS},
                                         lambda: nav_link(page, "Label").click()))
        for _ in range(args.open_repeat + 1):
            full.append(await open_label_page(page, app.url, ds.text_project))
    except MeasureError as exc:
        report.note(f"{target}: opening the Label page failed: {exc}")
    by_menu, full = by_menu[1:], full[1:]  # the first of each is the warm-up
    report.add(target, "(c) menu 'Label' -> first task ready", [s.ms for s in by_menu])
    report.add(target, "(c) menu 'Label' -> first task ready +idle", [s.idle_ms for s in by_menu])
    report.add(target, "(c) full load -> first task ready", [s.ms for s in full])
    report.add(target, "(c) full load -> first task ready +idle", [s.idle_ms for s in full])


async def scenario_image(browser: Any, app: fd.AppProcess, ds: fd.Dataset, args: argparse.Namespace,
                         report: Report, target: str) -> None:
    page = await new_page(browser)
    try:
        await quorum_sign_in(page, app.url, "felt-image")
        await page.goto(f"{app.url}/label?project={ds.image_project}")
        watch = ProcWatch(app.pid)
        out = await image_loop(page, args.image_items, args.warmup, watch, label_key=None,
                               reopen=lambda: page.goto(f"{app.url}/label?project={ds.image_project}"))
        add_loop_figures(report, target, out, image=True)
        report.note(f"{target}: {watch.done(len(out.key))}")
        report.note(f"{target}: "
                    f"{check_quorum_boxes(ds.url, ds.users['felt-image'], ds.image_project, out.tasks, out.uncertain)}")
    finally:
        await page.context.close()


async def scenario_manager(browser: Any, app: fd.AppProcess, ds: fd.Dataset, args: argparse.Namespace,
                           report: Report, target: str) -> None:
    """(d): the manager pages in menu order, ``--manager-rounds`` times; round 1 on cold caches."""
    page = await new_page(browser)
    times: dict[str, list[float]] = {title: [] for title in MANAGER_PAGES}
    watch = ProcWatch(app.pid)
    try:
        await quorum_sign_in(page, app.url, "felt-manager")
        for _round in range(args.manager_rounds):
            for title, content in MANAGER_PAGES.items():
                sample = await measure(page, {"trigger": "click", "cond": "page",
                                              "arg": {"title": title, "content": content},
                                              "timeout": PAGE_TIMEOUT_MS},
                                       lambda title=title: nav_link(page, title).click())
                times[title].append(sample.ms)
    except MeasureError as exc:
        report.note(f"{target}: manager pages stopped: {exc}")
    finally:
        await page.context.close()
    for title, values in times.items():
        if values:
            report.add(target, f"(d) {title}: first visit", values[:1])
            report.add(target, f"(d) {title}: later visits", values[1:])
    visits = sum(len(v) for v in times.values())
    report.note(f"{target} manager pages: {watch.done(visits, 'page visit')}")


async def scenario_cold(browser: Any, args: argparse.Namespace, report: Report, work: Path) -> None:
    """(e): a fresh data folder each time: spawn -> health, and spawn -> sign-in page rendered."""
    healthy_s, page_ms, total_s = [], [], []
    for r in range(args.cold_repeat):
        data_dir = work / f"cold-{r}"
        app = fd.start_app(data_dir)
        try:
            spec = {"cond": "signIn", "arg": {}, "timeout": NEXT_TIMEOUT_MS, "idle": True}
            page = await new_page(browser, init=f"window.__feltLoadSpec = {json.dumps(spec)};")
            try:
                goto_at = time.monotonic()
                await page.goto(app.url)
                result = await asyncio.wait_for(page.evaluate("() => window.__felt.wait()"), NEXT_TIMEOUT_MS / 1000)
                if result.get("error"):
                    raise MeasureError(f"cold start: {result['error']}")
                healthy_s.append(app.healthy_after_s)
                page_ms.append(result["t1"])
                total_s.append(goto_at - app.started_at + result["t1"] / 1000)
            finally:
                await page.context.close()
        finally:
            app.stop()
    report.add("Quorum, fresh database", "(e) spawn -> /_stcore/health", [s * 1000 for s in healthy_s])
    report.add("Quorum, fresh database", "(e) first page load -> sign-in rendered", page_ms)
    report.add("Quorum, fresh database", "(e) spawn -> sign-in rendered", [s * 1000 for s in total_s])


async def scenario_load(browser: Any, app: fd.AppProcess, ds: fd.Dataset, args: argparse.Namespace,
                        report: Report, target: str) -> None:
    """N labelers, one item every ``pace`` seconds each, for ``load_seconds``: submit -> next under load."""
    names = [f"felt-load{i}" for i in range(args.labelers)]
    pages = []
    try:
        for name in names:  # sign in one by one (argon2 on the server), then open the Label page
            page = await new_page(browser)
            pages.append(page)
            await quorum_sign_in(page, app.url, name)
            await open_label_page(page, app.url, ds.text_project)
        watch = ProcWatch(app.pid)
        browser_cpu0 = fd.browser_cpu_seconds()
        outcomes = [LoopOutcome() for _ in pages]
        start = time.monotonic()
        deadline = start + args.load_seconds
        finished: list[float] = []  # when each item's next task was ready

        async def labeler(k: int) -> None:
            page, out = pages[k], outcomes[k]
            task = await current_task(page)
            due = start + args.pace * k / len(pages)  # staggered over one pace period
            n = 0
            try:
                while due < deadline and time.monotonic() < deadline:
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    due = max(due + args.pace, time.monotonic())  # late: the next item now, no catching up
                    try:
                        selected, submitted, value = await text_item(page, n, task)
                    except MeasureError as exc:
                        if not await recover(page, out, f"{names[k]} item {n} (task {task}): {exc}", task,
                                             lambda: open_label_page(page, app.url, ds.text_project),
                                             f"load-{names[k]}-{n}"):
                            return
                        task = await current_task(page)
                        continue
                    out.pressed[task] = value
                    out.key.append(selected)
                    out.submit.append(submitted)
                    task = submitted.value["task"]
                    n += 1
                    finished.append(time.monotonic())
            except asyncio.CancelledError:
                out.uncertain.add(task)  # cut while in flight: its submit may or may not have landed
                raise

        # Bounded: no item starts after the deadline, and an item still running LOAD_GRACE_S after it is cut.
        running = [asyncio.create_task(labeler(k)) for k in range(len(pages))]
        _done, cut = await asyncio.wait(running, timeout=args.load_seconds + LOAD_GRACE_S)
        for task in cut:
            task.cancel()
        await asyncio.gather(*cut, return_exceptions=True)
        elapsed = (max(finished) if finished else time.monotonic()) - start
        browser_cpu = fd.browser_cpu_seconds() - browser_cpu0
        wall = time.monotonic() - start
        items = sum(len(o.submit) for o in outcomes)
        label = f"{target}, {args.labelers} labelers"
        report.add(label, "(a) key -> selected, under load", [s.ms for o in outcomes for s in o.key])
        report.add(label, "(b) submit -> next task ready, under load", [s.ms for o in outcomes for s in o.submit],
                   note=frames_note([s for o in outcomes for s in o.submit]))
        report.add(label, "(b) submit -> next ready +idle, under load", [s.idle_ms for o in outcomes for s in o.submit])
        report.note(f"{label}: {items} items in {elapsed:.0f} s ({items / elapsed:.1f}/s, "
                    f"{args.labelers / args.pace:.1f}/s offered); {watch.done(items)}; the {args.labelers} pages' "
                    f"chromium: {browser_cpu:.0f} s CPU in {wall:.0f} s "
                    f"({browser_cpu / wall:.1f} cores of {os.cpu_count()})")
        if cut:
            report.note(f"{label}: {len(cut)} labelers still in an item {LOAD_GRACE_S:.0f} s after the deadline: cut")
        failures = [f for out in outcomes for f in out.failures]
        if failures:
            report.note(f"{label}: {len(failures)} failed items (page reloaded), first: {failures[:3]}")
        for out in outcomes:
            if out.error:
                report.note(f"{label}: {out.error}")
        checks = [check_quorum_store(ds.url, ds.users[name], ds.text_project, out.pressed, out.uncertain)
                  for name, out in zip(names, outcomes, strict=True)]
        bad = [c for c in checks if not c.startswith("stored annotations OK")]
        report.note(f"{label}: stored annotations of {len(checks)} labelers: "
                    + ("all OK" if not bad else f"{len(bad)} MISMATCH: {bad[:3]}"))
    finally:
        for page in pages:
            await page.context.close()


# --- Label Studio ------------------------------------------------------------------------------------

class LabelStudioApi:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def get(self, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Token {self.token}"})
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())


def check_ls_store(api: LabelStudioApi, project_id: int, since: dt.datetime, pressed: dict[Any, str],
                   *, image_items: int = 0, uncertain: set[Any] = frozenset()) -> str:
    """Through Label Studio's API: this run's annotations by the benchmark's user, one per item pressed."""
    me = api.get("/api/current-user/whoami")["id"]
    tasks = api.get(f"/api/projects/{project_id}/export?exportType=JSON&download_all_tasks=true")
    stored: dict[Any, list[Any]] = {}
    for task in tasks:
        for ann in task.get("annotations", []):
            created = dt.datetime.fromisoformat(ann["created_at"].replace("Z", "+00:00"))
            by = ann.get("completed_by")
            by = by.get("id") if isinstance(by, dict) else by
            if by != me or created < since or ann.get("was_cancelled"):
                continue
            key = len(stored) if image_items else int(task["data"]["text"].split()[1])
            stored.setdefault(key, []).append(ann["result"])
    if image_items:
        boxes = [sum(1 for i in results[0] if i.get("type") == "rectanglelabels") for results in stored.values()]
        ok = image_items <= len(stored) <= image_items + len(uncertain) and all(b == 1 for b in boxes)
        return (f"stored boxes {'OK' if ok else 'MISMATCH'}: {image_items} drawn, {len(stored)} annotations, "
                f"boxes per annotation {sorted(set(boxes))}")
    lost = [t for t in pressed if t not in stored]
    extra = [t for t in stored if t not in pressed and t not in uncertain]
    doubled = [t for t, r in stored.items() if len(r) > 1]
    wrong = [t for t in pressed if t in stored and _choices(stored[t][0]) != [pressed[t]]]
    verdict = "OK" if not (lost or extra or doubled or wrong) else "MISMATCH"
    return (f"stored annotations {verdict}: {len(pressed)} pressed, {sum(map(len, stored.values()))} stored; "
            f"lost {lost[:5]}, doubled {doubled[:5]}, not pressed {extra[:5]}, wrong choice {wrong[:5]}")


async def ls_sign_in(page: Any, url: str, email: str, password: str) -> None:
    await page.goto(f"{url}/user/login/")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit], input[type=submit]")
    await page.wait_for_url(lambda u: "/user/login" not in u, timeout=NEXT_TIMEOUT_MS)


async def ls_open_stream(page: Any, url: str, project: int, cond: str) -> Sample:
    spec = {"cond": cond, "arg": {"prev": None, "nChoices": 3}, "timeout": NEXT_TIMEOUT_MS, "idle": True}
    await page.evaluate("spec => sessionStorage.setItem('__feltLoad', JSON.stringify(spec))", spec)
    await page.goto(f"{url}/projects/{project}/data?labeling=1")
    result = await asyncio.wait_for(page.evaluate("() => window.__felt.wait()"), NEXT_TIMEOUT_MS / 1000 + 15)
    if result.get("error"):
        raise MeasureError(f"opening the labeling stream: {result['error']}")
    return Sample(ms=result["t1"], idle_ms=result["tIdle"], value=result["value"], frames=result["frames"],
                  max_gap=result["maxGap"])


async def scenario_ls(browser: Any, args: argparse.Namespace, report: Report) -> None:
    """Label Studio: for each ``--ls-project`` the stream's full load (c) and the text loop (a, b); then the
    image loop on ``--ls-image-project``. Targets are named like Quorum's ("... 1,000 tasks") to pair them."""
    url = args.label_studio.rstrip("/")
    api = LabelStudioApi(url, args.ls_token)
    page = await new_page(browser)
    try:
        await ls_sign_in(page, url, args.ls_email, args.ls_password)
        for project in args.ls_project:
            target = f"{LS_NAME} {api.get(f'/api/projects/{project}')['task_number']:,} tasks"
            since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
            opened = [await ls_open_stream(page, url, project, "ready") for _ in range(args.open_repeat + 1)][1:]
            report.add(target, "(c) full load -> first task ready", [s.ms for s in opened])
            report.add(target, "(c) full load -> first task ready +idle", [s.idle_ms for s in opened])
            watch = ProcWatch(args.ls_pid)
            out = await text_loop(page, args.items, args.warmup, watch,
                                  lambda project=project: ls_open_stream(page, url, project, "ready"))
            add_loop_figures(report, target, out)
            report.note(f"{target}: {watch.done(len(out.key))}")
            report.note(f"{target}: {check_ls_store(api, project, since, out.pressed, uncertain=out.uncertain)}")
        if args.ls_image_project and args.image_items:
            target = f"{LS_NAME} image project"
            since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
            await page.goto(f"{url}/projects/{args.ls_image_project}/data?labeling=1")
            watch = ProcWatch(args.ls_pid)
            out = await image_loop(page, args.image_items, args.warmup, watch, label_key="1",
                                   reopen=lambda: page.goto(f"{url}/projects/{args.ls_image_project}/data?labeling=1"))
            add_loop_figures(report, target, out, image=True)
            report.note(f"{target}: {watch.done(len(out.key))}")
            stored = check_ls_store(api, args.ls_image_project, since, {}, image_items=len(out.tasks),
                                    uncertain=out.uncertain)
            report.note(f"{target}: {stored}")
    finally:
        await page.context.close()


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def server_errors(app: fd.AppProcess) -> str:
    """How many tracebacks the app's log holds and the last exception line, or ""."""
    try:
        lines = app.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    count = sum(1 for line in lines if line.startswith("Traceback"))
    if not count:
        return ""
    last = next((line for line in reversed(lines) if "Error" in line and not line.startswith(" ")), "")
    return f"{count} traceback(s), last: {last[:300]}"


# --- the run -------------------------------------------------------------------------------------------

def print_table(report: Report) -> None:
    print("\nFelt speed, timed in the page (event -> first animation frame showing the result)")
    header = f"{'target':38} {'figure':46} {'n':>4} {'median':>10} {'p95':>10}"
    print(header)
    print("-" * len(header))
    for f in report.figures:
        print(f"{f.target:38} {f.name:46} {len(f.values):4} {f.median:8.1f}{f.unit:>2} {f.p95:8.1f}{f.unit:>2}")
    ls = {(f.name, f.target.removeprefix(LS_NAME).strip()): f for f in report.figures if f.target.startswith(LS_NAME)}
    pairs = [(q, ls[(q.name, q.target.removeprefix("Quorum").strip())]) for q in report.figures
             if q.target.startswith("Quorum") and (q.name, q.target.removeprefix("Quorum").strip()) in ls]
    pairs = [(q, other) for q, other in pairs if q.values and other.values]
    if pairs:
        print("\nQuorum beside Label Studio (ratio = Label Studio / Quorum; > 1: Quorum is faster)")
        header = (f"{'figure':46} {'Quorum':30} {'median':>9} {'p95':>9} {'LS median':>10} {'LS p95':>9} "
                  f"{'x med':>6} {'x p95':>6}")
        print(header)
        print("-" * len(header))
        for q, other in pairs:
            print(f"{q.name:46} {q.target:30} {q.median:9.1f} {q.p95:9.1f} {other.median:10.1f} {other.p95:9.1f} "
                  f"{other.median / q.median:6.2f} {other.p95 / q.p95:6.2f}")
    if report.notes:
        print("\nNotes")
        for note in report.notes:
            print(f"  {note}")


async def run(args: argparse.Namespace) -> Report:
    from playwright.async_api import async_playwright

    report = Report()
    print(f"entry: {fd.entry_script()} in {fd.REPO_ROOT}; load average {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="quorum-felt-", dir=args.workdir) as tmp:
        work = Path(tmp)
        if args.keep:
            work = Path(tempfile.mkdtemp(prefix="quorum-felt-kept-", dir=args.workdir))
            print(f"data folders and server logs kept in {work}", flush=True)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                                       headless=True)
            try:
                if "cold" in args.only:
                    report.note(f"cold start: load average {load_average()} at the start")
                    await scenario_cold(browser, args, report, work)
                largest = max(args.tasks)
                for n_tasks in args.tasks:
                    manager = n_tasks == args.manager_tasks and "manager" in args.only
                    load = n_tasks == largest and args.labelers > 0 and "load" in args.only
                    image = n_tasks == min(args.tasks) and args.image_items > 0 and "image" in args.only
                    annotations = n_tasks if n_tasks == args.manager_tasks else int(n_tasks * 0.4)
                    ds = fd.build(work / f"db-{n_tasks}", n_tasks, annotations,
                                  manager_scale=n_tasks == args.manager_tasks,
                                  image_tasks=(args.image_items + args.warmup + 10) if image else 0,
                                  labelers=["felt-text", *([f"felt-load{i}" for i in range(args.labelers)] if load else [])],
                                  image_labelers=["felt-image"], managers=["felt-manager"])
                    target = f"Quorum {n_tasks:,} tasks"
                    report.note(f"{target}: load average {load_average()} at the start")
                    print(f"{target}: built {ds.n_tasks:,} tasks, {ds.n_annotations:,} annotations in "
                          f"{ds.build_s:.1f} s", flush=True)
                    app = fd.start_app(ds.data_dir)
                    try:
                        if "text" in args.only or "open" in args.only:
                            await scenario_text(browser, app, ds, args, report, target)
                        if image:
                            await scenario_image(browser, app, ds, args, report, "Quorum image project")
                        if manager:
                            await scenario_manager(browser, app, ds, args, report,
                                                   f"Quorum {n_tasks:,} tasks / {ds.n_annotations:,} ann.")
                        if load:
                            await scenario_load(browser, app, ds, args, report, target)
                    finally:
                        app.stop()
                        errors = server_errors(app)
                        if errors:
                            report.note(f"{target}: the server log has {errors}")
                if args.label_studio and "ls" in args.only:
                    report.note(f"Label Studio: load average {load_average()} at the start")
                    await scenario_ls(browser, args, report)
            finally:
                await browser.close()
    print(f"load average at the end {os.getloadavg()}")
    return report


def main() -> None:
    global THINK_S
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 100_000], help="text project sizes")
    parser.add_argument("--items", type=int, default=50, help="measured items per loop (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--image-items", type=int, default=50, help="0: no image loop")
    parser.add_argument("--manager-tasks", type=int, default=100_000,
                        help="the --tasks database that gets 3 annotations per task and the manager pages")
    parser.add_argument("--manager-rounds", type=int, default=6, help="visits of each manager page")
    parser.add_argument("--cold-repeat", type=int, default=5)
    parser.add_argument("--open-repeat", type=int, default=10)
    parser.add_argument("--think-ms", type=float, default=THINK_S * 1000,
                        help="pause between an answer and its submit (the draft save of a human's pace)")
    parser.add_argument("--labelers", type=int, default=0, help="simulated labelers for the load test (0: none)")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--pace", type=float, default=3.0, help="seconds between two items of one labeler")
    parser.add_argument("--label-studio", metavar="URL", help="a running Label Studio (loopback)")
    parser.add_argument("--ls-email")
    parser.add_argument("--ls-password")
    parser.add_argument("--ls-token", help="legacy API token, to check the stored annotations")
    parser.add_argument("--ls-project", type=int, nargs="+", default=[],
                        help="3-choice text project(s) (bench/felt_ls_setup.py), e.g. of 1,000 and of 100,000 tasks")
    parser.add_argument("--ls-image-project", type=int)
    parser.add_argument("--ls-pid", type=int, help="Label Studio's server process, for its CPU time and RSS")
    parser.add_argument("--only", default="cold,text,open,image,manager,load,ls",
                        help="comma-separated scenarios: cold,text,open,image,manager,load,ls")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--workdir", type=Path, help="where the scratch folders go (default: the system's temp)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and server logs")
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    THINK_S = args.think_ms / 1000
    if args.label_studio:
        if urllib.parse.urlparse(args.label_studio).hostname not in LOOPBACK:
            parser.error("--label-studio must be a loopback URL")
        if not (args.ls_email and args.ls_password and args.ls_token and args.ls_project):
            parser.error("--label-studio needs --ls-email, --ls-password, --ls-token and --ls-project")
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} not found (apt-get install chromium)")
    report = asyncio.run(run(args))
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps({
            "figures": [{"target": f.target, "figure": f.name, "n": len(f.values), "median": f.median, "p95": f.p95,
                         "unit": f.unit, "values": f.values} for f in report.figures],
            "notes": report.notes}, indent=1))


if __name__ == "__main__":
    main()
