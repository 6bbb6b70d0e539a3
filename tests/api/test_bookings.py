from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from tests.conftest import LiveServer
from tests.factories import (
    book_task,
    checkin,
    create_task,
    ok,
    quote_on,
    signup_customer,
    signup_talent,
)
from tools.models import Booking, EscrowHold, LedgerEntry

FIVE_KM_NORTH = 5000 / 111_195  # degrees of latitude


def accepted_quote(api: httpx.Client, *, amount: int = 200) -> tuple[httpx.Client, dict, dict]:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    quote = quote_on(customer, talent, body["talent_id"], task["id"], amount=amount)
    ok(customer.post(f"/v1/quotes/{quote['id']}/accept"))
    return customer, task, quote


def balances(client: httpx.Client, booking_id: str) -> dict[str, int]:
    page = ok(client.get(f"/v1/ledger?booking_id={booking_id}"))
    return {b["account"].split(":")[0]: b["balance_cents"] for b in page["balances"]}


def test_booking_an_accepted_quote_holds_the_amount_in_escrow(api: httpx.Client) -> None:
    customer, task, quote = accepted_quote(api, amount=240)
    ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}))
    resp = customer.post("/v1/bookings", json={"quote_id": quote["id"]})
    assert resp.status_code == 201, resp.text
    booking = resp.json()
    assert booking["id"].startswith("bkg_") and booking["work_order_id"].startswith("wo_")
    assert (booking["object"], booking["status"], booking["amount"], booking["currency"]) == (
        "booking",
        "confirmed",
        240,
        "CAD",
    )
    assert (booking["quote_id"], booking["task_id"]) == (quote["id"], task["id"])
    assert booking["hold"]["status"] == "held" and booking["hold"]["amount"] == 240
    assert customer.get(f"/v1/tasks/{task['id']}").json()["status"] == "booked"
    assert balances(customer, booking["id"]) == {"customer_card": -24000, "escrow": 24000}
    assert ok(customer.get("/v1/billing/status"))["held"] == 240


def test_booking_without_a_card_asks_for_billing_setup(api: httpx.Client) -> None:
    customer, _, quote = accepted_quote(api)
    resp = customer.post("/v1/bookings", json={"quote_id": quote["id"]})
    assert resp.status_code == 402
    assert resp.json()["error"]["code"] == "ESCROW_REQUIRED"
    assert "/v1/billing/setup" in resp.json()["error"]["message"]


@pytest.mark.parametrize(
    "card", ["pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeCustomerFail"]
)
def test_a_declined_card_is_402_with_its_decline_code(api: httpx.Client, card: str) -> None:
    customer, task, quote = accepted_quote(api)
    ok(customer.post("/v1/billing/payment_methods", json={"token": card}), 201)
    resp = customer.post("/v1/bookings", json={"quote_id": quote["id"]})
    assert resp.status_code == 402
    error = resp.json()["error"]
    assert error["code"] == "ESCROW_REQUIRED"
    assert error["details"]["decline_code"] == "generic_decline"
    assert "declined" in error["message"]
    assert customer.get(f"/v1/tasks/{task['id']}").json()["status"] == "quoted"


def test_only_an_accepted_quote_can_be_booked(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    quote = quote_on(customer, talent, body["talent_id"], task["id"])
    ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}))
    resp = customer.post("/v1/bookings", json={"quote_id": quote["id"]})
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["current_status"] == "pending"


def test_the_same_quote_twice_gives_the_same_booking(api: httpx.Client) -> None:
    customer, _, quote = accepted_quote(api)
    ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}))
    first = ok(customer.post("/v1/bookings", json={"quote_id": quote["id"]}))
    second = ok(customer.post("/v1/bookings", json={"quote_id": quote["id"]}))
    assert first["id"] == second["id"] and first["hold"]["id"] == second["hold"]["id"]


def test_twenty_concurrent_bookings_of_one_quote_make_one_booking_and_one_hold(
    api: httpx.Client, server: LiveServer
) -> None:
    customer, _, quote = accepted_quote(api)
    ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}))
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: customer.post("/v1/bookings", json={"quote_id": quote["id"]}), range(20)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    booking_id = responses[0].json()["id"]
    with server.state.db(write=False) as session:
        assert session.exec(select(func.count()).where(Booking.quote_id == quote["id"])).one() == 1
        assert session.exec(select(func.count()).where(EscrowHold.booking_id == booking_id)).one() == 1
        holds = select(func.count()).where(LedgerEntry.booking_id == booking_id, LedgerEntry.kind == "hold")
        assert session.exec(holds).one() == 2  # one transaction: two legs


