"""QA on real files: each fault fails its own check, a clean delivery passes them all."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests import media
from tests.api.test_deliverables import events_of, good_photos, photo_work
from tests.conftest import LiveServer
from tests.factories import BookedWork, booked_work_order, deliver

FIVE_KM_NORTH = 5000 / 111_195  # degrees of latitude


def run_qa(work: BookedWork) -> dict:
    resp = work.customer.get(f"/v1/work_orders/{work.work_order_id}/qa")
    assert resp.status_code == 200, resp.text
    return resp.json()


def failed(result: dict) -> set[str]:
    return {c["name"] for c in result["checks"] if not c["passed"]}


def check(result: dict, name: str) -> dict:
    return next(c for c in result["checks"] if c["name"] == name)


def test_a_clean_delivery_passes_every_check(api: httpx.Client) -> None:
    work = photo_work(api)
    assert deliver(work, good_photos(work)).status_code == 201
    result = run_qa(work)
    assert result["status"] == "passed", result
    assert failed(result) == set()
    assert [c["name"] for c in result["checks"]] == [
        "photo_count", "photo_format", "photo_resolution", "capture_time", "capture_place", "no_duplicates",
    ]  # fmt: skip
    assert (result["work_order_id"], result["round"]) == (work.work_order_id, 1)
    assert check(result, "photo_count") | {"details": None} == check(result, "photo_count") | {
        "measured": 3, "expected": {"min": 3}, "passed": True, "details": None,
    }  # fmt: skip
    assert check(result, "capture_place")["measured"]["with_gps"] == 3
    wo = work.customer.get(f"/v1/work_orders/{work.work_order_id}").json()
    assert wo["status"] == "qa_passed"
    assert wo["qa"]["status"] == "passed"


def test_too_few_photos_fail_the_count_check_only(api: httpx.Client) -> None:
    work = photo_work(api, count=4)
    deliver(work, good_photos(work, 3))
    result = run_qa(work)
    assert result["status"] == "failed"
    assert failed(result) == {"photo_count"}
    assert (check(result, "photo_count")["measured"], check(result, "photo_count")["expected"]) == (3, {"min": 4})
    wo = work.customer.get(f"/v1/work_orders/{work.work_order_id}").json()
    assert wo["status"] == "qa_failed"


def test_a_too_small_image_fails_the_resolution_check_only(api: httpx.Client) -> None:
    work = photo_work(api)
    now = datetime.now(UTC)
    photos = good_photos(work, 2) + [media.jpeg(9, width=640, height=480, taken_at=now, gps=work.spot)]
    deliver(work, photos)
    result = run_qa(work)
    assert failed(result) == {"photo_resolution"}
    resolution = check(result, "photo_resolution")
    assert resolution["measured"] == {"min_short_side_px": 480}
    assert resolution["expected"] == {"min_short_side_px": 800}
    assert [f["height"] for f in resolution["details"]["files"]] == [480]


def test_a_near_duplicate_fails_the_duplicate_check_and_names_the_pair(api: httpx.Client) -> None:
    work = photo_work(api)
    now = datetime.now(UTC)
    photos = good_photos(work, 2) + [media.jpeg(1, taken_at=now, gps=work.spot, quality=60)]  # seed 1 again
    deliver(work, photos)
    result = run_qa(work)
    assert failed(result) == {"no_duplicates"}
    duplicates = check(result, "no_duplicates")
    assert duplicates["measured"]["duplicate_pairs"] == 1
    [pair] = duplicates["details"]["pairs"]
    assert sorted(f["filename"] for f in pair["files"]) == ["photo_0000.jpeg", "photo_0002.jpeg"]


def test_a_photo_taken_five_km_away_fails_the_geofence_check_only(api: httpx.Client) -> None:
    work = photo_work(api)
    lat, lng = work.spot
    far = media.jpeg(7, taken_at=datetime.now(UTC), gps=(lat + FIVE_KM_NORTH, lng))
    no_gps = media.jpeg(8, taken_at=datetime.now(UTC))
    deliver(work, good_photos(work, 2) + [far, no_gps])
    result = run_qa(work)
    assert failed(result) == {"capture_place"}
    place = check(result, "capture_place")
    assert place["measured"]["with_gps"] == 3 and place["measured"]["without_gps"] == 1
    assert 4900 < place["measured"]["max_distance_m"] < 5100
    assert place["expected"]["max_distance_m"] == 300
    assert [f["filename"] for f in place["details"]["files"]] == ["photo_0002.jpeg"]


def test_capture_times_outside_the_booking_fail_the_time_check(api: httpx.Client) -> None:
    work = photo_work(api)
    yesterday = media.jpeg(7, taken_at=datetime.now(UTC) - timedelta(days=1), gps=work.spot)
    undated = media.jpeg(8, gps=work.spot)
    deliver(work, good_photos(work, 2) + [yesterday, undated])
    result = run_qa(work)
    assert failed(result) == {"capture_time"}
    assert check(result, "capture_time")["measured"] == {"in_window": 2, "outside": 1, "missing": 1}


def test_a_capture_time_without_offset_is_read_in_the_tasks_time_zone(api: httpx.Client) -> None:
    work = photo_work(api)
    zone = ZoneInfo(work.task["schedule"]["timezone"])
    local_now = datetime.now(zone).replace(tzinfo=None)
    utc_wall_clock = datetime.now(UTC).replace(tzinfo=None)  # five hours ahead of Hamilton's clocks
    photos = [
        media.jpeg(1, taken_at=local_now, gps=work.spot),
        media.jpeg(2, taken_at=local_now, gps=work.spot),
        media.jpeg(3, taken_at=utc_wall_clock, gps=work.spot),
    ]
    deliver(work, photos)
    result = run_qa(work)
    assert failed(result) == {"capture_time"}
    assert check(result, "capture_time")["measured"] == {"in_window": 2, "outside": 1, "missing": 0}


def test_qa_is_cached_for_the_round_and_emitted_once(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api)
    deliver(work, good_photos(work))
    first = run_qa(work)
    server.clock.advance(minutes=5)
    assert run_qa(work) == first
    talent_view = work.talent.get(f"/v1/work_orders/{work.work_order_id}/qa")
    assert talent_view.json() == first
    assert len(events_of(server, work.work_order_id, "qa.completed")) == 1


def test_qa_before_delivery_is_blocked(api: httpx.Client) -> None:
    work = photo_work(api)
    resp = work.customer.get(f"/v1/work_orders/{work.work_order_id}/qa")
    assert resp.status_code == 403
    error = resp.json()["error"]
    assert (error["code"], error["details"]["current_status"]) == ("POLICY_BLOCKED", "awaiting_delivery")


def test_changes_requested_then_a_new_delivery_is_checked_afresh(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api)
    deliver(work, good_photos(work, 2))
    assert run_qa(work)["status"] == "failed"
    resp = work.customer.post(
        f"/v1/work_orders/{work.work_order_id}/request_changes", json={"message": "Three photos were ordered."}
    )
    assert resp.status_code == 200, resp.text
    wo = resp.json()
    assert wo["status"] == "changes_requested"
    assert wo["change_request"]["message"] == "Three photos were ordered."
    assert work.customer.get(f"/v1/tasks/{work.task['id']}").json()["status"] == "in_progress"
    assert len(events_of(server, work.work_order_id, "work_order.changes_requested")) == 1
    assert work.customer.get(f"/v1/work_orders/{work.work_order_id}/qa").status_code == 403

    redelivered = deliver(work, good_photos(work, 3, first_seed=10))
    assert redelivered.status_code == 201, redelivered.text
    assert (redelivered.json()["status"], redelivered.json()["delivery_round"]) == ("delivered", 2)
    result = run_qa(work)
    assert (result["status"], result["round"]) == ("passed", 2)
    first_round = work.customer.get(f"/v1/work_orders/{work.work_order_id}/deliverables", params={"round": 1})
    assert len(first_round.json()["data"]) == 2


def test_a_short_audio_track_fails_the_length_check(api: httpx.Client) -> None:
    spec = {"track_count": 2, "mic_count": 2, "min_duration_seconds": 300}
    work = booked_work_order(
        api, task_type="PODCAST_ON_SITE_CAPTURE", deliverables=[{"kind": "audio", "count": 2}], task_spec=spec
    )
    tracks = [media.wav(320, rate=1000), media.wav(200, rate=1000)]
    assert deliver(work, tracks, kind="audio", content_type="audio/wav").status_code == 201
    result = run_qa(work)
    assert failed(result) == {"track_length"}
    length = check(result, "track_length")
    assert (length["measured"], length["expected"]) == ({"shortest_seconds": 200}, {"min_seconds": 300})
    assert check(result, "track_format")["measured"] == {"wav": 2}


def test_concurrent_qa_calls_run_the_checks_once(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api)
    deliver(work, good_photos(work))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: work.customer.get(f"/v1/work_orders/{work.work_order_id}/qa"), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.json() == answers[0].json() for a in answers)
    assert len(events_of(server, work.work_order_id, "qa.completed")) == 1
