"""core.analytics_cache: figures served at once, refreshed in the background, kept across restarts."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core import analytics_cache as cache_module
from core.analytics_cache import AnalyticsCache
from core.uow import UowFactory
from storage.repositories import analytics as analytics_repo
from tests.core.test_analytics import annotate, choice, sentiment  # noqa: F401 - the fixture


def version_of(make_uow: UowFactory, project_id: int) -> tuple[Any, ...]:
    with make_uow() as uow:
        return analytics_repo.version(uow.session, project_id)


def add_annotation(make_uow: UowFactory, data: dict[str, Any]) -> None:
    with make_uow() as uow:
        annotate(uow, data["tasks"][5], data["project"].id, data["u3"], choice("Neutral"), lead=7.0)
        uow.commit()


def test_a_small_project_is_always_shown_current(make_uow: UowFactory, sentiment: dict[str, Any],  # noqa: F811
                                                 tmp_path: Path) -> None:
    cache, pid = AnalyticsCache(make_uow, tmp_path), sentiment["project"].id
    first = cache.snapshot(pid, version_of(make_uow, pid), wait_s=30)
    assert first is not None and first.analytics.n_annotations == 14
    add_annotation(make_uow, sentiment)
    fresh = version_of(make_uow, pid)
    again = cache.snapshot(pid, fresh, wait_s=30)  # quick to compute: awaited, not served stale
    assert again is not None and again.version == fresh and again.analytics.n_annotations == 15


def test_a_slow_project_is_served_stale_then_refreshed(make_uow: UowFactory, sentiment: dict[str, Any],  # noqa: F811
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache, pid = AnalyticsCache(make_uow, tmp_path), sentiment["project"].id
    first = cache.snapshot(pid, version_of(make_uow, pid), wait_s=30)
    assert first is not None
    monkeypatch.setattr(cache_module, "REFRESH_GAP_S", 0.0)
    release = threading.Event()
    real = cache_module.compute_project_analytics

    def slow(uow: Any, *, project_id: int) -> Any:
        release.wait(10)
        return real(uow, project_id=project_id)

    monkeypatch.setattr(cache_module, "compute_project_analytics", slow)
    add_annotation(make_uow, sentiment)
    fresh = version_of(make_uow, pid)
    started = time.monotonic()
    shown = cache.snapshot(pid, fresh, wait_s=0.2)
    assert time.monotonic() - started < 2
    assert shown is first and cache.is_refreshing(pid)  # the last figures at once, new ones on the way
    release.set()
    newer = cache.wait_for(pid, fresh, timeout_s=30)
    assert newer is not None and newer.analytics.n_annotations == 15 and not cache.is_refreshing(pid)


def test_figures_saved_on_disk_serve_a_restarted_process(make_uow: UowFactory, sentiment: dict[str, Any],  # noqa: F811
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = sentiment["project"].id
    version = version_of(make_uow, pid)
    assert AnalyticsCache(make_uow, tmp_path).snapshot(pid, version, wait_s=30) is not None
    assert oct((tmp_path / f"analytics-{pid}.pickle").stat().st_mode & 0o777) == "0o600"

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("nothing changed: the saved figures must be used")

    monkeypatch.setattr(cache_module, "compute_project_analytics", never)
    restarted = AnalyticsCache(make_uow, tmp_path)
    assert restarted.warm(min_annotations=1) == []  # saved figures are current: nothing to compute
    found = restarted.snapshot(pid, version, wait_s=0.1)
    assert found is not None and found.analytics.n_annotations == 14
    (tmp_path / f"analytics-{pid}.pickle").write_bytes(b"not a pickle")
    assert AnalyticsCache(make_uow, tmp_path).latest(pid) is None  # a damaged file is ignored, never shown


def test_warming_computes_big_out_of_date_projects_only(make_uow: UowFactory, sentiment: dict[str, Any],  # noqa: F811
                                                       tmp_path: Path) -> None:
    pid = sentiment["project"].id
    cache = AnalyticsCache(make_uow, tmp_path)
    assert cache.warm(min_annotations=1_000) == []  # 15 annotations: computed on demand, quickly
    assert cache.warm(min_annotations=1) == [pid]
    done = cache.wait_for(pid, version_of(make_uow, pid), timeout_s=30)
    assert done is not None and (tmp_path / f"analytics-{pid}.pickle").is_file()


def test_a_failed_computation_is_reported_and_the_worker_goes_on(make_uow: UowFactory,  # noqa: F811
                                                                sentiment: dict[str, Any], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pid = sentiment["project"].id
    cache = AnalyticsCache(make_uow, tmp_path)
    real = cache_module.compute_project_analytics

    def broken(uow: Any, *, project_id: int) -> Any:
        raise ValueError("a malformed result")

    monkeypatch.setattr(cache_module, "compute_project_analytics", broken)
    with pytest.raises(RuntimeError, match=f"analytics of project {pid} failed: a malformed result"):
        cache.snapshot(pid, version_of(make_uow, pid), wait_s=0.05) or cache.wait_for(
            pid, version_of(make_uow, pid), timeout_s=30)
    monkeypatch.setattr(cache_module, "compute_project_analytics", real)
    assert cache.snapshot(pid, version_of(make_uow, pid), wait_s=30) is not None  # asked again: computed


def test_a_big_project_is_computed_in_a_child_process_with_the_same_figures(
        make_uow: UowFactory, engine: Any, sentiment: dict[str, Any], tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Above CHILD_MIN_ANNOTATIONS the worker spawns a process on its own connection (SQLite file or
    PostgreSQL): the figures equal those computed in this process."""
    pid = sentiment["project"].id
    here = cache_module._computed(make_uow, pid)
    monkeypatch.setattr(cache_module, "CHILD_MIN_ANNOTATIONS", 1)
    children: list[int] = []
    real = cache_module._in_child_process

    def counted(url: str, project_id: int) -> Any:
        children.append(project_id)
        return real(url, project_id)

    monkeypatch.setattr(cache_module, "_in_child_process", counted)
    url = engine.url.render_as_string(hide_password=False)
    cache = AnalyticsCache(make_uow, tmp_path, url)
    assert cache.snapshot(pid, version_of(make_uow, pid), wait_s=120) is None  # big, never computed: not awaited
    there = cache.wait_for(pid, version_of(make_uow, pid), timeout_s=120)
    assert children == [pid] and there is not None and there.version == here.version
    pd.testing.assert_frame_equal(here.analytics.annotators, there.analytics.annotators)
    assert there.analytics.n_annotations == here.analytics.n_annotations == 14
