from __future__ import annotations

import httpx
import pytest

from tests.api.test_deliverables import events_of, good_photos, photo_work
from tests.conftest import LiveServer
from tests.factories import BookedWork, deliver, ok


def disputed(api: httpx.Client, server: LiveServer, *, delivered: bool = True) -> tuple[BookedWork, dict]:
    work = photo_work(api, server)
    if delivered:
        ok(deliver(work, good_photos(work)), 201)
    resp = work.customer.post(f"/v1/work_orders/{work.work_order_id}/disputes", json={"reason": "Blurry and late"})
    assert resp.status_code == 201, resp.text
    return work, resp.json()


def balances(work: BookedWork) -> dict[str, int]:
    page = ok(work.customer.get(f"/v1/ledger?booking_id={work.booking_id}"))
    return {b["account"].split(":")[0]: b["balance_cents"] for b in page["balances"]}


def resolve(work: BookedWork, dispute: dict, **body: object) -> httpx.Response:
    return work.customer.post(f"/v1/disputes/{dispute['id']}/resolve", json=body)


def test_a_dispute_keeps_the_money_held_and_marks_work_and_task(api: httpx.Client, server: LiveServer) -> None:
    work, dispute = disputed(api, server)
    assert dispute["id"].startswith("dsp_")
    assert (dispute["status"], dispute["reason"], dispute["resolution"]) == ("open", "Blurry and late", None)
    assert ok(work.customer.get(f"/v1/work_orders/{work.work_order_id}"))["status"] == "disputed"
    assert ok(work.customer.get(f"/v1/tasks/{work.task['id']}"))["status"] == "disputed"
    assert ok(work.customer.get(f"/v1/bookings/{work.booking_id}"))["hold"]["status"] == "held"
    assert len(events_of(server, dispute["id"], "dispute.opened")) == 1
    assert ok(work.talent.get(f"/v1/disputes/{dispute['id']}"))["status"] == "open"


def test_work_not_yet_delivered_can_be_disputed(api: httpx.Client, server: LiveServer) -> None:
    work, _ = disputed(api, server, delivered=False)
    assert ok(work.customer.get(f"/v1/tasks/{work.task['id']}"))["status"] == "disputed"


def test_releasing_pays_out_like_an_acceptance(api: httpx.Client, server: LiveServer) -> None:
    work, dispute = disputed(api, server)
    resolved = ok(resolve(work, dispute, resolution="release"))
    assert (resolved["status"], resolved["resolution"], resolved["refund"]) == ("resolved", "release", 0)
    assert resolved["payout"]["talent_share"] == 170 and resolved["payout"]["platform_fee"] == 30
    assert balances(work) == {"customer_card": -20000, "escrow": 0, "platform": 3000, "talent": 17000}
    assert ok(work.customer.get(f"/v1/work_orders/{work.work_order_id}"))["status"] == "accepted"
    assert ok(work.customer.get(f"/v1/tasks/{work.task['id']}"))["status"] == "accepted"
    assert ok(work.customer.get(f"/v1/bookings/{work.booking_id}"))["status"] == "completed"
    assert len(events_of(server, dispute["id"], "dispute.resolved")) == 1


def test_a_full_refund_gives_everything_back(api: httpx.Client, server: LiveServer) -> None:
    work, dispute = disputed(api, server)
    resolved = ok(resolve(work, dispute, resolution="refund_full", note="no-show"))
    assert (resolved["resolution"], resolved["refund"]) == ("refund_full", 200)
    assert balances(work) == {"customer_card": 0, "escrow": 0}
    booking = ok(work.customer.get(f"/v1/bookings/{work.booking_id}"))
    assert booking["status"] == "cancelled" and booking["hold"]["status"] == "released"
    assert ok(work.customer.get(f"/v1/tasks/{work.task['id']}"))["status"] == "cancelled"


def test_a_partial_refund_pays_out_the_rest_85_15(api: httpx.Client, server: LiveServer) -> None:
    work, dispute = disputed(api, server)
    resolved = ok(resolve(work, dispute, resolution="refund_partial", amount=50))
    assert (resolved["refund"], resolved["payout"]["amount"]) == (50, 150)
    assert balances(work) == {"customer_card": -15000, "escrow": 0, "platform": 2250, "talent": 12750}
    hold = ok(work.customer.get(f"/v1/bookings/{work.booking_id}"))["hold"]
    assert (hold["status"], hold["captured"], hold["refunded"]) == ("partially_refunded", 200, 50)


@pytest.mark.parametrize("amount", [None, 200, 500])
def test_a_partial_refund_needs_an_amount_below_the_booking(api: httpx.Client, server: LiveServer, amount: int) -> None:
    work, dispute = disputed(api, server)
    resp = resolve(work, dispute, resolution="refund_partial", amount=amount)
    assert resp.status_code == 400
    assert ok(work.customer.get(f"/v1/disputes/{dispute['id']}"))["status"] == "open"


def test_only_the_customer_resolves_and_only_once(api: httpx.Client, server: LiveServer) -> None:
    work, dispute = disputed(api, server)
    assert work.talent.post(f"/v1/disputes/{dispute['id']}/resolve", json={"resolution": "release"}).status_code == 404
    ok(resolve(work, dispute, resolution="release"))
    again = resolve(work, dispute, resolution="refund_full")
    assert again.status_code == 403
    assert again.json()["error"]["details"]["current_status"] == "resolved"


def test_accepted_work_cannot_be_disputed(api: httpx.Client, server: LiveServer) -> None:
    work, dispute = disputed(api, server)
    ok(resolve(work, dispute, resolution="release"))
    resp = work.customer.post(f"/v1/work_orders/{work.work_order_id}/disputes", json={"reason": "Changed my mind"})
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["current_status"] == "accepted"
