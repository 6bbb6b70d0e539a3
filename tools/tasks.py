"""Tasks: create from a template, read, list, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from tools import templates
from tools.errors import SchemaValidationFailed, schema_error
from tools.ids import new_id
from tools.models import Task
from tools.pagination import ListPage, PageQuery, paginate
from tools.registry import tool
from tools.rows import Written, insert_values
from tools.states import TASK, transition
from tools.templates import TaskType

if TYPE_CHECKING:
    from tools.context import Ctx

TaskStatus = Literal[tuple(TASK)]  # type: ignore[valid-type]
CURRENCY_COUNTRY = {"CAD": "CA", "USD": "US", "GBP": "GB", "AUD": "AU", "NZD": "NZ", "EUR": None}


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["onsite", "remote"] = "onsite"
    address: str | None = Field(None, max_length=500, description="Street address; the city is resolved offline.")
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_at: datetime = Field(description="ISO 8601 with an offset or Z; at least 15 minutes from now.")
    duration_hours: float = Field(gt=0, le=24 * 14)
    timezone: str | None = Field(None, description="IANA zone; by default the task location's zone.")


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. CAD.")
    pricing_model: Literal["fixed", "hourly"] = "fixed"
    max_total: int = Field(gt=0, le=1_000_000, description="Whole currency units.")


class Deliverable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="One of the template's deliverable_kinds (photo, video, audio, document).")
    count: int = Field(1, ge=1, le=10_000)
    format: str | None = Field(None, description="jpeg, png, mp4, wav… ")


class CreateTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: TaskType
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    location: Location
    schedule: Schedule
    budget: Budget
    deliverables: list[Deliverable] = Field(
        default_factory=list, description="What you expect back; defaults from the template."
    )
    task_spec: dict[str, Any] = Field(default_factory=dict, description="Validated against the template's spec_schema.")
    metadata: dict[str, str] = Field(default_factory=dict, description="Your own key-value pairs, returned as given.")

    @staticmethod
    def more_errors(raw: dict[str, Any]) -> list[dict[str, str]]:
        """task_spec problems, reported beside schema problems elsewhere in the body."""
        spec = raw.get("task_spec")
        try:
            task_type = TaskType(raw.get("task_type"))
        except ValueError:
            return []
        return _spec_errors(task_type, spec) if isinstance(spec, dict) else []


class TaskPublic(BaseModel):
    id: str
    object: Literal["task"] = "task"
    status: str
    task_type: str
    title: str
    description: str | None
    location: dict[str, Any]
    schedule: dict[str, Any]
    budget: dict[str, Any]
    deliverables: list[dict[str, Any]]
    task_spec: dict[str, Any]
    metadata: dict[str, Any]
    risk_level: str
    created_at: datetime
    updated_at: datetime


def to_public(task: Task | Written) -> TaskPublic:
    template = templates.get(task.task_type)
    end_at = task.start_at + timedelta(hours=task.duration_hours)
    # Built from a stored row: nothing to validate.
    return TaskPublic.model_construct(
        id=task.id,
        status=task.status,
        task_type=task.task_type,
        title=task.title,
        description=task.description,
        location=task.location,
        schedule={
            "start_at": task.start_at,
            "end_at": end_at,
            "duration_hours": task.duration_hours,
            "timezone": task.timezone,
        },
        budget={
            "currency": task.currency,
            "pricing_model": task.pricing_model,
            "max_total": task.max_total_cents // 100,
        },
        deliverables=task.deliverables,
        task_spec=task.task_spec,
        metadata=task.metadata_,
        risk_level=template.risk_level,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def _resolve_location(ctx: Ctx, cmd: CreateTask, errors: list[dict[str, str]]) -> tuple[dict[str, Any], str]:
    loc = cmd.location
    geocoder = ctx.services.geocoder
    if (loc.lat is None) != (loc.lng is None):
        errors.append(schema_error("/location", "give both lat and lng, or neither"))
        return loc.model_dump(), "UTC"
    if loc.lat is not None and loc.lng is not None:
        tz = geocoder.timezone_at(loc.lat, loc.lng)
        return {**loc.model_dump(), "precision": "exact", "timezone": tz}, tz
    if loc.mode == "remote" and not loc.address:
        return {**loc.model_dump(), "precision": "none", "timezone": "UTC"}, "UTC"
    if not loc.address:
        errors.append(schema_error("/location/address", "an onsite task needs an address or lat/lng"))
        return loc.model_dump(), "UTC"
    place = geocoder.resolve(loc.address, country_hint=CURRENCY_COUNTRY.get(cmd.budget.currency))
    if place is None:
        errors.append(
            schema_error(
                "/location/address", f"cannot place {loc.address!r} offline: add the city, or send lat and lng"
            )
        )
        return loc.model_dump(), "UTC"
    resolved = {
        **loc.model_dump(),
        "lat": place.lat,
        "lng": place.lng,
        "precision": place.precision,
        "city": place.city,
        "region": place.region,
        "country": place.country,
        "timezone": place.timezone,
    }
    return resolved, place.timezone


def _kinds_rule(rule: dict, cmd: CreateTask, deliverables: list[dict]) -> list[dict[str, str]]:
    return [
        schema_error(f"/deliverables/{i}/kind", f"{d['kind']!r} is not one of {rule['allowed']}")
        for i, d in enumerate(deliverables)
        if d["kind"] not in rule["allowed"]
    ]


def _duration_rule(rule: dict, cmd: CreateTask, deliverables: list[dict]) -> list[dict[str, str]]:
    hours = cmd.schedule.duration_hours
    if rule["min"] <= hours <= rule["max"]:
        return []
    return [schema_error("/schedule/duration_hours", f"{hours} is outside {rule['min']}-{rule['max']} hours")]


def _mode_rule(rule: dict, cmd: CreateTask, deliverables: list[dict]) -> list[dict[str, str]]:
    if cmd.location.mode in rule["allowed"]:
        return []
    return [schema_error("/location/mode", f"{cmd.location.mode!r} is not one of {rule['allowed']}")]


def _budget_rule(rule: dict, cmd: CreateTask, deliverables: list[dict]) -> list[dict[str, str]]:
    if cmd.budget.max_total >= rule["amount"]:
        return []
    return [schema_error("/budget/max_total", f"{cmd.budget.max_total} is below the minimum of {rule['amount']}")]


#: the validation rule kinds a template may use (templates/tasks/*.json → validation_rules)
RULES = {
    "deliverable_kinds": _kinds_rule,
    "duration_hours": _duration_rule,
    "location_mode": _mode_rule,
    "budget_min": _budget_rule,
}


def _check_rules(template: templates.Template, cmd: CreateTask, deliverables: list[dict], errors: list[dict]) -> None:
    for rule in template.validation_rules:
        errors += RULES[rule["rule"]](rule, cmd, deliverables)


def _spec_errors(task_type: TaskType, spec: dict[str, Any]) -> list[dict[str, str]]:
    if templates.spec_checker(task_type).is_valid(spec):
        return []
    found = []
    for err in sorted(templates.spec_validator(task_type).iter_errors(spec), key=lambda e: list(e.absolute_path)):
        pointer = "/task_spec" + "".join(f"/{p}" for p in err.absolute_path)
        found.append(schema_error(pointer, err.message))
    return found


def _start_at(ctx: Ctx, cmd: CreateTask, tz: str, errors: list[dict[str, str]]) -> datetime:
    from zoneinfo import ZoneInfo

    start = cmd.schedule.start_at
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(cmd.schedule.timezone or tz))
    earliest = ctx.now() + timedelta(minutes=ctx.config.min_lead_minutes)
    if start < earliest:
        errors.append(
            schema_error(
                "/schedule/start_at",
                f"{start.isoformat()} is too soon: a task may start"
                f" {ctx.config.min_lead_minutes} minutes from now at the earliest",
            )
        )
    return start


@tool(method="POST", path="/v1/tasks", scope="tasks:write", status=201, title="Create a task")
def create_task(ctx: Ctx, cmd: CreateTask) -> TaskPublic:
    """Create a task from a template; it starts as a draft.

    Read the template first (get_template) and build task_spec from its spec_schema. Every problem
    is reported at once in details.errors with the JSON pointer of the field. Next: request quotes.
    """
    template = templates.get(cmd.task_type)
    errors: list[dict[str, str]] = []
    deliverables = [d.model_dump(exclude_none=True) for d in cmd.deliverables] or list(template.default_deliverables)
    errors += _spec_errors(cmd.task_type, cmd.task_spec)
    _check_rules(template, cmd, deliverables, errors)
    location, tz = _resolve_location(ctx, cmd, errors)
    start = _start_at(ctx, cmd, tz, errors)
    if cmd.schedule.timezone:
        tz = cmd.schedule.timezone
    if errors:
        raise SchemaValidationFailed("Task validation failed", errors=errors)
    now = ctx.now()
    # Every column given, sent as one INSERT: the hot path skips building the ORM object.
    task = insert_values(
        ctx.session,
        Task,
        {
            "id": new_id("task"),
            "owner_id": ctx.me.id,
            "task_type": cmd.task_type.value,
            "title": cmd.title,
            "description": cmd.description,
            "status": "draft",
            "location": location,
            "start_at": start,
            "duration_hours": cmd.schedule.duration_hours,
            "timezone": tz,
            "currency": cmd.budget.currency,
            "pricing_model": cmd.budget.pricing_model,
            "max_total_cents": cmd.budget.max_total * 100,
            "deliverables": deliverables,
            "task_spec": cmd.task_spec,
            "metadata_": cmd.metadata,
            "created_at": now,
            "updated_at": now,
        },
    )
    public = to_public(task)
    ctx.audit(task, "task.created")
    ctx.emit("task.created", task, {"task": public.model_dump(mode="json")}, owner_id=task.owner_id)
    return public


class TaskRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="The task's id, task_…")


def visible_task(ctx: Ctx, task_id: str) -> Task:
    """The task, if the caller owns it (customers) or was invited to it (talent)."""
    from tools import visibility

    return ctx.get_or_404(Task, task_id, visible=lambda t: visibility.can_see_task(ctx, t))


@tool(method="GET", path="/v1/tasks/{task_id}", scope="tasks:read", title="Get a task")
def get_task(ctx: Ctx, query: TaskRef) -> TaskPublic:
    """Get a task's details and status."""
    return to_public(visible_task(ctx, query.task_id))


