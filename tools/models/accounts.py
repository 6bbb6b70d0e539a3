from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from tools.models.base import json_column, utc_column


class Principal(SQLModel, table=True):
    """Whoever holds keys: a customer account (`acct_`), a talent (`tal_`) or an operator."""

    __tablename__ = "principals"

    id: str = Field(primary_key=True)
    kind: str = Field(index=True)  #: "customer", "talent" or "operator"
    name: str
    email: str = Field(index=True)
    created_at: datetime = utc_column()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True)
    principal_id: str = Field(foreign_key="principals.id", index=True)
    key_hash: str = Field(unique=True)
    prefix: str  #: the first characters, to tell keys apart in listings
    mode: str  #: "live" or "test"
    scopes: list[str] = json_column(default_factory=list)
    label: str | None = None
    created_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(default=None)


class TalentProfile(SQLModel, table=True):
    __tablename__ = "talent"

    id: str = Field(primary_key=True, foreign_key="principals.id")
    name: str
    email: str
    bio: str | None = None
    task_types: list[str] = json_column(default_factory=list)
    skills: list[str] = json_column(default_factory=list)
    home_lat: float
    home_lng: float
    home_city: str | None = None
    home_precision: str = "exact"
    timezone: str = "UTC"
    radius_km: float = 25
    hourly_rate_cents: int = 0
    currency: str = "USD"
    rating_sum: int = 0
    rating_count: int = 0
    jobs_completed: int = 0
    active: bool = True
    created_at: datetime = utc_column()
