"""Test data built through the public API, the way a user builds it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

HAMILTON = {"lat": 43.2557, "lng": -79.8711}


def unique_email(prefix: str = "dev") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


def as_key(api: httpx.Client, key: str) -> httpx.Client:
    """A client of the same server that sends `key`."""
    return httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def signup_customer(api: httpx.Client, name: str = "Acme Agents") -> tuple[httpx.Client, dict[str, Any]]:
    resp = api.post("/v1/developer/signup", json={"email": unique_email(), "name": name})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return as_key(api, body["api_key"]), body


def signup_talent(api: httpx.Client, **overrides: Any) -> tuple[httpx.Client, dict[str, Any]]:
    payload: dict[str, Any] = {
        "name": "Tess Talent",
        "email": unique_email("talent"),
        "task_types": ["PRODUCT_PHOTO_ECOMM"],
        "home": HAMILTON,
        "radius_km": 50,
        "hourly_rate": 60,
    }
    payload.update(overrides)
    resp = api.post("/v1/talent/signup", json=payload)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return as_key(api, body["api_key"]), body


def task_body(*, starts_in: timedelta = timedelta(days=3), **overrides: Any) -> dict[str, Any]:
    """Seed 002's create-task example, with start_at moved into the future."""
    start = (datetime.now(UTC) + starts_in).replace(microsecond=0)
    body: dict[str, Any] = {
        "task_type": "PRODUCT_PHOTO_ECOMM",
        "title": "DEKE Spring SKU shoot — 10 products",
        "location": {"mode": "onsite", "address": "12 Hess St N, Hamilton ON"},
        "schedule": {"start_at": start.isoformat().replace("+00:00", "Z"), "duration_hours": 3},
        "budget": {"currency": "CAD", "pricing_model": "fixed", "max_total": 300},
        "deliverables": [{"kind": "photo", "count": 30, "format": "jpeg"}],
        "task_spec": {"product_count": 10, "background": "white", "angles": ["front", "back", "detail"]},
    }
    body.update(overrides)
    return body


def create_task(customer: httpx.Client, **overrides: Any) -> dict[str, Any]:
    resp = customer.post("/v1/tasks", json=task_body(**overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()
