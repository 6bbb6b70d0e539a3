"""Which talent to invite for a task. Everything that ranks talent goes through `rank_talent`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from math import cos, radians
from typing import TYPE_CHECKING, Any

from sqlmodel import select

from tools.geo import distance_m
from tools.models import Booking, TalentProfile, Task

if TYPE_CHECKING:
    from tools.context import Ctx

MAX_RADIUS_KM = 500  #: the largest travel radius a talent may declare (see SignupTalent)
BUSY_STATUSES = ("confirmed", "in_progress")
WEIGHTS_VERSION = "v0-simple"
WEIGHTS = {"distance": 0.45, "rating": 0.25, "experience": 0.15, "price": 0.15}


@dataclass
class Match:
    talent: TalentProfile
    score: float  #: 0..1, higher is better
    breakdown: dict[str, Any] = field(default_factory=dict)
    distance_m: float | None = None


def task_window(task: Task) -> tuple[Any, Any]:
    return task.start_at, task.start_at + timedelta(hours=task.duration_hours)


def task_point(task: Task) -> tuple[float, float] | None:
    loc = task.location or {}
    if loc.get("mode") == "remote" or loc.get("lat") is None or loc.get("lng") is None:
        return None
    return float(loc["lat"]), float(loc["lng"])


def busy_talent(ctx: Ctx, task: Task, talent_ids: list[str]) -> set[str]:
    """Talent with a confirmed or running booking that overlaps the task's time."""
    if not talent_ids:
        return set()
    start, end = task_window(task)
    rows = ctx.session.exec(
        select(Booking.talent_id).where(
            Booking.talent_id.in_(talent_ids),  # type: ignore[attr-defined]
            Booking.status.in_(BUSY_STATUSES),  # type: ignore[attr-defined]
            Booking.start_at < end,
            Booking.end_at > start,
        )
    )
    return set(rows)


def _candidates(ctx: Ctx, point: tuple[float, float] | None) -> list[TalentProfile]:
    stmt = select(TalentProfile).where(TalentProfile.active == True)  # noqa: E712 - SQL, not Python
    if point is not None:
        # A bounding box of the largest radius lets the index do the coarse cut; exact below.
        lat, lng = point
        dlat = MAX_RADIUS_KM / 111.0
        dlng = MAX_RADIUS_KM / max(1.0, 111.0 * cos(radians(lat)))
        stmt = stmt.where(TalentProfile.home_lat.between(lat - dlat, lat + dlat))  # type: ignore[attr-defined]
        if dlng < 180:
            stmt = stmt.where(TalentProfile.home_lng.between(lng - dlng, lng + dlng))  # type: ignore[attr-defined]
    return list(ctx.session.exec(stmt))


def score(task: Task, talent: TalentProfile, dist: float | None) -> tuple[float, dict[str, Any]]:
    """A weighted sum of simple signals, each in 0..1, with the parts kept for explanation."""
    radius = talent.radius_km * 1000
    parts = {
        "distance": 1.0 if dist is None else max(0.0, 1 - dist / radius),
        "rating": (talent.rating_sum / talent.rating_count / 5) if talent.rating_count else 0.6,
        "experience": min(1.0, talent.jobs_completed / 20),
        "price": _price_fit(task, talent),
    }
    total = sum(WEIGHTS[k] * v for k, v in parts.items())
    breakdown = {
        "weights_version": WEIGHTS_VERSION,
        "weights": WEIGHTS,
        "signals": {k: round(v, 4) for k, v in parts.items()},
        "distance_m": None if dist is None else round(dist),
        "radius_m": round(radius),
    }
    return round(total, 4), breakdown


def _price_fit(task: Task, talent: TalentProfile) -> float:
    if not talent.hourly_rate_cents or talent.currency != task.currency:
        return 0.5
    estimate = talent.hourly_rate_cents * task.duration_hours
    return 1.0 if estimate <= task.max_total_cents else max(0.0, task.max_total_cents / estimate)


def evaluate(ctx: Ctx, task: Task, talent: TalentProfile) -> Match:
    """Score one talent for the task, eligible or not (used for talent named by the customer)."""
    point = task_point(task)
    dist = None if point is None else distance_m(point[0], point[1], talent.home_lat, talent.home_lng)
    total, breakdown = score(task, talent, dist)
    return Match(talent=talent, score=total, breakdown=breakdown, distance_m=dist)


def rank_talent(ctx: Ctx, task: Task, *, limit: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[Match]:
    """The best talent for a task, best first: right task type, task within their travel radius,
    and free at the scheduled time."""
    point = task_point(task)
    found: list[Match] = []
    for talent in _candidates(ctx, point):
        if talent.id in exclude or task.task_type not in talent.task_types:
            continue
        match = evaluate(ctx, task, talent)
        if match.distance_m is not None and match.distance_m > talent.radius_km * 1000:
            continue
        found.append(match)
    busy = busy_talent(ctx, task, [m.talent.id for m in found])
    found = [m for m in found if m.talent.id not in busy]
    found.sort(key=lambda m: (-m.score, m.distance_m or 0.0, m.talent.id))
    return found[:limit]
