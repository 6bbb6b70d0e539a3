"""Bookings: an accepted quote becomes a booking with money held in escrow; check-in; cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from tools import hooks, ledger, matching, templates
from tools.billing import check_spend_cap, default_method
from tools.errors import EscrowRequired, PolicyBlocked
from tools.geo import distance_m
from tools.ids import new_id
from tools.models import Booking, EscrowHold, Principal, Quote, TalentProfile, Task, WorkOrder
from tools.registry import tool
from tools.states import transition
from tools.tasks import lock_task
from tools.tasks import to_public as task_public

if TYPE_CHECKING:
    from tools.context import Ctx

LIVE = ("pending_escrow", "confirmed", "in_progress")


class BookingPublic(BaseModel):
    id: str
    object: Literal["booking"] = "booking"
    status: str = Field(description="pending_escrow, confirmed, in_progress, completed or cancelled.")
    quote_id: str
    task_id: str
    talent_id: str
    work_order_id: str | None
    amount: int = Field(description="Whole currency units held in escrow.")
    currency: str
    start_at: datetime
    end_at: datetime
    hold: dict[str, Any] | None = Field(
        description="The escrow hold: {id, status, amount, captured, refunded, provider}."
    )
    checkin: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def hold_view(hold: EscrowHold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {
        "id": hold.id,
        "status": hold.status,
        "amount": hold.amount_cents // 100,
        "captured": hold.captured_cents // 100,
        "refunded": hold.refunded_cents // 100,
        "currency": hold.currency,
        "provider": hold.provider,
    }


def to_public(ctx: Ctx, booking: Booking) -> BookingPublic:
    hold = ledger.hold_of(ctx, booking)
    return BookingPublic(
        **booking.model_dump(exclude={"amount_cents", "owner_id", "hold_id"}),
        amount=booking.amount_cents // 100,
        hold=hold_view(hold),
    )


def payload(ctx: Ctx, booking: Booking) -> dict[str, Any]:
    return {"booking": to_public(ctx, booking).model_dump(mode="json")}


def visible_booking(ctx: Ctx, booking_id: str) -> Booking:
    me = ctx.me
    return ctx.get_or_404(
        Booking, booking_id, visible=lambda b: me.id in (b.owner_id, b.talent_id) or me.kind == "operator"
    )


def _locked(ctx: Ctx, model: type, row_id: str) -> Any:
    stmt = (
        select(model)
        .where(model.id == row_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return ctx.session.exec(stmt).one()


# --- create -----------------------------------------------------------------------------------


class CreateBooking(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quote_id: str = Field(description="An accepted quote, quo_…; booking it again returns the same booking.")


def _existing(ctx: Ctx, quote_id: str) -> Booking | None:
    return ctx.session.exec(select(Booking).where(Booking.quote_id == quote_id)).first()


@tool(method="POST", path="/v1/bookings", scope="bookings:write", status=201, money=True, title="Book a quote")
def create_booking(ctx: Ctx, cmd: CreateBooking) -> BookingPublic:
    """Book an accepted quote: its amount is held on your card in escrow and a work order opens.

    Call accept_quote first and have a card on file (billing_setup or add_payment_method).
    Deduplicated by quote_id: the same quote always gives the same booking and one hold.
    """
    quote = ctx.get_owned(Quote, cmd.quote_id)
    # Lock the account, then the quote: one booking decision per customer at a time (spend cap)
    # and per quote (dedupe). Always in this order, so two calls never wait on each other.
    _locked(ctx, Principal, quote.owner_id)
    quote = _locked(ctx, Quote, quote.id)
    existing = _existing(ctx, quote.id)
    if existing is not None:
        return to_public(ctx, existing)
    if quote.status != "accepted":
        raise PolicyBlocked(
            f"Only an accepted quote can be booked; this one is {quote.status}. Call accept_quote first.",
            current_status=quote.status,
            id=quote.id,
        )
    task = lock_task(ctx, quote.task_id)
    method = default_method(ctx, quote.owner_id)
    if method is None:
        raise EscrowRequired(
            "No payment method on file: call POST /v1/billing/setup "
            "(or POST /v1/billing/payment_methods), then book again."
        )
    check_spend_cap(ctx, quote.owner_id, quote.amount_cents)
    return _book(ctx, quote, task, method)


def _book(ctx: Ctx, quote: Quote, task: Task, method: Any) -> BookingPublic:
    now = ctx.now()
    start, end = matching.task_window(task)
    booking = Booking(
        id=new_id("bkg"),
        quote_id=quote.id,
        task_id=task.id,
        owner_id=quote.owner_id,
        talent_id=quote.talent_id,
        amount_cents=quote.amount_cents,
        currency=quote.currency,
        start_at=start,
        end_at=end,
        created_at=now,
        updated_at=now,
    )
    task_before = task_public(task).model_dump(mode="json")
    transition(task, "booked", action="book")
    ctx.session.add(booking)
    ctx.session.flush()  # the work order and the hold refer to the booking
    hold = ledger.place_hold(ctx, booking, method)
    work_order = WorkOrder(
        id=new_id("wo"),
        booking_id=booking.id,
        task_id=task.id,
        owner_id=booking.owner_id,
        talent_id=booking.talent_id,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(work_order)
    transition(booking, "confirmed", action="confirm")
    booking.hold_id, booking.work_order_id = hold.id, work_order.id
    task.updated_at = now
    ctx.session.add_all([booking, task])
    ctx.audit(task, "task.booked", before=task_before)
    ctx.audit(booking, "booking.confirmed")
    ctx.audit(work_order, "work_order.created")
    public = to_public(ctx, booking)
    data = {"booking": public.model_dump(mode="json"), "task": task_public(task).model_dump(mode="json")}
    ctx.emit("booking.confirmed", booking, data, owner_id=booking.owner_id)
    return public


# --- read -------------------------------------------------------------------------------------


class BookingRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking_id: str = Field(description="The booking's id, bkg_…")


@tool(method="GET", path="/v1/bookings/{booking_id}", scope="tasks:read", title="Get a booking")
def get_booking(ctx: Ctx, query: BookingRef) -> BookingPublic:
    """Get a booking: status, escrow hold, check-in and its work order id (customer or its talent)."""
    return to_public(ctx, visible_booking(ctx, query.booking_id))


# --- cancel -----------------------------------------------------------------------------------


class CancelBooking(BookingRef):
    reason: str | None = Field(None, max_length=1000)


def cancel(ctx: Ctx, booking: Booking, *, reason: str | None) -> None:
    """Cancel the booking and give the held money back (the task is the caller's business)."""
    before = to_public(ctx, booking).model_dump(mode="json")
    transition(booking, "cancelled", action="cancel")
    hold = ledger.hold_of(ctx, booking)
    if hold is not None:
        ledger.release_hold(ctx, hold)
    booking.updated_at = ctx.now()
    ctx.session.add(booking)
    ctx.audit(booking, "booking.cancelled", before=before)
    ctx.emit("booking.cancelled", booking, {**payload(ctx, booking), "reason": reason}, owner_id=booking.owner_id)


@tool(
    method="POST",
    path="/v1/bookings/{booking_id}/cancel",
    scope="bookings:write",
    destructive=True,
    money=True,
    title="Cancel a booking",
)
def cancel_booking(ctx: Ctx, cmd: CancelBooking) -> BookingPublic:
    """Cancel a booking before anything was delivered; the escrow hold is released in full.

    A booked task goes back to quoted (request or accept another quote); a task in progress is
    cancelled. After a delivery, open a dispute instead.
    """
    booking = ctx.get_owned(Booking, cmd.booking_id)
    task = lock_task(ctx, booking.task_id)
    work_order = ctx.session.get(WorkOrder, booking.work_order_id) if booking.work_order_id else None
    if work_order is not None and work_order.status != "awaiting_delivery" and booking.status in LIVE:
        raise PolicyBlocked(
            f"Work was already delivered (work order is {work_order.status}): open a dispute instead.",
            current_status=booking.status,
            work_order_status=work_order.status,
        )
    cancel(ctx, booking, reason=cmd.reason)
    task_before = task_public(task).model_dump(mode="json")
    if task.status == "booked":
        transition(task, "quoted", action="reopen")
        ctx.audit(task, "task.reopened", before=task_before)
    elif task.status == "in_progress":
        transition(task, "cancelled", action="cancel")
        ctx.audit(task, "task.cancelled", before=task_before)
        ctx.emit(
            "task.cancelled",
            task,
            {"task": task_public(task).model_dump(mode="json"), "reason": cmd.reason},
            owner_id=task.owner_id,
        )
    task.updated_at = ctx.now()
    ctx.session.add(task)
    return to_public(ctx, booking)


@hooks.on("task_cancelled")
def _cancel_live_bookings(ctx: Ctx, task: Task) -> None:
    for booking in ctx.session.exec(select(Booking).where(Booking.task_id == task.id, Booking.status.in_(LIVE))):  # type: ignore[attr-defined]
        cancel(ctx, booking, reason="task cancelled")


# --- check-in ---------------------------------------------------------------------------------


class Checkin(BookingRef):
    lat: float = Field(ge=-90, le=90, description="Where you are now (GPS).")
    lng: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="The GPS accuracy, in metres.")


