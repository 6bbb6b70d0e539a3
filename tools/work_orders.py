"""Work orders: read them with their deliverables, deliver files (talent), request changes (customer)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from tools import files, templates
from tools.audit import snapshot
from tools.errors import PolicyBlocked, SchemaValidationFailed, schema_error
from tools.ids import new_id
from tools.models import Deliverable, StoredFile, Task, WorkOrder
from tools.pagination import ListPage
from tools.registry import tool
from tools.states import transition

if TYPE_CHECKING:
    from tools.context import Ctx

DeliverableKind = Literal["photo", "video", "audio", "document"]


def visible_work_order(ctx: Ctx, work_order_id: str) -> WorkOrder:
    """The work order, if the caller is its customer, its talent or an operator; otherwise 404."""
    me = ctx.me

    def visible(wo: WorkOrder) -> bool:
        return me.id in (wo.owner_id, wo.talent_id) or me.kind == "operator"

    return ctx.get_or_404(WorkOrder, work_order_id, visible=visible)


def lock_visible_work_order(ctx: Ctx, work_order_id: str) -> tuple[WorkOrder, Task]:
    """The work order and its task, the task row locked: every change to a task goes through its lock."""
    from tools.tasks import lock_task

    wo = visible_work_order(ctx, work_order_id)
    task = lock_task(ctx, wo.task_id)
    ctx.session.refresh(wo)  # another call may have moved it while we waited for the lock
    return wo, task


class DeliverablePublic(BaseModel):
    id: str
    object: Literal["deliverable"] = "deliverable"
    work_order_id: str
    file_id: str
    kind: str
    round: int
    filename: str
    content_type: str
    size: int
    sha256: str | None
    download_url: str | None = Field(None, description="Signed GET URL, valid 15 minutes.")
    download_expires_at: datetime | None = None
    created_at: datetime


class WorkOrderPublic(BaseModel):
    id: str
    object: Literal["work_order"] = "work_order"
    status: str
    task_id: str
    booking_id: str
    customer_id: str
    talent_id: str
    delivery_round: int = Field(description="Bumped by every delivery; QA runs on the current round.")
    deliverables: list[DeliverablePublic] = Field(description="The current round's files.")
    qa: dict[str, Any] | None = Field(description="The cached QA result of the latest run.")
    change_request: dict[str, Any] | None = Field(description="The customer's latest request for changes.")
    override_qa: bool
    delivered_at: datetime | None
    accepted_at: datetime | None
    created_at: datetime
    updated_at: datetime


def deliverables_of(ctx: Ctx, wo: WorkOrder, round_: int) -> list[tuple[Deliverable, StoredFile]]:
    stmt = (
        select(Deliverable, StoredFile)
        .join(StoredFile, StoredFile.id == Deliverable.file_id)
        .where(Deliverable.work_order_id == wo.id, Deliverable.round == round_)
        .order_by(Deliverable.id)
    )
    return list(ctx.session.exec(stmt).all())


def deliverable_public(ctx: Ctx, dlv: Deliverable, file: StoredFile, *, with_url: bool) -> DeliverablePublic:
    url, expires_at = files.signed_url(ctx.config, "GET", file.id, now=ctx.now()) if with_url else (None, None)
    return DeliverablePublic(
        id=dlv.id,
        work_order_id=dlv.work_order_id,
        file_id=file.id,
        kind=dlv.kind,
        round=dlv.round,
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        sha256=file.sha256,
        download_url=url,
        download_expires_at=expires_at,
        created_at=dlv.created_at,
    )


def to_public(ctx: Ctx, wo: WorkOrder, *, with_urls: bool = True) -> WorkOrderPublic:
    """The work order with its current round's deliverables; event payloads go without URLs."""
    rows = deliverables_of(ctx, wo, wo.delivery_round)
    return WorkOrderPublic(
        id=wo.id,
        status=wo.status,
        task_id=wo.task_id,
        booking_id=wo.booking_id,
        customer_id=wo.owner_id,
        talent_id=wo.talent_id,
        delivery_round=wo.delivery_round,
        deliverables=[deliverable_public(ctx, d, f, with_url=with_urls) for d, f in rows],
        qa=wo.qa,
        change_request=wo.change_request,
        override_qa=wo.override_qa,
        delivered_at=wo.delivered_at,
        accepted_at=wo.accepted_at,
        created_at=wo.created_at,
        updated_at=wo.updated_at,
    )


