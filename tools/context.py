"""The context a tool runs in: one session (one transaction), the caller, the ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

from tools.errors import AuthScopeDenied, NotFound
from tools.models import Principal
from tools.ports import Config, Services

M = TypeVar("M", bound=SQLModel)


@dataclass
class Ctx:
    session: Session
    services: Services
    principal: Principal | None
    request_id: str
    tool: str = ""
    #: run by the runner once the transaction has committed (wake-ups, never domain writes)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def config(self) -> Config:
        return self.services.config

    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def me(self) -> Principal:
        if self.principal is None:
            raise AuthScopeDenied("This call needs an API key: send Authorization: Bearer cc_…")
        return self.principal

    def get_owned(self, model: type[M], obj_id: str, *, owner_field: str = "owner_id") -> M:
        """The row if it exists and belongs to the caller; otherwise 404 (never leak existence)."""
        obj = self.session.get(model, obj_id)
        if obj is None or getattr(obj, owner_field) != self.me.id:
            raise NotFound(f"No {_label(model)} {obj_id!r} for this account.", id=obj_id)
        return obj

    def get_or_404(self, model: type[M], obj_id: str, *, visible: Callable[[M], bool]) -> M:
        """The row if it exists and `visible` says the caller may see it; otherwise 404."""
        obj = self.session.get(model, obj_id)
        if obj is None or not visible(obj):
            raise NotFound(f"No {_label(model)} {obj_id!r} for this account.", id=obj_id)
        return obj

    def audit(self, entity: Any, action: str, *, before: dict | None = None, owner_id: str | None = None) -> None:
        from tools.audit import record

        record(self, entity, action, before=before, owner_id=owner_id)

    def emit(self, event_type: str, entity: Any, data: dict[str, Any], *, owner_id: str) -> None:
        from tools.events import emit

        emit(self, event_type, entity, data, owner_id=owner_id)


def _label(model: type) -> str:
    return getattr(model, "__tablename__", model.__name__).rstrip("s").replace("_", " ")
