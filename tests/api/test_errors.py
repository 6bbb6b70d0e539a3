"""Bad input always gets the contract's envelope: never a 500, never a trace."""

from __future__ import annotations

import json

import httpx

from tests.factories import signup_customer, task_body


def _error(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    error = resp.json()["error"]
    assert set(error) == {"http_status", "code", "message", "details", "request_id"}
    assert error["http_status"] == status
    assert "Traceback" not in resp.text
    return error


def test_malformed_json_is_a_400_envelope(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    resp = customer.post("/v1/tasks", content=b'{"task_type": ', headers={"content-type": "application/json"})
    assert _error(resp, 400)["code"] == "SCHEMA_VALIDATION_FAILED"


def test_wrong_content_type_is_a_400_envelope(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    resp = customer.post(
        "/v1/tasks", content=b"task_type=x", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert "Content-Type" in _error(resp, 400)["message"]


def test_a_json_array_body_is_refused(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    assert _error(customer.post("/v1/tasks", json=[1, 2]), 400)["message"] == "The body must be a JSON object."


def test_oversize_body_is_a_400_envelope(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    body = task_body(description="x" * 2_000_000)
    assert "larger than" in _error(customer.post("/v1/tasks", json=body), 400)["message"]


def test_unknown_route_and_method_get_envelopes(api: httpx.Client) -> None:
    assert _error(api.get("/v1/nothing-here"), 404)["code"] == "NOT_FOUND"
    assert _error(api.put("/v1/tasks"), 405)["http_status"] == 405


def test_unknown_fields_are_named(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    error = _error(customer.post("/v1/tasks", json=task_body(colour="red")), 400)
    assert error["details"]["errors"] == [{"pointer": "/colour", "message": "Extra inputs are not permitted"}]


def test_the_callers_request_id_is_echoed(api: httpx.Client) -> None:
    resp = api.get("/v1/tasks", headers={"X-Request-Id": "req_mine_123"})
    assert resp.headers["x-request-id"] == "req_mine_123"
    assert _error(resp, 401)["request_id"] == "req_mine_123"


def test_unknown_template_names_the_bad_field(api: httpx.Client) -> None:
    resp = api.get("/v1/templates/KNITTING")
    error = _error(resp, 400)
    assert error["details"]["errors"][0]["pointer"] == "/task_type"


def test_text_no_database_can_store_is_a_400_with_its_pointer(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    for bad in ("shoot\u0000now", "lone \ud800 surrogate"):
        raw = json.dumps(task_body(title=bad))  # ASCII JSON with \u escapes, as a client may send
        error = _error(customer.post("/v1/tasks", content=raw, headers={"content-type": "application/json"}), 400)
        assert error["details"]["errors"][0]["pointer"] == "/title"
    error = _error(customer.post("/v1/bookings", json={"quote_id": "quo_\u0000"}), 400)
    assert error["details"]["errors"][0]["pointer"] == "/quote_id"
