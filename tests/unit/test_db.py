"""The storage layer under the tools, on both databases: the upgrade that added the event relay,
INSERTs queued on PostgreSQL's pipeline, and pooled connections that died while idle."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from server import db as db_module
from server.db import Database, alembic_config
from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_reachable
from tools.models import AuditEntry
from tools.rows import insert_row

AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, not migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    yield from _fresh_pg()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _fresh_pg()


def _fresh_pg() -> Iterator[str]:
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem})")
    name = f"cc_db_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _audit_row(entry_id: str) -> dict[str, object]:
    return {
        "id": entry_id,
        "owner_id": "acct_x",
        "actor_id": None,
        "entity_type": "tasks",
        "entity_id": "task_x",
        "action": "task.created",
        "before": None,
        "after": {"title": "Shoot", "at": datetime(2030, 1, 2, 3, 4, tzinfo=UTC)},
        "request_id": "req_test",
        "created_at": datetime.now(UTC),
    }


def test_upgrading_to_the_relay_marks_earlier_events_dispatched(url: str) -> None:
    """Before revision 0002 subscribers ran inside the emitting transaction: the relay must not
    deliver those events a second time."""
    command.upgrade(alembic_config(url), "0001")
    database = Database(url)
    try:
        with database.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO events (id, owner_id, type, entity_type, entity_id, data, request_id, created_at)"
                    " VALUES ('evt_old', 'acct_x', 'task.created', 'tasks', 'task_x', '{}', 'req_x', :at)"
                ),
                {"at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
        database.migrate()
        with database.engine.connect() as conn:
            waiting = conn.execute(text("SELECT count(*) FROM events WHERE dispatched_at IS NULL")).scalar_one()
            total = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        assert (total, waiting) == (1, 0)
    finally:
        database.dispose()


def test_direct_inserts_are_read_back_in_the_transaction_and_commit(url: str) -> None:
    database = Database(url)
    database.migrate()
    try:
        with database(write=True) as session:
            insert_row(session, AUDIT, _audit_row("aud_1"))
            # a read in the same transaction sees the row (on PostgreSQL: the queue is sent first)
            seen = session.execute(text("SELECT action FROM audit_log WHERE id = 'aud_1'")).scalar_one()
            insert_row(session, AUDIT, _audit_row("aud_2"))
            session.commit()
        assert seen == "task.created"
        with database(write=False) as session:
            rows = session.get(AuditEntry, "aud_1"), session.get(AuditEntry, "aud_2")
        assert [r.id for r in rows if r] == ["aud_1", "aud_2"]
        assert rows[0].after == {"title": "Shoot", "at": "2030-01-02T03:04:00Z"}  # as the API writes times
    finally:
        database.dispose()


def test_a_failing_queued_insert_fails_the_commit_and_leaves_nothing(url: str) -> None:
    database = Database(url)
    database.migrate()
    try:
        with database(write=True) as session:
            insert_row(session, AUDIT, _audit_row("aud_dup"))
            session.commit()
        with database(write=True) as session:
            insert_row(session, AUDIT, _audit_row("aud_new"))
            with pytest.raises(IntegrityError):
                insert_row(session, AUDIT, _audit_row("aud_dup"))  # SQLite: now
                session.commit()  # PostgreSQL: the queue goes out with the COMMIT
            session.rollback()
        with database(write=False) as session:
            assert session.get(AuditEntry, "aud_new") is None
            # the connection is clean for the next transaction
            assert session.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1
    finally:
        database.dispose()


def test_a_rolled_back_transaction_sends_none_of_its_queued_inserts(url: str) -> None:
    database = Database(url)
    database.migrate()
    try:
        with database(write=True) as session:
            insert_row(session, AUDIT, _audit_row("aud_gone"))
            session.rollback()
        with database(write=True) as session:
            insert_row(session, AUDIT, _audit_row("aud_kept"))
            session.commit()
        with database(write=False) as session:
            ids = session.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
        assert ids == ["aud_kept"]
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_that_died_while_idle_is_replaced(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL restarted, or a proxy closed an idle connection: the next call still works."""
    database = Database(pg_url)
    try:
        with database.engine.connect() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone() == (True,)
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
        time.sleep(0.05)
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
    finally:
        database.dispose()


@pytest.mark.parametrize(
    "value",
    [
        datetime(2030, 1, 2, 3, 4, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2030, 4, 25, 12, 0, tzinfo=ZoneInfo("America/Toronto")),
        datetime(2030, 4, 25, 12, 0, 0, 120000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        0.1,
        1e20,
        "caf\u00e9",
    ],
)
def test_json_columns_write_values_as_the_api_does(value: object) -> None:
    """Rows written straight from Python values (an audit entry's `after`) read back exactly as
    if pydantic's JSON mode had converted them first, as the API's responses are."""
    from pydantic import TypeAdapter

    assert db_module._dumps({"v": value}) == TypeAdapter(dict).dump_json({"v": value}).decode()
