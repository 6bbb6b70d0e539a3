"""Task templates: the ten task types of seed 002, loaded from templates/tasks/*.json."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jsonschema_rs
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field

from tools.errors import NotFound
from tools.registry import tool

if TYPE_CHECKING:
    from tools.context import Ctx

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "tasks"


class TaskType(StrEnum):
    PRODUCT_PHOTO_ECOMM = "PRODUCT_PHOTO_ECOMM"  #: product photography for PDP/ads
    UGC_VERTICAL_BATCH = "UGC_VERTICAL_BATCH"  #: UGC vertical video clips
    EVENT_PHOTO_COVERAGE = "EVENT_PHOTO_COVERAGE"  #: event photography with edited selects
    EVENT_HIGHLIGHT_VIDEO = "EVENT_HIGHLIGHT_VIDEO"  #: 30-90 s highlight reels
    ON_SITE_STORY_PACK = "ON_SITE_STORY_PACK"  #: same-day IG/TikTok story packs
    RETAIL_AUDIT_PHOTO_CHECK = "RETAIL_AUDIT_PHOTO_CHECK"  #: GPS-verified in-store audits
    OOH_ASSET_VERIFICATION = "OOH_ASSET_VERIFICATION"  #: billboard/OOH placement verification
    STREET_TEAM_DISTRIBUTION = "STREET_TEAM_DISTRIBUTION"  #: geo-fenced flyer distribution
    POPUP_EVENT_STAFFING = "POPUP_EVENT_STAFFING"  #: brand ambassador staffing
    PODCAST_ON_SITE_CAPTURE = "PODCAST_ON_SITE_CAPTURE"  #: multi-track audio recording


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: TaskType
    name: str
    description: str
    risk_level: Literal["low", "medium", "high"]
    location_modes: list[Literal["onsite", "remote"]]
    default_duration_hours: float
    geofence_radius_m: int = Field(description="How close to the task a talent must be to check in.")
    price_guidance: dict[str, Any]
    deliverable_kinds: list[str]
    default_deliverables: list[dict[str, Any]]
    spec_schema: dict[str, Any]
    validation_rules: list[dict[str, Any]]
    acceptance_tests: list[dict[str, Any]]


class TemplateSummary(BaseModel):
    task_type: TaskType
    object: Literal["template"] = "template"
    name: str
    description: str
    risk_level: str
    default_duration_hours: float
    price_guidance: dict[str, Any]
    deliverable_kinds: list[str]


class TemplatePublic(Template):
    object: Literal["template"] = "template"


class TemplateList(BaseModel):
    object: Literal["list"] = "list"
    data: list[TemplateSummary]
    has_more: bool = False
    next_cursor: str | None = None


@cache
def all_templates() -> dict[TaskType, Template]:
    found = {}
    for task_type in TaskType:
        raw = json.loads((TEMPLATE_DIR / f"{task_type.value}.json").read_text())
        template = Template.model_validate(raw)
        Draft202012Validator.check_schema(template.spec_schema)
        found[task_type] = template
    return found


@cache
def spec_validator(task_type: TaskType) -> Draft202012Validator:
    """Reports every problem, with messages and paths (the slow path)."""
    return Draft202012Validator(all_templates()[task_type].spec_schema)


@cache
def spec_checker(task_type: TaskType) -> Any:
    """The same Draft 2020-12 schema compiled by jsonschema-rs: ~100x faster to say "valid", which
    is the answer almost every call gets. `format` is an annotation here as in `spec_validator`."""
    return jsonschema_rs.validator_for(all_templates()[task_type].spec_schema, validate_formats=False)


def get(task_type: str) -> Template:
    try:
        return all_templates()[TaskType(task_type)]
    except ValueError:
        raise NotFound(
            f"No template {task_type!r}. Known task types: {', '.join(t.value for t in TaskType)}.",
            task_type=task_type,
        ) from None


class ListTemplates(BaseModel):
    model_config = ConfigDict(extra="forbid")


@tool(method="GET", path="/v1/templates", scope=None, title="List task templates")
def list_templates(ctx: Ctx, query: ListTemplates) -> TemplateList:
    """List every task template: the task types you can post, with risk and price guidance.

    Read one with get_template to see its task_spec schema before calling create_task.
    """
    return TemplateList(data=[TemplateSummary.model_validate(t.model_dump()) for t in all_templates().values()])


class GetTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: TaskType = Field(description="One of the task types from list_templates.")


@tool(method="GET", path="/v1/templates/{task_type}", scope=None, title="Get a task template")
def get_template(ctx: Ctx, query: GetTemplate) -> TemplatePublic:
    """Get a full template: the JSON Schema of task_spec, validation rules and QA acceptance tests.

    Build create_task's task_spec from spec_schema; acceptance_tests say what QA will check.
    """
    return TemplatePublic.model_validate(get(query.task_type).model_dump())
