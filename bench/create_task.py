"""Create-task throughput against two references measured in the same run.

    .venv/bin/python -m bench.create_task               # SQLite and PostgreSQL, 3 x 10 s each
    .venv/bin/python -m bench.create_task --backend sqlite --runs 1 --duration 5   # a quick look

Three servers run side by side, each `uvicorn --loop uvloop --http httptools --no-access-log
--workers 1` on loopback with the same flags:

  echo    bench/apps/echo.py: a bare Starlette endpoint that echoes the body (the stack's ceiling)
  naive   bench/apps/naive.py: one SQLModel row per request on the same kind of engine
  create  crewcall itself: POST /v1/tasks with seed 002's example body and a real API key

The load generator is wrk (Debian: `apt-get install -y wrk`), -c32, through a Lua script that
sets the method, body and headers. Without wrk the script says so and falls back to a bounded
async httpx client, which is slower than the echo server: ratios against echo then flatter us.
Rounds interleave the three targets so drift on this shared machine hits them alike; the report
gives medians and the two ratios create/naive and create/echo. Every response must be 2xx.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("CREWCALL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TARGETS = ("echo", "naive", "create")
UVICORN_FLAGS = [
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--workers",
    "1",
    "--log-level",
    "warning",
]
WRK_SCRIPT = """\
local f = assert(io.open("{body}", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def task_body() -> dict[str, Any]:
    """Seed 002's create-task example, with start_at a week ahead (valid for the whole run)."""
    from tests.factories import task_body as example

    return example(starts_in=timedelta(days=7))


# --- one measurement ---------------------------------------------------------------------------


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  #: non-2xx responses plus socket errors
    cpu_ms: float = 0.0  #: server CPU time (user + system) per request: steadier than rps here
    db_cpu_ms: float = 0.0  #: the PostgreSQL server's CPU time per request


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def run_wrk(url: str, script: Path, *, seconds: float, connections: int, threads: int) -> Sample:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    failures = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        failures += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        failures += sum(int(g) for g in m.groups())
    return Sample(rps, p50, p99, requests, failures)


def run_httpx(url: str, body: bytes, key: str, *, seconds: float, connections: int) -> Sample:
    """The fallback load generator: `connections` workers sharing one bounded async client."""
    import asyncio

    async def main() -> Sample:
        latencies: list[float] = []
        failures = 0
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            deadline = time.perf_counter() + seconds

            async def worker() -> None:
                nonlocal failures
                while (start := time.perf_counter()) < deadline:
                    try:
                        resp = await client.post(url, content=body, headers=headers)
                        ok = 200 <= resp.status_code < 300
                    except httpx.HTTPError:
                        ok = False
                    latencies.append(time.perf_counter() - start)
                    failures += not ok

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - began
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
        return Sample(len(latencies) / elapsed, pick(0.5), pick(0.99), len(latencies), failures)

    return asyncio.run(main())


# --- servers and databases ---------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def start_server(name: str, target: str, env: dict[str, str], tmp: Path, *, factory: bool) -> Server:
    port = free_port()
    log = tmp / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *UVICORN_FLAGS,
    ]
    if factory:
        cmd.append("--factory")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                stop_server(Server(name, "", proc, log))
                raise SystemExit(f"{name} server did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.1)
    return Server(name, f"http://127.0.0.1:{port}/v1/tasks", proc, log)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of the local PostgreSQL server so far: every `postgres` process (backends,
    WAL writer, checkpointer…) plus what the postmaster's exited children used. Whatever else
    the server does meanwhile counts too: run on an otherwise idle server."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
    return total


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@contextmanager
def databases(backend: str, tmp: Path, pg_admin: str) -> Iterator[tuple[str, str]]:
    """Two empty databases of the backend: one for crewcall, one for the naive app."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'crewcall.db'}", f"sqlite:///{tmp / 'naive.db'}"
        return
    import psycopg

    names = [f"cc_bench_{os.getpid()}_{secrets.token_hex(3)}_{role}" for role in ("app", "naive")]
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_problem(pg_admin: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(pg_admin, connect_timeout=3):
            return None
    except Exception as exc:  # depends on the machine
        return str(exc).strip().splitlines()[0]


# --- one backend -------------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def median(self, target: str) -> float:
        return statistics.median(s.rps for s in self.samples[target])

    def ratio(self, target: str, reference: str) -> float:
        return self.median(target) / self.median(reference)

    def cpu(self, target: str) -> str:
        """Median server CPU per request, and PostgreSQL's beside it where measured."""
        server = statistics.median(s.cpu_ms for s in self.samples[target])
        db = statistics.median(s.db_cpu_ms for s in self.samples[target])
        return f"{server:.2f}" + (f" + {db:.2f} PG" if db else "")

    def round_ratios(self, target: str, reference: str) -> list[float]:
        return [a.rps / b.rps for a, b in zip(self.samples[target], self.samples[reference], strict=True)]


def bench_backend(backend: str, args: argparse.Namespace, loadgen: str) -> BackendResult:
    from server.db import Database

    result = BackendResult(backend, {t: [] for t in args.targets})
    with tempfile.TemporaryDirectory(prefix=f"cc-bench-{backend}-") as tmpdir:
        tmp = Path(tmpdir)
        with databases(backend, tmp, args.pg) as (app_url, naive_url):
            Database(app_url).migrate()
            body = json.dumps(task_body()).encode()
            (tmp / "body.json").write_bytes(body)
            crewcall_env = {
                "CREWCALL_DATABASE_URL": app_url,
                "CREWCALL_DATA_DIR": str(tmp / "data"),
                # The limiter stays on the path (it is part of every call), but never says no here.
                "CREWCALL_RATE_LIMIT_PER_MINUTE": "1000000000",
                "CREWCALL_RATE_LIMIT_MONEY_PER_MINUTE": "1000000000",
                # Each task writes its task.created event; a `crewcall worker` process relays it
                # (an e-mail job) and sends the mail. --inprocess-worker lets the server do both
                # too, as `serve` does alone.
                "CREWCALL_INPROCESS_WORKER": "1" if args.inprocess_worker else "0",
            }
            specs = {
                "echo": ("bench.apps.echo:app", {}, False),
                "naive": ("bench.apps.naive:create_app", {"BENCH_DATABASE_URL": naive_url}, True),
                "create": ("server.app:create_app", crewcall_env, True),
            }
            servers: dict[str, Server] = {}
            try:
                for name in args.targets:
                    target, env, factory = specs[name]
                    servers[name] = start_server(name, target, env, tmp, factory=factory)
                key = signup(servers["create"].url) if "create" in servers else "none"
                (tmp / "post.lua").write_text(WRK_SCRIPT.format(body=tmp / "body.json", key=key))
                for name, server in servers.items():
                    check_once(name, server.url, body, key)

                def measure(name: str, seconds: float) -> Sample:
                    url, pid = servers[name].url, servers[name].proc.pid
                    on_pg = backend == "postgres" and name != "echo"
                    cpu_before = cpu_seconds(pid)
                    db_before = postgres_cpu_seconds() if on_pg else 0.0
                    sample = load(url, seconds)
                    requests = max(sample.requests, 1)
                    sample.cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / requests
                    if on_pg:
                        sample.db_cpu_ms = (postgres_cpu_seconds() - db_before) * 1000 / requests
                    return sample

                def load(url: str, seconds: float) -> Sample:
                    if loadgen == "wrk":
                        return run_wrk(
                            url,
                            tmp / "post.lua",
                            seconds=seconds,
                            connections=args.connections,
                            threads=args.threads,
                        )
                    return run_httpx(url, body, key, seconds=seconds, connections=args.connections)

                for name in servers:  # warm pools, caches and the page cache before counting
                    measure(name, args.warmup)
                for round_no in range(1, args.runs + 1):
                    for name in servers:
                        sample = measure(name, args.duration)
                        if sample.failures:
                            log = servers[name].log
                            raise SystemExit(f"{backend}/{name}: {sample.failures} failed, see {log}")
                        result.samples[name].append(sample)
                        db_cpu = f"  PostgreSQL CPU {sample.db_cpu_ms:5.2f}" if sample.db_cpu_ms else ""
                        print(
                            f"  {backend:8} round {round_no}  {name:6} {sample.rps:8.0f} rps  "
                            f"p50 {sample.p50_ms:6.1f} ms  p99 {sample.p99_ms:7.1f} ms  "
                            f"server CPU {sample.cpu_ms:5.2f}{db_cpu} ms/request",
                            flush=True,
                        )
            finally:
                for server in servers.values():
                    stop_server(server)
    return result


def signup(create_url: str) -> str:
    base = create_url.rsplit("/v1/", 1)[0]
    email = f"bench-{secrets.token_hex(4)}@example.com"
    resp = httpx.post(f"{base}/v1/developer/signup", json={"email": email, "name": "Bench"}, timeout=30)
    resp.raise_for_status()
    return resp.json()["api_key"]


def check_once(name: str, url: str, body: bytes, key: str) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    resp = httpx.post(url, content=body, headers=headers, timeout=30)
    if resp.status_code != 201:
        raise SystemExit(f"{name}: POST {url} answered {resp.status_code}: {resp.text[:500]}")


# --- report ------------------------------------------------------------------------------------


def describe_machine(loadgen: str, args: argparse.Namespace) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    gen = (
        f"wrk -t{args.threads} -c{args.connections}"
        if loadgen == "wrk"
        else f"httpx async client, {args.connections} workers"
    )
    return (
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start, "
        f"Python {platform.python_version()}, commit {commit}{'+changes' if dirty else ''}; "
        f"{gen}; {args.runs} rounds x {args.duration:g} s"
    )


def markdown(results: list[BackendResult], machine: str) -> str:
    lines = [
        f"_{machine}_",
        "",
        "| backend | echo rps | naive insert rps | create-task rps | create p50 / p99 ms "
        "| CPU ms per request: echo, naive, create | create / naive | create / echo |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in results:
        if not {"echo", "naive", "create"} <= r.samples.keys():
            continue
        p50 = statistics.median(s.p50_ms for s in r.samples["create"])
        p99 = statistics.median(s.p99_ms for s in r.samples["create"])
        per_naive = ", ".join(f"{x:.2f}" for x in r.round_ratios("create", "naive"))
        per_echo = ", ".join(f"{x:.3f}" for x in r.round_ratios("create", "echo"))
        lines.append(
            f"| {r.backend} | {r.median('echo'):.0f} | {r.median('naive'):.0f} "
            f"| {r.median('create'):.0f} "
            f"| {p50:.1f} / {p99:.1f} | {r.cpu('echo')}, {r.cpu('naive')}, {r.cpu('create')} "
            f"| **{r.ratio('create', 'naive'):.2f}×** ({per_naive}) "
            f"| **{r.ratio('create', 'echo'):.3f}×** ({per_echo}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3, help="rounds per target; the report takes medians")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load per target before the rounds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (one leaves a core to the server)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of echo,naive,create")
    parser.add_argument("--pg", default=PG_ADMIN_URL, help="PostgreSQL admin URL; databases are created and dropped")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument(
        "--inprocess-worker",
        action="store_true",
        help="let the crewcall server also run its job worker (relays task.created, sends the e-mails)",
    )
    args = parser.parse_args(argv)
    args.targets = [t for t in TARGETS if t in args.targets.split(",")]

    loadgen = args.loadgen
    if loadgen in ("auto", "wrk") and shutil.which("wrk") is None:
        if loadgen == "wrk":
            raise SystemExit("wrk is not installed: apt-get install -y wrk (or pass --loadgen httpx)")
        print(
            "!! wrk is not installed (Debian: apt-get update && apt-get install -y wrk).\n"
            "!! Falling back to an async httpx client: it tops out below the echo server, so the\n"
            "!! create/echo ratio comes out too high. Install wrk for figures worth reporting.",
            file=sys.stderr,
        )
        loadgen = "httpx"
    elif loadgen == "auto":
        loadgen = "wrk"

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and (problem := pg_problem(args.pg)):
        if args.backend == "postgres":
            raise SystemExit(f"PostgreSQL unreachable at {args.pg}: {problem}")
        print(f"!! skipping PostgreSQL, unreachable at {args.pg}: {problem}", file=sys.stderr)
        backends.remove("postgres")

    machine = describe_machine(loadgen, args)
    print(machine, flush=True)
    results = [bench_backend(backend, args, loadgen) for backend in backends]
    print()
    print(markdown(results, machine))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": [asdict(r) for r in results]}, indent=2))


if __name__ == "__main__":
    main()
