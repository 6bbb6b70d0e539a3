from __future__ import annotations

import secrets

import httpx

from tests.factories import ok, signup_customer, signup_talent

MONTREAL = {"lat": 45.5019, "lng": -73.5674}


def rare_skill() -> str:
    return f"theremin-{secrets.token_hex(3)}"


def test_search_finds_talent_by_skill_near_a_city(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    skill = rare_skill()
    _, montreal = signup_talent(api, home=MONTREAL, skills=[skill, "lighting"])
    near = ok(customer.get("/v1/talent/search", params={"near": "Montreal QC", "skills": skill}))
    assert [t["id"] for t in near["data"]] == [montreal["talent_id"]]
    assert near["data"][0]["distance_km"] < 10
    far = ok(customer.get("/v1/talent/search", params={"near": "Hamilton ON", "skills": skill}))
    assert far["data"] == []


def test_search_by_point_radius_and_task_type(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    skill = rare_skill()
    _, podcaster = signup_talent(api, home=MONTREAL, skills=[skill], task_types=["PODCAST_ON_SITE_CAPTURE"])
    signup_talent(api, home=MONTREAL, skills=[skill], task_types=["EVENT_PHOTO_COVERAGE"])
    params = {**MONTREAL, "radius_km": 5, "skills": skill, "task_type": "PODCAST_ON_SITE_CAPTURE"}
    found = ok(customer.get("/v1/talent/search", params=params))
    assert [t["id"] for t in found["data"]] == [podcaster["talent_id"]]
    assert found["data"][0]["email"] is None


def test_an_unknown_place_is_a_schema_error(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    resp = customer.get("/v1/talent/search", params={"near": "Xyzzyqq Nowhere"})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"]["errors"][0]["pointer"] == "/near"


def test_a_profile_shows_rating_and_jobs_but_not_the_email_to_strangers(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api, bio="Product shooter", hourly_rate=70)
    profile = ok(customer.get(f"/v1/talent/{body['talent_id']}"))
    assert profile["object"] == "talent" and profile["bio"] == "Product shooter"
    assert profile["rating"] == {"average": None, "count": 0}
    assert (profile["jobs_completed"], profile["hourly_rate"]) == (0, 70)
    assert profile["email"] is None
    assert ok(talent.get(f"/v1/talent/{body['talent_id']}"))["email"].startswith("talent-")


def test_an_unknown_talent_is_not_found(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    assert customer.get("/v1/talent/tal_nobody").status_code == 404
