"""`task.policy_blocked`: a refused call rolls its transaction back, so its event is written here,
in a short transaction of its own, after the refusal (the runner calls `record_policy_block`).

Only refusals about a task the caller owns are recorded: the task comes from the error's details
(`task_id`, or an `id` that is a task id) or from the command's `task_id`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tools import accounts
from tools.context import Ctx
from tools.errors import PolicyBlocked
from tools.models import Task
from tools.tasks import to_public

if TYPE_CHECKING:
    from tools.ports import Services
    from tools.runner import Call, Sessions

log = logging.getLogger("crewcall.refusals")


def _task_id(exc: PolicyBlocked, arguments: dict[str, Any]) -> str | None:
    given = exc.details.get("task_id")
    if isinstance(given, str):
        return given
    if isinstance(exc.details.get("id"), str) and exc.details["id"].startswith("task_"):
        return exc.details["id"]
    value = arguments.get("task_id")
    return value if isinstance(value, str) else None


def record_policy_block(sessions: Sessions, services: Services, call: Call, exc: PolicyBlocked) -> None:
    spec, token, request_id = call.tool, call.token, call.request_id
    task_id = _task_id(exc, call.arguments)
    if task_id is None or token is None:
        return
    after: list[Callable[[], None]] = []
    try:
        with sessions(write=True) as session:
            principal, _ = accounts.authenticate(session, token, now=services.clock.now())
            task = session.get(Task, task_id)
            if task is None or task.owner_id != principal.id:
                return
            ctx = Ctx(session, services, principal, request_id, spec.name, after)
            data: dict[str, Any] = {
                "task_id": task.id,
                "task": to_public(task).model_dump(mode="json"),
                "tool": spec.name,
                "error": {"code": exc.code, "message": exc.message, "details": exc.details},
            }
            ctx.emit("task.policy_blocked", task, data, owner_id=task.owner_id)
            session.commit()
    except Exception:  # the refusal itself must reach the caller whatever happens here
        log.exception("could not record task.policy_blocked for %s", task_id)
        return
    sessions.after_commit(after)
