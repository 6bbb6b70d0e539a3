"""INSERTs on the hot path, sent straight to the driver.

Every tool call writes a few rows it never reads back through a query (the task, its audit entry,
its event, a job). Through the unit of work each costs several times a Core INSERT, and a Core
INSERT still costs ~100 µs of execution-context bookkeeping per statement (bench/create_task.py
and BENCHMARKS.md measure both). Here SQLAlchemy compiles each INSERT once per dialect and gives
its bind processors (JSON, our UTC datetimes); a call then only converts the values and hands SQL
and parameters to the DBAPI cursor of the session's connection, inside the session's transaction.
Driver errors come back wrapped as SQLAlchemy's (`IntegrityError`…), as from `session.execute`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import Table, insert, inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  #: column keys in bind order
    binds: tuple[str, ...]  #: the bind parameter names (named paramstyles)
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: dict[str, Any]  #: what a column gets when the values leave it out
    positional: bool


_PLANS: dict[tuple[Table, str], _Plan] = {}
#: per mapped class: its table and (attribute, column key) pairs
_MAPPED: dict[type, tuple[Table, tuple[tuple[str, str], ...]]] = {}


def insert_row(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT one row of `table` now, in the session's transaction.

    `values` is keyed by column key; a column left out gets its scalar default, or NULL.
    """
    conn = session.connection()
    plan = _PLANS.get((table, conn.dialect.name)) or _plan(table, conn.dialect)
    row = [
        value if (proc := plan.processors[i]) is None or value is None else proc(value)
        for i, value in enumerate(values[name] if name in values else plan.defaults[name] for name in plan.names)
    ]
    params: Any = row if plan.positional else dict(zip(plan.binds, row, strict=True))
    if _PIPELINE in conn.info:
        conn.info[_PIPELINE].append((plan.sql, params))
    else:
        _execute(conn, plan.sql, params)


def execute_later(session: Session, sql: str) -> None:
    """A statement without results (NOTIFY) for the session's transaction: sent with the pending
    INSERTs where the connection pipelines them, otherwise now."""
    conn = session.connection()
    if _PIPELINE in conn.info:
        conn.info[_PIPELINE].append((sql, None))
    else:
        _execute(conn, sql, None)


# --- PostgreSQL: pending INSERTs go in one round trip ----------------------------------------
#
# Each statement sent to PostgreSQL costs a network round trip, which on this stack costs more CPU
# than the statement's own work. On such an engine (`pipeline_writes`), insert_row and
# execute_later queue their statements on the connection; the queue is sent in one message before
# any other statement runs on that connection (so every read sees the rows), and at commit
# together with the COMMIT. A rollback, of the transaction or to a savepoint (the queue is always
# empty when a savepoint is taken), drops it. An error in a queued statement surfaces at that
# point, wrapped as SQLAlchemy's exception, and the transaction rolls back.

_PIPELINE = "crewcall_pipeline"


def pipeline_writes(engine: Any) -> None:
    """Install the pending-write queue on a psycopg engine's connections."""
    from sqlalchemy import event

    @event.listens_for(engine, "engine_connect")
    def _connect(conn: Connection) -> None:
        conn.info.setdefault(_PIPELINE, [])

    @event.listens_for(engine, "before_cursor_execute")
    def _before_statement(conn: Connection, *_: Any) -> None:
        if conn.info.get(_PIPELINE):
            send_pending(conn)

    @event.listens_for(engine, "commit")
    def _commit(conn: Connection) -> None:
        if conn.info.get(_PIPELINE):
            send_pending(conn, commit=True)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        conn.info.get(_PIPELINE, []).clear()

    @event.listens_for(engine, "rollback_savepoint")
    def _rollback_savepoint(conn: Connection, *_: Any) -> None:
        conn.info.get(_PIPELINE, []).clear()

    @event.listens_for(engine.pool, "reset")
    def _reset(_dbapi_conn: Any, record: Any, _reset_state: Any) -> None:  # SQLAlchemy 2's signature
        record.info.get(_PIPELINE, []).clear()  # back in the pool: nothing may carry over


