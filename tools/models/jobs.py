"""The durable job queue and the webhook tables (endpoints, deliveries, attempt logs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from tools.models.base import json_column, utc_column

#: Seed 003's job statuses.
JOB_STATUSES = ("QUEUED", "DISPATCHED", "STARTED", "COMPLETED", "FAILED", "CANCELLED")


class Job(SQLModel, table=True):
    """One unit of background work, written in the transaction that caused it."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)

    id: str = Field(primary_key=True)  #: job_
    kind: str = Field(index=True)  #: webhook, email, tick
    payload: dict[str, Any] = json_column(default_factory=dict)
    dedupe_key: str | None = Field(default=None, unique=True)  #: the same key is enqueued once
    status: str = "QUEUED"
    run_at: datetime = utc_column()
    attempts: int = 0  #: claims so far (an attempt a dead worker began counts too)
    max_attempts: int = 8
    locked_by: str | None = None  #: the worker holding the lease
    locked_until: datetime | None = utc_column(default=None)  #: after this, any worker may reclaim
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    finished_at: datetime | None = utc_column(default=None)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: str = Field(primary_key=True)  #: whk_
    owner_id: str = Field(index=True)
    url: str
    events: list[str] = json_column(default_factory=list)  #: event types, or ["*"]
    secret: str  #: whsec_<base64>
    status: str = "enabled"  #: enabled, disabled
    disabled_reason: str | None = None
    failing_since: datetime | None = utc_column(default=None)  #: first failure of the current run
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    deleted_at: datetime | None = utc_column(default=None)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint; its id is the `webhook-id`, stable across retries."""

    __tablename__ = "webhook_deliveries"

    id: str = Field(primary_key=True)  #: msg_
    endpoint_id: str = Field(index=True)
    owner_id: str = Field(index=True)
    event_id: str = Field(index=True)
    event_type: str
    status: str = "pending"  #: pending, succeeded, failed
    attempts: int = 0
    job_id: str | None = None  #: the latest job carrying it
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),)

    id: str = Field(primary_key=True)  #: wha_
    endpoint_id: str
    delivery_id: str = Field(index=True)
    owner_id: str
    event_id: str
    event_type: str
    attempt: int
    status: str  #: succeeded, failed
    response_code: int | None = None
    latency_ms: int
    error: str | None = Field(default=None, sa_type=Text)
    at: datetime = utc_column(index=True)
