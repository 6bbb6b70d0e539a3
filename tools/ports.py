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


@dataclass(frozen=True)
class CardInfo:
    """A payment method the provider accepted."""

    ref: str  #: the provider's id for the method (Stripe pm_…; the test token for the ledger)
    brand: str
    last4: str


class PaymentDeclined(Exception):
    """The provider refused the card (at attach or at the hold)."""

    def __init__(self, message: str, *, decline_code: str, code: str = "card_declined") -> None:
        super().__init__(message)
        self.message = message
        self.decline_code = decline_code
        self.code = code


class UnknownPaymentToken(Exception):
    """The token names no payment method the provider knows."""


class Payments(Protocol):
    """The payments provider; `ledger` (embedded) and `stripe` implement it.

    Amounts are integer cents. `key` is a deterministic idempotency key: the same key never
    acts twice at the provider.
    """

    name: str

    def attach_method(self, token: str, *, customer: str) -> CardInfo:
        """Attach a card token to the customer; UnknownPaymentToken or PaymentDeclined."""
        ...

    def hold(self, *, amount_cents: int, currency: str, method: str, customer: str, key: str) -> str:
        """Authorise (hold) the amount on the method; the hold's ref, or PaymentDeclined."""
        ...

    def capture(self, ref: str, *, amount_cents: int, key: str) -> None:
        """Capture `amount_cents` of a hold; any rest of the hold is given back."""
        ...

    def release(self, ref: str, *, key: str) -> None:
        """Cancel a hold that was not captured."""
        ...

    def refund(self, ref: str, *, amount_cents: int, key: str) -> None:
        """Give back part or all of a captured amount."""
        ...


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
