from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from tools.models.base import json_column, utc_column


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_status", "owner_id", "status"),)

    id: str = Field(primary_key=True)
    owner_id: str = Field(foreign_key="principals.id")  #: indexed by ix_tasks_owner_status
    task_type: str
    title: str
    description: str | None = None
    status: str = "draft"
    location: dict[str, Any] = json_column(default_factory=dict)
    start_at: datetime = utc_column()
    duration_hours: float
    timezone: str = "UTC"
    currency: str
    pricing_model: str
    max_total_cents: int
    deliverables: list[dict[str, Any]] = json_column(default_factory=list)
    task_spec: dict[str, Any] = json_column(default_factory=dict)
    metadata_: dict[str, Any] = json_column(default_factory=dict, alias="metadata")
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
