"""Fixtures of the events tests: a webhook receiver, an SMTP server, servers wired to them."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.factories import signup_customer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  #: time.monotonic() when it arrived

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on loopback that records every POST and answers as scripted."""

    base: str
    received: list[Received] = field(default_factory=list)
    #: path → status codes to answer, in order; then 200
    script: dict[str, list[int | tuple[int, dict[str, str]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: dict[str, float] = field(default_factory=dict)  #: path → seconds to wait before answering

    def url(self, path: str) -> str:
        return self.base + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.02)
        recent = [(r.path, r.headers.get("webhook-id")) for r in self.received][-20:]
        raise AssertionError(f"timed out waiting; received so far: {recent}")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                )
                queue = receiver.script.get(self.path) or []
                answer = queue.pop(0) if queue else 200
            time.sleep(receiver.delay.get(self.path, 0))
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            payload = b"{}"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    rec = Receiver(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    httpd.daemon_threads = True
    rec.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield rec
    httpd.shutdown()


def subscribe(customer: httpx.Client, url: str, events: list[str] | None = None) -> dict[str, Any]:
    resp = customer.post("/v1/webhooks", json={"url": url, "events": events or ["*"]})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def customer(api: httpx.Client) -> Iterator[httpx.Client]:
    client, _ = signup_customer(api)
    with client:
        yield client


def unique_path(name: str) -> str:
    return f"/{name}/{secrets.token_hex(4)}"


def wait_job_idle(server: LiveServer, timeout: float = 20.0) -> None:
    """Until every event is relayed and no job is due or running (the queue drained)."""
    from sqlmodel import func, select

    from tools.models import Event, Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with server.state.db(write=False) as session:
            busy = session.exec(
                select(func.count())
                .select_from(Job)
                .where(Job.status.in_(("QUEUED", "DISPATCHED", "STARTED")), Job.kind != "tick")  # type: ignore[attr-defined]
            ).one()
            busy += session.exec(select(func.count()).select_from(Event).where(Event.dispatched_at.is_(None))).one()  # type: ignore[union-attr]
        if busy == 0:
            return
        time.sleep(0.05)
    with server.state.db(write=False) as session:
        left = session.exec(select(Job).where(Job.status.in_(("QUEUED", "DISPATCHED", "STARTED")))).all()  # type: ignore[attr-defined]
        summary = [(j.kind, j.status, j.attempts, j.locked_by, str(j.run_at), j.last_error) for j in left]
    raise AssertionError(f"the job queue did not drain: {summary}")


# --- dedicated servers: their own database, mailer and workers ---------------------------------


@contextlib.contextmanager
def own_database(request: pytest.FixtureRequest, backend: str, tmp: Path) -> Iterator[str]:
    """A database of its own (a SQLite file, or a fresh PostgreSQL database, dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'crewcall.db'}"
        return
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    request.getfixturevalue("pg_database")  # skips when PostgreSQL is unreachable
    name = f"cc_events_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def live_server(request: pytest.FixtureRequest, backend: str, tmp: Path, **overrides: Any) -> Iterator[LiveServer]:
    from server.app import build_services
    from tests.conftest import TestClock, make_settings, start_server

    with own_database(request, backend, tmp) as db_url:
        settings = make_settings(tmp, db_url, **overrides)
        clock = TestClock()
        services = build_services(settings)
        services.clock = clock
        srv, thread, state = start_server(settings, services)
        try:
            yield LiveServer(url=f"http://127.0.0.1:{settings.port}", state=state, clock=clock, backend=backend)
        finally:
            srv.should_exit = True
            thread.join(timeout=15)
            state.db.dispose()


class Inbox:
    """An in-process SMTP server (aiosmtpd) keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in list(self.messages) if m["To"] == address]


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, str]]:
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mail_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Inbox, str]
) -> Iterator[tuple[LiveServer, Inbox]]:
    """A live server whose mailer is the in-process SMTP server."""
    inbox, url = smtp
    tmp = tmp_path_factory.mktemp(f"mail-{request.param}")
    with live_server(request, request.param, tmp, smtp_url=url) as srv:
        yield srv, inbox
