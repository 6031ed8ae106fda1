"""The Quality page's figures kept ready: computed in the background, served at once, refreshed when data moves.

Computing a project's analytics reads every annotation and fits Dawid-Skene: about 3 s of CPU at 300,000
annotations, far above what a manager should wait for a page. So the figures are treated like a dashboard's:

* one worker thread per database computes :func:`core.analytics.compute_project_analytics` for the projects
  asked of it, one at a time (a project asked for twice while queued is computed once); a big project
  (``CHILD_MIN_ANNOTATIONS``) is computed by a child process (``python -m core.analytics_child``), so the
  seconds of CPU it takes run on another core instead of holding this process's interpreter while pages wait;
* each result is a :class:`Snapshot` (figures + the data fingerprint they were computed at + when and how
  long it took), kept in memory and written to ``<data>/cache/analytics-<project>.pickle`` so a restarted
  process serves the last figures at once instead of recomputing them first;
* :meth:`AnalyticsCache.snapshot` answers with the figures for the current fingerprint when there are any;
  when the data moved since, it asks for a refresh and waits as long as the last computation took (small
  projects: the fresh figures, with no visible difference from computing in the page) up to ``wait_s``;
  past that, it answers with the last figures and the page says they are being refreshed;
* at start-up (:meth:`warm`) and after ``REWARM_EVERY_S`` without a request, projects whose computation is
  slow (at least ``WARM_MIN_ANNOTATIONS``) and whose saved figures are out of date are computed in the
  background, so a first visit is quick too.

Nothing here checks permissions: the page checks the viewer's right with
:func:`core.analytics.analytics_version` before it asks, and the figures are the same for every viewer
allowed to see them. The pickle files are the server's own, in its own data folder (created owner-only).
"""
from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
import queue
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from core.analytics import ProjectAnalytics, compute_project_analytics
from core.uow import UowFactory
from storage.repositories import analytics as analytics_repo
from storage.repositories import projects as projects_repo

log = logging.getLogger(__name__)

WARM_MIN_ANNOTATIONS = 20_000  # below this a project's figures take well under a second to compute
REPO_ROOT = Path(__file__).resolve().parents[1]
CHILD_TIMEOUT_S = 3600.0
CHILD_MIN_ANNOTATIONS = 50_000  # from here a computation takes seconds: it runs in a child process (its start,
# about 1.5 s of imports, is then small beside it)
SLOW_S = 0.5  # a computation this long is not repeated back to back: labelers share the process's CPU
REFRESH_GAP_S = 5.0  # so a slow project busy with labelers is recomputed at most this often (plus the computing)
REWARM_EVERY_S = 600.0  # with no request for this long, big projects' figures are refreshed anyway, so a
# manager's first visit finds figures at most this old (and gets fresh ones seconds later)
MIN_WAIT_S = 1.0  # how long a page waits for new figures before it shows the last ones (quick projects:
# always the new ones, even on a loaded machine; big ones: the last ones, then the new ones when ready)
WARM_NOW = -1  # the worker's queue item meaning "look for out-of-date big projects"
FILE_FORMAT = 2  # bump when ProjectAnalytics changes shape: older files are then ignored


@dataclass(frozen=True)
class Snapshot:
    """One computation's figures and what they rest on."""

    analytics: ProjectAnalytics
    version: tuple[Any, ...]  # storage.repositories.analytics.version at the start of the computation
    computed_at: float  # time.time() when it finished
    took_s: float

    @property
    def n_annotations(self) -> int:
        return self.analytics.n_annotations


