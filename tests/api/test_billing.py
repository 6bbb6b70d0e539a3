from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.conftest import LiveServer
from tests.factories import (
    create_task,
    ok,
    quote_on,
    signup_customer,
    signup_talent,
)


def test_a_new_account_has_no_card_and_nothing_held(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    status = ok(customer.get("/v1/billing/status"))
    assert status["has_payment_method"] is False
    assert status["default_payment_method"] is None
    assert (status["spend_cap"], status["held"]) == (5000, 0)


def test_adding_a_test_card_makes_it_the_default(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}), 201)
    card = ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_mastercard"}), 201)
    assert card["id"].startswith("pmt_") and (card["brand"], card["last4"]) == ("mastercard", "4444")
    status = ok(customer.get("/v1/billing/status"))
    assert status["has_payment_method"] is True
    assert status["default_payment_method"] == {"id": card["id"], "brand": "mastercard", "last4": "4444"}


def test_an_unknown_card_token_is_a_schema_error(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    resp = customer.post("/v1/billing/payment_methods", json={"token": "pm_card_made_up"})
    assert resp.status_code == 400
    assert resp.json()["error"]["details"]["errors"][0]["pointer"] == "/token"


def test_talent_keys_cannot_add_cards(api: httpx.Client) -> None:
    talent, _ = signup_talent(api)
    assert talent.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}).status_code == 401


def test_setup_gives_a_local_page_where_a_card_is_added(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    setup = ok(customer.post("/v1/billing/setup"))
    assert setup["url"].startswith(str(api.base_url).rstrip("/") + "/v1/billing/setup?session=")
    assert setup["expires_at"]
    link = urlsplit(setup["url"])
    page = api.get(f"{link.path}?{link.query}")
    assert page.status_code == 200 and "<form" in page.text and "pm_card_visa" in page.text
    session = link.query.split("=", 1)[1]
    added = api.post("/billing/setup", data={"session": session, "token": "pm_card_visa"})
    assert added.status_code == 201, added.text
    assert "4242" in added.text
    assert ok(customer.get("/v1/billing/status"))["default_payment_method"]["last4"] == "4242"


def test_the_setup_page_takes_a_pasted_key_instead(api: httpx.Client) -> None:
    customer, body = signup_customer(api)
    assert 'name="api_key"' in api.get("/v1/billing/setup").text
    added = api.post("/billing/setup", data={"api_key": body["api_key"], "token": "pm_card_mastercard"})
    assert added.status_code == 201, added.text
    assert ok(customer.get("/v1/billing/status"))["default_payment_method"]["brand"] == "mastercard"


def test_a_forged_or_expired_setup_link_is_refused(api: httpx.Client, server: LiveServer) -> None:
    customer, body = signup_customer(api)
    forged = api.post(
        "/billing/setup", data={"session": f"{body['principal_id']}.9999999999.AAAA", "token": "pm_card_visa"}
    )
    assert forged.status_code == 401
    session = ok(customer.post("/v1/billing/setup"))["url"].split("session=", 1)[1]
    server.clock.advance(hours=2)
    late = api.post("/billing/setup", data={"session": session, "token": "pm_card_visa"})
    assert late.status_code == 401 and "expired" in late.text
    assert ok(customer.get("/v1/billing/status"))["has_payment_method"] is False


def test_holds_past_the_spend_cap_are_refused(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    ok(customer.post("/v1/billing/payment_methods", json={"token": "pm_card_visa"}))
    bookings = []
    for amount in (4000, 1500):
        talent, body = signup_talent(api)
        task = create_task(customer)
        quote = quote_on(customer, talent, body["talent_id"], task["id"], amount=amount)
        ok(customer.post(f"/v1/quotes/{quote['id']}/accept"))
        bookings.append(customer.post("/v1/bookings", json={"quote_id": quote["id"]}))
    assert bookings[0].status_code == 201
    refused = bookings[1]
    assert refused.status_code == 403
    details = refused.json()["error"]["details"]
    assert (details["spend_cap"], details["held"], details["requested"]) == (5000, 4000, 1500)
    # Once the first booking is cancelled its hold no longer counts.
    ok(customer.post(f"/v1/bookings/{bookings[0].json()['id']}/cancel", json={}))
    status = ok(customer.get("/v1/billing/status"))
    assert status["held"] == 0
