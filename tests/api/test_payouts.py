from __future__ import annotations

import httpx

from tests.api.test_deliverables import events_of, good_photos, photo_work
from tests.conftest import LiveServer
from tests.factories import BookedWork, deliver, ok


def qa_passed_work(api: httpx.Client, server: LiveServer) -> BookedWork:
    work = photo_work(api, server)
    ok(deliver(work, good_photos(work)), 201)
    assert ok(work.customer.get(f"/v1/work_orders/{work.work_order_id}/qa"))["status"] == "passed"
    return work


def qa_failed_work(api: httpx.Client, server: LiveServer) -> BookedWork:
    work = photo_work(api, server)
    ok(deliver(work, good_photos(work, n=1)), 201)  # three were ordered
    assert ok(work.customer.get(f"/v1/work_orders/{work.work_order_id}/qa"))["status"] == "failed"
    return work


def booking_balances(work: BookedWork) -> dict[str, int]:
    page = ok(work.customer.get(f"/v1/ledger?booking_id={work.booking_id}"))
    return {b["account"].split(":")[0]: b["balance_cents"] for b in page["balances"]}


def test_accepting_passed_work_pays_the_talent_85_and_the_platform_15(api: httpx.Client, server: LiveServer) -> None:
    work = qa_passed_work(api, server)
    resp = work.customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["override_qa"]) == ("accepted", False)
    assert body["payout"] | {"talent_id": None} == {
        "talent_id": None,
        "currency": "CAD",
        "amount": 200,
        "talent_share": 170,
        "platform_fee": 30,
        "refunded": 0,
    }
    assert booking_balances(work) == {"customer_card": -20000, "escrow": 0, "platform": 3000, "talent": 17000}
    booking = ok(work.customer.get(f"/v1/bookings/{work.booking_id}"))
    assert booking["status"] == "completed" and booking["hold"]["status"] == "captured"
    assert work.customer.get(f"/v1/tasks/{work.task['id']}").json()["status"] == "accepted"
    assert len(events_of(server, work.work_order_id, "work_order.accepted")) == 1
    assert len(events_of(server, work.booking_id, "payout.initiated")) == 1
    assert ok(work.customer.get(f"/v1/talent/{work.talent_id}"))["jobs_completed"] == 1
    talent_view = ok(work.talent.get("/v1/ledger"))
    assert talent_view["balances"] == [
        {"account": f"talent:{work.talent_id}", "currency": "CAD", "balance_cents": 17000, "balance": 170.0}
    ]


def test_work_is_accepted_only_once(api: httpx.Client, server: LiveServer) -> None:
    work = qa_passed_work(api, server)
    ok(work.customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={}))
    again = work.customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={})
    assert again.status_code == 403
    assert again.json()["error"]["details"]["current_status"] == "accepted"


def test_delivered_work_needs_qa_before_acceptance(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api, server)
    ok(deliver(work, good_photos(work)), 201)
    resp = work.customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={"override_qa": True})
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["current_status"] == "delivered"


def test_failed_qa_is_accepted_only_with_an_audited_override(api: httpx.Client, server: LiveServer) -> None:
    work = qa_failed_work(api, server)
    refused = work.customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["current_status"] == "qa_failed"
    accepted = ok(work.customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={"override_qa": True}))
    assert (accepted["status"], accepted["override_qa"]) == ("accepted", True)
    audit = ok(work.customer.get(f"/v1/audit?entity_id={work.work_order_id}"))
    assert "work_order.accepted_with_override" in {e["action"] for e in audit["data"]}


def test_only_the_customer_accepts_the_work(api: httpx.Client, server: LiveServer) -> None:
    work = qa_passed_work(api, server)
    assert work.talent.post(f"/v1/work_orders/{work.work_order_id}/accept", json={}).status_code == 404


def test_the_fee_structure_is_public(api: httpx.Client) -> None:
    fees = ok(api.get("/v1/stripe/fees"))
    assert (fees["platform_fee_percent"], fees["talent_share_percent"]) == (15, 85)
    assert fees["example"] == {"amount": 100, "talent_share": 85, "platform_fee": 15}


def test_accepted_work_is_rated_once_and_feeds_the_profile(api: httpx.Client, server: LiveServer) -> None:
    work = qa_passed_work(api, server)
    early = work.customer.post(f"/v1/work_orders/{work.work_order_id}/rating", json={"score": 5})
    assert early.status_code == 403
    ok(work.customer.post(f"/v1/work_orders/{work.work_order_id}/accept", json={}))
    rating = work.customer.post(f"/v1/work_orders/{work.work_order_id}/rating", json={"score": 4, "comment": "Sharp"})
    assert rating.status_code == 201, rating.text
    assert rating.json()["id"].startswith("rat_")
    again = work.customer.post(f"/v1/work_orders/{work.work_order_id}/rating", json={"score": 1})
    assert again.status_code == 403
    profile = ok(work.customer.get(f"/v1/talent/{work.talent_id}"))
    assert profile["rating"] == {"average": 4.0, "count": 1}
    assert len(events_of(server, rating.json()["id"], "rating.created")) == 1


def test_a_score_outside_one_to_five_is_a_schema_error(api: httpx.Client, server: LiveServer) -> None:
    work = qa_passed_work(api, server)
    resp = work.customer.post(f"/v1/work_orders/{work.work_order_id}/rating", json={"score": 6})
    assert resp.status_code == 400
