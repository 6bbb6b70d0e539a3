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
    return False
