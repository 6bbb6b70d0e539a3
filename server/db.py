"""The database engine: one SQLite file (WAL, one connection per process) or PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session

from tools.runner import run_hooks

log = logging.getLogger("crewcall.db")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, *, pool_size: int = 20) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: writers queue in the pool instead of fighting for the lock.
        engine = create_engine(
            url, pool_size=1, max_overflow=0, pool_timeout=60, connect_args={"check_same_thread": False}, **_JSON
        )
        _sqlite_pragmas(engine)
        return engine
    # Sized for REST's threads (half the pool, see server/rest.py) plus the in-process worker's
    # (8) and its claims: an overflow connection is opened and closed per checkout, which under a
    # burst cost more than the work itself.
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size // 2, **_JSON)
    _ping_when_idle(engine)
    if engine.dialect.driver == "psycopg":
        from tools.rows import pipeline_writes

        pipeline_writes(engine)  # a call's INSERTs and its COMMIT in one round trip
    return engine


#: A connection back in use within this many seconds is not pinged (HikariCP's
#: aliveBypassWindowMs: a ping on every checkout cost two round trips per call under load).
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout when it sat idle; a dead one is replaced (the pool
    tries again on DisconnectionError). A connection that dies while in use, or within a second
    of its last use, fails that call and the pool is invalidated, as without any ping."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        if time.monotonic() - record.info.get("checked_in", 0.0) <= PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["checked_in"] = time.monotonic()


def _dumps(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z).decode()


# JSON columns through orjson: several times faster than the json module on every insert. A
# datetime in a value is written as the API writes it (pydantic's JSON mode: `Z` for UTC).
_JSON = {"json_serializer": _dumps, "json_deserializer": orjson.loads}


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    # Savepoints, which every call of a group takes (Database.run_together), straight to the
    # driver too: through SQLAlchemy's statement pipeline each cost more than the INSERTs.
    dialect = engine.dialect
    dialect.do_savepoint = lambda conn, name: _direct(conn, f"SAVEPOINT {name}")  # type: ignore[method-assign]
    dialect.do_release_savepoint = lambda conn, name: _direct(conn, f"RELEASE SAVEPOINT {name}")  # type: ignore[method-assign]
    dialect.do_rollback_to_savepoint = lambda conn, name: _direct(conn, f"ROLLBACK TO SAVEPOINT {name}")  # type: ignore[method-assign]

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        # A write takes the lock up front, so two processes never deadlock upgrading a read lock.
        # Straight to the driver: this runs once per transaction, and nothing reads its result.
        # Its errors ("database is locked") come wrapped as SQLAlchemy's, as from any statement.
        _direct(conn, "BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


def _direct(conn: Connection, sql: str) -> None:
    """A statement without parameters or results, on the SQLite connection itself; its errors
    ("database is locked") come wrapped as SQLAlchemy's, as from any statement."""
    try:
        conn.connection.dbapi_connection.execute(sql)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error, dialect=conn.dialect) from exc


#: What one call of a group did: its result, or the exception it raised.
Outcome = tuple[Any, BaseException | None]


@dataclass
class _Group:
    """The write transaction that the calls of one group share (see `Database.run_together`)."""

    connection: Connection
    hooks: list[Callable[[], None]] = field(default_factory=list)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._writer = self.engine.execution_options(write=True)
        self._local = threading.local()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def connections(self) -> int:
        """How many connections the pool keeps open (1 on SQLite); overflow ones are extra."""
        return self.engine.pool.size()  # type: ignore[attr-defined]

    @property
    def _group(self) -> _Group | None:
        """The group this thread is running, if any."""
        return getattr(self._local, "group", None)

    @contextmanager
    def __call__(self, *, write: bool) -> Iterator[Session]:
        if (group := self._group) is not None:
            # Inside a group, the session's transaction is a savepoint: its commit releases it,
            # its rollback undoes this call's work only.
            with Session(group.connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
                yield session
            return
        with Session(self._writer if write else self.engine, expire_on_commit=False) as session:
            yield session

    def after_commit(self, hooks: list[Callable[[], None]]) -> None:
        if (group := self._group) is not None:
            group.hooks.extend(hooks)
        else:
            run_hooks(hooks)

    @property
    def groups_commits(self) -> bool:
        """Whether `run_together` pays: on SQLite, where one connection runs one call at a time
        anyway and each COMMIT writes the pages it changed to the WAL. (On PostgreSQL a group
        would hold row locks across calls, and its savepoints cost round trips.)"""
        return self.dialect == "sqlite"

    def run_together(self, calls: list[Callable[[], Any]]) -> list[Outcome]:
        """Run `calls` one after another in one write transaction, each in a savepoint of its
        own (sessions made meanwhile join it), and commit once: group commit, on SQLite.

        Every call still happens entirely or not at all: a call that fails rolls back to its
        savepoint and the others go on. Nothing is reported before the commit, so when the
        transaction itself fails (its BEGIN or COMMIT, or a call breaks the connection's
        transaction), its calls run again, each on its own: what a tool does outside the
        database must bear a second run (files are written by id; payments carry deterministic
        idempotency keys). The after-commit hooks of every call run after the one commit.
        """
        try:
            connection = self._writer.connect()
        except Exception:
            return [outcome(call) for call in calls]
        group = _Group(connection)
        outcomes: list[Outcome] = []
        broken = False
        breaker: int | None = None  #: the call whose error broke the transaction
        self._local.group = group
        try:
            connection.begin()
            for index, call in enumerate(calls):
                outcomes.append(outcome(call))
                if not _intact(connection):
                    broken, breaker = True, index
                    break
            if not broken:
                connection.commit()
        except Exception:
            log.warning("a group of %d calls could not commit together; running them alone", len(calls), exc_info=True)
            broken = True
        finally:
            self._local.group = None
            if broken:
                _roll_back(connection)
            connection.close()
        if broken:
            # Nothing of the group happened after all: its calls run again alone, but the one
            # that broke it, which keeps its error.
            return [outcomes[i] if i == breaker else outcome(call) for i, call in enumerate(calls)]
        run_hooks(group.hooks)
        return outcomes

    def migrate(self) -> None:
        command.upgrade(alembic_config(self.url), "head")

    def pending_migrations(self) -> bool:
        """True when the database is not at the newest migration (or has none)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() != head

    def dispose(self) -> None:
        self.engine.dispose()


def outcome(call: Callable[[], Any]) -> Outcome:
    """Run `call`; its result, or the exception it raised (for whoever awaits it)."""
    try:
        return call(), None
    except BaseException as exc:  # handed to whoever awaits the call
        return None, exc


def _intact(connection: Connection) -> bool:
    """Whether the group's transaction is as a call should leave it: no savepoint left open, and
    SQLite did not roll the whole transaction back (it does on some I/O errors)."""
    dbapi = connection.connection.dbapi_connection
    return connection.in_transaction() and not connection.in_nested_transaction() and bool(dbapi.in_transaction)


def _roll_back(connection: Connection) -> None:
    try:
        connection.rollback()
    except Exception:
        connection.invalidate()


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
