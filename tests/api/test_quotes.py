from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select

from tests.conftest import LiveServer
from tests.factories import (
    create_task,
    ok,
    quote_on,
    signup_customer,
    signup_talent,
)
from tools.context import Ctx
from tools.models import Event
from tools.quotes import expire_quotes


def _start(days: int = 3) -> str:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return start.isoformat().replace("+00:00", "Z")


def test_requesting_quotes_invites_the_named_talent_and_opens_the_task(api: httpx.Client, server: LiveServer) -> None:
    customer, _ = signup_customer(api)
    _, talent = signup_talent(api)
    task = create_task(customer)
    resp = customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": [talent["talent_id"]]})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["task_status"] == "open_for_quotes"
    assert [i["talent_id"] for i in body["invited"]] == [talent["talent_id"]]
    assert customer.get(f"/v1/tasks/{task['id']}").json()["status"] == "open_for_quotes"
    with server.state.db(write=False) as session:
        event = session.exec(
            select(Event).where(Event.type == "quote.requested", Event.entity_id == body["invited"][0]["id"])
        ).one()
    assert event.data["quote_url"].endswith(f"/portal/quote/{body['invited'][0]['id']}")
    assert event.data["talent_email"] and event.owner_id != talent["talent_id"]


def test_asking_again_invites_only_new_talent(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    _, first = signup_talent(api)
    _, second = signup_talent(api)
    task = create_task(customer)
    ok(customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": [first["talent_id"]]}))
    again = ok(
        customer.post(
            f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": [first["talent_id"], second["talent_id"]]}
        )
    )
    assert [i["talent_id"] for i in again["invited"]] == [second["talent_id"]]
    assert again["already_invited"] == [first["talent_id"]]


def test_best_matches_have_the_task_type_are_in_range_and_free(api: httpx.Client) -> None:
    start = _start(days=5)
    schedule = {"start_at": start, "duration_hours": 3}
    _, near = signup_talent(api, task_types=["PODCAST_ON_SITE_CAPTURE"], radius_km=30)
    _, far = signup_talent(api, task_types=["PODCAST_ON_SITE_CAPTURE"], home={"lat": 45.5019, "lng": -73.5674})
    _, other_type = signup_talent(api, task_types=["EVENT_PHOTO_COVERAGE"])
    busy_client, busy = signup_talent(api, task_types=["PODCAST_ON_SITE_CAPTURE"])
    spec = {"track_count": 2, "mic_count": 2, "min_duration_seconds": 1800}
    body = {"task_type": "PODCAST_ON_SITE_CAPTURE", "schedule": schedule, "task_spec": spec, "deliverables": []}
    # Book the busy talent for the same hours elsewhere in town.
    other_customer, _ = signup_customer(api)
    other_task = create_task(other_customer, **body)
    quote = quote_on(other_customer, busy_client, busy["talent_id"], other_task["id"])
    ok(other_customer.post(f"/v1/quotes/{quote['id']}/accept"))
    ok(other_customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}))
    ok(other_customer.post("/v1/bookings", json={"quote_id": quote["id"]}))

    customer, _ = signup_customer(api)
    task = create_task(customer, **body)
    result = ok(customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"max_invites": 50}))
    invited = {i["talent_id"]: i for i in result["invited"]}
    assert near["talent_id"] in invited
    assert not {far["talent_id"], other_type["talent_id"], busy["talent_id"]} & set(invited)
    match = invited[near["talent_id"]]["match"]
    assert set(match["signals"]) == {"distance", "rating", "experience", "price"}
    assert 0 <= invited[near["talent_id"]]["score"] <= 1


