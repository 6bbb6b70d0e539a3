"""Nothing is lost when a worker dies: SIGKILL one mid-delivery, start another, every event arrives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from tests.conftest import LiveServer
from tests.events.conftest import Receiver, live_server, subscribe, unique_path, wait_job_idle
from tests.factories import create_task, signup_customer

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 24


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queue_only_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server that only queues jobs: `crewcall worker` processes deliver them."""
    tmp = tmp_path_factory.mktemp(f"durable-{request.param}")
    with live_server(request, request.param, tmp, inprocess_worker=False) as srv:
        yield srv


def start_worker(server: LiveServer, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": server.settings.database_url or "",
        "CREWCALL_DATA_DIR": str(server.settings.data_dir),
        "CREWCALL_ENV": "test",
        "CREWCALL_ALLOW_PRIVATE_WEBHOOKS": "1",
        "CREWCALL_JOB_LEASE_SECONDS": "2",
        "CREWCALL_JOB_POLL_SECONDS": "0.2",
        "CREWCALL_WEBHOOK_RETRY_SCALE": "0.001",
        "CREWCALL_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "server.cli", "worker", "--concurrency", "4", "--name", name]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()  # "worker … running on …" once it is up
    assert "running" in line, line
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_killed_worker_loses_no_event(queue_only_server: LiveServer, receiver: Receiver) -> None:
    server = queue_only_server
    path = unique_path("durable")
    receiver.delay[path] = 0.05  # deliveries take a while, so the kill lands mid-flight
    with httpx.Client(base_url=server.url, timeout=30) as api:
        customer, _ = signup_customer(api)
        endpoint = subscribe(customer, receiver.url(path), ["task.created"])
        workers = [start_worker(server, "a"), start_worker(server, "b")]
        try:
            tasks = {create_task(customer)["id"] for _ in range(EVENTS)}
            receiver.wait_for(lambda: len(receiver.at(path)) >= 4)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            workers.append(start_worker(server, "c"))
            receiver.wait_for(lambda: _all_delivered(receiver, path, tasks), timeout=60)
            wait_job_idle(server, timeout=60)  # the dead worker's jobs too: their duplicates are in
            seen = receiver.at(path)
        finally:
            for proc in workers:
                stop(proc)
    by_msg: dict[str, set[bytes]] = defaultdict(set)
    msg_of_event: dict[str, set[str]] = defaultdict(set)
    for hit in seen:
        event = Webhook(endpoint["secret"]).verify(hit.body, hit.headers)
        by_msg[hit.headers["webhook-id"]].add(hit.body)
        msg_of_event[event["id"]].add(hit.headers["webhook-id"])
    assert all(len(bodies) == 1 for bodies in by_msg.values()), "a webhook-id always carries the same event"
    assert all(len(ids) == 1 for ids in msg_of_event.values()), "duplicates share their webhook-id"
    assert len(msg_of_event) == EVENTS


def _all_delivered(receiver: Receiver, path: str, tasks: set[str]) -> list | None:
    hits = receiver.at(path)
    got = {h.json()["data"]["task"]["id"] for h in hits}
    return hits if tasks <= got else None