def test_the_talent_reads_its_booking_and_another_customer_cannot(api: httpx.Client) -> None:
    booked = book_task(api)
    path = f"/v1/bookings/{booked['booking']['id']}"
    assert booked["talent"].get(path).json()["status"] == "confirmed"
    stranger, _ = signup_customer(api)
    assert stranger.get(path).status_code == 404


def test_cancelling_a_booking_releases_the_hold_and_reopens_the_task(api: httpx.Client) -> None:
    booked = book_task(api)
    customer, booking = booked["customer"], booked["booking"]
    cancelled = ok(customer.post(f"/v1/bookings/{booking['id']}/cancel", json={"reason": "plans changed"}))
    assert cancelled["status"] == "cancelled" and cancelled["hold"]["status"] == "released"
    assert customer.get(f"/v1/tasks/{booked['task']['id']}").json()["status"] == "quoted"
    assert balances(customer, booking["id"]) == {"customer_card": 0, "escrow": 0}
    assert ok(customer.get("/v1/billing/status"))["held"] == 0
    again = customer.post(f"/v1/bookings/{booking['id']}/cancel", json={})
    assert again.status_code == 403
    assert again.json()["error"]["details"]["current_status"] == "cancelled"


def test_cancelling_the_task_releases_its_booking(api: httpx.Client) -> None:
    booked = book_task(api)
    customer = booked["customer"]
    ok(customer.post(f"/v1/tasks/{booked['task']['id']}/cancel", json={}))
    booking = ok(customer.get(f"/v1/bookings/{booked['booking']['id']}"))
    assert booking["status"] == "cancelled" and booking["hold"]["status"] == "released"


def test_checking_in_on_site_starts_the_work(api: httpx.Client) -> None:
    booked = book_task(api, starts_in=timedelta(minutes=30))
    resp = checkin(booked["talent"], booked["booking"], booked["task"], accuracy_m=12)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "in_progress"
    assert resp.json()["checkin"]["distance_m"] == 0
    assert booked["customer"].get(f"/v1/tasks/{booked['task']['id']}").json()["status"] == "in_progress"
    twice = checkin(booked["talent"], booked["booking"], booked["task"])
    assert twice.status_code == 403
    assert twice.json()["error"]["details"]["current_status"] == "in_progress"


def test_checking_in_far_away_is_refused_with_the_distance(api: httpx.Client) -> None:
    booked = book_task(api, starts_in=timedelta(minutes=30))
    lat = booked["task"]["location"]["lat"] + FIVE_KM_NORTH
    resp = checkin(booked["talent"], booked["booking"], booked["task"], lat=lat)
    assert resp.status_code == 403
    details = resp.json()["error"]["details"]
    assert 4900 < details["distance_m"] < 5100
    assert details["radius_m"] == 300


def test_checking_in_too_early_is_refused_with_the_window(api: httpx.Client, server: LiveServer) -> None:
    booked = book_task(api)  # starts in three days
    resp = checkin(booked["talent"], booked["booking"], booked["task"])
    assert resp.status_code == 403
    details = resp.json()["error"]["details"]
    assert {"window_opens_at", "window_closes_at", "current_time"} <= set(details)
    server.clock.advance(days=3, minutes=-30)
    assert checkin(booked["talent"], booked["booking"], booked["task"]).status_code == 200


def test_checking_in_after_the_end_is_refused(api: httpx.Client, server: LiveServer) -> None:
    booked = book_task(api, starts_in=timedelta(minutes=30))
    server.clock.advance(hours=4)
    assert checkin(booked["talent"], booked["booking"], booked["task"]).status_code == 403


def test_only_the_booked_talent_checks_in(api: httpx.Client) -> None:
    booked = book_task(api, starts_in=timedelta(minutes=30))
    other, _ = signup_talent(api)
    assert checkin(other, booked["booking"], booked["task"]).status_code == 404
    assert checkin(booked["customer"], booked["booking"], booked["task"]).status_code == 404
