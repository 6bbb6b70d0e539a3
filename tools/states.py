"""The state machines of seed 002's status reference, as explicit transition tables."""

from __future__ import annotations

from typing import Any

from tools.errors import PolicyBlocked

TASK: dict[str, frozenset[str]] = {
    "draft": frozenset({"open_for_quotes", "cancelled"}),
    "open_for_quotes": frozenset({"quoted", "cancelled"}),
    "quoted": frozenset({"booked", "cancelled"}),
    "booked": frozenset({"in_progress", "quoted", "cancelled", "disputed"}),  # booking cancelled -> quoted
    "in_progress": frozenset({"delivered", "cancelled", "disputed"}),  # disputed: before or between deliveries
    "delivered": frozenset({"in_progress", "accepted", "disputed"}),  # changes requested -> in_progress
    "disputed": frozenset({"accepted", "cancelled"}),
    "accepted": frozenset(),
    "cancelled": frozenset(),
}

QUOTE: dict[str, frozenset[str]] = {
    "pending": frozenset({"accepted", "rejected", "expired"}),
    "accepted": frozenset(),
    "rejected": frozenset(),
    "expired": frozenset(),
}

BOOKING: dict[str, frozenset[str]] = {
    "pending_escrow": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}

WORK_ORDER: dict[str, frozenset[str]] = {
    "awaiting_delivery": frozenset({"delivered", "disputed"}),
    "delivered": frozenset({"qa_passed", "qa_failed", "disputed"}),
    "qa_passed": frozenset({"accepted", "changes_requested", "disputed"}),
    "qa_failed": frozenset({"accepted", "changes_requested", "disputed"}),  # accepted: override_qa
    "changes_requested": frozenset({"delivered", "disputed"}),
    "disputed": frozenset({"accepted"}),
    "accepted": frozenset(),
}

DISPUTE: dict[str, frozenset[str]] = {
    "open": frozenset({"resolved"}),
    "resolved": frozenset(),
}

MACHINES: dict[str, dict[str, frozenset[str]]] = {
    "tasks": TASK,
    "quotes": QUOTE,
    "bookings": BOOKING,
    "work_orders": WORK_ORDER,
    "disputes": DISPUTE,
}


def can(obj: Any, to: str) -> bool:
    return to in MACHINES[type(obj).__tablename__][obj.status]


def transition(obj: Any, to: str, *, action: str | None = None) -> str:
    """Move `obj` to status `to` if its table allows it; otherwise 403 with current_status.

    Returns the previous status.
    """
    table = MACHINES[type(obj).__tablename__]
    current = obj.status
    if to not in table[current]:
        kind = type(obj).__tablename__.rstrip("s").replace("_", " ")
        raise PolicyBlocked(
            f"Cannot {action or 'move to ' + to} a {kind} that is {current}.",
            current_status=current,
            requested_status=to,
            allowed=sorted(table[current]),
            id=obj.id,
        )
    obj.status = to
    return current