def test_invited_talent_can_read_the_task_and_others_cannot(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    invited, invited_body = signup_talent(api)
    stranger, _ = signup_talent(api)
    task = create_task(customer)
    assert invited.get(f"/v1/tasks/{task['id']}").status_code == 404
    ok(customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": [invited_body["talent_id"]]}))
    assert invited.get(f"/v1/tasks/{task['id']}").json()["title"] == task["title"]
    assert stranger.get(f"/v1/tasks/{task['id']}").status_code == 404


def test_first_quote_makes_the_task_quoted_and_tells_the_customer(api: httpx.Client, server: LiveServer) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    quote = quote_on(customer, talent, body["talent_id"], task["id"], amount=250)
    assert quote["id"].startswith("quo_")
    assert (quote["status"], quote["amount"], quote["currency"], quote["over_budget"]) == ("pending", 250, "CAD", False)
    assert customer.get(f"/v1/tasks/{task['id']}").json()["status"] == "quoted"
    listed = customer.get(f"/v1/tasks/{task['id']}/quotes").json()
    assert listed["object"] == "list" and [q["id"] for q in listed["data"]] == [quote["id"]]
    with server.state.db(write=False) as session:
        event = session.exec(select(Event).where(Event.type == "quote.received", Event.entity_id == quote["id"])).one()
    assert event.data["quote"]["amount"] == 250


def test_a_quote_above_the_budget_is_taken_but_flagged(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    assert quote_on(customer, talent, body["talent_id"], task["id"], amount=450)["over_budget"] is True


def test_uninvited_talent_cannot_quote(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    _, invited = signup_talent(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    ok(customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": [invited["talent_id"]]}))
    resp = talent.post(f"/v1/talent/{body['talent_id']}/quote", json={"task_id": task["id"], "amount": 100})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "NOT_FOUND"


def test_talent_cannot_quote_as_someone_else(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    _, invited = signup_talent(api)
    impostor, _ = signup_talent(api)
    task = create_task(customer)
    ok(customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": [invited["talent_id"]]}))
    resp = impostor.post(f"/v1/talent/{invited['talent_id']}/quote", json={"task_id": task["id"], "amount": 100})
    assert resp.status_code == 404
    assert (
        customer.post(f"/v1/talent/{invited['talent_id']}/quote", json={"task_id": task["id"], "amount": 1}).status_code
        == 401
    )


def test_a_second_pending_quote_is_refused(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    quote_on(customer, talent, body["talent_id"], task["id"])
    again = talent.post(f"/v1/talent/{body['talent_id']}/quote", json={"task_id": task["id"], "amount": 150})
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "POLICY_BLOCKED"


def test_accepting_a_quote_rejects_the_others(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    task = create_task(customer)
    quotes = []
    for amount in (180, 220):
        talent, body = signup_talent(api)
        quotes.append(quote_on(customer, talent, body["talent_id"], task["id"], amount=amount))
    accepted = ok(customer.post(f"/v1/quotes/{quotes[0]['id']}/accept"))
    assert accepted["status"] == "accepted"
    assert customer.get(f"/v1/quotes/{quotes[1]['id']}").json()["status"] == "rejected"
    second = customer.post(f"/v1/quotes/{quotes[1]['id']}/accept")
    assert second.status_code == 403
    assert second.json()["error"]["details"]["current_status"] == "rejected"


def test_twenty_concurrent_accepts_of_one_task_accept_exactly_one(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    task = create_task(customer)
    quotes = []
    for _ in range(20):
        talent, body = signup_talent(api)
        quotes.append(quote_on(customer, talent, body["talent_id"], task["id"]))
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda q: customer.post(f"/v1/quotes/{q['id']}/accept").status_code, quotes))
    assert sorted(codes) == [200] + [403] * 19
    statuses = [q["status"] for q in customer.get(f"/v1/tasks/{task['id']}/quotes?limit=100").json()["data"]]
    assert sorted(statuses) == ["accepted"] + ["rejected"] * 19


def test_an_expired_quote_cannot_be_accepted(api: httpx.Client, server: LiveServer) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer, starts_in=timedelta(days=10))
    quote = quote_on(customer, talent, body["talent_id"], task["id"])
    server.clock.advance(hours=49)
    assert customer.get(f"/v1/quotes/{quote['id']}").json()["status"] == "expired"
    resp = customer.post(f"/v1/quotes/{quote['id']}/accept")
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["current_status"] == "expired"
    # The talent may quote again once the old quote has lapsed.
    assert (
        talent.post(f"/v1/talent/{body['talent_id']}/quote", json={"task_id": task["id"], "amount": 90}).status_code
        == 201
    )


def test_the_expiry_job_marks_lapsed_quotes_expired(api: httpx.Client, server: LiveServer) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer, starts_in=timedelta(days=10))
    quote = quote_on(customer, talent, body["talent_id"], task["id"])
    server.clock.advance(hours=49)
    with server.state.db(write=True) as session:
        assert expire_quotes(Ctx(session, server.state.services, None, "req_test")) >= 1
        session.commit()
    with server.state.db(write=False) as session:
        assert session.exec(select(Event).where(Event.type == "quote.expired", Event.entity_id == quote["id"])).one()
    assert customer.get(f"/v1/tasks/{task['id']}/quotes?status=expired").json()["data"][0]["id"] == quote["id"]


def test_cancelling_a_task_rejects_its_pending_quotes(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = create_task(customer)
    quote = quote_on(customer, talent, body["talent_id"], task["id"])
    ok(customer.post(f"/v1/tasks/{task['id']}/cancel", json={}))
    assert customer.get(f"/v1/quotes/{quote['id']}").json()["status"] == "rejected"


def test_quotes_are_requested_only_for_open_tasks(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    task = create_task(customer)
    ok(customer.post(f"/v1/tasks/{task['id']}/cancel", json={}))
    resp = customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={})
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["current_status"] == "cancelled"


def test_unknown_talent_ids_are_a_schema_error(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    task = create_task(customer)
    resp = customer.post(f"/v1/tasks/{task['id']}/quote_requests", json={"talent_ids": ["tal_nobody"]})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"]["errors"][0]["pointer"] == "/talent_ids/0"
