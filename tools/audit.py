"""The audit trail: every mutation with its principal, entity, action, before/after, request id."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import select

from tools.ids import new_id
from tools.models import AuditEntry
from tools.pagination import ListPage, PageQuery, paginate
from tools.registry import tool
from tools.rows import Written, insert_row

if TYPE_CHECKING:
    from tools.context import Ctx

_SKIP = {"_sa_instance_state"}


def snapshot(entity: Any) -> dict[str, Any]:
    """A copy of a row's columns, for before/after, that its JSON column can store.

    A row just written with `insert_values` is copied as it is: the JSON column writes its
    datetimes as pydantic's JSON mode does (ISO 8601, `Z` for UTC; server/db.py), without a
    conversion pass on the hot path of every create.
    """
    if isinstance(entity, Written):
        data = entity.__dict__
    else:
        data = entity.model_dump(mode="json") if hasattr(entity, "model_dump") else dict(entity)
    return {k: v for k, v in data.items() if k not in _SKIP and k != "key_hash"}


def record(ctx: Ctx, entity: Any, action: str, *, before: dict | None = None, owner_id: str | None = None) -> None:
    # Sent now, straight to the driver (tools/rows.py): nothing reads the entry back as an object.
    insert_row(
        ctx.session,
        _TABLE,
        {
            "id": new_id("aud"),
            "owner_id": owner_id or getattr(entity, "owner_id", None) or ctx.me.id,
            "actor_id": ctx.principal.id if ctx.principal else None,
            "entity_type": type(entity).__tablename__,
            "entity_id": entity.id,
            "action": action,
            "before": before,
            "after": snapshot(entity),
            "request_id": ctx.request_id,
            "created_at": ctx.now(),
        },
    )


_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]


class AuditEntryPublic(BaseModel):
    id: str
    object: Literal["audit_entry"] = "audit_entry"
    actor_id: str | None
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    created_at: datetime


class ListAudit(PageQuery):
    entity_type: str | None = Field(None, description="Only entries about this kind of entity, e.g. tasks.")
    entity_id: str | None = Field(None, description="Only entries about this entity.")


@tool(method="GET", path="/v1/audit", scope="audit:read", title="Query the audit log")
def list_audit(ctx: Ctx, query: ListAudit) -> ListPage[AuditEntryPublic]:
    """List your audit log, newest first: every change made to your resources, by whom and why.

    Filter by `entity_type` and `entity_id`; page with `cursor`.
    """
    stmt = select(AuditEntry).where(AuditEntry.owner_id == ctx.me.id)
    if query.entity_type:
        stmt = stmt.where(AuditEntry.entity_type == query.entity_type)
    if query.entity_id:
        stmt = stmt.where(AuditEntry.entity_id == query.entity_id)
    return paginate(
        ctx.session, stmt, AuditEntry.id, query, lambda e: AuditEntryPublic.model_validate(e, from_attributes=True)
    )