def event_payload(ctx: Ctx, wo: WorkOrder) -> dict[str, Any]:
    return to_public(ctx, wo, with_urls=False).model_dump(mode="json")


class WorkOrderRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    work_order_id: str = Field(description="The work order's id, wo_… (a booking's work_order_id).")


@tool(method="GET", path="/v1/work_orders/{work_order_id}", scope="tasks:read", title="Get a work order")
def get_work_order(ctx: Ctx, query: WorkOrderRef) -> WorkOrderPublic:
    """Get a work order with its current deliverables and 15-minute download URLs.

    Poll it after booking: when status is `delivered`, run QA with run_qa; then accept the work
    or request changes. Both the customer and the booked talent may read it.
    """
    return to_public(ctx, visible_work_order(ctx, query.work_order_id))


class ListDeliverables(WorkOrderRef):
    round: int | None = Field(None, ge=1, description="A delivery round; by default the current one.")


@tool(method="GET", path="/v1/work_orders/{work_order_id}/deliverables", scope="tasks:read", title="List deliverables")
def list_deliverables(ctx: Ctx, query: ListDeliverables) -> ListPage[DeliverablePublic]:
    """List the delivered files of a work order, with 15-minute download URLs.

    By default the current delivery round; pass `round` for an earlier one.
    """
    wo = visible_work_order(ctx, query.work_order_id)
    rows = deliverables_of(ctx, wo, query.round or wo.delivery_round)
    data = [deliverable_public(ctx, d, f, with_url=True) for d, f in rows]
    return ListPage[DeliverablePublic](data=data, has_more=False, next_cursor=None)


class DeliveredFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_id: str = Field(description="An uploaded file of yours (presign_upload, then PUT the bytes).")
    kind: DeliverableKind = Field(description="What the file is; QA checks each kind against the template.")


class RegisterDeliverables(WorkOrderRef):
    files: list[DeliveredFile] = Field(min_length=1, max_length=2000, description="Every file of this delivery.")


def _usable_files(ctx: Ctx, wo: WorkOrder, cmd: RegisterDeliverables) -> list[StoredFile]:
    """The files of the delivery, or 400 naming every file that cannot be delivered and why."""
    kinds = templates.get(ctx.session.get(Task, wo.task_id).task_type).deliverable_kinds  # type: ignore[union-attr]
    ids = [f.file_id for f in cmd.files]
    found = {f.id: f for f in ctx.session.exec(select(StoredFile).where(StoredFile.id.in_(ids))).all()}  # type: ignore[attr-defined]
    used = set(ctx.session.exec(select(Deliverable.file_id).where(Deliverable.file_id.in_(ids))).all())  # type: ignore[attr-defined]
    errors, seen = [], set()
    for i, item in enumerate(cmd.files):
        file = found.get(item.file_id)
        pointer = f"/files/{i}"
        if file is None or file.owner_id != ctx.me.id:
            errors.append(schema_error(f"{pointer}/file_id", f"no file {item.file_id!r} uploaded by you"))
        elif file.status != "uploaded":
            errors.append(
                schema_error(f"{pointer}/file_id", f"{item.file_id} is not uploaded yet: PUT its bytes first")
            )
        elif item.file_id in used or item.file_id in seen:
            errors.append(schema_error(f"{pointer}/file_id", f"{item.file_id} is already delivered: upload a new file"))
        if item.kind not in kinds:
            errors.append(schema_error(f"{pointer}/kind", f"{item.kind!r} is not one of this task's kinds {kinds}"))
        seen.add(item.file_id)
    if errors:
        raise SchemaValidationFailed("Some files cannot be delivered", errors=errors)
    return [found[i] for i in ids]


