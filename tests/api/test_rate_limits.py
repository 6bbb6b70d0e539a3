from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.app import build_services
from tests.conftest import make_settings, start_server
from tests.factories import signup_customer


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("tight")
    settings = make_settings(tmp, f"sqlite:///{tmp / 'db.sqlite'}", rate_limit_per_minute=5)
    srv, thread, _ = start_server(settings, build_services(settings))
    yield f"http://127.0.0.1:{settings.port}"
    srv.should_exit = True
    thread.join(10)


def test_the_sixth_request_in_a_minute_is_429_with_retry_after(tight_server: str) -> None:
    with httpx.Client(base_url=tight_server) as api:
        customer, _ = signup_customer(api)
        statuses = [customer.get("/v1/tasks").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        resp = customer.get("/v1/tasks")
        assert resp.json()["error"]["code"] == "RATE_LIMITED"
        assert 1 <= int(resp.headers["retry-after"]) <= 60


def test_limits_are_per_key(tight_server: str) -> None:
    with httpx.Client(base_url=tight_server) as api:
        first, _ = signup_customer(api)
        for _ in range(6):
            first.get("/v1/tasks")
        second, _ = signup_customer(api)
        assert second.get("/v1/tasks").status_code == 200


def test_the_card_form_counts_against_the_same_limit(tight_server: str) -> None:
    with httpx.Client(base_url=tight_server) as api:
        customer, body = signup_customer(api)
        form = {"api_key": body["api_key"], "token": "pm_card_visa"}
        statuses = [api.post("/billing/setup", data=form).status_code for _ in range(6)]
        assert statuses == [201] * 5 + [429]  # the page answers with the tool's status
