"""QA: run a template's acceptance tests on the files of a work order's current delivery round."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from tools import files, qa_checks, templates
from tools.audit import snapshot
from tools.errors import PolicyBlocked
from tools.models import Booking, Task, WorkOrder
from tools.registry import tool
from tools.states import transition
from tools.work_orders import WorkOrderRef, deliverables_of, event_payload, lock_visible_work_order

if TYPE_CHECKING:
    from tools.context import Ctx


class CheckResult(BaseModel):
    name: str = Field(description="The acceptance test's id in the template, e.g. photo_count.")
    check: str = Field(description="The kind of check: count, format, min_resolution, capture_time_window, …")
    kind: str = Field(description="The deliverable kind it looks at.")
    description: str | None = None
    passed: bool
    measured: Any = Field(description="What QA found in the files.")
    expected: Any = Field(description="What the template and task_spec ask for.")
    details: dict[str, Any] | None = Field(None, description="The files (or pairs of files) at fault.")


class QAResult(BaseModel):
    object: Literal["qa_result"] = "qa_result"
    work_order_id: str
    round: int
    status: Literal["passed", "failed"]
    checks: list[CheckResult]
    ran_at: datetime


def _delivery(ctx: Ctx, wo: WorkOrder, task: Task) -> qa_checks.Delivery:
    """Probe the current round's files and gather what the task asked for."""
    template = templates.get(task.task_type)
    booking = ctx.session.get(Booking, wo.booking_id)
    start, end = (
        (booking.start_at, booking.end_at)
        if booking
        else (task.start_at, task.start_at + timedelta(hours=task.duration_hours))
    )
    store = files.store(ctx)
    probes = [
        qa_checks.probe(store.path(file.id), file_id=file.id, filename=file.filename, kind=dlv.kind, tz=task.timezone)
        for dlv, file in deliverables_of(ctx, wo, wo.delivery_round)
    ]
    ordered: dict[str, int] = {}
    for item in task.deliverables:
        ordered[item["kind"]] = ordered.get(item["kind"], 0) + int(item.get("count", 1))
    lat, lng = task.location.get("lat"), task.location.get("lng")
    return qa_checks.Delivery(
        probes=probes,
        ordered=ordered,
        task_spec=task.task_spec,
        window=(start - timedelta(minutes=ctx.config.checkin_open_minutes), end),
        center=(lat, lng) if lat is not None and lng is not None else None,
        geofence_radius_m=template.geofence_radius_m,
    )


@tool(
    method="GET",
    path="/v1/work_orders/{work_order_id}/qa",
    scope="work_orders:write",
    read_only=False,
    idempotent=True,
    title="Run QA",
)
def run_qa(ctx: Ctx, query: WorkOrderRef) -> QAResult:
    """Run the template's automated QA checks on the delivered files; safe to call repeatedly.

    Call it when the work order is `delivered`. The first call for a delivery round checks the
    real files (counts, formats, resolution, EXIF capture time and GPS, near-duplicates, lengths),
    moves the work order to qa_passed or qa_failed and emits qa.completed; later calls return
    the cached result. Then accept the work, or request changes naming the failed checks.
    """
    wo, task = lock_visible_work_order(ctx, query.work_order_id)
    # After changes are requested the cached result is stale news: the next delivery is awaited.
    if wo.qa is not None and wo.qa.get("round") == wo.delivery_round and wo.status != "changes_requested":
        return QAResult.model_validate(wo.qa)
    if wo.status != "delivered":
        raise PolicyBlocked(
            f"QA runs on a delivered work order; this one is {wo.status} (wait for the talent to deliver).",
            current_status=wo.status,
            id=wo.id,
        )
    checks = qa_checks.run_checks(templates.get(task.task_type).acceptance_tests, _delivery(ctx, wo, task))
    passed = all(c["passed"] for c in checks)
    result = QAResult(
        work_order_id=wo.id,
        round=wo.delivery_round,
        status="passed" if passed else "failed",
        checks=[CheckResult.model_validate(c) for c in checks],
        ran_at=ctx.now(),
    )
    before = snapshot(wo)
    transition(wo, "qa_passed" if passed else "qa_failed", action="record QA on")
    wo.qa = result.model_dump(mode="json")
    wo.updated_at = ctx.now()
    ctx.session.add(wo)
    ctx.audit(wo, "work_order.qa_completed", before=before)
    ctx.emit("qa.completed", wo, {"qa": wo.qa, "work_order": event_payload(ctx, wo)}, owner_id=wo.owner_id)
    return result
