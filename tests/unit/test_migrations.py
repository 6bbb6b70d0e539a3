"""The migrations build exactly the schema the table models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import tools.models  # noqa: F401
from tests.conftest import LiveServer


def test_migrated_schema_matches_the_models(server: LiveServer) -> None:
    with server.state.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations differ; run python -m server.migrations.regen: {diff}"


def test_migrating_again_is_a_no_op(server: LiveServer) -> None:
    server.state.db.migrate()
    with server.state.db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is not None


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
