"""Group commit on SQLite (server/db.py `Database.run_together`): calls that share one
transaction still each happen entirely or not at all, and nothing of theirs is announced before
the commit. (On PostgreSQL every call has its own transaction: see `Database.groups_commits`.)"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlmodel import select

from server.app import AppState, build_state
from tests.conftest import make_settings
from tests.factories import task_body
from tools.context import Ctx
from tools.errors import NotFound
from tools.models import AuditEntry, Event, Task
from tools.registry import registry
from tools.rows import insert_row, insert_values
from tools.runner import Call, in_transaction

TOOLS = registry()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[AppState]:
    state = build_state(make_settings(tmp_path, f"sqlite:///{tmp_path / 'group.db'}", inprocess_worker=False))
    state.db.migrate()
    yield state
    state.db.dispose()


@pytest.fixture
def commits(state: AppState) -> list[int]:
    """How many transactions were committed since the test's first group began."""
    counted = [0]
    event.listen(state.db.engine, "commit", lambda _conn: counted.__setitem__(0, counted[0] + 1))
    return counted


def signup(state: AppState) -> str:
    result = state.runner(Call(tool=TOOLS["signup_developer"], arguments={"email": "g@example.com", "name": "G"}))
    return result.data()["api_key"]


def create(state: AppState, key: str, **overrides: Any) -> Callable[[], Any]:
    body = task_body(starts_in=timedelta(days=2), **overrides)
    return lambda: state.runner(Call(tool=TOOLS["create_task"], arguments=body, token=key))


def count(state: AppState, model: type) -> int:
    with state.db(write=False) as session:
        return session.exec(select(func.count()).select_from(model)).one()  # type: ignore[call-overload]


def titles(state: AppState) -> list[str]:
    with state.db(write=False) as session:
        return sorted(session.exec(select(Task.title)).all())


def test_a_refused_call_leaves_no_trace_and_the_others_commit(state: AppState, commits: list[int]) -> None:
    key = signup(state)
    commits[0] = 0

    def writes_then_refuses(ctx: Ctx) -> None:
        insert_row(ctx.session, AuditEntry.__table__, _AUDIT | {"created_at": ctx.now()})  # type: ignore[attr-defined]
        raise NotFound("the thing went away")

    audits_before = count(state, AuditEntry)
    outcomes = state.db.run_together(
        [
            create(state, key, title="one"),
            lambda: in_transaction(state.db, state.services, writes_then_refuses, name="refuses"),
            create(state, key, title="two"),
        ]
    )
    assert [type(error).__name__ if error else "ok" for _, error in outcomes] == ["ok", "NotFound", "ok"]
    assert commits[0] == 1
    assert titles(state) == ["one", "two"]
    assert count(state, AuditEntry) == audits_before + 2  # the refused call's entry was undone
    assert count(state, Event) == 2


_AUDIT = {
    "id": "aud_refused",
    "owner_id": "acct_x",
    "entity_type": "tasks",
    "entity_id": "task_x",
    "action": "task.touched",
    "after": {},
}


def test_after_commit_hooks_run_once_the_whole_group_is_committed(state: AppState, commits: list[int]) -> None:
    key = signup(state)
    commits[0] = 0
    seen: list[int] = []

    def count_elsewhere() -> None:
        # A connection of its own sees only what is committed.
        with contextlib.closing(sqlite3.connect(state.db.url.split("///", 1)[1])) as conn:
            seen.append(conn.execute("SELECT count(*) FROM tasks").fetchone()[0])

    def hooked(ctx: Ctx) -> None:
        ctx.after_commit.append(count_elsewhere)

    state.db.run_together(
        [
            create(state, key, title="one"),
            lambda: in_transaction(state.db, state.services, hooked, name="hooked"),
            create(state, key, title="two"),
        ]
    )
    assert seen == [2]
    assert commits[0] == 1


def test_a_call_that_breaks_the_transaction_keeps_its_error_and_the_others_run_alone(
    state: AppState, commits: list[int]
) -> None:
    key = signup(state)
    commits[0] = 0

    def breaks(ctx: Ctx) -> None:
        ctx.session.connection().connection.dbapi_connection.rollback()  # type: ignore[union-attr]
        raise RuntimeError("lost the transaction")

    outcomes = state.db.run_together(
        [
            create(state, key, title="one"),
            lambda: in_transaction(state.db, state.services, breaks, name="breaks"),
            create(state, key, title="two"),
        ]
    )
    assert outcomes[1][1] is not None  # its own error, or the failed rollback to its savepoint
    assert outcomes[0][1] is None and outcomes[2][1] is None
    assert titles(state) == ["one", "two"]  # each once: the rolled-back first try left nothing
    assert commits[0] == 2  # one and two, alone
    assert count(state, Event) == 2


def test_a_group_whose_commit_fails_runs_its_calls_alone(state: AppState) -> None:
    """SQLite checks a deferred foreign key at the COMMIT: the group cannot commit, so each call
    runs alone, and only the offending one fails."""
    key = signup(state)

    def orphan(ctx: Ctx) -> None:
        ctx.session.connection().exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        now = ctx.now()
        row = _ORPHAN | {"start_at": now + timedelta(days=1), "created_at": now, "updated_at": now}
        insert_values(ctx.session, Task, row)

    outcomes = state.db.run_together(
        [
            create(state, key, title="one"),
            lambda: in_transaction(state.db, state.services, orphan, name="orphan"),
            create(state, key, title="two"),
        ]
    )
    assert [error is None for _, error in outcomes] == [True, False, True]
    assert "FOREIGN KEY" in str(outcomes[1][1])
    assert titles(state) == ["one", "two"]


_ORPHAN = {
    "id": "task_orphan",
    "owner_id": "acct_nobody",
    "task_type": "PRODUCT_PHOTO_ECOMM",
    "title": "orphan",
    "description": None,
    "status": "draft",
    "location": {},
    "duration_hours": 1.0,
    "timezone": "UTC",
    "currency": "CAD",
    "pricing_model": "fixed",
    "max_total_cents": 100,
    "deliverables": [],
    "task_spec": {},
    "metadata_": {},
}
