"""The whole booking lifecycle of seed 002 through the API, and the transitions it forbids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from tests.api.test_deliverables import PHOTO_SPEC, good_photos
from tests.conftest import LiveServer
from tests.factories import (
    BookedWork,
    book_task,
    checkin,
    create_task,
    deliver,
    ok,
    quote_on,
    signup_customer,
    signup_talent,
)
from tools.models import Event

PHOTOS = [{"kind": "photo", "count": 3, "format": "jpeg"}]


def event_types(server: LiveServer, owner_id: str) -> list[str]:
    with server.state.db(write=False) as session:
        rows = session.exec(select(Event).where(Event.owner_id == owner_id).order_by(Event.id))
        return [e.type for e in rows]


def test_a_task_goes_from_draft_to_paid_out(api: httpx.Client, server: LiveServer) -> None:
    customer, account = signup_customer(api)
    talent, talent_body = signup_talent(api)
    talent_id = talent_body["talent_id"]
    task = create_task(customer, starts_in=timedelta(minutes=30), deliverables=PHOTOS, task_spec=PHOTO_SPEC)
    assert task["status"] == "draft"

    invited = ok(customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": [talent_id]}))
    assert invited["task_status"] == "open_for_quotes"
    assert ok(talent.get(f"/v1/tasks/{task['id']}"))["id"] == task["id"]
    quote = ok(talent.post(f"/v1/talent/{talent_id}/quote", json={"task_id": task["id"], "amount": 280}))
    assert ok(customer.get(f"/v1/tasks/{task['id']}"))["status"] == "quoted"
    assert ok(customer.post(f"/v1/quotes/{quote['id']}/accept"))["status"] == "accepted"

    assert customer.post("/v1/bookings", json={"quote_id": quote["id"]}).status_code == 402
    ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}))
    booking = ok(customer.post("/v1/bookings", json={"quote_id": quote["id"]}))
    assert (booking["status"], booking["hold"]["amount"]) == ("confirmed", 280)
    assert ok(customer.get(f"/v1/tasks/{task['id']}"))["status"] == "booked"

    assert ok(checkin(talent, booking, task))["status"] == "in_progress"
    assert ok(customer.get(f"/v1/tasks/{task['id']}"))["status"] == "in_progress"

    work = BookedWork(customer, talent, talent_id, task, booking["id"], booking["work_order_id"])
    ok(deliver(work, good_photos(work)), 201)
    assert ok(customer.get(f"/v1/tasks/{task['id']}"))["status"] == "delivered"
    assert ok(customer.get(f"/v1/work_orders/{work.work_order_id}/qa"))["status"] == "passed"

    accepted = ok(customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={}))
    assert (accepted["payout"]["talent_share"], accepted["payout"]["platform_fee"]) == (238, 42)
    assert ok(customer.get(f"/v1/tasks/{task['id']}"))["status"] == "accepted"
    assert ok(customer.get(f"/v1/bookings/{booking['id']}"))["status"] == "completed"
    ok(customer.post(f"/v1/work_orders/{work.work_order_id}/rating", json={"score": 5}), 201)
    assert ok(customer.get(f"/v1/talent/{talent_id}"))["rating"] == {"average": 5.0, "count": 1}

    ledger = ok(customer.get("/v1/ledger?limit=100"))
    assert {b["account"].split(":")[0]: b["balance_cents"] for b in ledger["balances"]} == {
        "customer_card": -28000,
        "escrow": 0,
        "platform": 4200,
        "talent": 23800,
    }
    seen = event_types(server, account["principal_id"])
    expected = [
        "task.created", "task.open_for_quotes", "quote.requested", "quote.received", "quote.accepted",
        "booking.confirmed", "booking.checkin_recorded", "deliverable.registered", "qa.completed",
        "work_order.accepted", "payout.initiated", "rating.created",
    ]  # fmt: skip
    assert [t for t in seen if t in expected] == expected


# --- forbidden transitions answer 403 with current_status -------------------------------------


Scenario = Callable[[httpx.Client], tuple[httpx.Response, str]]


def accept_a_quote_of_a_cancelled_task(api: httpx.Client) -> tuple[httpx.Response, str]:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    quote = quote_on(customer, talent, body["talent_id"], task["id"])
    ok(customer.post(f"/v1/tasks/{task['id']}/cancel", json={}))
    return customer.post(f"/v1/quotes/{quote['id']}/accept"), "cancelled"


def request_quotes_for_a_cancelled_task(api: httpx.Client) -> tuple[httpx.Response, str]:
    customer, _ = signup_customer(api)
    task = create_task(customer)
    ok(customer.post(f"/v1/tasks/{task['id']}/cancel", json={}))
    return customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={}), "cancelled"


def quote_on_a_booked_task(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api)
    body = {"task_id": booked["task"]["id"], "amount": 100}
    return booked["talent"].post(f"/v1/talent/{booked['talent_id']}/quote", json=body), "booked"


def cancel_a_cancelled_booking(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api)
    path = f"/v1/bookings/{booked['booking']['id']}/cancel"
    ok(booked["customer"].post(path, json={}))
    return booked["customer"].post(path, json={}), "cancelled"


def check_in_twice(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api, starts_in=timedelta(minutes=30))
    ok(checkin(booked["talent"], booked["booking"], booked["task"]))
    return checkin(booked["talent"], booked["booking"], booked["task"]), "in_progress"


def accept_work_not_delivered(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api)
    path = f"/v1/work_orders/{booked['booking']['work_order_id']}/accept"
    return booked["customer"].post(path, json={"override_qa": True}), "awaiting_delivery"


def cancel_a_paid_task(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api)
    customer = booked["customer"]
    wo = booked["booking"]["work_order_id"]
    dispute = ok(customer.post(f"/v1/work_orders/{wo}/disputes", json={"reason": "No show"}))
    ok(customer.post(f"/v1/disputes/{dispute['id']}/resolve", json={"resolution": "release"}))
    return customer.post(f"/v1/tasks/{booked['task']['id']}/cancel", json={}), "accepted"


def resolve_a_resolved_dispute(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api)
    customer = booked["customer"]
    wo = booked["booking"]["work_order_id"]
    dispute = ok(customer.post(f"/v1/work_orders/{wo}/disputes", json={"reason": "No show"}))
    path = f"/v1/disputes/{dispute['id']}/resolve"
    ok(customer.post(path, json={"resolution": "refund_full"}))
    return customer.post(path, json={"resolution": "release"}), "resolved"


def dispute_twice(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api)
    path = f"/v1/work_orders/{booked['booking']['work_order_id']}/disputes"
    ok(booked["customer"].post(path, json={"reason": "No show"}))
    return booked["customer"].post(path, json={"reason": "Still no show"}), "disputed"


def rate_before_acceptance(api: httpx.Client) -> tuple[httpx.Response, str]:
    booked = book_task(api)
    path = f"/v1/work_orders/{booked['booking']['work_order_id']}/rating"
    return booked["customer"].post(path, json={"score": 3}), "awaiting_delivery"


@pytest.mark.parametrize(
    "scenario",
    [
        accept_a_quote_of_a_cancelled_task,
        request_quotes_for_a_cancelled_task,
        quote_on_a_booked_task,
        cancel_a_cancelled_booking,
        check_in_twice,
        accept_work_not_delivered,
        cancel_a_paid_task,
        resolve_a_resolved_dispute,
        dispute_twice,
        rate_before_acceptance,
    ],
    ids=lambda f: f.__name__,
)
def test_a_forbidden_transition_is_403_with_the_current_status(api: httpx.Client, scenario: Scenario) -> None:
    resp, current = scenario(api)
    assert resp.status_code == 403, resp.text
    error = resp.json()["error"]
    assert error["code"] == "POLICY_BLOCKED"
    assert error["details"]["current_status"] == current