class AnalyticsCache:
    """Analytics snapshots of one database's projects, and the thread that computes them."""

    def __init__(self, make_uow: UowFactory, folder: Path | None, database_url: str | None = None) -> None:
        self._make_uow = make_uow
        self._folder = folder
        self._database_url = database_url  # given: big projects are computed in a child process
        self._lock = threading.Condition()
        self._snapshots: dict[int, Snapshot] = {}
        self._queued: set[int] = set()  # waiting for the worker
        self._running: set[int] = set()  # being computed (a request meanwhile queues one more: newer data)
        self._failures: dict[int, str] = {}
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None

    # --- asking -----------------------------------------------------------------------------------------

    def snapshot(self, project_id: int, version: tuple[Any, ...], *, wait_s: float = 1.5) -> Snapshot | None:
        """The figures to show for ``project_id`` whose data is now at ``version``.

        Current figures when there are some. Otherwise a refresh is asked for and awaited as long as the
        last computation took (at most ``wait_s``); if it is not done by then, the last figures (the page
        marks them as being refreshed), or None when the project was never computed. A big project
        (``CHILD_MIN_ANNOTATIONS``) never computed is not awaited at all: None at once.
        """
        current = self.latest(project_id)
        if current is not None and current.version == version:
            return current
        with self._lock:  # the last attempt's failure, if no new attempt is under way (request() clears it)
            failure = None if self._busy(project_id) else self._failures.get(project_id)
        self.request(project_id)
        if current is None and self._is_big(project_id):
            if failure is not None:
                raise RuntimeError(f"{failure} (computing again)")
            return None  # never computed and seconds away: the caller shows what it can at once
        expected = max(MIN_WAIT_S, current.took_s * 2) if current is not None else wait_s
        return self.wait_for(project_id, version, timeout_s=min(wait_s, expected)) or current

    def wait_for(self, project_id: int, version: tuple[Any, ...], *, timeout_s: float) -> Snapshot | None:
        """The figures at ``version`` (or newer) once computed, waiting up to ``timeout_s``; None if not."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                found = self._snapshots.get(project_id)
                if found is not None and _at_least(found.version, version):
                    return found
                if project_id in self._failures and not self._busy(project_id):
                    raise RuntimeError(self._failures[project_id])
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(left)

    def latest(self, project_id: int) -> Snapshot | None:
        """The newest figures of the project, from memory or from the saved file."""
        with self._lock:
            found = self._snapshots.get(project_id)
        if found is None:
            found = self._read(project_id)
            if found is not None:
                with self._lock:
                    found = self._snapshots.setdefault(project_id, found)
        return found

    def is_refreshing(self, project_id: int) -> bool:
        with self._lock:
            return self._busy(project_id)

    def _busy(self, project_id: int) -> bool:
        return project_id in self._queued or project_id in self._running

    def request(self, project_id: int) -> None:
        """Compute the project's figures in the background (once, however often it is asked meanwhile)."""
        with self._lock:
            if project_id in self._queued:
                return
            self._queued.add(project_id)
            self._failures.pop(project_id, None)
        self._ensure_thread()
        self._queue.put(project_id)

    def warm(self, *, min_annotations: int = WARM_MIN_ANNOTATIONS) -> list[int]:
        """Ask for the projects whose figures are slow to compute and out of date (or never saved)."""
        with self._make_uow() as uow:
            ids = projects_repo.all_project_ids(uow.session)
            counts = projects_repo.annotation_counts(uow.session, ids)
            stale = [
                pid for pid in ids
                if counts.get(pid, 0) >= min_annotations
                and ((s := self.latest(pid)) is None or s.version != analytics_repo.version(uow.session, pid))
            ]
        for pid in stale:
            self.request(pid)
        return stale

    def start(self) -> None:
        """Start the worker, whose first job is :meth:`warm` (off the caller's thread: start-up stays quick)."""
        self._ensure_thread()
        self._queue.put(WARM_NOW)

    # --- computing --------------------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="quorum-analytics", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                project_id = self._queue.get(timeout=REWARM_EVERY_S)
            except queue.Empty:  # quiet for a while: bring big projects' saved figures up to date
                project_id = WARM_NOW
            if project_id == WARM_NOW:
                self._rewarm()
                continue
            with self._lock:
                self._queued.discard(project_id)
                self._running.add(project_id)
            previous = self.latest(project_id)
            if previous is not None and previous.took_s >= SLOW_S:  # a busy, big project: leave the process
                # at least REFRESH_GAP_S, and twice the computation: a 15 s project takes at most a third of a core
                gap = max(REFRESH_GAP_S, 2 * previous.took_s)
                time.sleep(max(0.0, previous.computed_at + gap - time.time()))
            try:
                snapshot = self._compute(project_id)
            except Exception as exc:  # noqa: BLE001 - a failed computation must not kill the worker
                log.exception("analytics of project %s failed", project_id)
                with self._lock:
                    self._failures[project_id] = f"the analytics of project {project_id} failed: {exc}"
                    self._running.discard(project_id)
                    self._lock.notify_all()
                continue
            self._write(project_id, snapshot)  # saved before it is shown: whoever sees it may rely on the file
            with self._lock:
                self._snapshots[project_id] = snapshot
                self._running.discard(project_id)
                self._lock.notify_all()

    def _rewarm(self) -> None:
        try:
            self.warm()
        except Exception:  # noqa: BLE001 - a database hiccup now must not stop later refreshes
            log.warning("could not look for out-of-date analytics", exc_info=True)

    def _compute(self, project_id: int) -> Snapshot:
        if self._database_url is not None and self._is_big(project_id):
            return _in_child_process(self._database_url, project_id)
        return _computed(self._make_uow, project_id)

    def _is_big(self, project_id: int) -> bool:
        """Whether the project's computation would hold the process's interpreter for seconds."""
        with self._make_uow() as uow:
            return projects_repo.annotation_counts(uow.session, [project_id]).get(project_id, 0) >= CHILD_MIN_ANNOTATIONS

    # --- saved figures ----------------------------------------------------------------------------------

    def _path(self, project_id: int) -> Path | None:
        return None if self._folder is None else self._folder / f"analytics-{int(project_id)}.pickle"

    def _read(self, project_id: int) -> Snapshot | None:
        path = self._path(project_id)
        if path is None or not path.is_file():
            return None
        try:
            with path.open("rb") as fh:
                stored = pickle.load(fh)  # noqa: S301 - the server's own file in its owner-only data folder
        except Exception:  # noqa: BLE001 - a damaged or older file is recomputed, never shown
            return None
        if not isinstance(stored, dict) or stored.get("format") != FILE_FORMAT:
            return None
        snapshot = stored.get("snapshot")
        return snapshot if isinstance(snapshot, Snapshot) and snapshot.analytics.project_id == project_id else None

    def _write(self, project_id: int, snapshot: Snapshot) -> None:
        path = self._path(project_id)
        if path is None:
            return
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.part")
            with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
                pickle.dump({"format": FILE_FORMAT, "snapshot": snapshot}, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, path)  # readers see the old file or the new one, never half of one
        except OSError:
            log.warning("could not save the analytics of project %s to %s", project_id, path, exc_info=True)


