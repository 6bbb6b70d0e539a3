"""State change → signed webhook at a loopback receiver: latency percentiles and events/s.

    .venv/bin/python -m bench.webhook_latency                       # SQLite, 300 sequential + burst
    .venv/bin/python -m bench.webhook_latency --backend postgres    # CREWCALL_TEST_PG's server

A crewcall server (uvicorn, in-process job worker) and a threading HTTP receiver run on loopback.
A customer subscribes to task.created, then:

  sequential  creates a task, waits for its delivery, then the next; latency = arrival at the
              receiver − the event's created_at (stamped inside the transaction, just before
              commit), so it covers the commit, the worker's wake-up, claim, signing, and the
              HTTP POST, with nothing else queued
  burst       creates tasks from 8 threads at once; events/s = deliveries / (last arrival −
              first request), and the latency of each delivery under that load

Every delivery's Standard Webhooks signature is verified.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from standardwebhooks import Webhook

PG_ADMIN_URL = os.environ.get("CREWCALL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class Receiver:
    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes, dict[str, str]]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.time()
                with receiver.lock:
                    receiver.arrivals.append((now, body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while len(self.arrivals) < count:
            if time.time() > deadline:
                raise SystemExit(f"only {len(self.arrivals)} of {count} deliveries arrived")
            time.sleep(0.005)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(backend: str, count: int, burst: int) -> dict[str, float]:
    from tests.conftest import make_settings, start_server
    from tests.factories import signup_customer, task_body

    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-webhooks-"))
    db_url, pg_name = f"sqlite:///{tmp / 'crewcall.db'}", None
    if backend == "postgres":
        import psycopg

        pg_name = f"cc_bench_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        db_url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{pg_name}"
    from server.app import build_services

    settings = make_settings(tmp, db_url, log_level="WARNING")
    srv, thread, state = start_server(settings, build_services(settings))
    receiver = Receiver()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}", timeout=30) as api:
            customer, _ = signup_customer(api)
            hook = customer.post("/v1/webhooks", json={"url": receiver.url, "events": ["task.created"]}).json()
            body = task_body()
            for n in range(count):
                assert customer.post("/v1/tasks", json=body).status_code == 201
                receiver.wait(n + 1)
            verifier = Webhook(hook["secret"])
            latencies = _latencies(receiver, verifier)
            receiver.arrivals.clear()
            started = time.time()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda _: customer.post("/v1/tasks", json=body).status_code, range(burst)))
            receiver.wait(burst)
            elapsed = max(at for at, _, _ in receiver.arrivals) - started
            loaded = _latencies(receiver, verifier)
    finally:
        srv.should_exit = True
        thread.join(timeout=15)
        state.db.dispose()
        receiver.httpd.shutdown()
        if pg_name:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": pct(latencies, 99),
        "max_ms": max(latencies),
        "burst_p50_ms": statistics.median(loaded),
        "burst_p99_ms": pct(loaded, 99),
        "events_per_s": burst / elapsed,
    }


def _latencies(receiver: Receiver, verifier: Webhook) -> list[float]:
    """Milliseconds from each event's created_at to its arrival; every signature is verified."""
    found = []
    for at, raw, headers in receiver.arrivals:
        event = verifier.verify(raw, headers)
        created = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).astimezone(UTC)
        found.append((at - created.timestamp()) * 1000)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--count", type=int, default=300, help="sequential state changes")
    parser.add_argument("--burst", type=int, default=400, help="state changes fired from 8 threads")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(
        "| backend | p50 ms | p99 ms | max ms | burst p50 / p99 ms | burst events/s |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for backend in backends:
        r = run(backend, args.count, args.burst)
        print(
            f"| {backend} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} "
            f"| {r['burst_p50_ms']:.0f} / {r['burst_p99_ms']:.0f} | {r['events_per_s']:.0f} |"
        )
    print(json.dumps({"count": args.count, "burst": args.burst}))


if __name__ == "__main__":
    main()