def _check_window(ctx: Ctx, booking: Booking) -> None:
    now = ctx.now()
    opens = booking.start_at - timedelta(minutes=ctx.config.checkin_open_minutes)
    if not opens <= now <= booking.end_at:
        when = "opens" if now < opens else "closed"
        raise PolicyBlocked(
            f"Check-in {when} at {(opens if now < opens else booking.end_at).isoformat()}: "
            f"it is open from {ctx.config.checkin_open_minutes} minutes before the start until the end.",
            window_opens_at=opens.isoformat(),
            window_closes_at=booking.end_at.isoformat(),
            current_time=now.isoformat(),
        )


def _check_place(task: Task, cmd: Checkin) -> float | None:
    point = matching.task_point(task)
    if point is None:
        return None  # remote work: there is no place to be
    radius = templates.get(task.task_type).geofence_radius_m
    dist = distance_m(point[0], point[1], cmd.lat, cmd.lng)
    if dist > radius:
        raise PolicyBlocked(
            f"You are {round(dist)} m from the task; check in within {radius} m of it.",
            distance_m=round(dist),
            radius_m=radius,
            task_location={"lat": point[0], "lng": point[1]},
        )
    return dist


@tool(method="POST", path="/v1/bookings/{booking_id}/checkin", scope="work_orders:write", title="Check in on site")
def checkin_booking(ctx: Ctx, cmd: Checkin) -> BookingPublic:
    """Record the talent's GPS check-in at the task's place; the booking and task start.

    Talent key. Open from 60 minutes before the start until the end, within the template's
    geofence. Next: upload deliverables to the work order.
    """
    me = ctx.me
    booking = ctx.get_or_404(Booking, cmd.booking_id, visible=lambda b: b.talent_id == me.id or me.kind == "operator")
    task = lock_task(ctx, booking.task_id)
    if booking.status != "confirmed":
        transition(booking, "in_progress", action="check in to")  # raises with current_status
    _check_window(ctx, booking)
    dist = _check_place(task, cmd)
    before = to_public(ctx, booking).model_dump(mode="json")
    now = ctx.now()
    transition(booking, "in_progress", action="check in to")
    booking.checkin = {
        "lat": cmd.lat,
        "lng": cmd.lng,
        "accuracy_m": cmd.accuracy_m,
        "distance_m": None if dist is None else round(dist, 1),
        "at": now.isoformat(),
    }
    booking.updated_at = now
    task_before = task_public(task).model_dump(mode="json")
    transition(task, "in_progress", action="start")
    task.updated_at = now
    ctx.session.add_all([booking, task])
    ctx.audit(booking, "booking.checkin_recorded", before=before)
    ctx.audit(task, "task.in_progress", before=task_before)
    talent = ctx.session.get(TalentProfile, booking.talent_id)
    data = {**payload(ctx, booking), "talent": {"id": booking.talent_id, "name": talent.name if talent else None}}
    ctx.emit("booking.checkin_recorded", booking, data, owner_id=booking.owner_id)
    return to_public(ctx, booking)
