"""Invitations: ask talent to quote on a task, the ones named or the best matches."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from tools import matching
from tools.errors import PolicyBlocked, SchemaValidationFailed, schema_error
from tools.ids import new_id
from tools.models import Invitation, TalentProfile, Task
from tools.quotes import OPEN_STATUSES
from tools.registry import tool
from tools.states import transition
from tools.tasks import to_public as task_public

if TYPE_CHECKING:
    from tools.context import Ctx


class RequestQuotes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="The task's id, task_…")
    talent_ids: list[str] | None = Field(
        None, max_length=50, description="Invite exactly these talent (tal_…); otherwise the best matches."
    )
    max_invites: int = Field(
        5, ge=1, le=50, description="How many matching talent to invite when talent_ids is absent."
    )
    message: str | None = Field(None, max_length=2000, description="A note shown to the invited talent.")
    expires_at: datetime | None = Field(
        None, description="Quotes are due by this time (ISO 8601); open-ended if absent."
    )


class InvitationPublic(BaseModel):
    id: str
    object: Literal["invitation"] = "invitation"
    talent_id: str
    talent_name: str
    score: float | None
    distance_km: float | None
    match: dict[str, Any]
    expires_at: datetime | None
    created_at: datetime


class QuoteRequestResult(BaseModel):
    object: Literal["quote_request"] = "quote_request"
    task_id: str
    task_status: str
    invited: list[InvitationPublic]
    already_invited: list[str] = Field(description="Talent ids invited before; not invited again.")
    note: str | None = None


def _named_talent(ctx: Ctx, ids: list[str]) -> list[TalentProfile]:
    found, errors = [], []
    for i, talent_id in enumerate(dict.fromkeys(ids)):
        talent = ctx.session.get(TalentProfile, talent_id)
        if talent is None or not talent.active:
            errors.append(
                schema_error(
                    f"/talent_ids/{i}", f"no active talent {talent_id!r}; find some with GET /v1/talent/search"
                )
            )
        else:
            found.append(talent)
    if errors:
        raise SchemaValidationFailed("Unknown talent", errors=errors)
    return found


def _invite(ctx: Ctx, task: Task, match: matching.Match, cmd: RequestQuotes) -> InvitationPublic:
    talent = match.talent
    invitation = Invitation(
        id=new_id("inv"),
        task_id=task.id,
        talent_id=talent.id,
        owner_id=task.owner_id,
        message=cmd.message,
        match={"score": match.score, **match.breakdown},
        expires_at=cmd.expires_at,
        created_at=ctx.now(),
    )
    ctx.session.add(invitation)
    ctx.audit(invitation, "invitation.created")
    public = InvitationPublic(
        id=invitation.id,
        talent_id=talent.id,
        talent_name=talent.name,
        score=match.score,
        distance_km=None if match.distance_m is None else round(match.distance_m / 1000, 1),
        match=invitation.match,
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
    )
    data = {
        "invitation": public.model_dump(mode="json"),
        "invitation_id": invitation.id,
        "task_id": task.id,
        "talent_id": talent.id,
        "talent_name": talent.name,
        "talent_email": talent.email,
        "quote_url": f"{ctx.config.base_url}/portal/quote/{invitation.id}",
        "message": cmd.message,
        "task": task_public(task).model_dump(mode="json"),
    }
    ctx.emit("quote.requested", invitation, data, owner_id=task.owner_id)
    return public


@tool(
    method="POST", path="/v1/tasks/{task_id}/quote_requests", scope="quotes:write", status=201, title="Request quotes"
)
def request_quotes(ctx: Ctx, cmd: RequestQuotes) -> QuoteRequestResult:
    """Invite talent to quote on a task: the ones you name, or the best matches.

    Matches do the task type, have the task within their travel radius and are free at its time.
    Each invited talent gets an e-mail with a link to quote. A draft task becomes open_for_quotes;
    call again to invite more. Next: poll list_quotes or wait for quote.received.
    """
    task = ctx.get_owned(Task, cmd.task_id)
    if task.status not in ("draft", *OPEN_STATUSES):
        raise PolicyBlocked(
            f"Cannot request quotes for a task that is {task.status}.", current_status=task.status, id=task.id
        )
    if cmd.expires_at is not None and cmd.expires_at.tzinfo is None:
        raise SchemaValidationFailed("Bad expires_at", errors=[schema_error("/expires_at", "give an offset or Z")])
    if cmd.expires_at is not None and cmd.expires_at <= ctx.now():
        raise SchemaValidationFailed("Bad expires_at", errors=[schema_error("/expires_at", "must be in the future")])
    invited_before = set(ctx.session.exec(select(Invitation.talent_id).where(Invitation.task_id == task.id)))
    if cmd.talent_ids:
        matches = [matching.evaluate(ctx, task, t) for t in _named_talent(ctx, cmd.talent_ids)]
        already = [m.talent.id for m in matches if m.talent.id in invited_before]
        matches = [m for m in matches if m.talent.id not in invited_before]
    else:
        matches = matching.rank_talent(ctx, task, limit=cmd.max_invites, exclude=invited_before)
        already = []
    if task.status == "draft":
        before = task_public(task).model_dump(mode="json")
        transition(task, "open_for_quotes", action="request quotes for")
        task.updated_at = ctx.now()
        ctx.session.add(task)
        ctx.audit(task, "task.open_for_quotes", before=before)
        ctx.emit(
            "task.open_for_quotes", task, {"task": task_public(task).model_dump(mode="json")}, owner_id=task.owner_id
        )
    invited = [_invite(ctx, task, m, cmd) for m in matches]
    note = None
    if not invited:
        note = "No new talent matched: widen the search with talent_ids from GET /v1/talent/search, or change the task."
    return QuoteRequestResult(
        task_id=task.id, task_status=task.status, invited=invited, already_invited=already, note=note
    )
