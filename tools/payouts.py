"""Acceptance and payout: capture the escrow, 85 % to the talent, 15 % platform fee; ratings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlmodel import select

from tools import ledger
from tools.bookings import payload as booking_payload
from tools.errors import PolicyBlocked
from tools.ids import new_id
from tools.models import Booking, Rating, TalentProfile, Task, WorkOrder
from tools.money import Money
from tools.registry import tool
from tools.states import can, transition
from tools.tasks import lock_task
from tools.tasks import to_public as task_public

if TYPE_CHECKING:
    from tools.context import Ctx


class Payout(BaseModel):
    talent_id: str
    currency: str
    amount: float = Field(description="What was captured and paid out, before the fee.")
    talent_share: float
    platform_fee: float
    refunded: float = 0


class WorkOrderSettled(BaseModel):
    id: str
    object: Literal["work_order"] = "work_order"
    status: str
    booking_id: str
    task_id: str
    override_qa: bool
    accepted_at: datetime | None
    payout: Payout | None


def lock_work_order(ctx: Ctx, work_order_id: str) -> WorkOrder:
    owned = ctx.get_owned(WorkOrder, work_order_id)
    lock_task(ctx, owned.task_id)  # every change to a task's money goes through its task lock
    ctx.session.refresh(owned)
    return owned


def _walk(obj: Any, path: tuple[str, ...], *, action: str) -> None:
    """Move along `path` from wherever obj is on it: acceptance settles the whole chain."""
    for step in path[path.index(obj.status) + 1 :] if obj.status in path else path[-1:]:
        transition(obj, step, action=action)


def settle(ctx: Ctx, work_order: WorkOrder, *, refund_cents: int = 0) -> Payout:
    """Capture the booking's hold and pay out (less any refund); complete booking and task."""
    booking = ctx.session.get(Booking, work_order.booking_id)
    task = ctx.session.get(Task, work_order.task_id)
    assert booking is not None and task is not None
    hold = ledger.hold_of(ctx, booking)
    if hold is None or hold.status != "held":
        raise PolicyBlocked("Nothing is held in escrow for this booking.", hold_status=hold.status if hold else None)
    share, fee = ledger.capture_and_pay(ctx, hold, booking, refund_cents=refund_cents)
    now = ctx.now()
    booking_before, task_before = booking_payload(ctx, booking), task_public(task).model_dump(mode="json")
    # A remote job may never check in, and a dispute may come before delivery: walk the chain.
    _walk(booking, ("confirmed", "in_progress", "completed"), action="complete")
    if task.status != "disputed":
        _walk(task, ("booked", "in_progress", "delivered", "accepted"), action="accept")
    elif can(task, "accepted"):
        transition(task, "accepted", action="accept")
    booking.updated_at = task.updated_at = now
    ctx.session.add_all([booking, task])
    ctx.audit(booking, "booking.completed", before=booking_before["booking"])
    ctx.audit(task, "task.accepted", before=task_before)
    ctx.session.execute(
        update(TalentProfile)
        .where(TalentProfile.id == booking.talent_id)
        .values(jobs_completed=TalentProfile.jobs_completed + 1)
    )
    payout = Payout(
        talent_id=booking.talent_id,
        currency=booking.currency,
        amount=(share.cents + fee.cents) / 100,
        talent_share=share.cents / 100,
        platform_fee=fee.cents / 100,
        refunded=refund_cents / 100,
    )
    return payout


def announce(ctx: Ctx, work_order: WorkOrder, payout: Payout, *, data: dict[str, Any]) -> None:
    """work_order.accepted, then payout.initiated (seed 002's order)."""
    ctx.emit("work_order.accepted", work_order, data, owner_id=work_order.owner_id)
    booking = ctx.session.get(Booking, work_order.booking_id)
    assert booking is not None
    payout_data = {"payout": payout.model_dump(mode="json"), "booking_id": booking.id, "work_order_id": work_order.id}
    ctx.emit("payout.initiated", booking, payout_data, owner_id=booking.owner_id)


def settled_view(work_order: WorkOrder, payout: Payout | None) -> WorkOrderSettled:
    return WorkOrderSettled(
        id=work_order.id,
        status=work_order.status,
        booking_id=work_order.booking_id,
        task_id=work_order.task_id,
        override_qa=work_order.override_qa,
        accepted_at=work_order.accepted_at,
        payout=payout,
    )


class AcceptWorkOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_order_id: str = Field(description="The work order's id, wo_…")
    override_qa: bool = Field(False, description="Accept although QA failed (audited).")


