"""The booking lifecycle of seed 002: invitations, quotes, bookings, work orders, files,
deliverables, disputes and ratings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from tools.models.base import json_column, utc_column


class Invitation(SQLModel, table=True):
    """A talent invited to quote on a task (one per task and talent)."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("task_id", "talent_id", name="uq_invitation_task_talent"),)

    id: str = Field(primary_key=True)  #: inv_
    task_id: str = Field(foreign_key="tasks.id", index=True)
    talent_id: str = Field(foreign_key="talent.id", index=True)
    owner_id: str = Field(index=True)  #: the task's customer
    message: str | None = None
    match: dict[str, Any] = json_column(default_factory=dict)  #: why this talent was chosen
    expires_at: datetime | None = utc_column(default=None)
    created_at: datetime = utc_column()


class Quote(SQLModel, table=True):
    __tablename__ = "quotes"

    id: str = Field(primary_key=True)  #: quo_
    task_id: str = Field(foreign_key="tasks.id", index=True)
    talent_id: str = Field(foreign_key="talent.id", index=True)
    owner_id: str = Field(index=True)  #: the task's customer
    amount_cents: int
    currency: str
    message: str | None = None
    status: str = "pending"
    expires_at: datetime | None = utc_column(default=None)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class Booking(SQLModel, table=True):
    __tablename__ = "bookings"

    id: str = Field(primary_key=True)  #: bkg_
    quote_id: str = Field(foreign_key="quotes.id", unique=True)  #: one booking per quote, ever
    task_id: str = Field(foreign_key="tasks.id", index=True)
    owner_id: str = Field(index=True)
    talent_id: str = Field(foreign_key="talent.id", index=True)
    amount_cents: int
    currency: str
    status: str = "pending_escrow"
    hold_id: str | None = None
    work_order_id: str | None = None
    start_at: datetime = utc_column()
    end_at: datetime = utc_column()
    checkin: dict[str, Any] | None = json_column(default=None)  #: lat, lng, accuracy_m, distance_m, at
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class WorkOrder(SQLModel, table=True):
    __tablename__ = "work_orders"

    id: str = Field(primary_key=True)  #: wo_
    booking_id: str = Field(foreign_key="bookings.id", unique=True)
    task_id: str = Field(foreign_key="tasks.id", index=True)
    owner_id: str = Field(index=True)
    talent_id: str = Field(foreign_key="talent.id", index=True)
    status: str = "awaiting_delivery"
    delivery_round: int = 0  #: bumped by every delivery; QA results are cached per round
    qa: dict[str, Any] | None = json_column(default=None)  #: {status, checks, round, ran_at}
    override_qa: bool = False
    change_request: dict[str, Any] | None = json_column(default=None)  #: {message, round, at}, latest
    delivered_at: datetime | None = utc_column(default=None)
    accepted_at: datetime | None = utc_column(default=None)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class StoredFile(SQLModel, table=True):
    __tablename__ = "files"

    id: str = Field(primary_key=True)  #: file_
    owner_id: str = Field(index=True)  #: who uploads it
    filename: str
    content_type: str
    size: int  #: the size announced at presign; the upload must match
    sha256: str | None = None
    status: str = "pending"  #: pending until the bytes arrive, then uploaded
    expires_at: datetime = utc_column()  #: of the upload URL
    created_at: datetime = utc_column()
    uploaded_at: datetime | None = utc_column(default=None)


class Deliverable(SQLModel, table=True):
    __tablename__ = "deliverables"

    id: str = Field(primary_key=True)  #: dlv_
    work_order_id: str = Field(foreign_key="work_orders.id", index=True)
    file_id: str = Field(foreign_key="files.id")
    kind: str  #: photo, video, audio, document
    round: int
    created_at: datetime = utc_column()


class Dispute(SQLModel, table=True):
    __tablename__ = "disputes"

    id: str = Field(primary_key=True)  #: dsp_
    work_order_id: str = Field(foreign_key="work_orders.id", index=True)
    owner_id: str = Field(index=True)
    talent_id: str = Field(index=True)
    opened_by: str
    reason: str
    status: str = "open"
    resolution: str | None = None  #: release, refund_full, refund_partial
    refund_cents: int = 0
    note: str | None = None
    created_at: datetime = utc_column()
    resolved_at: datetime | None = utc_column(default=None)


class Rating(SQLModel, table=True):
    __tablename__ = "ratings"

    id: str = Field(primary_key=True)  #: rat_
    work_order_id: str = Field(foreign_key="work_orders.id", unique=True)
    owner_id: str = Field(index=True)
    talent_id: str = Field(foreign_key="talent.id", index=True)
    score: int
    comment: str | None = None
    created_at: datetime = utc_column()
