"""Billing: add a card (by API or on a local setup page), see what is held, the spend cap."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import select

from tools.errors import AuthScopeDenied, EscrowRequired, PolicyBlocked, SchemaValidationFailed, schema_error
from tools.ids import new_id
from tools.ledger import payments
from tools.models import EscrowHold, PaymentMethod, Principal
from tools.ports import PaymentDeclined, UnknownPaymentToken
from tools.registry import tool

if TYPE_CHECKING:
    from tools.context import Ctx

SETUP_TTL = timedelta(hours=1)


# --- setup links ------------------------------------------------------------------------------


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def setup_token(ctx: Ctx, principal_id: str, expires_at: datetime) -> str:
    payload = f"{principal_id}.{int(expires_at.timestamp())}"
    return f"{payload}.{_sign(ctx.config.secret_key, 'billing-setup:' + payload)}"


def principal_of_setup_token(ctx: Ctx, token: str) -> Principal:
    """The account a setup link was made for, if its signature holds and it has not expired."""
    try:
        principal_id, expires, signature = token.rsplit(".", 2)
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except ValueError:
        raise AuthScopeDenied("This setup link is not valid: ask for a new one with POST /v1/billing/setup.") from None
    good = _sign(ctx.config.secret_key, f"billing-setup:{principal_id}.{expires}")
    principal = ctx.session.get(Principal, principal_id)
    if not hmac.compare_digest(good, signature) or principal is None:
        raise AuthScopeDenied("This setup link is not valid: ask for a new one with POST /v1/billing/setup.")
    if expires_at <= ctx.now():
        raise AuthScopeDenied("This setup link has expired: ask for a new one with POST /v1/billing/setup.")
    return principal


class BillingSetup(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SetupLink(BaseModel):
    object: Literal["billing_setup"] = "billing_setup"
    url: str = Field(description="Open in a browser to add a card.")
    expires_at: datetime
    provider: str


@tool(method="POST", path="/v1/billing/setup", scope="billing:write", title="Start card setup")
def billing_setup(ctx: Ctx, cmd: BillingSetup) -> SetupLink:
    """Get a link to a page where a human adds a card; the link works for one hour.

    Agents can instead add a card token directly with add_payment_method. A card on file is
    needed before create_booking.
    """
    expires_at = (ctx.now() + SETUP_TTL).replace(microsecond=0)
    token = setup_token(ctx, ctx.me.id, expires_at)
    url = f"{ctx.config.base_url}/v1/billing/setup?session={token}"
    return SetupLink(url=url, expires_at=expires_at, provider=payments(ctx).name)


# --- payment methods --------------------------------------------------------------------------


class PaymentMethodPublic(BaseModel):
    id: str
    object: Literal["payment_method"] = "payment_method"
    provider: str
    brand: str | None
    last4: str | None
    is_default: bool
    created_at: datetime


class AddPaymentMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=255, description="A card token, e.g. Stripe's test token pm_card_visa.")


def default_method(ctx: Ctx, owner_id: str) -> PaymentMethod | None:
    """The default card; if none is marked, the newest attached one (a missing default heals)."""
    stmt = select(PaymentMethod).where(PaymentMethod.owner_id == owner_id, PaymentMethod.detached_at == None)  # noqa: E711
    methods = list(ctx.session.exec(stmt.order_by(PaymentMethod.id.desc())))  # type: ignore[attr-defined]
    return next((m for m in methods if m.is_default), methods[0] if methods else None)


def attach(ctx: Ctx, owner: Principal, token: str) -> PaymentMethodPublic:
    """Attach a card through the provider and make it the default."""
    if owner.kind == "talent":
        raise PolicyBlocked("Talent accounts are paid, they do not pay: add cards to a customer account.")
    try:
        card = payments(ctx).attach_method(token, customer=owner.id)
    except UnknownPaymentToken as exc:
        raise SchemaValidationFailed("Unknown card token", errors=[schema_error("/token", str(exc))]) from None
    except PaymentDeclined as exc:
        raise EscrowRequired(f"The card was declined: {exc.message}", decline_code=exc.decline_code) from None
    defaults = select(PaymentMethod).where(PaymentMethod.owner_id == owner.id, PaymentMethod.is_default == True)  # noqa: E712
    for old in ctx.session.exec(defaults):
        old.is_default = False
        ctx.session.add(old)
    method = PaymentMethod(
        id=new_id("pmt"),
        owner_id=owner.id,
        provider=payments(ctx).name,
        provider_ref=card.ref,
        brand=card.brand,
        last4=card.last4,
        is_default=True,
        created_at=ctx.now(),
    )
    ctx.session.add(method)
    ctx.audit(method, "payment_method.attached", owner_id=owner.id)
    return PaymentMethodPublic.model_validate(method, from_attributes=True)


@tool(
    method="POST", path="/v1/billing/payment_methods", scope="billing:write", status=201, title="Add a payment method"
)
def add_payment_method(ctx: Ctx, cmd: AddPaymentMethod) -> PaymentMethodPublic:
    """Add a card by token and make it your default (test tokens: pm_card_visa, pm_card_mastercard).

    Bookings hold their amount on this card. A declined card answers 402 at booking time.
    """
    return attach(ctx, ctx.me, cmd.token)


class CompleteSetup(AddPaymentMethod):
    setup_token: str = Field(min_length=10, max_length=500, description="The session parameter of the setup link.")


@tool(method="POST", path="/v1/billing/setup/complete", scope=None, status=201, title="Finish card setup")
def complete_billing_setup(ctx: Ctx, cmd: CompleteSetup) -> PaymentMethodPublic:
    """Add a card through a setup link (used by the setup page; no API key needed)."""
    principal = principal_of_setup_token(ctx, cmd.setup_token)
    ctx.principal = principal
    return attach(ctx, principal, cmd.token)


# --- status and the spend cap -----------------------------------------------------------------


def held_cents(ctx: Ctx, owner_id: str) -> int:
    stmt = select(func.coalesce(func.sum(EscrowHold.amount_cents), 0)).where(
        EscrowHold.owner_id == owner_id, EscrowHold.status == "held"
    )
    return int(ctx.session.exec(stmt).one())


def check_spend_cap(ctx: Ctx, owner_id: str, amount_cents: int) -> None:
    """403 when the active holds plus this one would pass the account's cap."""
    cap, held = ctx.config.spend_cap_cents, held_cents(ctx, owner_id)
    if held + amount_cents > cap:
        raise PolicyBlocked(
            f"Holding {amount_cents // 100} more would pass your spend cap of {cap // 100} "
            f"({held // 100} is already held): finish or cancel a booking first.",
            spend_cap=cap // 100,
            held=held // 100,
            requested=amount_cents // 100,
        )


class BillingStatusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BillingStatus(BaseModel):
    object: Literal["billing_status"] = "billing_status"
    provider: str
    has_payment_method: bool
    default_payment_method: dict[str, str | None] | None = Field(description="{id, brand, last4} of the card used.")
    spend_cap: int = Field(description="Whole units that may be held in escrow at once.")
    held: int = Field(description="Whole units held in escrow now.")


@tool(method="GET", path="/v1/billing/status", scope="billing:write", title="Get billing status")
def get_billing_status(ctx: Ctx, query: BillingStatusQuery) -> BillingStatus:
    """Check whether a card is on file, which one is used, and how much is held against the spend cap."""
    method = default_method(ctx, ctx.me.id)
    card = None if method is None else {"id": method.id, "brand": method.brand, "last4": method.last4}
    return BillingStatus(
        provider=payments(ctx).name,
        has_payment_method=method is not None,
        default_payment_method=card,
        spend_cap=ctx.config.spend_cap_cents // 100,
        held=held_cents(ctx, ctx.me.id) // 100,
    )