@tool(
    method="POST",
    path="/v1/work_orders/{work_order_id}/deliverables",
    scope="work_orders:write",
    status=201,
    title="Register deliverables",
)
def register_deliverables(ctx: Ctx, cmd: RegisterDeliverables) -> WorkOrderPublic:
    """Deliver uploaded files on a work order (the booked talent, after checking in).

    Upload each file first (presign_upload, then PUT the bytes). One call is one delivery round
    with all its files; after the customer requests changes, deliver again with new files.
    """
    wo, task = lock_visible_work_order(ctx, cmd.work_order_id)
    if wo.talent_id != ctx.me.id:
        raise PolicyBlocked("Only the booked talent delivers files on a work order.", id=wo.id)
    if task.status == "booked":
        raise PolicyBlocked(
            "Check in at the task location first (POST /v1/bookings/{id}/checkin).",
            current_status=task.status,
            booking_id=wo.booking_id,
        )
    stored = _usable_files(ctx, wo, cmd)
    before, task_before = snapshot(wo), snapshot(task)
    transition(wo, "delivered", action="deliver")
    transition(task, "delivered", action="deliver")
    now = ctx.now()
    wo.delivery_round += 1
    wo.delivered_at = wo.updated_at = task.updated_at = now
    for item, file in zip(cmd.files, stored, strict=True):
        dlv = Deliverable(
            id=new_id("dlv"),
            work_order_id=wo.id,
            file_id=file.id,
            kind=item.kind,
            round=wo.delivery_round,
            created_at=now,
        )
        ctx.session.add(dlv)
    ctx.session.add_all([wo, task])
    ctx.session.flush()
    ctx.audit(wo, "work_order.delivered", before=before)
    ctx.audit(task, "task.delivered", before=task_before)
    public = to_public(ctx, wo)
    ctx.emit(
        "deliverable.registered",
        wo,
        {"work_order": event_payload(ctx, wo), "round": wo.delivery_round, "task_id": task.id},
        owner_id=wo.owner_id,
    )
    return public


class RequestChanges(WorkOrderRef):
    message: str = Field(min_length=1, max_length=5000, description="What the talent should change.")


@tool(
    method="POST",
    path="/v1/work_orders/{work_order_id}/request_changes",
    scope="work_orders:write",
    title="Request changes",
)
def request_changes(ctx: Ctx, cmd: RequestChanges) -> WorkOrderPublic:
    """Send a delivery back to the talent with what to change (customer, after QA).

    Run QA (run_qa) first. The talent then uploads new files and delivers again, which starts a
    new round that QA checks afresh.
    """
    wo, task = lock_visible_work_order(ctx, cmd.work_order_id)
    if wo.owner_id != ctx.me.id and ctx.me.kind != "operator":
        raise PolicyBlocked("Only the customer requests changes on a work order.", id=wo.id)
    before, task_before = snapshot(wo), snapshot(task)
    transition(wo, "changes_requested", action="request changes on")
    transition(task, "in_progress", action="request changes on")
    now = ctx.now()
    wo.change_request = {"message": cmd.message, "round": wo.delivery_round, "at": now.isoformat()}
    wo.updated_at = task.updated_at = now
    ctx.session.add_all([wo, task])
    ctx.audit(wo, "work_order.changes_requested", before=before)
    ctx.audit(task, "task.changes_requested", before=task_before)
    ctx.emit(
        "work_order.changes_requested",
        wo,
        {"work_order": event_payload(ctx, wo), "message": cmd.message},
        owner_id=wo.owner_id,
    )
    return to_public(ctx, wo)
