"""Starting on a fresh database (what ``scripts/start.sh`` and the demo do) prints no SQLAlchemy warning: the
migrations' SQLite batch copies do not reflect ``tasks``, whose expression index SQLAlchemy cannot reflect."""
from __future__ import annotations

import warnings
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.exc import SAWarning

from storage.db import make_engine, upgrade_to_head


def test_migrating_a_fresh_sqlite_database_warns_of_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SAWarning)
            upgrade_to_head(engine)
        foreign = {(fk["referred_table"], tuple(fk["constrained_columns"]))
                   for fk in inspect(engine).get_foreign_keys("reviews")}
        assert foreign == {("tasks", ("task_id",)), ("annotations", ("annotation_id",)), ("users", ("reviewer_id",))}
    finally:
        engine.dispose()
