from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from tests.factories import as_key, create_task, signup_customer, task_body


def test_seed_example_creates_a_draft_task(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    resp = customer.post("/v1/tasks", json=task_body())
    assert resp.status_code == 201
    task = resp.json()
    assert task["id"].startswith("task_")
    assert (task["object"], task["status"]) == ("task", "draft")
    assert task["location"]["city"] == "Hamilton"
    assert task["location"]["country"] == "CA"
    assert task["location"]["precision"] == "city"
    assert task["schedule"]["timezone"] == "America/Toronto"
    assert task["budget"] == {"currency": "CAD", "pricing_model": "fixed", "max_total": 300}


def test_three_faults_are_reported_together_with_pointers(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    body = task_body(starts_in=timedelta(days=-1))
    body["task_spec"] = {"product_count": 0, "background": "purple"}
    resp = customer.post("/v1/tasks", json=body)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "SCHEMA_VALIDATION_FAILED"
    pointers = {e["pointer"] for e in error["details"]["errors"]}
    assert pointers == {"/task_spec/product_count", "/task_spec/background", "/schedule/start_at"}
    assert error["request_id"].startswith("req_")


def test_model_and_spec_faults_are_reported_together(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    body = task_body()
    del body["title"]
    body["budget"]["max_total"] = "lots"
    body["task_spec"]["background"] = "purple"
    resp = customer.post("/v1/tasks", json=body)
    assert resp.status_code == 400
    pointers = {e["pointer"] for e in resp.json()["error"]["details"]["errors"]}
    assert pointers == {"/title", "/budget/max_total", "/task_spec/background"}


def test_a_task_may_start_sixteen_minutes_from_now_but_not_ten(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    assert customer.post("/v1/tasks", json=task_body(starts_in=timedelta(minutes=16))).status_code == 201
    assert customer.post("/v1/tasks", json=task_body(starts_in=timedelta(minutes=10))).status_code == 400


def test_coordinates_given_are_kept_exact(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    task = create_task(customer, location={"mode": "onsite", "address": "Studio 4", "lat": 40.7128, "lng": -74.006})
    assert task["location"]["precision"] == "exact"
    assert task["schedule"]["timezone"] == "America/New_York"


def test_unknown_address_is_a_clear_error(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    resp = customer.post("/v1/tasks", json=task_body(location={"mode": "onsite", "address": "Nowhere Lane"}))
    assert resp.status_code == 400
    assert resp.json()["error"]["details"]["errors"][0]["pointer"] == "/location/address"


def test_another_accounts_task_is_not_found(api: httpx.Client) -> None:
    alice, _ = signup_customer(api)
    bob, _ = signup_customer(api)
    task = create_task(alice)
    resp = bob.get(f"/v1/tasks/{task['id']}")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "NOT_FOUND"
    assert bob.post(f"/v1/tasks/{task['id']}/cancel", json={}).status_code == 404


def test_no_key_is_401_and_a_bad_key_too(api: httpx.Client) -> None:
    resp = api.get("/v1/tasks")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "AUTH_SCOPE_DENIED"
    assert as_key(api, "cc_test_nope").get("/v1/tasks").status_code == 401


def test_list_filters_by_status_and_type_and_pages(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    made = [create_task(customer)["id"] for _ in range(5)]
    customer.post(f"/v1/tasks/{made[0]}/cancel", json={})
    page = customer.get("/v1/tasks", params={"limit": 2, "status": "draft"}).json()
    seen = [t["id"] for t in page["data"]]
    while page["has_more"]:
        page = customer.get("/v1/tasks", params={"limit": 2, "status": "draft", "cursor": page["next_cursor"]}).json()
        seen += [t["id"] for t in page["data"]]
    assert seen == list(reversed(made[1:]))
    cancelled = customer.get("/v1/tasks", params={"status": "cancelled"}).json()["data"]
    assert [t["id"] for t in cancelled] == [made[0]]
    assert customer.get("/v1/tasks", params={"task_type": "UGC_VERTICAL_BATCH"}).json()["data"] == []
    bad = customer.get("/v1/tasks", params={"status": "sleeping"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["errors"][0]["pointer"] == "/status"


def test_cancelled_task_cannot_be_cancelled_again(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    task = create_task(customer)
    assert customer.post(f"/v1/tasks/{task['id']}/cancel", json={}).json()["status"] == "cancelled"
    again = customer.post(f"/v1/tasks/{task['id']}/cancel", json={})
    assert again.status_code == 403
    assert again.json()["error"]["details"]["current_status"] == "cancelled"


def test_twenty_concurrent_posts_with_one_key_create_one_task(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    body = task_body()

    def post(_: int) -> httpx.Response:
        with as_key(api, customer.headers["authorization"].split()[1]) as c:
            return c.post("/v1/tasks", json=body, headers={"Idempotency-Key": "one-key"})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(post, range(20)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(customer.get("/v1/tasks").json()["data"]) == 1


def test_same_idempotency_key_replays_and_another_body_is_409(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    body = task_body()
    first = customer.post("/v1/tasks", json=body, headers={"Idempotency-Key": "k1"})
    replay = customer.post("/v1/tasks", json=body, headers={"Idempotency-Key": "k1"})
    other = customer.post("/v1/tasks", json={**body, "title": "Another"}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "CONFLICT_IDEMPOTENCY"
    assert len(customer.get("/v1/tasks").json()["data"]) == 1


def test_every_mutation_leaves_an_audit_row(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    task = create_task(customer)
    customer.post(f"/v1/tasks/{task['id']}/cancel", json={"reason": "budget cut"})
    log = customer.get("/v1/audit", params={"entity_id": task["id"]}).json()["data"]
    assert [e["action"] for e in log] == ["task.cancelled", "task.created"]
    assert log[0]["before"]["status"] == "draft" and log[0]["after"]["status"] == "cancelled"
    assert log[0]["request_id"].startswith("req_")


def test_concurrent_creates_each_happen_once_or_not_at_all(api: httpx.Client) -> None:
    """Calls that arrive together run together (on SQLite in one group commit): the valid ones
    all land with their audit entry, the invalid ones leave nothing, a repeated key acts once."""
    customer, signup = signup_customer(api)
    key = signup["api_key"]
    valid = [task_body(title=f"Shoot {i}") for i in range(16)]
    invalid = [task_body(title=f"Bad {i}", task_spec={"product_count": "ten"}) for i in range(6)]
    repeated = task_body(title="Once")

    def post(job: tuple[str, dict]) -> httpx.Response:
        kind, body = job
        headers = {"Idempotency-Key": "same-key"} if kind == "repeated" else {}
        with as_key(api, key) as c:
            return c.post("/v1/tasks", json=body, headers=headers)

    jobs = [("valid", b) for b in valid] + [("invalid", b) for b in invalid] + [("repeated", repeated)] * 6
    with ThreadPoolExecutor(len(jobs)) as pool:
        responses = dict(zip(range(len(jobs)), pool.map(post, jobs), strict=True))
    statuses = [responses[i].status_code for i in range(len(jobs))]
    assert statuses == [201] * 16 + [400] * 6 + [201] * 6
    assert len({responses[i].json()["id"] for i in range(22, 28)}) == 1
    listed = customer.get("/v1/tasks", params={"limit": 100}).json()["data"]
    assert sorted(t["title"] for t in listed) == sorted([b["title"] for b in valid] + ["Once"])
    audit = customer.get("/v1/audit", params={"entity_type": "tasks", "limit": 100}).json()["data"]
    assert sorted(e["entity_id"] for e in audit) == sorted(t["id"] for t in listed)
