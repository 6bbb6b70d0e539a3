from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx

from tests import media
from tests.conftest import LiveServer
from tests.factories import signup_customer, signup_talent


def presign(client: httpx.Client, data: bytes, **overrides: object) -> httpx.Response:
    body = {"filename": "IMG_0001.jpg", "content_type": "image/jpeg", "size": len(data), **overrides}
    return client.post("/v1/files/presign", json=body)


def test_presign_answers_a_signed_put_url_valid_for_fifteen_minutes(api: httpx.Client) -> None:
    talent, _ = signup_talent(api)
    resp = presign(talent, b"x" * 10)
    assert resp.status_code == 201, resp.text
    ticket = resp.json()
    assert ticket["file_id"].startswith("file_")
    assert ticket["method"] == "PUT"
    assert ticket["headers"] == {"Content-Type": "image/jpeg"}
    assert "signature=" in ticket["upload_url"] and ticket["upload_url"].startswith(str(api.base_url))
    expires_at = datetime.fromisoformat(ticket["expires_at"].replace("Z", "+00:00"))
    remaining = expires_at - datetime.now(UTC)
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)


def test_uploaded_bytes_are_acknowledged_with_their_size_and_sha256(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    data = media.jpeg(3)
    ticket = presign(customer, data).json()
    resp = httpx.put(ticket["upload_url"], content=data, headers=ticket["headers"])
    assert resp.status_code == 200, resp.text
    assert resp.json() | {"filename": None} == {
        "file_id": ticket["file_id"],
        "object": "file",
        "status": "uploaded",
        "filename": None,
        "content_type": "image/jpeg",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_a_retried_upload_of_the_same_bytes_is_accepted_but_other_bytes_are_refused(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    data = media.jpeg(4)
    ticket = presign(customer, data).json()
    assert httpx.put(ticket["upload_url"], content=data).status_code == 200
    assert httpx.put(ticket["upload_url"], content=data).status_code == 200
    other = media.jpeg(5)[: len(data)].ljust(len(data), b"\0")
    resp = httpx.put(ticket["upload_url"], content=other)
    assert resp.status_code == 403
    assert resp.json()["error"]["details"]["current_status"] == "uploaded"


def test_unsupported_type_and_oversized_files_are_refused_with_pointers(api: httpx.Client, server: LiveServer) -> None:
    customer, _ = signup_customer(api)
    resp = presign(customer, b"x", content_type="application/x-msdownload")
    assert resp.status_code == 400
    assert [e["pointer"] for e in resp.json()["error"]["details"]["errors"]] == ["/content_type"]
    limit = server.state.services.config.upload_max_bytes
    resp = presign(customer, b"x", size=limit + 1)
    assert resp.status_code == 400
    assert [e["pointer"] for e in resp.json()["error"]["details"]["errors"]] == ["/size"]


def test_an_upload_of_the_wrong_size_is_refused(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    ticket = presign(customer, b"x" * 100).json()
    resp = httpx.put(ticket["upload_url"], content=b"x" * 99)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "SCHEMA_VALIDATION_FAILED"


def test_a_tampered_signature_is_refused(api: httpx.Client) -> None:
    customer, _ = signup_customer(api)
    ticket = presign(customer, b"x" * 10).json()
    url = ticket["upload_url"][:-4] + ("0000" if not ticket["upload_url"].endswith("0000") else "1111")
    resp = httpx.put(url, content=b"x" * 10)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "POLICY_BLOCKED"
    unsigned = ticket["upload_url"].split("?")[0]
    assert httpx.put(unsigned, content=b"x" * 10).status_code == 403


def test_an_upload_url_expires_after_fifteen_minutes(api: httpx.Client, server: LiveServer) -> None:
    customer, _ = signup_customer(api)
    ticket = presign(customer, b"x" * 10).json()
    server.clock.advance(minutes=16)
    resp = httpx.put(ticket["upload_url"], content=b"x" * 10)
    assert resp.status_code == 403
    error = resp.json()["error"]
    assert error["code"] == "POLICY_BLOCKED"
    assert "expired" in error["message"]


def test_presign_needs_an_api_key(api: httpx.Client) -> None:
    resp = presign(api, b"x")
    assert resp.status_code == 401
