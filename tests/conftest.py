"""Fixtures: every storage test runs on SQLite and on PostgreSQL, against a live server."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from server.app import AppState, build_services, build_state, create_app
from server.settings import Settings
from tools.ports import Services

PG_ADMIN_URL = os.environ.get("CREWCALL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class TestClock:
    """The system clock, shifted by `offset`; tests move time forward without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


def _pg_reachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    import psycopg

    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem}); set CREWCALL_TEST_PG")
    name = f"cc_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    state: AppState
    clock: TestClock
    backend: str

    @property
    def settings(self) -> Settings:
        return self.state.settings


def start_server(settings: Settings, services: Services) -> tuple[uvicorn.Server, threading.Thread, AppState]:
    state = build_state(settings, services=services)
    state.db.migrate()
    app = create_app(settings, state=state, migrate=False)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=settings.port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return server, thread, state


def make_settings(tmp: Path, db_url: str, **overrides: object) -> Settings:
    port = free_port()
    values: dict[str, object] = {
        "env": "test",
        "data_dir": tmp,
        "database_url": db_url,
        "port": port,
        "rate_limit_per_minute": 100_000,
        "rate_limit_money_per_minute": 100_000,
        "allow_private_webhooks": True,  # webhook receivers in tests listen on loopback
        "webhook_retry_scale": 0.001,  # Svix's schedule in milliseconds: 5 ms, 300 ms, 1.8 s …
        # Ticks would act on the shared server's data (auto-QA, auto-accept) behind a test's back;
        # tests of the schedule run the ticks themselves.
        "scheduler": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live crewcall server on loopback, one per database backend for the whole session."""
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    sqlite_url = f"sqlite:///{tmp / 'crewcall.db'}"
    db_url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_database")
    settings = make_settings(tmp, db_url)
    clock = TestClock()
    services = build_services(settings)
    services.clock = clock
    srv, thread, state = start_server(settings, services)
    yield LiveServer(url=f"http://127.0.0.1:{settings.port}", state=state, clock=clock, backend=request.param)
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    """An anonymous client of the live server; the clock is reset after each test."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
    server.clock.offset = timedelta(0)


@pytest.fixture(autouse=True)
def _books_balance(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that ran against a live server, the ledger still sums to zero."""
    yield
    if "server" in request.fixturenames:
        from tests.factories import assert_ledger_balanced

        assert_ledger_balanced(request.getfixturevalue("server"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Group tests by backend so each server starts once; SQLite first.
    items.sort(key=lambda item: "postgres" in item.nodeid)
