"""The database engine: one SQLite file (WAL, one connection per process) or PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session

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
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns through orjson: several times faster than the json module on every insert.
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
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        # A write takes the lock up front, so two processes never deadlock upgrading a read lock.
        # Straight to the driver: this runs once per transaction, and nothing reads its result.
        # Its errors ("database is locked") come wrapped as SQLAlchemy's, as from any statement.
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN"
        try:
            conn.connection.dbapi_connection.execute(sql)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, None, exc, sqlite3.Error, dialect=conn.dialect) from exc


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._writer = self.engine.execution_options(write=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def connections(self) -> int:
        """How many connections the pool keeps open (1 on SQLite); overflow ones are extra."""
        return self.engine.pool.size()  # type: ignore[attr-defined]

    @contextmanager
    def __call__(self, *, write: bool) -> Iterator[Session]:
        with Session(self._writer if write else self.engine, expire_on_commit=False) as session:
            yield session

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


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
