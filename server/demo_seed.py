"""Demo talent for the embedded default, so a fresh server has someone to hire."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlmodel import select

from tools.models import Principal
from tools.registry import registry
from tools.runner import Call

if TYPE_CHECKING:
    from server.app import AppState

log = logging.getLogger("crewcall.demo")

ALL_TYPES = [
    "PRODUCT_PHOTO_ECOMM", "UGC_VERTICAL_BATCH", "EVENT_PHOTO_COVERAGE", "EVENT_HIGHLIGHT_VIDEO",
    "ON_SITE_STORY_PACK", "RETAIL_AUDIT_PHOTO_CHECK", "OOH_ASSET_VERIFICATION",
    "STREET_TEAM_DISTRIBUTION", "POPUP_EVENT_STAFFING", "PODCAST_ON_SITE_CAPTURE",
]  # fmt: skip

#: (name, city, lat, lng, task types, hourly rate)
DEMO_TALENT = [
    ("Maya Chen", "Hamilton ON", 43.2557, -79.8711, ALL_TYPES[:5], 60),
    ("Omar Haddad", "Toronto ON", 43.6532, -79.3832, ALL_TYPES, 75),
    (
        "Lena Fischer",
        "Burlington ON",
        43.3255,
        -79.7990,
        ["PRODUCT_PHOTO_ECOMM", "RETAIL_AUDIT_PHOTO_CHECK", "OOH_ASSET_VERIFICATION"],
        45,
    ),
    ("Jules Martin", "Montreal QC", 45.5019, -73.5674, ALL_TYPES[1:6], 55),
    ("Priya Nair", "New York NY", 40.7128, -74.0060, ALL_TYPES, 90),
    ("Sam Okafor", "Chicago IL", 41.8781, -87.6298, ALL_TYPES[5:], 40),
    ("Ava Rossi", "San Francisco CA", 37.7749, -122.4194, ALL_TYPES[:6], 95),
    ("Noah Williams", "London UK", 51.5074, -0.1278, ALL_TYPES, 70),
]


def seed_demo_talent(state: AppState) -> int:
    """Sign up the demo talent once (by e-mail); returns how many were created."""
    signup = registry()["signup_talent"]
    created = 0
    for name, city, lat, lng, types, rate in DEMO_TALENT:
        email = name.lower().replace(" ", ".") + "@demo.crewcall.dev"
        with state.db(write=False) as session:
            if session.exec(select(Principal.id).where(Principal.email == email)).first():
                continue
        args = {
            "name": name,
            "email": email,
            "task_types": types,
            "home": {"lat": lat, "lng": lng},
            "city": city,
            "radius_km": 80,
            "hourly_rate": rate,
            "bio": f"Demo talent based in {city}.",
        }
        state.runner(Call(tool=signup, arguments=args, request_id="req_seed"))
        created += 1
    if created:
        log.info("seeded %d demo talent", created)
    return created
