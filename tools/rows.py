"""Insert a row now with one Core statement, keeping its object in the session as if loaded.

The unit of work costs several times more per row than a Core INSERT (bench/create_task.py
measures it), which matters on paths that run on every call: tasks, events, audit entries.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Insert, insert, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")

#: per mapped class: the INSERT statement and (attribute, column key) pairs
_PLANS: dict[type, tuple[Insert, tuple[tuple[str, str], ...]]] = {}


def insert_now(session: Session, obj: T) -> T:
    """INSERT `obj` at once and attach it to `session` as a persistent, clean object.

    Later statements in the transaction see the row, `session.get` finds the object without a
    query, and changes made to it afterwards are flushed as an UPDATE. Every column must have its
    value on the object (string ids, Python-side defaults): database defaults are not fetched.
    """
    stmt, pairs = _PLANS.get(type(obj)) or _plan(type(obj))
    # on the connection: the ORM layer of Session.execute (autoflush, events) is not needed here
    session.connection().execute(stmt, {column: getattr(obj, attr) for attr, column in pairs})
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def _plan(cls: type) -> tuple[Insert, tuple[tuple[str, str], ...]]:
    mapper = inspect(cls)
    pairs = tuple((prop.key, prop.columns[0].key) for prop in mapper.column_attrs)
    plan = (insert(mapper.local_table), pairs)
    _PLANS[cls] = plan
    return plan
