"""Job workers: the in-process one `crewcall serve` starts, and `crewcall worker` processes.

A worker first relays new events from the outbox to their subscribers (tools/events.dispatch:
webhook deliveries and e-mails, which are jobs), then claims due jobs under a lease and runs
their handlers (tools/jobs.py HANDLERS) in a thread pool. It wakes up when a transaction that
wrote events or queued jobs commits: in-process through `services.extra["wake_jobs"]` (the
runner's after-commit hooks), across processes through
PostgreSQL LISTEN/NOTIFY; a short poll (`job_poll_seconds`) is the safety net, and on SQLite the
only signal between processes. Each worker also enqueues the scheduled ticks (tools/schedule.py).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from tools import events, jobs
from tools.context import Ctx
from tools.models import Job
from tools.runner import run_hooks

if TYPE_CHECKING:
    from server.app import AppState
    from server.db import Database
    from server.settings import Settings
    from tools.ports import Services

log = logging.getLogger("crewcall.worker")


class Worker:
    def __init__(
        self,
        db: Database,
        services: Services,
        settings: Settings,
        *,
        name: str | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.db, self.services, self.settings = db, services, settings
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.concurrency = concurrency or settings.worker_concurrency
        self.poll = settings.job_poll_seconds
        self.lease = settings.job_lease_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="crewcall-job")
        self._threads: list[threading.Thread] = []
        self._next_tick = 0.0
        jobs.load_handlers()

    # --- lifecycle ---

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._threads.append(threading.Thread(target=self._loop, name=f"worker-{self.id}", daemon=True))
        if self.db.dialect == "postgresql":
            self._threads.append(threading.Thread(target=self._listen, name="worker-listen", daemon=True))
        for thread in self._threads:
            thread.start()
        log.info("worker %s started (%d slots)", self.id, self.concurrency)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_forever(self) -> None:
        self.start()
        while not self._stop.wait(1.0):
            pass

    # --- the loop ---

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if self.settings.scheduler and time.monotonic() >= self._next_tick:
                    self._enqueue_ticks()
                self._dispatch()
                full = self._claim()
            except Exception:
                log.exception("worker %s: claiming failed; retrying after the poll interval", self.id)
                full = False
            if not full:
                self._wake.wait(self.poll)

    def _enqueue_ticks(self) -> None:
        from tools.schedule import TICKS, enqueue_ticks

        scale = self.settings.schedule_scale
        with self.db(write=True) as session:
            enqueue_ticks(session, now=self.services.clock.now(), scale=scale)
            session.commit()
        self._next_tick = time.monotonic() + max(1.0, min(TICKS.values()) * scale)

    def _dispatch(self) -> None:
        """The outbox relay: new events become webhook delivery and e-mail jobs."""
        while True:
            with self.db(write=True) as session:
                count, after = events.dispatch(session, self.services)
                session.commit()
            run_hooks(after)
            if count < events.DISPATCH_BATCH:
                return

    def _claim(self) -> bool:
        """Claim as many jobs as there are free slots; True when every slot got one."""
        with self._lock:
            free = self.concurrency - self._inflight
        if free <= 0:
            return False
        with self.db(write=True) as session:
            now = self.services.clock.now()
            # Never more than the free slots: each claimed job starts at once.
            claimed = jobs.claim(session, self.id, now=now, limit=free, lease=self.lease, status="STARTED")
            session.commit()
        for job in claimed:
            with self._lock:
                self._inflight += 1
            self._pool.submit(self._run, job)
        return len(claimed) == free

    def _run(self, job: Job) -> None:
        try:
            self._execute(job)
        except Exception:
            log.exception("job %s (%s) could not be finished; its lease will lapse", job.id, job.kind)
        finally:
            with self._lock:
                self._inflight -= 1
            self._wake.set()

    def _execute(self, job: Job) -> None:
        if job.attempts > job.max_attempts:
            # Its workers kept dying mid-run: stop handing it out.
            self._finish(
                job, jobs.Outcome(ok=False, final=True, error=job.last_error or "lease lapsed on every attempt")
            )
            return
        handler = jobs.HANDLERS.get(job.kind)
        try:
            if handler is None:
                outcome = jobs.Outcome(ok=False, final=True, error=f"no handler for job kind {job.kind!r}")
            else:
                outcome = (
                    handler(jobs.JobRun(job=job, sessions=self.db, services=self.services, worker=self.id))
                    or jobs.Outcome()
                )
        except Exception as exc:
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc, exc_info=True)
            outcome = jobs.Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:1000])
        self._finish(job, outcome)

    def _finish(self, job: Job, outcome: jobs.Outcome) -> None:
        for attempt in range(5):
            after: list[Callable[[], None]] = []
            try:
                with self.db(write=True) as session:
                    now = self.services.clock.now()
                    status = jobs.finish(session, job, self.id, outcome, now=now)
                    if outcome.record is not None:
                        ctx = Ctx(session, self.services, None, f"req_{job.id}", f"job:{job.kind}", after)
                        outcome.record(ctx, status is not None)
                    session.commit()
                break
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        if status is None:
            log.warning("job %s: lease lost before it finished; another worker owns it", job.id)
        for hook in after:
            hook()

    # --- PostgreSQL wake-ups ---

    def _listen(self) -> None:
        import psycopg

        url = self.db.url.replace("postgresql+psycopg://", "postgresql://", 1)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {jobs.CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._wake.set()
            except Exception as exc:
                log.warning("LISTEN connection failed (%s); polling meanwhile", exc)
                self._stop.wait(self.poll)


# --- wiring ----------------------------------------------------------------------------------


def configure_services(services: Services, settings: Settings) -> None:
    """The ports the job handlers need: mailer, safe HTTP client, the settings they read."""
    from server.adapters.http_out import safe_client
    from server.adapters.mail import build_mailer

    if services.mailer is None:
        services.mailer = build_mailer(settings)
    services.extra.setdefault(
        "http_out", safe_client(allow_private=settings.allow_private_webhooks, timeout=settings.webhook_timeout_seconds)
    )
    services.config.extra.update(
        webhook_retry_scale=settings.webhook_retry_scale,
        webhook_disable_after_hours=settings.webhook_disable_after_hours,
        allow_private_webhooks=settings.allow_private_webhooks,
    )


def install(state: AppState) -> None:
    """Called by build_state: wire the ports and, unless disabled, the in-process worker."""
    configure_services(state.services, state.settings)
    if not state.settings.inprocess_worker:
        return
    worker = Worker(state.db, state.services, state.settings, name=f"serve:{os.getpid()}:{secrets.token_hex(3)}")
    state.services.extra["wake_jobs"] = worker.wake
    state.extras["worker"] = worker

    @contextlib.asynccontextmanager
    async def run_worker(_state: Any) -> AsyncIterator[None]:
        import anyio.to_thread

        worker.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(worker.stop)

    state.extras.setdefault("lifespan", []).append(run_worker)


# --- CLI -------------------------------------------------------------------------------------


def _state() -> AppState:
    from server.app import build_state
    from server.settings import Settings

    settings = Settings().model_copy(update={"inprocess_worker": False})
    return build_state(settings)


def run_worker_command(args: argparse.Namespace) -> None:
    from server.logs import configure
    from tools.registry import registry

    state = _state()
    configure(state.settings.log_level)
    registry()  # import every tool module: their hooks and subscribers must be registered
    if state.db.dialect == "sqlite":
        state.db.migrate()
    from server.app import freeze_startup_objects

    freeze_startup_objects()
    worker = Worker(state.db, state.services, state.settings, name=args.name, concurrency=args.concurrency)
    state.services.extra["wake_jobs"] = worker.wake
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker._stop.set())
    print(f"worker {worker.id} running on {state.db.url.split('@')[-1]}", flush=True)
    worker.run_forever()
    worker.stop()


def jobs_command(args: argparse.Namespace) -> None:
    from sqlmodel import select

    state = _state()
    now = state.services.clock.now()
    with state.db(write=args.action != "list") as session:
        if args.action == "list":
            stmt = select(Job).order_by(Job.created_at.desc()).limit(args.limit)  # type: ignore[union-attr]
            if args.status:
                stmt = stmt.where(Job.status == args.status.upper())
            for job in session.exec(stmt):
                line = f"{job.id}  {job.kind:6} {job.status:9} {job.attempts}/{job.max_attempts} {job.last_error or ''}"
                print(line[:200])
            return
        action = jobs.replay if args.action == "replay" else jobs.cancel
        job = action(session, args.job_id, now=now)
        session.commit()
        print(f"{args.job_id}: {job.status if job else 'no such job'}")


def register_cli(subparsers: Any) -> None:
    p = subparsers.add_parser("worker", help="run a job worker (webhooks, e-mails, scheduled jobs)")
    p.add_argument("--concurrency", type=int, help="jobs run at once (default CREWCALL_WORKER_CONCURRENCY)")
    p.add_argument("--name", help="worker id shown in job leases")
    p.set_defaults(func=run_worker_command)
    j = subparsers.add_parser("jobs", help="list, replay or cancel background jobs")
    j.add_argument("action", choices=["list", "replay", "cancel"])
    j.add_argument("job_id", nargs="?")
    j.add_argument("--status", help="list only this status, e.g. FAILED")
    j.add_argument("--limit", type=int, default=50)
    j.set_defaults(func=jobs_command)
