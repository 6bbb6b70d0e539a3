"""Disputes: the customer contests a work order; resolving it pays, refunds, or splits the escrow."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools import bookings, ledger
from tools.errors import SchemaValidationFailed, schema_error
from tools.ids import new_id
from tools.models import Booking, Dispute, Task, WorkOrder
from tools.payouts import Payout, announce, lock_work_order, settle, settled_view
from tools.registry import tool
from tools.states import transition
from tools.tasks import lock_task
from tools.tasks import to_public as task_public

if TYPE_CHECKING:
    from tools.context import Ctx


class DisputePublic(BaseModel):
    id: str
    object: Literal["dispute"] = "dispute"
    status: str = Field(description="open or resolved.")
    work_order_id: str
    talent_id: str
    opened_by: str
    reason: str
    resolution: str | None = Field(description="release, refund_full or refund_partial, once resolved.")
    refund: int = Field(description="Whole units refunded to the customer.")
    note: str | None
    created_at: datetime
    resolved_at: datetime | None
    payout: Payout | None = None


def to_public(dispute: Dispute, payout: Payout | None = None) -> DisputePublic:
    return DisputePublic(
        **dispute.model_dump(exclude={"owner_id", "refund_cents"}), refund=dispute.refund_cents // 100, payout=payout
    )


def _move_task(ctx: Ctx, task: Task, to: str, *, action: str) -> None:
    before = task_public(task).model_dump(mode="json")
    transition(task, to, action=action)
    task.updated_at = ctx.now()
    ctx.session.add(task)
    ctx.audit(task, f"task.{to}", before=before)


class OpenDispute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_order_id: str = Field(description="The work order you contest, wo_…")
    reason: str = Field(min_length=3, max_length=5000, description="What is wrong, for the talent and the operator.")


@tool(
    method="POST",
    path="/v1/work_orders/{work_order_id}/disputes",
    scope="work_orders:write",
    status=201,
    title="Open a dispute",
)
def open_dispute(ctx: Ctx, cmd: OpenDispute) -> DisputePublic:
    """Open a dispute on a work order; the money stays held in escrow until it is resolved.

    Use when the work is missing or wrong and request_changes did not help. Next: resolve_dispute.
    """
    work_order = lock_work_order(ctx, cmd.work_order_id)
    before = {"status": work_order.status}
    transition(work_order, "disputed", action="dispute")
    work_order.updated_at = ctx.now()
    ctx.session.add(work_order)
    task = ctx.session.get(Task, work_order.task_id)
    assert task is not None
    _move_task(ctx, task, "disputed", action="dispute")
    dispute = Dispute(
        id=new_id("dsp"),
        work_order_id=work_order.id,
        owner_id=work_order.owner_id,
        talent_id=work_order.talent_id,
        opened_by=ctx.me.id,
        reason=cmd.reason,
        created_at=ctx.now(),
    )
    ctx.session.add(dispute)
    ctx.audit(work_order, "work_order.disputed", before=before)
    ctx.audit(dispute, "dispute.opened")
    public = to_public(dispute)
    ctx.emit("dispute.opened", dispute, {"dispute": public.model_dump(mode="json")}, owner_id=dispute.owner_id)
    return public


class DisputeRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dispute_id: str = Field(description="The dispute's id, dsp_…")


def _visible(ctx: Ctx, dispute_id: str, *, manage: bool) -> Dispute:
    me = ctx.me

    def visible(d: Dispute) -> bool:
        return me.kind == "operator" or d.owner_id == me.id or (not manage and d.talent_id == me.id)

    return ctx.get_or_404(Dispute, dispute_id, visible=visible)


@tool(method="GET", path="/v1/disputes/{dispute_id}", scope="tasks:read", title="Get a dispute")
def get_dispute(ctx: Ctx, query: DisputeRef) -> DisputePublic:
    """Get a dispute: reason, status and resolution (its customer, its talent, or an operator)."""
    return to_public(_visible(ctx, query.dispute_id, manage=False))


class ResolveDispute(DisputeRef):
    resolution: Literal["release", "refund_full", "refund_partial"] = Field(
        description="release: pay the talent as if accepted; refund_full: give all back; "
        "refund_partial: give `amount` back and pay the rest out."
    )
    amount: int | None = Field(
        None, gt=0, description="Whole units to refund, for refund_partial; below the booking amount."
    )
    note: str | None = Field(None, max_length=2000)


def _refund_all(ctx: Ctx, work_order: WorkOrder, task: Task) -> None:
    booking = ctx.session.get(Booking, work_order.booking_id)
    assert booking is not None
    bookings.cancel(ctx, booking, reason="dispute refunded in full")
    _move_task(ctx, task, "cancelled", action="cancel")
    ctx.emit(
        "task.cancelled",
        task,
        {"task": task_public(task).model_dump(mode="json"), "reason": "dispute refunded"},
        owner_id=task.owner_id,
    )


def _refund_cents(ctx: Ctx, cmd: ResolveDispute, work_order: WorkOrder) -> int:
    if cmd.resolution != "refund_partial":
        return 0
    booking = ctx.session.get(Booking, work_order.booking_id)
    assert booking is not None
    if cmd.amount is None or cmd.amount * 100 >= booking.amount_cents:
        raise SchemaValidationFailed(
            "Bad refund amount",
            errors=[
                schema_error(
                    "/amount",
                    f"give 1 to {booking.amount_cents // 100 - 1} for refund_partial; use refund_full for all",
                )
            ],
        )
    return cmd.amount * 100


@tool(
    method="POST",
    path="/v1/disputes/{dispute_id}/resolve",
    scope="work_orders:write",
    money=True,
    title="Resolve a dispute",
)
def resolve_dispute(ctx: Ctx, cmd: ResolveDispute) -> DisputePublic:
    """Resolve an open dispute: release the payout, refund in full, or refund part and pay the rest.

    Only the dispute's customer (or an operator) may resolve it.
    """
    dispute = _visible(ctx, cmd.dispute_id, manage=True)
    task = lock_task(ctx, ctx.session.get(WorkOrder, dispute.work_order_id).task_id)  # type: ignore[union-attr]
    ctx.session.refresh(dispute)
    work_order = ctx.session.get(WorkOrder, dispute.work_order_id)
    assert work_order is not None
    refund_cents = _refund_cents(ctx, cmd, work_order)
    before = to_public(dispute).model_dump(mode="json")
    transition(dispute, "resolved", action="resolve")
    payout = None
    if cmd.resolution == "refund_full":
        _refund_all(ctx, work_order, task)
        refund_cents = work_order_amount(ctx, work_order)
    else:
        wo_before = {"status": work_order.status}
        transition(work_order, "accepted", action="accept")
        work_order.accepted_at = work_order.updated_at = ctx.now()
        ctx.session.add(work_order)
        ctx.audit(work_order, "work_order.accepted", before=wo_before)
        payout = settle(ctx, work_order, refund_cents=refund_cents)
        view = settled_view(work_order, payout)
        announce(ctx, work_order, payout, data={"work_order": view.model_dump(mode="json"), "dispute_id": dispute.id})
    dispute.resolution, dispute.refund_cents, dispute.note = cmd.resolution, refund_cents, cmd.note
    dispute.resolved_at = ctx.now()
    ctx.session.add(dispute)
    ctx.audit(dispute, "dispute.resolved", before=before)
    public = to_public(dispute, payout)
    ctx.emit("dispute.resolved", dispute, {"dispute": public.model_dump(mode="json")}, owner_id=dispute.owner_id)
    return public


def work_order_amount(ctx: Ctx, work_order: WorkOrder) -> int:
    hold = ledger.hold_of(ctx, ctx.session.get(Booking, work_order.booking_id))  # type: ignore[arg-type]
    return hold.amount_cents if hold else 0
