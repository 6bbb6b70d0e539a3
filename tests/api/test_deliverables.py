from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlmodel import select

from tests import media
from tests.conftest import LiveServer
from tests.factories import BookedWork, booked_work_order, deliver, signup_customer, signup_talent, upload
from tools.models import Event

PHOTO_SPEC = {"product_count": 1, "background": "white", "angles": ["front"], "min_resolution_px": 800}


def photo_work(api: httpx.Client, _server: object = None, *, count: int = 3) -> BookedWork:
    """A checked-in PRODUCT_PHOTO_ECOMM booking that orders `count` photos of at least 800 px.

    `_server` is accepted for the callers that pass the live server; everything goes through `api`.
    """
    return booked_work_order(
        api, deliverables=[{"kind": "photo", "count": count, "format": "jpeg"}], task_spec=PHOTO_SPEC
    )


def good_photos(work: BookedWork, n: int = 3, *, first_seed: int = 1) -> list[bytes]:
    now = datetime.now(UTC)
    return [media.jpeg(first_seed + i, taken_at=now, gps=work.spot) for i in range(n)]


def events_of(server: LiveServer, entity_id: str, event_type: str) -> list[Event]:
    with server.state.db(write=False) as session:
        stmt = select(Event).where(Event.entity_id == entity_id, Event.type == event_type)
        return list(session.exec(stmt))


def test_a_delivery_moves_work_order_and_task_to_delivered(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api)
    resp = deliver(work, good_photos(work))
    assert resp.status_code == 201, resp.text
    wo = resp.json()
    assert (wo["object"], wo["status"], wo["delivery_round"]) == ("work_order", "delivered", 1)
    assert [d["kind"] for d in wo["deliverables"]] == ["photo"] * 3
    assert all(d["round"] == 1 and d["download_url"] for d in wo["deliverables"])
    assert work.customer.get(f"/v1/tasks/{work.task['id']}").json()["status"] == "delivered"
    [event] = events_of(server, work.work_order_id, "deliverable.registered")
    assert len(event.data["work_order"]["deliverables"]) == 3
    assert event.owner_id == wo["customer_id"]


def test_customer_and_talent_read_the_work_order_with_download_urls(api: httpx.Client) -> None:
    work = photo_work(api)
    photos = good_photos(work)
    deliver(work, photos)
    for client in (work.customer, work.talent):
        wo = client.get(f"/v1/work_orders/{work.work_order_id}")
        assert wo.status_code == 200, wo.text
        assert wo.json()["status"] == "delivered"
    listed = work.customer.get(f"/v1/work_orders/{work.work_order_id}/deliverables").json()
    assert (listed["object"], listed["has_more"], listed["next_cursor"]) == ("list", False, None)
    assert len(listed["data"]) == 3
    first = listed["data"][0]
    got = httpx.get(first["download_url"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.content in photos


def test_a_download_url_with_a_bad_signature_is_refused(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api)
    deliver(work, good_photos(work))
    url = work.customer.get(f"/v1/work_orders/{work.work_order_id}").json()["deliverables"][0]["download_url"]
    resp = httpx.get(url.replace("signature=", "signature=00"))
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "POLICY_BLOCKED"
    server.clock.advance(minutes=16)
    assert httpx.get(url).status_code == 403


def test_a_stranger_cannot_see_the_work_order(api: httpx.Client) -> None:
    work = photo_work(api)
    stranger, _ = signup_customer(api)
    resp = stranger.get(f"/v1/work_orders/{work.work_order_id}")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "NOT_FOUND"


def test_only_the_booked_talent_delivers(api: httpx.Client) -> None:
    work = photo_work(api)
    file_id = upload(work.customer, media.jpeg(1))
    resp = work.customer.post(
        f"/v1/work_orders/{work.work_order_id}/deliverables", json={"files": [{"file_id": file_id, "kind": "photo"}]}
    )
    assert resp.status_code == 403
    other_talent, _ = signup_talent(api)
    resp = other_talent.post(
        f"/v1/work_orders/{work.work_order_id}/deliverables", json={"files": [{"file_id": file_id, "kind": "photo"}]}
    )
    assert resp.status_code == 404


def test_foreign_pending_and_reused_files_are_refused_with_pointers(api: httpx.Client) -> None:
    work = photo_work(api)
    foreign = upload(work.customer, media.jpeg(1))
    pending = work.talent.post(
        "/v1/files/presign", json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    ).json()["file_id"]
    mine = upload(work.talent, media.jpeg(2))
    files = [
        {"file_id": foreign, "kind": "photo"},
        {"file_id": pending, "kind": "photo"},
        {"file_id": mine, "kind": "photo"},
        {"file_id": mine, "kind": "audio"},
    ]
    resp = work.talent.post(f"/v1/work_orders/{work.work_order_id}/deliverables", json={"files": files})
    assert resp.status_code == 400
    pointers = [e["pointer"] for e in resp.json()["error"]["details"]["errors"]]
    assert pointers == ["/files/0/file_id", "/files/1/file_id", "/files/3/file_id", "/files/3/kind"]
    wo = work.talent.get(f"/v1/work_orders/{work.work_order_id}").json()
    assert (wo["status"], wo["delivery_round"]) == ("awaiting_delivery", 0)


def test_a_file_is_delivered_only_once(api: httpx.Client) -> None:
    work = photo_work(api)
    resp = deliver(work, good_photos(work))
    file_id = resp.json()["deliverables"][0]["file_id"]
    again = work.talent.post(
        f"/v1/work_orders/{work.work_order_id}/deliverables", json={"files": [{"file_id": file_id, "kind": "photo"}]}
    )
    assert again.status_code == 400
    assert "already delivered" in again.json()["error"]["details"]["errors"][0]["message"]


def test_changes_cannot_be_requested_before_qa(api: httpx.Client) -> None:
    work = photo_work(api)
    deliver(work, good_photos(work))
    resp = work.customer.post(f"/v1/work_orders/{work.work_order_id}/request_changes", json={"message": "Brighter"})
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["current_status"] == "delivered"