def _computed(make_uow: UowFactory, project_id: int) -> Snapshot:
    started = time.perf_counter()
    with make_uow() as uow:  # one transaction: the fingerprint and the figures see the same data
        version = analytics_repo.version(uow.session, project_id)
        analytics = compute_project_analytics(uow, project_id=project_id)
    return Snapshot(analytics, version, time.time(), time.perf_counter() - started)


def compute_in_child(database_url: str, project_id: int) -> Snapshot:
    """:func:`_computed` in a fresh process on its own connection (the target of :func:`_in_child_process`)."""
    from core.uow import UnitOfWork
    from storage.db import make_engine, session_factory

    engine = make_engine(database_url)
    try:
        return _computed(partial(UnitOfWork, session_factory(engine)), project_id)
    finally:
        engine.dispose()


def _in_child_process(database_url: str, project_id: int) -> Snapshot:
    """A big project's figures computed by ``python -m core.analytics_child`` in a process of its own, which
    exits afterwards: seconds of pandas and Dawid-Skene at a million annotations would otherwise hold this
    process's interpreter lock while labelers' and managers' pages wait for it, and its peak memory (hundreds
    of MB) goes back to the system with it. A plain interpreter, not multiprocessing's spawn: that one imports
    the parent's main module, here the app's own script."""
    from core.analytics_child import URL_VARIABLE

    with tempfile.TemporaryDirectory(prefix="quorum-analytics-") as folder:
        out = Path(folder) / "snapshot.pickle"
        proc = subprocess.run(
            [sys.executable, "-m", "core.analytics_child", str(int(project_id)), str(out)],
            cwd=REPO_ROOT, env={**os.environ, URL_VARIABLE: database_url}, capture_output=True, text=True,
            timeout=CHILD_TIMEOUT_S, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the analytics process of project {project_id} exited with {proc.returncode}: "
                               f"{proc.stderr.strip()[-2000:]}")
        with out.open("rb") as fh:
            snapshot = pickle.load(fh)  # noqa: S301 - written just now by our own child, in a private folder
    if not isinstance(snapshot, Snapshot):
        raise RuntimeError(f"the analytics process of project {project_id} returned no snapshot")
    return snapshot


def _at_least(found: tuple[Any, ...], wanted: tuple[Any, ...]) -> bool:
    """Whether figures at ``found`` may stand for ``wanted``: the same fingerprint, or one computed later
    (annotations only grow: a larger count with a larger last id)."""
    if found == wanted:
        return True
    try:
        return (found[1], found[0] or 0) > (wanted[1], wanted[0] or 0)
    except (IndexError, TypeError):
        return False


_caches: dict[str, AnalyticsCache] = {}
_caches_lock = threading.Lock()


def analytics_cache(database_url: str, make_uow: UowFactory, folder: Path | None) -> AnalyticsCache:
    """The process's cache for one database (tests use many databases in one process; each has its own)."""
    with _caches_lock:
        cache = _caches.get(database_url)
        if cache is None:
            cache = _caches[database_url] = AnalyticsCache(make_uow, folder, database_url)
        return cache
