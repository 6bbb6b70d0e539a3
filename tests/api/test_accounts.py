from __future__ import annotations

import httpx

from tests.factories import as_key, signup_customer, signup_talent, unique_email


def test_signup_shows_a_test_key_once_and_it_works(api: httpx.Client) -> None:
    customer, body = signup_customer(api)
    assert body["principal_id"].startswith("acct_")
    assert body["api_key"].startswith("cc_test_")
    keys = customer.get("/v1/keys").json()["data"]
    assert [k["id"] for k in keys] == [body["key_id"]]
    assert "api_key" not in keys[0] and body["api_key"].startswith(keys[0]["prefix"])


def test_signup_rejects_a_bad_email_with_a_pointer(api: httpx.Client) -> None:
    resp = api.post("/v1/developer/signup", json={"email": "not-an-email", "name": "X"})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"]["errors"][0]["pointer"] == "/email"


def test_talent_signs_up_with_a_city(api: httpx.Client) -> None:
    _, body = signup_talent(api, home=None, city="Toronto ON", task_types=["EVENT_PHOTO_COVERAGE"])
    assert body["talent_id"].startswith("tal_")
    assert body["home"]["city"] == "Toronto" and body["home"]["precision"] == "city"
    assert body["home"]["timezone"] == "America/Toronto"


def test_talent_needs_a_place_and_known_task_types(api: httpx.Client) -> None:
    resp = api.post(
        "/v1/talent/signup",
        json={"name": "T", "email": unique_email(), "task_types": ["BASKET_WEAVING"], "radius_km": 10},
    )
    assert resp.status_code == 400
    pointers = {e["pointer"] for e in resp.json()["error"]["details"]["errors"]}
    assert pointers == {"/task_types/0", "/home"}


def test_talent_keys_cannot_create_tasks(api: httpx.Client) -> None:
    talent, _ = signup_talent(api)
    resp = talent.post("/v1/tasks", json={})
    assert resp.status_code == 401
    assert resp.json()["error"]["details"]["required_scope"] == "tasks:write"


def test_rotation_replaces_the_key_and_the_old_one_stops(api: httpx.Client) -> None:
    customer, body = signup_customer(api)
    resp = customer.post(f"/v1/keys/{body['key_id']}/rotate", json={})
    assert resp.status_code == 201
    new = resp.json()
    assert customer.get("/v1/tasks").status_code == 401
    assert as_key(api, new["api_key"]).get("/v1/tasks").status_code == 200


def test_revoked_key_is_refused_and_other_keys_keep_working(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    second = customer.post("/v1/keys", json={"label": "ci", "scopes": ["tasks:read"]}).json()
    reader = as_key(api, second["api_key"])
    assert reader.get("/v1/tasks").status_code == 200
    assert reader.post("/v1/tasks", json={}).status_code == 401  # read-only key
    assert customer.delete(f"/v1/keys/{second['id']}").json()["revoked_at"] is not None
    assert reader.get("/v1/tasks").status_code == 401
    assert customer.get("/v1/tasks").status_code == 200


def test_a_key_cannot_be_granted_scopes_the_account_lacks(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    resp = customer.post("/v1/keys", json={"scopes": ["talent:write"]})
    assert resp.status_code == 400


def test_another_accounts_key_is_not_found(api: httpx.Client) -> None:
    alice, _ = signup_customer(api)
    _, bob = signup_customer(api)
    assert alice.delete(f"/v1/keys/{bob['key_id']}").status_code == 404
