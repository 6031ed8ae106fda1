"""The Alembic revisions build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import alembic_config, upgrade_to_head
from storage.models import Base


def test_migrating_to_head_gives_the_models_schema_with_nothing_missing_or_extra(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_every_revision_downgrades_and_upgrades_again(engine):
    command.downgrade(alembic_config(engine), "base")
    upgrade_to_head(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
