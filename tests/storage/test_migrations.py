"""The Alembic revisions build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import alembic_config, upgrade_to_head
from storage.models import Base


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection", "ignore:autogenerate skipping")
def test_migrating_to_head_gives_the_models_schema_with_nothing_missing_or_extra(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection", "ignore:autogenerate skipping")
def test_every_revision_downgrades_and_upgrades_again(engine):
    command.downgrade(alembic_config(engine), "base")
    upgrade_to_head(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_hand_out_queue_index_exists_on_both_databases(engine):
    # Alembic cannot reflect expression indexes, so the comparison above skips it: look it up directly.
    from sqlalchemy import text

    query = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'tasks'"
        if engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks'"
    )
    with engine.connect() as connection:
        names = set(connection.execute(text(query)).scalars())
    assert "ix_tasks_hand_out_queue" in names