@tool(
    method="POST",
    path="/v1/work_orders/{work_order_id}/accept",
    scope="work_orders:write",
    money=True,
    title="Accept work",
)
def accept_work_order(ctx: Ctx, cmd: AcceptWorkOrder) -> WorkOrderSettled:
    """Accept delivered work: the escrow is captured, 85 % is paid to the talent, 15 % is the fee.

    Run QA first (GET /v1/work_orders/{id}/qa); it must have passed, unless you accept a failed QA
    with override_qa: true. Next: rate the talent with rate_work_order.
    """
    work_order = lock_work_order(ctx, cmd.work_order_id)
    if work_order.status == "qa_failed" and not cmd.override_qa:
        raise PolicyBlocked(
            "QA failed: request changes, or accept anyway with override_qa: true.", current_status=work_order.status
        )
    if work_order.status not in ("qa_passed", "qa_failed"):
        raise PolicyBlocked(
            f"Cannot accept a work order that is {work_order.status}: QA must pass first.",
            current_status=work_order.status,
            allowed_from=["qa_passed", "qa_failed (with override_qa)"],
        )
    overridden = work_order.status == "qa_failed"
    before = {"status": work_order.status, "override_qa": work_order.override_qa}
    transition(work_order, "accepted", action="accept")
    work_order.override_qa = overridden
    work_order.accepted_at = work_order.updated_at = ctx.now()
    ctx.session.add(work_order)
    ctx.audit(work_order, "work_order.accepted_with_override" if overridden else "work_order.accepted", before=before)
    payout = settle(ctx, work_order)
    view = settled_view(work_order, payout)
    announce(ctx, work_order, payout, data={"work_order": view.model_dump(mode="json")})
    return view


# --- fees -------------------------------------------------------------------------------------


class GetFees(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeeStructure(BaseModel):
    object: Literal["fee_structure"] = "fee_structure"
    platform_fee_percent: float
    talent_share_percent: float
    fee_bps: int
    rounding: str
    example: dict[str, float]


@tool(method="GET", path="/v1/stripe/fees", scope=None, title="Get the fee structure")
def get_fees(ctx: Ctx, query: GetFees) -> FeeStructure:
    """Get the platform fee: the share of each accepted job that goes to the talent and to us."""
    bps = ctx.config.fee_bps
    share, fee = Money(100_00, "USD").split_fee(bps)
    pct = bps / 100
    return FeeStructure(
        platform_fee_percent=int(pct) if pct.is_integer() else pct,
        talent_share_percent=int(100 - pct) if pct.is_integer() else 100 - pct,
        fee_bps=bps,
        rounding="cents below the fee go to the talent",
        example={"amount": 100, "talent_share": share.cents / 100, "platform_fee": fee.cents / 100},
    )


# --- ratings ----------------------------------------------------------------------------------


class RateWorkOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_order_id: str = Field(description="An accepted work order, wo_…")
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    comment: str | None = Field(None, max_length=2000)


class RatingPublic(BaseModel):
    id: str
    object: Literal["rating"] = "rating"
    work_order_id: str
    talent_id: str
    score: int
    comment: str | None
    created_at: datetime


@tool(
    method="POST",
    path="/v1/work_orders/{work_order_id}/rating",
    scope="work_orders:write",
    status=201,
    title="Rate the talent",
)
def rate_work_order(ctx: Ctx, cmd: RateWorkOrder) -> RatingPublic:
    """Rate the talent of an accepted work order, once (1-5 with an optional comment)."""
    work_order = lock_work_order(ctx, cmd.work_order_id)
    if work_order.status != "accepted":
        raise PolicyBlocked(
            f"Rate a work order once it is accepted; it is {work_order.status}.", current_status=work_order.status
        )
    existing = ctx.session.exec(select(Rating).where(Rating.work_order_id == work_order.id)).first()
    if existing is not None:
        raise PolicyBlocked("This work order is already rated.", rating_id=existing.id)
    rating = Rating(
        id=new_id("rat"),
        work_order_id=work_order.id,
        owner_id=work_order.owner_id,
        talent_id=work_order.talent_id,
        score=cmd.score,
        comment=cmd.comment,
        created_at=ctx.now(),
    )
    ctx.session.add(rating)
    # In SQL, so two ratings of one talent at once both count.
    ctx.session.execute(
        update(TalentProfile)
        .where(TalentProfile.id == work_order.talent_id)
        .values(rating_sum=TalentProfile.rating_sum + cmd.score, rating_count=TalentProfile.rating_count + 1)
    )
    public = RatingPublic.model_validate(rating, from_attributes=True)
    ctx.audit(rating, "rating.created")
    ctx.emit("rating.created", rating, {"rating": public.model_dump(mode="json")}, owner_id=work_order.owner_id)
    return public
