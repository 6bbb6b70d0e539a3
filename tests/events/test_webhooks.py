"""Webhook endpoints: registration, signed deliveries, retries, logs, redelivery."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
from standardwebhooks import Webhook

from tests.conftest import LiveServer
from tests.events.conftest import Receiver, subscribe, unique_path
from tests.factories import create_task, signup_customer
from tools.webhook_delivery import SCHEDULE, secret_key


def crewcall_signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in headers["x-crewcall-signature"].split(","))
    expected = hmac.new(secret_key(secret), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return parts["t"] == headers["x-crewcall-timestamp"] and hmac.compare_digest(expected, parts["v1"])


def test_registering_an_endpoint_shows_a_whsec_secret_once(customer: httpx.Client, receiver: Receiver) -> None:
    resp = customer.post(
        "/v1/webhooks", json={"url": receiver.url("/once"), "events": ["task.created", "qa.completed"]}
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["id"].startswith("whk_") and body["object"] == "webhook_endpoint"
    assert body["secret"].startswith("whsec_") and body["status"] == "enabled"
    assert body["events"] == ["qa.completed", "task.created"]
    listed = customer.get("/v1/webhooks").json()
    assert [w["id"] for w in listed["data"]] == [body["id"]]
    assert "secret" not in listed["data"][0]


def test_unknown_event_names_are_refused_with_every_bad_name(customer: httpx.Client, receiver: Receiver) -> None:
    resp = customer.post(
        "/v1/webhooks", json={"url": receiver.url("/x"), "events": ["task.created", "task.exploded", "nope"]}
    )
    assert resp.status_code == 400
    pointers = [e["pointer"] for e in resp.json()["error"]["details"]["errors"]]
    assert pointers == ["/events/1", "/events/2"]


def test_a_state_change_reaches_the_endpoint_signed_both_ways(customer: httpx.Client, receiver: Receiver) -> None:
    path = unique_path("signed")
    endpoint = subscribe(customer, receiver.url(path), ["task.created"])
    task = create_task(customer)
    hit = receiver.wait_for(lambda: receiver.at(path))[0]
    payload = Webhook(endpoint["secret"]).verify(hit.body, hit.headers)
    assert payload["type"] == "task.created" and payload["id"].startswith("evt_")
    assert payload["data"]["task"]["id"] == task["id"]
    assert payload["data"]["task"]["title"] == task["title"]
    assert crewcall_signature_valid(endpoint["secret"], hit.headers, hit.body)
    assert hit.headers["webhook-id"].startswith("msg_")


def test_endpoints_hear_only_their_events_and_only_their_owners(
    api: httpx.Client, customer: httpx.Client, receiver: Receiver
) -> None:
    other, _ = signup_customer(api)
    mine, theirs, cancelled_only = unique_path("mine"), unique_path("theirs"), unique_path("cancel")
    subscribe(customer, receiver.url(mine), ["task.created"])
    subscribe(customer, receiver.url(cancelled_only), ["task.cancelled"])
    subscribe(other, receiver.url(theirs), ["*"])
    create_task(customer)
    receiver.wait_for(lambda: receiver.at(mine))
    time.sleep(0.3)
    assert receiver.at(theirs) == [] and receiver.at(cancelled_only) == []


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt(
    server: LiveServer, customer: httpx.Client, receiver: Receiver
) -> None:
    path = unique_path("flaky")
    receiver.script[path] = [500, 500, 500]
    endpoint = subscribe(customer, receiver.url(path), ["task.created"])
    create_task(customer)
    hits = receiver.wait_for(lambda: len(receiver.at(path)) >= 4 and receiver.at(path))
    assert len({h.headers["webhook-id"] for h in hits}) == 1
    for h in hits:
        Webhook(endpoint["secret"]).verify(h.body, h.headers)
    scale = server.settings.webhook_retry_scale
    for n in (1, 2, 3):  # the gap before attempt n+1 is the schedule's n-th delay (minus jitter)
        assert hits[n].at - hits[n - 1].at >= SCHEDULE[n] * scale * 0.85
    logs = receiver.wait_for(lambda: _logs_with(customer, endpoint["id"], 4))
    assert [(a["attempt"], a["status"], a["response_code"]) for a in reversed(logs)] == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "failed", 500),
        (4, "succeeded", 200),
    ]
    assert all(a["event_type"] == "task.created" and a["latency_ms"] >= 0 for a in logs)
    assert logs[-1]["error"].startswith("HTTP 500")


def _logs_with(customer: httpx.Client, webhook_id: str, count: int) -> list[dict] | None:
    data = customer.get(f"/v1/webhooks/{webhook_id}/logs").json()["data"]
    return data if len(data) >= count else None


def test_test_event_and_redelivery_keep_the_webhook_id(customer: httpx.Client, receiver: Receiver) -> None:
    path = unique_path("test")
    endpoint = subscribe(customer, receiver.url(path), ["qa.completed"])
    resp = customer.post(f"/v1/webhooks/{endpoint['id']}/test")
    assert resp.status_code == 202, resp.text
    delivery = resp.json()
    first = receiver.wait_for(lambda: receiver.at(path))[0]
    assert Webhook(endpoint["secret"]).verify(first.body, first.headers)["type"] == "webhook.test"
    again = customer.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202, again.text
    hits = receiver.wait_for(lambda: len(receiver.at(path)) >= 2 and receiver.at(path))
    assert hits[0].headers["webhook-id"] == hits[1].headers["webhook-id"] == delivery["id"]
    assert hits[0].body == hits[1].body


def test_410_gone_disables_the_endpoint(customer: httpx.Client, receiver: Receiver) -> None:
    path = unique_path("gone")
    receiver.script[path] = [410]
    endpoint = subscribe(customer, receiver.url(path), ["*"])
    customer.post(f"/v1/webhooks/{endpoint['id']}/test")
    receiver.wait_for(lambda: receiver.at(path))
    listed = receiver.wait_for(
        lambda: [w for w in customer.get("/v1/webhooks").json()["data"] if w["status"] == "disabled"]
    )
    assert listed[0]["id"] == endpoint["id"] and "410" in listed[0]["disabled_reason"]
    refused = customer.post(f"/v1/webhooks/{endpoint['id']}/test")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "POLICY_BLOCKED"


def test_retry_after_is_honoured_on_503(customer: httpx.Client, receiver: Receiver) -> None:
    path = unique_path("busy")
    receiver.script[path] = [(503, {"Retry-After": "1"})]
    subscribe(customer, receiver.url(path), ["task.created"])
    create_task(customer)
    hits = receiver.wait_for(lambda: len(receiver.at(path)) >= 2 and receiver.at(path))
    assert hits[1].at - hits[0].at >= 0.9


def test_a_deleted_endpoint_hears_nothing_more(customer: httpx.Client, receiver: Receiver) -> None:
    path = unique_path("deleted")
    endpoint = subscribe(customer, receiver.url(path), ["task.created"])
    assert customer.delete(f"/v1/webhooks/{endpoint['id']}").json()["deleted"] is True
    assert customer.get(f"/v1/webhooks/{endpoint['id']}/logs").status_code == 404
    create_task(customer)
    time.sleep(0.3)
    assert receiver.at(path) == []


def test_a_refused_call_on_a_task_still_tells_the_agent(customer: httpx.Client, receiver: Receiver) -> None:
    path = unique_path("blocked")
    endpoint = subscribe(customer, receiver.url(path), ["task.policy_blocked"])
    task = create_task(customer)
    assert customer.post(f"/v1/tasks/{task['id']}/cancel", json={}).status_code == 200
    refused = customer.post(f"/v1/tasks/{task['id']}/cancel", json={})
    assert refused.status_code == 403
    hit = receiver.wait_for(lambda: receiver.at(path))[0]
    event = Webhook(endpoint["secret"]).verify(hit.body, hit.headers)
    assert event["type"] == "task.policy_blocked"
    assert event["data"]["task_id"] == task["id"]
    assert event["data"]["error"]["code"] == "POLICY_BLOCKED"
    assert event["data"]["error"]["details"]["current_status"] == "cancelled"


def test_an_endpoint_failing_for_days_is_disabled_and_its_owner_told(
    server: LiveServer, customer: httpx.Client, receiver: Receiver
) -> None:
    path = unique_path("down")
    receiver.script[path] = [500] * 50
    endpoint = subscribe(customer, receiver.url(path), ["qa.completed"])  # test events go to any endpoint
    customer.post(f"/v1/webhooks/{endpoint['id']}/test")
    receiver.wait_for(lambda: _logs_with(customer, endpoint["id"], 1))  # the failure is on record
    assert customer.get("/v1/webhooks").json()["data"][0]["status"] == "enabled"  # one failure is not days
    server.clock.advance(hours=server.settings.webhook_disable_after_hours + 1)
    customer.post(f"/v1/webhooks/{endpoint['id']}/test")
    listed = receiver.wait_for(
        lambda: [w for w in customer.get("/v1/webhooks").json()["data"] if w["status"] == "disabled"]
    )
    assert "failed for 120 hours" in listed[0]["disabled_reason"]
    with server.state.db(write=False) as session:
        from sqlmodel import select

        from tools.models import Event

        told = session.exec(
            select(Event).where(Event.type == "webhook_endpoint.disabled", Event.entity_id == endpoint["id"])
        ).all()
    assert len(told) == 1
