"""Test data built through the public API, the way a user builds it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
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


# --- work orders, files and deliveries ----------------------------------------------------------


@dataclass
class BookedWork:
    """A booked task whose talent has checked in: the work order awaits delivery."""

    customer: httpx.Client
    talent: httpx.Client
    talent_id: str
    task: dict[str, Any]
    booking_id: str
    work_order_id: str

    @property
    def spot(self) -> tuple[float, float]:
        """The task's coordinates, where photos are taken."""
        return self.task["location"]["lat"], self.task["location"]["lng"]


def booked_work_order(
    api: httpx.Client, *, starts_in: timedelta = timedelta(minutes=20), amount: int = 200, **task_overrides: Any
) -> BookedWork:
    """A customer, a talent, a task starting soon, booked, and the talent checked in on site."""
    booked = book_task(api, amount=amount, starts_in=starts_in, **task_overrides)
    ok(checkin(booked["talent"], booked["booking"], booked["task"]))
    task = booked["customer"].get(f"/v1/tasks/{booked['task']['id']}").json()
    booking = booked["booking"]
    people = booked["customer"], booked["talent"], booked["talent_id"]
    return BookedWork(*people, task, booking["id"], booking["work_order_id"])


def upload(client: httpx.Client, data: bytes, *, filename: str = "IMG.jpg", content_type: str = "image/jpeg") -> str:
    """Presign and PUT one file; returns its file id."""
    body = {"filename": filename, "content_type": content_type, "size": len(data)}
    resp = client.post("/v1/files/presign", json=body)
    assert resp.status_code == 201, resp.text
    ticket = resp.json()
    put = httpx.put(ticket["upload_url"], content=data, headers=ticket["headers"], timeout=30)
    assert put.status_code == 200, put.text
    return ticket["file_id"]


def deliver(
    work: BookedWork, blobs: list[bytes], *, kind: str = "photo", content_type: str = "image/jpeg"
) -> httpx.Response:
    """Upload the files as the talent and register them as one delivery."""
    suffix = content_type.rsplit("/", 1)[-1]
    ids = [
        upload(work.talent, data, filename=f"{kind}_{i:04d}.{suffix}", content_type=content_type)
        for i, data in enumerate(blobs)
    ]
    return work.talent.post(
        f"/v1/work_orders/{work.work_order_id}/deliverables",
        json={"files": [{"file_id": file_id, "kind": kind} for file_id in ids]},
    )


# --- the booking lifecycle ------------------------------------------------------------------------


def ok(resp: httpx.Response, *codes: int) -> dict[str, Any]:
    """The JSON body, after checking the status (200 or 201 unless told)."""
    assert resp.status_code in (codes or (200, 201)), resp.text
    return resp.json()


def quote_on(
    customer: httpx.Client, talent: httpx.Client, talent_id: str, task_id: str, *, amount: int = 200
) -> dict[str, Any]:
    """Invite the talent to the task and have them quote `amount`."""
    ok(customer.post(f"/v1/tasks/{task_id}/quote_requests", json={"talent_ids": [talent_id]}))
    return ok(talent.post(f"/v1/talent/{talent_id}/quote", json={"task_id": task_id, "amount": amount}))


def book_task(
    api: httpx.Client, *, amount: int = 200, card: str = "pm_card_visa", **task_overrides: Any
) -> dict[str, Any]:
    """A customer, a talent, a task, an accepted quote and a confirmed booking, through the API.

    Returns {customer, customer_id, talent, talent_id, task, quote, booking} (clients and bodies).
    """
    customer, cust_body = signup_customer(api)
    task_type = task_overrides.get("task_type", "PRODUCT_PHOTO_ECOMM")
    talent, tal_body = signup_talent(api, task_types=[task_type])
    task = create_task(customer, **task_overrides)
    quote = quote_on(customer, talent, tal_body["talent_id"], task["id"], amount=amount)
    ok(customer.post(f"/v1/quotes/{quote['id']}/accept"))
    ok(customer.post("/v1/billing/payment_methods", json={"token": card}))
    booking = ok(customer.post("/v1/bookings", json={"quote_id": quote["id"]}))
    return {
        "customer": customer,
        "customer_id": cust_body["principal_id"],
        "talent": talent,
        "talent_id": tal_body["talent_id"],
        "task": task,
        "quote": quote,
        "booking": booking,
    }


def checkin(talent: httpx.Client, booking: dict[str, Any], task: dict[str, Any], **overrides: Any) -> httpx.Response:
    """Check in as the talent at the task's own coordinates (override lat/lng to be elsewhere)."""
    body = {"lat": task["location"]["lat"], "lng": task["location"]["lng"], **overrides}
    return talent.post(f"/v1/bookings/{booking['id']}/checkin", json=body)


def ledger_totals(server: Any) -> dict[str, int]:
    """The sum of every ledger entry per currency: zero when the books balance."""
    from sqlalchemy import func
    from sqlmodel import select

    from tools.models import LedgerEntry

    with server.state.db(write=False) as session:
        stmt = select(LedgerEntry.currency, func.sum(LedgerEntry.amount_cents)).group_by(LedgerEntry.currency)
        rows = session.exec(stmt)
        return {currency: int(total) for currency, total in rows}


def assert_ledger_balanced(server: Any) -> None:
    totals = ledger_totals(server)
    assert all(total == 0 for total in totals.values()), f"the ledger does not balance: {totals}"
