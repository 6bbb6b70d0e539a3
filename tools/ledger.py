"""The double-entry books and the escrow movements that write them.

Every transaction is a set of legs that sum to zero. Amounts are signed: positive means the
account received money, negative means it gave money. Accounts:
`customer_card:{acct}` (the customer's card), `escrow:{bkg}` (held for one booking),
`talent:{tal}` (owed to the talent), `platform:fees` (our 15 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from sqlalchemy import func, true
from sqlmodel import select

from tools.errors import EscrowRequired, ToolError
from tools.ids import new_id
from tools.models import Booking, EscrowHold, LedgerEntry, PaymentMethod
from tools.money import Money
from tools.pagination import PageQuery, paginate
from tools.ports import PaymentDeclined, Payments
from tools.registry import tool

if TYPE_CHECKING:
    from tools.context import Ctx

PLATFORM = "platform:fees"

Leg = tuple[str, int] | tuple[str, int, str]


def customer_account(owner_id: str) -> str:
    return f"customer_card:{owner_id}"


def escrow_account(booking_id: str) -> str:
    return f"escrow:{booking_id}"


def talent_account(talent_id: str) -> str:
    return f"talent:{talent_id}"


def post(
    ctx: Ctx,
    kind: str,
    legs: Sequence[Leg],
    *,
    currency: str,
    owner_id: str,
    booking_id: str | None = None,
    memo: str | None = None,
) -> str:
    """Write one balanced transaction; returns its txn id. Legs are (account, cents[, kind])."""
    legs = [leg for leg in legs if leg[1] != 0]
    total = sum(leg[1] for leg in legs)
    # A ledger that does not balance is a bug, never a user error: refuse to write it.
    assert total == 0, f"unbalanced {kind} transaction: {legs} sums to {total}"
    txn_id = new_id("txn")
    now = ctx.now()
    for leg in legs:
        ctx.session.add(
            LedgerEntry(
                id=new_id("led"),
                txn_id=txn_id,
                account=leg[0],
                amount_cents=leg[1],
                currency=currency,
                owner_id=owner_id,
                booking_id=booking_id,
                kind=leg[2] if len(leg) == 3 else kind,  # type: ignore[misc]
                memo=memo,
                created_at=now,
            )
        )
    return txn_id


# --- escrow movements -------------------------------------------------------------------------


def payments(ctx: Ctx) -> Payments:
    if ctx.services.payments is None:
        raise ToolError("No payments provider is configured on this server.")
    return ctx.services.payments


def place_hold(ctx: Ctx, booking: Booking, method: PaymentMethod) -> EscrowHold:
    """Hold the booking's amount on the card: provider first, then the escrow row and the books."""
    try:
        ref = payments(ctx).hold(
            amount_cents=booking.amount_cents,
            currency=booking.currency,
            method=method.provider_ref,
            customer=booking.owner_id,
            key=f"hold:{booking.quote_id}",
        )
    except PaymentDeclined as exc:
        raise EscrowRequired(
            f"The card {method.brand} •••• {method.last4} was declined ({exc.decline_code}): "
            "add another card with POST /v1/billing/payment_methods, then book again.",
            decline_code=exc.decline_code,
            provider_code=exc.code,
            payment_method_id=method.id,
        ) from None
    now = ctx.now()
    hold = EscrowHold(
        id=new_id("hold"),
        owner_id=booking.owner_id,
        booking_id=booking.id,
        payment_method_id=method.id,
        provider=payments(ctx).name,
        provider_ref=ref,
        amount_cents=booking.amount_cents,
        currency=booking.currency,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(hold)
    post(
        ctx,
        "hold",
        [
            (customer_account(booking.owner_id), -booking.amount_cents),
            (escrow_account(booking.id), booking.amount_cents),
        ],
        currency=booking.currency,
        owner_id=booking.owner_id,
        booking_id=booking.id,
        memo=f"escrow hold for {booking.id}",
    )
    return hold


def release_hold(ctx: Ctx, hold: EscrowHold) -> None:
    """Give the whole held amount back to the card (booking cancelled, full refund)."""
    if hold.status != "held":
        return
    payments(ctx).release(hold.provider_ref or hold.id, key=f"release:{hold.id}")
    hold.status = "released"
    hold.updated_at = ctx.now()
    ctx.session.add(hold)
    post(
        ctx,
        "release",
        [(escrow_account(hold.booking_id), -hold.amount_cents), (customer_account(hold.owner_id), hold.amount_cents)],
        currency=hold.currency,
        owner_id=hold.owner_id,
        booking_id=hold.booking_id,
        memo=f"escrow released for {hold.booking_id}",
    )


def capture_and_pay(ctx: Ctx, hold: EscrowHold, booking: Booking, *, refund_cents: int = 0) -> tuple[Money, Money]:
    """Capture the hold, refund `refund_cents` to the card, split the rest 85/15.

    Returns (talent share, platform fee) of what was paid out.
    """
    provider = payments(ctx)
    ref = hold.provider_ref or hold.id
    provider.capture(ref, amount_cents=hold.amount_cents, key=f"capture:{hold.id}")
    escrow, customer = escrow_account(booking.id), customer_account(booking.owner_id)
    common = {"currency": hold.currency, "owner_id": hold.owner_id, "booking_id": booking.id}
    if refund_cents:
        provider.refund(ref, amount_cents=refund_cents, key=f"refund:{hold.id}")
        post(ctx, "refund", [(escrow, -refund_cents), (customer, refund_cents)], memo="partial refund", **common)
    paid = Money(hold.amount_cents - refund_cents, hold.currency)
    share, fee = paid.split_fee(ctx.config.fee_bps)
    post(
        ctx,
        "capture",
        [
            (escrow, -paid.cents, "capture"),
            (talent_account(booking.talent_id), share.cents, "payout"),
            (PLATFORM, fee.cents, "fee"),
        ],
        memo=f"payout for {booking.id}",
        **common,
    )
    hold.status = "partially_refunded" if refund_cents else "captured"
    hold.captured_cents = hold.amount_cents
    hold.refunded_cents = refund_cents
    hold.updated_at = ctx.now()
    ctx.session.add(hold)
    return share, fee


def hold_of(ctx: Ctx, booking: Booking) -> EscrowHold | None:
    return ctx.session.exec(select(EscrowHold).where(EscrowHold.booking_id == booking.id)).first()


# --- reading the books ------------------------------------------------------------------------


class LedgerEntryPublic(BaseModel):
    id: str
    object: Literal["ledger_entry"] = "ledger_entry"
    txn_id: str
    account: str
    amount: float = Field(description="Signed, in currency units: positive received, negative given.")
    amount_cents: int
    currency: str
    kind: str
    booking_id: str | None
    memo: str | None
    created_at: datetime


class Balance(BaseModel):
    account: str
    currency: str
    balance_cents: int
    balance: float


class LedgerPage(BaseModel):
    object: Literal["list"] = "list"
    data: list[LedgerEntryPublic]
    has_more: bool
    next_cursor: str | None = None
    balances: list[Balance] = Field(description="Per account and currency, over all your entries.")


class ListLedger(PageQuery):
    booking_id: str | None = Field(None, description="Only the entries of this booking.")


def _entry(row: LedgerEntry) -> LedgerEntryPublic:
    return LedgerEntryPublic(**row.model_dump(exclude={"owner_id"}), amount=row.amount_cents / 100)


@tool(method="GET", path="/v1/ledger", scope="tasks:read", title="Read your ledger")
def list_ledger(ctx: Ctx, query: ListLedger) -> LedgerPage:
    """List your ledger entries (holds, releases, captures, payouts, fees, refunds), newest first.

    Customers see every entry of their bookings; talent see their payouts. `balances` sums each
    account; every transaction's legs sum to zero.
    """
    me = ctx.me
    mine = LedgerEntry.owner_id == me.id
    if me.kind == "talent":
        mine = LedgerEntry.account == talent_account(me.id)
    elif me.kind == "operator":
        mine = true()  # operators audit the whole book
    stmt = select(LedgerEntry).where(mine)
    if query.booking_id:
        stmt = stmt.where(LedgerEntry.booking_id == query.booking_id)
    page = paginate(ctx.session, stmt, LedgerEntry.id, query, _entry)
    sums = select(LedgerEntry.account, LedgerEntry.currency, func.sum(LedgerEntry.amount_cents)).where(mine)
    if query.booking_id:
        sums = sums.where(LedgerEntry.booking_id == query.booking_id)
    rows = ctx.session.exec(sums.group_by(LedgerEntry.account, LedgerEntry.currency).order_by(LedgerEntry.account))
    balances = [Balance(account=a, currency=c, balance_cents=int(s), balance=int(s) / 100) for a, c, s in rows]
    return LedgerPage(data=page.data, has_more=page.has_more, next_cursor=page.next_cursor, balances=balances)
