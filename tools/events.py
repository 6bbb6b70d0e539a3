"""Every event goes out through `emit`: it writes to the outbox in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tools.ids import new_id
from tools.models import Event
from tools.rows import insert_now

if TYPE_CHECKING:
    from tools.context import Ctx

#: The events of seed 002, then the ones our lifecycle adds. Webhook subscriptions name these.
EVENT_TYPES: tuple[str, ...] = (
    "task.created",
    "task.policy_blocked",
    "quote.received",
    "booking.confirmed",
    "booking.checkin_recorded",
    "deliverable.registered",
    "qa.completed",
    "work_order.accepted",
    "payout.initiated",
    "dispute.opened",
    "task.cancelled",
    "task.open_for_quotes",
    "quote.requested",
    "quote.accepted",
    "quote.rejected",
    "quote.expired",
    "booking.cancelled",
    "work_order.changes_requested",
    "dispute.resolved",
    "rating.created",
    "booking.sla_at_risk",
    "webhook_endpoint.disabled",
)

#: Called for each new event inside the same transaction (the events issue adds delivery jobs).
SUBSCRIBERS: list[Callable[[Ctx, Event], None]] = []


def emit(ctx: Ctx, event_type: str, entity: Any, data: dict[str, Any], *, owner_id: str) -> Event:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    event = Event(
        id=new_id("evt"),
        owner_id=owner_id,
        type=event_type,
        entity_type=type(entity).__tablename__,
        entity_id=entity.id,
        data=data,
        request_id=ctx.request_id,
        created_at=ctx.now(),
    )
    insert_now(ctx.session, event)  # one Core INSERT; the row exists before subscribers run
    for subscriber in SUBSCRIBERS:
        subscriber(ctx, event)
    return event
