"""Who may see what. Anything else answers 404, never 403 (no leaking existence)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.context import Ctx
    from tools.models import Task


def can_see_task(ctx: Ctx, task: Task) -> bool:
    me = ctx.me
    if task.owner_id == me.id or me.kind == "operator":
        return True
    if me.kind == "talent":
        return talent_invited(ctx, task.id, me.id)
    return False


def talent_invited(ctx: Ctx, task_id: str, talent_id: str) -> bool:
    """An invited talent may read the task (to quote on it, and later to do it)."""
    from sqlmodel import select

    from tools.models import Invitation

    stmt = select(Invitation.id).where(Invitation.task_id == task_id, Invitation.talent_id == talent_id)
    return ctx.session.exec(stmt).first() is not None
