"""Talent profiles: search by task type, place and skills; read one public profile."""

from __future__ import annotations

from math import cos, radians
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from tools.errors import SchemaValidationFailed, schema_error
from tools.geo import distance_m
from tools.models import Booking, TalentProfile
from tools.registry import tool
from tools.templates import TaskType

if TYPE_CHECKING:
    from tools.context import Ctx


class TalentPublic(BaseModel):
    id: str
    object: Literal["talent"] = "talent"
    name: str
    bio: str | None
    task_types: list[str]
    skills: list[str]
    home_city: str | None
    timezone: str
    radius_km: float
    hourly_rate: int = Field(description="Whole currency units per hour.")
    currency: str
    rating: dict[str, float | int | None] = Field(description="{average, count}: average is null until rated.")
    jobs_completed: int
    active: bool
    email: str | None = Field(None, description="Only for the talent themselves and customers who booked them.")
    distance_km: float | None = Field(None, description="From the searched point, when searching by place.")


def _may_see_email(ctx: Ctx, talent: TalentProfile) -> bool:
    me = ctx.principal
    if me is None:
        return False
    if me.id == talent.id or me.kind == "operator":
        return True
    booked = select(Booking.id).where(Booking.owner_id == me.id, Booking.talent_id == talent.id)
    return ctx.session.exec(booked).first() is not None


def to_public(ctx: Ctx, talent: TalentProfile, *, distance: float | None = None) -> TalentPublic:
    average = round(talent.rating_sum / talent.rating_count, 2) if talent.rating_count else None
    return TalentPublic(
        id=talent.id,
        name=talent.name,
        bio=talent.bio,
        task_types=talent.task_types,
        skills=talent.skills,
        home_city=talent.home_city,
        timezone=talent.timezone,
        radius_km=talent.radius_km,
        hourly_rate=talent.hourly_rate_cents // 100,
        currency=talent.currency,
        rating={"average": average, "count": talent.rating_count},
        jobs_completed=talent.jobs_completed,
        active=talent.active,
        email=talent.email if _may_see_email(ctx, talent) else None,
        distance_km=None if distance is None else round(distance / 1000, 1),
    )


class SearchTalent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: TaskType | None = Field(None, description="Only talent who take on this task type.")
    lat: float | None = Field(None, ge=-90, le=90, description="Search around this point (with lng).")
    lng: float | None = Field(None, ge=-180, le=180)
    near: str | None = Field(None, max_length=200, description="Or search around a city, e.g. 'Hamilton ON'.")
    radius_km: float = Field(50, gt=0, le=500, description="How far from the point, in km.")
    skills: str | None = Field(None, max_length=500, description="Comma-separated; talent must have all of them.")
    limit: int = Field(20, ge=1, le=100)


class TalentList(BaseModel):
    object: Literal["list"] = "list"
    data: list[TalentPublic]
    has_more: bool
    next_cursor: str | None = None


def _search_point(ctx: Ctx, query: SearchTalent) -> tuple[float, float] | None:
    if (query.lat is None) != (query.lng is None):
        raise SchemaValidationFailed(
            "Bad search place", errors=[schema_error("/lat", "give both lat and lng, or neither")]
        )
    if query.lat is not None and query.lng is not None:
        return query.lat, query.lng
    if query.near:
        place = ctx.services.geocoder.resolve(query.near)
        if place is None:
            raise SchemaValidationFailed(
                "Unknown place", errors=[schema_error("/near", f"cannot find {query.near!r}; send lat and lng instead")]
            )
        return place.lat, place.lng
    return None


@tool(method="GET", path="/v1/talent/search", scope="talent:read", title="Search talent")
def search_talent(ctx: Ctx, query: SearchTalent) -> TalentList:
    """Search talent by task type, place (lat/lng or near=city, within radius_km) and skills.

    Nearest first when a place is given, else best rated. Invite the ones you like with
    request_quotes and talent_ids.
    """
    point = _search_point(ctx, query)
    stmt = select(TalentProfile).where(TalentProfile.active == True)  # noqa: E712 - SQL
    if point is not None:
        dlat = query.radius_km / 111.0
        dlng = query.radius_km / max(1.0, 111.0 * cos(radians(point[0])))
        stmt = stmt.where(TalentProfile.home_lat.between(point[0] - dlat, point[0] + dlat))  # type: ignore[attr-defined]
        stmt = stmt.where(TalentProfile.home_lng.between(point[1] - dlng, point[1] + dlng))  # type: ignore[attr-defined]
    wanted = {s.strip().lower() for s in (query.skills or "").split(",") if s.strip()}
    found: list[tuple[float, TalentProfile]] = []
    for talent in ctx.session.exec(stmt):
        if query.task_type and query.task_type.value not in talent.task_types:
            continue
        if wanted and not wanted <= {s.lower() for s in talent.skills}:
            continue
        dist = 0.0 if point is None else distance_m(point[0], point[1], talent.home_lat, talent.home_lng)
        if point is not None and dist > query.radius_km * 1000:
            continue
        found.append((dist, talent))
    if point is not None:
        found.sort(key=lambda pair: (pair[0], pair[1].id))
    else:
        found.sort(key=lambda pair: (-(pair[1].rating_sum / max(1, pair[1].rating_count)), pair[1].id))
    rows = found[: query.limit]
    return TalentList(
        data=[to_public(ctx, t, distance=d if point is not None else None) for d, t in rows],
        has_more=len(found) > query.limit,
    )


class TalentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    talent_id: str = Field(description="The talent's id, tal_…")


@tool(method="GET", path="/v1/talent/{talent_id}", scope="talent:read", title="Get a talent profile")
def get_talent(ctx: Ctx, query: TalentRef) -> TalentPublic:
    """Get a talent's public profile: task types, skills, rating average and count, jobs completed."""
    talent = ctx.get_or_404(TalentProfile, query.talent_id, visible=lambda t: t.active or ctx.me.id == t.id)
    return to_public(ctx, talent)