def send_pending(conn: Connection, *, commit: bool = False) -> None:
    """Send the queued statements (and the COMMIT, when `commit`) as one simple query.

    psycopg binds the parameters client-side (`ClientCursor.mogrify`, with libpq's quoting), and
    the message opens the transaction itself when nothing has yet: one round trip for the whole
    call. psycopg's pipeline mode did the same in one round trip too, but its bookkeeping cost
    more CPU than the statements (BENCHMARKS.md). The server runs the statements in order and
    stops at the first error, which aborts the transaction; the caller then rolls back.
    """
    from psycopg import ClientCursor
    from psycopg.errors import error_from_result
    from psycopg.pq import ExecStatus, TransactionStatus

    pending = conn.info[_PIPELINE]
    batch, pending[:] = list(pending), []
    dbapi_conn = conn.connection.dbapi_connection
    mogrify = ClientCursor(dbapi_conn).mogrify  # type: ignore[arg-type]
    statements = [sql if params is None else mogrify(sql, params) for sql, params in batch]
    if dbapi_conn.pgconn.transaction_status == TransactionStatus.IDLE:  # type: ignore[union-attr]
        statements.insert(0, "BEGIN")
    if commit:
        statements.append("COMMIT")
    query = ";\n".join(statements)
    encoding = dbapi_conn.info.encoding  # type: ignore[union-attr]
    result = dbapi_conn.pgconn.exec_(query.encode(encoding))  # type: ignore[union-attr]
    if result.status == ExecStatus.FATAL_ERROR:
        error = error_from_result(result, encoding=encoding)
        raise DBAPIError.instance(query, None, error, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect)


class Written:
    """A row inserted with `insert_values`, read as attributes (for `to_public`, the audit entry
    and the event) without the cost of building its ORM object. Not in the session: a later
    `session.get` loads the row with a query."""

    __tablename__: str

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return _DUMP.dump_python(self.__dict__, mode=mode)


_DUMP: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
_WRITTEN: dict[type, type[Written]] = {}


def insert_values(session: Session, cls: type, values: dict[str, Any]) -> Written:
    """INSERT a row of the mapped class `cls` from `values` keyed by attribute name (every column
    given); returns it as a `Written`."""
    table, pairs = _MAPPED.get(cls) or _map(cls)
    insert_row(session, table, {column: values[attr] for attr, column in pairs})
    kind = _WRITTEN.get(cls)
    if kind is None:
        kind = _WRITTEN[cls] = type(f"Written{cls.__name__}", (Written,), {"__tablename__": table.name})
    return kind(values)


def insert_now(session: Session, obj: T) -> T:
    """INSERT `obj` at once and attach it to `session` as a persistent, clean object.

    Later statements in the transaction see the row, `session.get` finds the object without a
    query, and changes made to it afterwards are flushed as an UPDATE. Every column must have its
    value on the object (string ids, Python-side defaults): database defaults are not fetched.
    """
    table, pairs = _MAPPED.get(type(obj)) or _map(type(obj))
    insert_row(session, table, {column: getattr(obj, attr) for attr, column in pairs})
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def _execute(conn: Connection, sql: str, params: Any) -> None:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


def _plan(table: Table, dialect: Dialect) -> _Plan:
    keys = [column.key for column in table.columns]
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    positional = bool(compiled.positional)
    binds = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
    by_bind = {name: compiled.binds[name] for name in binds}
    escaped = getattr(compiled, "escaped_bind_names", None) or {}
    names = tuple(by_bind[name].key for name in binds)
    if set(names) != set(keys):  # a column with a SQL expression default, say: not for this path
        raise ValueError(f"cannot plan a direct INSERT into {table.name}")
    processors = tuple(table.columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    defaults = {}
    for column in table.columns:
        default = column.default
        defaults[column.key] = default.arg if default is not None and default.is_scalar else None
    plan = _Plan(
        sql=compiled.string,
        names=names,
        binds=tuple(escaped.get(name, name) for name in binds),
        processors=processors,
        defaults=defaults,
        positional=positional,
    )
    _PLANS[(table, dialect.name)] = plan
    return plan


def _map(cls: type) -> tuple[Table, tuple[tuple[str, str], ...]]:
    mapper = inspect(cls)
    pairs = tuple((prop.key, prop.columns[0].key) for prop in mapper.column_attrs)
    mapped = (mapper.local_table, pairs)
    _MAPPED[cls] = mapped
    return mapped
