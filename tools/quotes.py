"""Quotes: talent submit quotes, the customer accepts exactly one; quotes expire."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from tools import hooks
from tools.errors import NotFound, PolicyBlocked
from tools.ids import new_id
from tools.models import Booking, Invitation, Quote, TalentProfile, Task
from tools.pagination import ListPage, PageQuery, paginate
from tools.registry import tool
from tools.states import transition
from tools.tasks import lock_task, visible_task
from tools.tasks import to_public as task_public

if TYPE_CHECKING:
    from tools.context import Ctx

OPEN_STATUSES = ("open_for_quotes", "quoted")


# --- views ------------------------------------------------------------------------------------


class QuotePublic(BaseModel):
    id: str
    object: Literal["quote"] = "quote"
    task_id: str
    talent_id: str
    talent_name: str | None = None
    amount: int = Field(description="Whole currency units.")
    currency: str
    message: str | None
    status: str = Field(description="pending, accepted, rejected or expired.")
    over_budget: bool = Field(description="True when the amount is above the task's max_total.")
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


def status_of(quote: Quote, now: datetime) -> str:
    """The status a reader sees: a pending quote past its expiry is expired even before the job runs."""
    if quote.status == "pending" and quote.expires_at is not None and quote.expires_at <= now:
        return "expired"
    return quote.status


def to_public(ctx: Ctx, quote: Quote, *, task: Task | None = None) -> QuotePublic:
    task = task or ctx.session.get(Task, quote.task_id)
    talent = ctx.session.get(TalentProfile, quote.talent_id)
    return QuotePublic(
        id=quote.id,
        task_id=quote.task_id,
        talent_id=quote.talent_id,
        talent_name=talent.name if talent else None,
        amount=quote.amount_cents // 100,
        currency=quote.currency,
        message=quote.message,
        status=status_of(quote, ctx.now()),
        over_budget=bool(task and quote.amount_cents > task.max_total_cents),
        expires_at=quote.expires_at,
        created_at=quote.created_at,
        updated_at=quote.updated_at,
    )


def _payload(ctx: Ctx, quote: Quote) -> dict[str, Any]:
    return {"quote": to_public(ctx, quote).model_dump(mode="json")}


def _set_status(ctx: Ctx, quote: Quote, to: str, *, action: str) -> None:
    before = to_public(ctx, quote).model_dump(mode="json")
    transition(quote, to, action=action)
    quote.updated_at = ctx.now()
    ctx.session.add(quote)
    ctx.audit(quote, f"quote.{to}", before=before)
    ctx.emit(f"quote.{to}", quote, _payload(ctx, quote), owner_id=quote.owner_id)


# --- reading quotes ---------------------------------------------------------------------------


class ListQuotes(PageQuery):
    task_id: str = Field(description="The task's id, task_…")
    status: Literal["pending", "accepted", "rejected", "expired"] | None = Field(
        None, description="Only quotes in this status."
    )


@tool(method="GET", path="/v1/tasks/{task_id}/quotes", scope="tasks:read", title="List quotes")
def list_quotes(ctx: Ctx, query: ListQuotes) -> ListPage[QuotePublic]:
    """List the quotes received for a task, newest first (talent see only their own).

    Accept one with accept_quote; then create a booking from it.
    """
    task = visible_task(ctx, query.task_id)
    stmt = select(Quote).where(Quote.task_id == task.id)
    if ctx.me.kind == "talent":
        stmt = stmt.where(Quote.talent_id == ctx.me.id)
    now = ctx.now()
    if query.status == "expired":
        stmt = stmt.where((Quote.status == "expired") | ((Quote.status == "pending") & (Quote.expires_at <= now)))
    elif query.status == "pending":
        stmt = stmt.where(Quote.status == "pending", (Quote.expires_at == None) | (Quote.expires_at > now))  # noqa: E711
    elif query.status:
        stmt = stmt.where(Quote.status == query.status)
    return paginate(ctx.session, stmt, Quote.id, query, lambda q: to_public(ctx, q, task=task))


class QuoteRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quote_id: str = Field(description="The quote's id, quo_…")


def visible_quote(ctx: Ctx, quote_id: str) -> Quote:
    me = ctx.me
    return ctx.get_or_404(
        Quote, quote_id, visible=lambda q: me.id in (q.owner_id, q.talent_id) or me.kind == "operator"
    )


@tool(method="GET", path="/v1/quotes/{quote_id}", scope="tasks:read", title="Get a quote")
def get_quote(ctx: Ctx, query: QuoteRef) -> QuotePublic:
    """Get one quote and its status (the customer of the task, or the talent who sent it)."""
    return to_public(ctx, visible_quote(ctx, query.quote_id))


# --- submitting and accepting -----------------------------------------------------------------


class SubmitQuote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    talent_id: str = Field(description="Your own talent id, tal_…")
    task_id: str = Field(description="The task you were invited to, task_…")
    amount: int = Field(gt=0, le=1_000_000, description="Your total price in whole units of the task's currency.")
    message: str | None = Field(None, max_length=2000)


@tool(method="POST", path="/v1/talent/{talent_id}/quote", scope="talent:write", status=201, title="Submit a quote")
def submit_quote(ctx: Ctx, cmd: SubmitQuote) -> QuotePublic:
    """Submit a quote on a task you were invited to (talent key).

    The amount is your total in whole units; one pending quote per task. The customer is told
    at once (quote.received). It is valid for 48 hours unless accepted.
    """
    me = ctx.me
    if cmd.talent_id != me.id:
        raise NotFound(f"No talent {cmd.talent_id!r} for this key: quote as yourself.", id=cmd.talent_id)
    task = ctx.session.get(Task, cmd.task_id)
    invitation = ctx.session.exec(
        select(Invitation).where(Invitation.task_id == cmd.task_id, Invitation.talent_id == me.id)
    ).first()
    if task is None or invitation is None:
        raise NotFound(f"No task {cmd.task_id!r} you were invited to.", id=cmd.task_id)
    now = ctx.now()
    if invitation.expires_at is not None and invitation.expires_at <= now:
        raise PolicyBlocked(
            "The invitation to quote has expired.",
            expired_at=invitation.expires_at.isoformat(),
            current_time=now.isoformat(),
        )
    if task.status not in OPEN_STATUSES:
        raise PolicyBlocked(f"This task takes no quotes: it is {task.status}.", current_status=task.status, id=task.id)
    for old in ctx.session.exec(
        select(Quote).where(Quote.task_id == task.id, Quote.talent_id == me.id, Quote.status == "pending")
    ):
        if status_of(old, now) == "expired":
            _set_status(ctx, old, "expired", action="expire")
        else:
            raise PolicyBlocked(
                "You already have a pending quote on this task; wait for the customer's answer.",
                quote_id=old.id,
                current_status=old.status,
            )
    quote = Quote(
        id=new_id("quo"),
        task_id=task.id,
        talent_id=me.id,
        owner_id=task.owner_id,
        amount_cents=cmd.amount * 100,
        currency=task.currency,
        message=cmd.message,
        expires_at=now + timedelta(hours=ctx.config.quote_ttl_hours),
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(quote)
    if task.status == "open_for_quotes":
        before = task_public(task).model_dump(mode="json")
        transition(task, "quoted")
        task.updated_at = now
        ctx.session.add(task)
        ctx.audit(task, "task.quoted", before=before)
    public = to_public(ctx, quote, task=task)
    ctx.audit(quote, "quote.created")
    data = {"quote": public.model_dump(mode="json"), "task": task_public(task).model_dump(mode="json")}
    ctx.emit("quote.received", quote, data, owner_id=task.owner_id)
    return public


def _live_acceptance(ctx: Ctx, task_id: str, other_than: str) -> Quote | None:
    """Another accepted quote of the task whose booking was not cancelled."""
    accepted = ctx.session.exec(
        select(Quote)
        .where(Quote.task_id == task_id, Quote.status == "accepted", Quote.id != other_than)
        .execution_options(populate_existing=True)
    )
    for quote in accepted:
        booking = ctx.session.exec(select(Booking).where(Booking.quote_id == quote.id)).first()
        if booking is None or booking.status != "cancelled":
            return quote
    return None


@tool(method="POST", path="/v1/quotes/{quote_id}/accept", scope="quotes:write", title="Accept a quote")
def accept_quote(ctx: Ctx, cmd: QuoteRef) -> QuotePublic:
    """Accept one quote of a task; the task's other pending quotes are rejected.

    Atomic: of concurrent accepts on one task exactly one succeeds, the rest answer 403.
    Next: create_booking with this quote_id (needs a payment method: see billing_setup).
    """
    quote = ctx.get_owned(Quote, cmd.quote_id)
    task = lock_task(ctx, quote.task_id)  # serialises accepts of one task before anything is read
    ctx.session.refresh(quote)
    now = ctx.now()
    if status_of(quote, now) == "expired":
        raise PolicyBlocked(
            "This quote has expired; ask the talent for a new one.", current_status="expired", id=quote.id
        )
    if task.status != "quoted":
        raise PolicyBlocked(
            f"Cannot accept a quote of a task that is {task.status}.", current_status=task.status, id=task.id
        )
    if quote.status == "pending":
        other = _live_acceptance(ctx, task.id, quote.id)
        if other is not None:
            raise PolicyBlocked(
                "Another quote of this task is already accepted.",
                current_status=quote.status,
                accepted_quote_id=other.id,
            )
    _set_status(ctx, quote, "accepted", action="accept")
    for rival in ctx.session.exec(
        select(Quote).where(Quote.task_id == task.id, Quote.status == "pending", Quote.id != quote.id)
    ):
        _set_status(ctx, rival, "rejected", action="reject")
    return to_public(ctx, quote, task=task)


# --- expiry and cancellation ------------------------------------------------------------------


def expire_quotes(ctx: Ctx) -> int:
    """Mark every pending quote past its expires_at as expired; returns how many (a scheduled job)."""
    stale = ctx.session.exec(
        select(Quote).where(Quote.status == "pending", Quote.expires_at <= ctx.now()).order_by(Quote.id).limit(500)  # type: ignore[operator]
    )
    count = 0
    for quote in stale:
        _set_status(ctx, quote, "expired", action="expire")
        count += 1
    return count


@hooks.on("task_cancelled")
def _reject_pending_quotes(ctx: Ctx, task: Task) -> None:
    for quote in ctx.session.exec(select(Quote).where(Quote.task_id == task.id, Quote.status == "pending")):
        _set_status(ctx, quote, "rejected", action="reject")