class ListTasks(PageQuery):
    status: TaskStatus | None = Field(None, description="Only tasks in this status.")
    task_type: TaskType | None = Field(None, description="Only tasks of this type.")


@tool(method="GET", path="/v1/tasks", scope="tasks:read", title="List tasks")
def list_tasks(ctx: Ctx, query: ListTasks) -> ListPage[TaskPublic]:
    """List your tasks, newest first; filter by status and task_type, page with cursor."""
    stmt = select(Task).where(Task.owner_id == ctx.me.id)
    if query.status:
        stmt = stmt.where(Task.status == query.status)
    if query.task_type:
        stmt = stmt.where(Task.task_type == query.task_type.value)
    return paginate(ctx.session, stmt, Task.id, query, to_public)


class CancelTask(TaskRef):
    reason: str | None = Field(None, max_length=1000)


@tool(method="POST", path="/v1/tasks/{task_id}/cancel", scope="tasks:write", destructive=True, title="Cancel a task")
def cancel_task(ctx: Ctx, cmd: CancelTask) -> TaskPublic:
    """Cancel a task that is not yet in progress; pending quotes are rejected and a booking is released."""
    task = ctx.get_owned(Task, cmd.task_id)
    before = to_public(task).model_dump(mode="json")
    transition(task, "cancelled", action="cancel")
    from tools import hooks

    hooks.run("task_cancelled", ctx, task)
    task.updated_at = ctx.now()
    ctx.session.add(task)
    public = to_public(task)
    ctx.audit(task, "task.cancelled", before=before)
    ctx.emit(
        "task.cancelled", task, {"task": public.model_dump(mode="json"), "reason": cmd.reason}, owner_id=task.owner_id
    )
    return public


def lock_task(ctx: Ctx, task_id: str) -> Task:
    """The task row, locked for this transaction (PostgreSQL; SQLite writers are serialised)."""
    stmt = (
        select(Task).where(Task.id == task_id).with_for_update(key_share=True).execution_options(populate_existing=True)
    )
    return ctx.session.exec(stmt).one()
