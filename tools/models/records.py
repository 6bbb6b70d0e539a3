"""Cross-cutting records: audit trail, idempotency keys, the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from tools.models.base import json_column, utc_column


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_owner_entity", "owner_id", "entity_type", "entity_id"),)

    id: str = Field(primary_key=True)
    owner_id: str  #: whose log this entry appears in (indexed by ix_audit_owner_entity)
    actor_id: str | None = None  #: the principal who made the change
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None = json_column(default=None)
    after: dict[str, Any] | None = json_column(default=None)
    request_id: str | None = None
    created_at: datetime = utc_column()


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str  #: the principal id, or "anon:<client>" for unauthenticated calls
    key: str
    tool: str
    request_hash: str
    status_code: int = 0
    response: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = utc_column()


class Event(SQLModel, table=True):
    """Every state change, written in the transaction that made it (the outbox).

    `dispatched_at` is set by the relay (tools/events.dispatch) once the event's subscribers have
    queued its webhook deliveries and e-mails; the partial index finds the ones still waiting.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index(
            "ix_events_undispatched",
            "id",
            sqlite_where=text("dispatched_at IS NULL"),
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True)
    # Every index costs each emit a B-tree insert and a page written at commit: only the one
    # that a query uses (tools/schedule.py looks events up by entity) and the relay's.
    owner_id: str
    type: str
    entity_type: str
    entity_id: str = Field(index=True)
    data: dict[str, Any] = json_column(default_factory=dict)
    request_id: str | None = None
    created_at: datetime = utc_column()
    dispatched_at: datetime | None = utc_column(default=None)
