"""Every event goes out through `emit`: it writes to the outbox in the caller's transaction; the
relay (`dispatch`, run by every job worker) then hands it to the subscribers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from tools.ids import new_id
from tools.models import Event
from tools.rows import insert_row

if TYPE_CHECKING:
    from tools.context import Ctx
    from tools.ports import Services

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

#: Run by the relay (`dispatch`) for each new event, in the relay's transaction: webhook
#: deliveries (tools/webhook_delivery) and e-mails (tools/notifications) subscribe here.
SUBSCRIBERS: list[Callable[[Ctx, Event], None]] = []

_TABLE = Event.__table__  # type: ignore[attr-defined]


def emit(ctx: Ctx, event_type: str, entity: Any, data: dict[str, Any], *, owner_id: str) -> str:
    """Write the event to the outbox in the caller's transaction; returns its id.

    Only the row is written here: the relay runs the subscribers once the transaction has
    committed (a rolled-back call leaves no event, a committed one is never lost). The caller's
    request path pays for one INSERT, whatever the owner subscribed to.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    event_id = new_id("evt")
    insert_row(
        ctx.session,
        _TABLE,
        {
            "id": event_id,
            "owner_id": owner_id,
            "type": event_type,
            "entity_type": type(entity).__tablename__,
            "entity_id": entity.id,
            "data": data,
            "request_id": ctx.request_id,
            "created_at": ctx.now(),
            "dispatched_at": None,
        },
    )
    from tools.jobs import notify_workers

    notify_workers(ctx)
    return event_id


#: The relay's batch: events of one transaction of the relay.
DISPATCH_BATCH = 200

_UNDISPATCHED = select(Event).where(Event.dispatched_at.is_(None)).order_by(Event.id)  # type: ignore[union-attr]


def dispatch(
    session: Session, services: Services, *, limit: int = DISPATCH_BATCH
) -> tuple[int, list[Callable[[], None]]]:
    """The relay: run the subscribers of up to `limit` undispatched events, oldest first, and mark
    them dispatched, in the caller's transaction (the caller commits, then runs the returned
    after-commit hooks). Two relays never take the same event: PostgreSQL skips rows another
    relay has locked; SQLite runs write transactions one at a time."""
    from tools.context import Ctx
    from tools.jobs import load_handlers

    load_handlers()  # the subscribers register themselves on import: never dispatch to none
    stmt = _UNDISPATCHED.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    found = list(session.exec(stmt))
    if not found:
        return 0, []
    after: list[Callable[[], None]] = []
    now = services.clock.now()
    for event in found:
        ctx = Ctx(session, services, None, event.request_id or f"req_{event.id}", "relay", after)
        for subscriber in SUBSCRIBERS:
            subscriber(ctx, event)
        event.dispatched_at = now
        session.add(event)
    return len(found), after
