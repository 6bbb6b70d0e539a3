"""Scheduled jobs: quote expiry, check-in reminders, auto-QA, SLA at-risk flags, auto-acceptance
after the review window, webhook log cleanup.

Every worker enqueues each tick with a deterministic dedupe key (`tick:<name>:<bucket>`, the
bucket being the start of the interval), so however many workers run, each tick runs once.
The steps other areas own are called acting for the customer:
`tools.quotes.expire_quotes(ctx)`, `tools.qa.run_qa` on delivered work orders, and
`tools.payouts.accept_work_order` once QA passed and the review window
(`config.review_window_hours`) elapsed; the hooks `deliverables_awaiting_qa(ctx, work_order)`
and `review_window_elapsed(ctx, work_order)` (tools/hooks.py) let more areas act.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlmodel import Session, select

from tools import hooks
from tools.jobs import JobRun, Outcome, enqueue_unique, handler
from tools.models import Booking, Event, Job, Principal, TalentProfile, Task, WebhookAttempt, WorkOrder

if TYPE_CHECKING:
    from tools.context import Ctx

log = logging.getLogger("crewcall.schedule")

#: name → interval in seconds (multiplied by the worker's schedule scale)
TICKS: dict[str, float] = {
    "quote_expiry": 60,
    "checkin_reminders": 60,
    "auto_qa": 60,
    "sla_at_risk": 60,
    "auto_accept": 300,
    "webhook_log_cleanup": 3600,
}
REMINDER_BEFORE = timedelta(hours=2)
AT_RISK_AFTER_START = timedelta(minutes=15)
KEEP_ATTEMPTS = timedelta(days=30)
KEEP_FINISHED_JOBS = timedelta(days=7)


def enqueue_ticks(session: Session, *, now: datetime, scale: float = 1.0) -> int:
    """Enqueue each tick due in the current bucket (a no-op for ticks another worker queued)."""
    added = 0
    for name, interval in TICKS.items():
        seconds = max(1.0, interval * scale)
        bucket = int(now.timestamp() // seconds * seconds)
        added += enqueue_unique(
            session, "tick", {"name": name}, now=now, dedupe_key=f"tick:{name}:{bucket}", max_attempts=3
        )
    return added


TickFunc = Callable[["Ctx"], Any]
TICK_FUNCS: dict[str, TickFunc] = {}


def tick(name: str) -> Callable[[TickFunc], TickFunc]:
    def register(func: TickFunc) -> TickFunc:
        TICK_FUNCS[name] = func
        return func

    return register


@handler("tick")
def run_tick(run: JobRun) -> Outcome:
    func = TICK_FUNCS.get(run.job.payload.get("name", ""))
    if func is None:
        return Outcome(ok=False, final=True, error=f"unknown tick {run.job.payload!r}")
    from tools.runner import in_transaction

    name = run.job.payload.get("name")
    in_transaction(run.sessions, run.services, func, name=f"tick:{name}", request_id=f"req_{run.job.id}")
    return Outcome()


@tick("quote_expiry")
def expire_quotes(ctx: Ctx) -> None:
    from tools import quotes

    quotes.expire_quotes(ctx)


@tick("checkin_reminders")
def checkin_reminders(ctx: Ctx) -> None:
    """E-mail the talent of each confirmed booking starting within two hours, once."""
    now = ctx.now()
    soon = ctx.session.exec(
        select(Booking).where(
            Booking.status == "confirmed", Booking.start_at > now, Booking.start_at <= now + REMINDER_BEFORE
        )
    ).all()
    for booking in soon:
        talent = ctx.session.get(TalentProfile, booking.talent_id)
        task = ctx.session.get(Task, booking.task_id)
        if talent is None:
            continue
        data = {
            "booking": {
                "id": booking.id,
                "status": booking.status,
                "task_id": booking.task_id,
                "talent_id": booking.talent_id,
                "work_order_id": booking.work_order_id,
                "start_at": booking.start_at.isoformat().replace("+00:00", "Z"),
            },
            "task_title": task.title if task else None,
        }
        payload = {"type": "booking.checkin_reminder", "data": data, "to": talent.email, "principal_id": talent.id}
        enqueue_unique(ctx.session, "email", payload, now=now, dedupe_key=f"reminder:checkin:{booking.id}")


@tick("auto_qa")
def auto_qa(ctx: Ctx) -> None:
    """Work orders with fresh deliverables get their QA run without anyone asking."""
    from tools import qa

    for work_order in ctx.session.exec(select(WorkOrder).where(WorkOrder.status == "delivered").limit(200)).all():
        _as_owner(ctx, work_order, lambda c, wo: qa.run_qa(c, qa.WorkOrderRef(work_order_id=wo.id)))
        hooks.run("deliverables_awaiting_qa", ctx, work_order)


def _as_owner(ctx: Ctx, work_order: WorkOrder, act: Callable[[Ctx, WorkOrder], Any]) -> None:
    """Call a tool function for the work order's customer, in a savepoint: one refusal (the
    customer acted meanwhile) must not undo the others."""
    from tools.context import Ctx as Context
    from tools.errors import ToolError

    owner = ctx.session.get(Principal, work_order.owner_id)
    acting = Context(ctx.session, ctx.services, owner, ctx.request_id, ctx.tool, ctx.after_commit)
    try:
        with ctx.session.begin_nested():
            act(acting, work_order)
    except ToolError as exc:
        log.info("scheduled %s skipped %s: %s", ctx.tool, work_order.id, exc.message)


@tick("sla_at_risk")
def sla_at_risk(ctx: Ctx) -> None:
    """Flag (once) each confirmed booking whose start passed without a check-in."""
    late = ctx.session.exec(
        select(Booking).where(Booking.status == "confirmed", Booking.start_at < ctx.now() - AT_RISK_AFTER_START)
    ).all()
    for booking in late:
        if booking.checkin:
            continue
        flagged = ctx.session.exec(
            select(Event.id).where(Event.type == "booking.sla_at_risk", Event.entity_id == booking.id)
        ).first()
        if flagged:
            continue
        data = {
            "booking": {
                "id": booking.id,
                "object": "booking",
                "status": booking.status,
                "task_id": booking.task_id,
                "talent_id": booking.talent_id,
                "work_order_id": booking.work_order_id,
                "start_at": booking.start_at.isoformat().replace("+00:00", "Z"),
            },
            "reason": "the start time passed without a check-in",
        }
        ctx.emit("booking.sla_at_risk", booking, data, owner_id=booking.owner_id)


@tick("auto_accept")
def auto_accept(ctx: Ctx) -> None:
    """Work that passed QA and waited out the review window is accepted for the customer."""
    cutoff = ctx.now() - timedelta(hours=ctx.config.review_window_hours)
    waiting = ctx.session.exec(
        select(WorkOrder).where(WorkOrder.status == "qa_passed", WorkOrder.delivered_at < cutoff)  # type: ignore[operator]
    ).all()
    from tools import payouts

    for work_order in waiting:
        _as_owner(
            ctx, work_order, lambda c, wo: payouts.accept_work_order(c, payouts.AcceptWorkOrder(work_order_id=wo.id))
        )
        hooks.run("review_window_elapsed", ctx, work_order)


@tick("webhook_log_cleanup")
def webhook_log_cleanup(ctx: Ctx) -> None:
    now = ctx.now()
    ctx.session.execute(delete(WebhookAttempt).where(WebhookAttempt.at < now - KEEP_ATTEMPTS))  # type: ignore[arg-type]
    ctx.session.execute(
        delete(Job).where(
            Job.status.in_(("COMPLETED", "CANCELLED")),  # type: ignore[attr-defined]
            Job.finished_at < now - KEEP_FINISHED_JOBS,  # type: ignore[operator]
        )
    )
