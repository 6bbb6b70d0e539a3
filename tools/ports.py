"""What the domain needs from outside. `server/` wires real adapters in; tests swap them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Place:
    """A resolved location: coordinates, how precise they are, and the local time zone."""

    lat: float
    lng: float
    precision: str  #: "exact" (given coordinates) or "city" (resolved from the gazetteer)
    timezone: str
    city: str | None = None
    region: str | None = None
    country: str | None = None


class Geocoder(Protocol):
    def resolve(self, address: str, *, country_hint: str | None = None) -> Place | None:
        """The place an address names, or None when it cannot be resolved offline."""
        ...

    def timezone_at(self, lat: float, lng: float) -> str:
        """The IANA time zone of the nearest known city."""
        ...


class Mailer(Protocol):
    def send(self, *, to: str, subject: str, html: str, text: str, headers: dict[str, str]) -> str:
        """Deliver one message; returns its Message-ID."""
        ...


class FileStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def path(self, key: str) -> str:
        """A local filesystem path to the object (for libraries that read files)."""
        ...

    def exists(self, key: str) -> bool: ...


class Payments(Protocol):
    """The payments provider; `ledger` (embedded) and `stripe` implement it."""

    name: str


@dataclass
class Config:
    """Domain settings the server hands to tools (built from server settings)."""

    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = "dev-insecure-secret"
    key_mode: str = "test"  #: which API keys signup issues: "test" or "live"
    spend_cap_cents: int = 5_000_00
    fee_bps: int = 1500
    min_lead_minutes: int = 15
    checkin_open_minutes: int = 60
    quote_ttl_hours: int = 48
    upload_max_bytes: int = 50 * 1024 * 1024
    url_ttl_seconds: int = 15 * 60
    review_window_hours: int = 72
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Services:
    """Everything a tool may reach beyond its database session."""

    clock: Clock
    geocoder: Geocoder
    config: Config
    mailer: Mailer | None = None
    files: FileStore | None = None
    payments: Payments | None = None
    extra: dict[str, Any] = field(default_factory=dict)
