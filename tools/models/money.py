"""Payments: methods on file, escrow holds, and the double-entry ledger."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from tools.models.base import utc_column


class PaymentMethod(SQLModel, table=True):
    __tablename__ = "payment_methods"

    id: str = Field(primary_key=True)  #: pmt_
    owner_id: str = Field(index=True)
    provider: str  #: ledger or stripe
    provider_ref: str  #: the provider's id (a Stripe pm_…; for the ledger, the test token)
    brand: str | None = None
    last4: str | None = None
    is_default: bool = True
    created_at: datetime = utc_column()
    detached_at: datetime | None = utc_column(default=None)


class EscrowHold(SQLModel, table=True):
    """Money held for one booking: held → captured | released, then maybe refunded."""

    __tablename__ = "escrow_holds"

    id: str = Field(primary_key=True)  #: hold_
    owner_id: str = Field(index=True)
    booking_id: str = Field(unique=True)
    payment_method_id: str
    provider: str
    provider_ref: str | None = None  #: e.g. a Stripe PaymentIntent id
    amount_cents: int
    currency: str
    status: str = "held"  #: held, captured, released, refunded, partially_refunded
    captured_cents: int = 0
    refunded_cents: int = 0
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()


class LedgerEntry(SQLModel, table=True):
    """One leg of a balanced transaction: the legs of a `txn_id` always sum to zero."""

    __tablename__ = "ledger_entries"

    id: str = Field(primary_key=True)  #: led_
    txn_id: str = Field(index=True)
    account: str = Field(index=True)  #: e.g. customer_card:acct_…, escrow:bkg_…, talent:tal_…, platform:fees
    amount_cents: int  #: signed: debits positive, credits negative
    currency: str
    owner_id: str = Field(index=True)  #: the customer whose money this is
    booking_id: str | None = Field(default=None, index=True)
    kind: str  #: hold, release, capture, payout, fee, refund
    memo: str | None = None
    created_at: datetime = utc_column()
