"""The durable job queue: enqueue in the caller's transaction, claim with a lease, finish once.

A job is written in the same transaction as the state change that needs it (the outbox), so a
committed change always has its jobs and a rolled-back one never does. Workers claim due jobs
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the claim runs in a `BEGIN IMMEDIATE`
transaction, so claims are serial) and hold them under a lease (`locked_by`, `locked_until`).
A worker that dies loses its lease when `locked_until` passes and another worker claims the job
again: delivery is at-least-once. Only the lease holder may finish a job (`UPDATE … WHERE
locked_by = me`). Failures retry with exponential backoff and jitter, then dead-letter as
FAILED; `replay` puts a dead job back in the queue.

Statuses follow seed 003: QUEUED → DISPATCHED (claimed) → STARTED (handler running) →
COMPLETED | FAILED, or CANCELLED.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from tools.ids import new_id
from tools.models import Job
from tools.rows import execute_later, insert_now

if TYPE_CHECKING:
    from tools.context import Ctx
    from tools.ports import Services
    from tools.runner import Sessions

CHANNEL = "crewcall_jobs"  #: PostgreSQL NOTIFY channel; workers LISTEN on it
BACKOFF_CAP_SECONDS = 3600.0
LIVE = ("DISPATCHED", "STARTED")


@dataclass
class Outcome:
    """What a handler reports; the worker turns it into the job's next status."""

    ok: bool = True
    error: str | None = None
    retry_in: float | None = None  #: seconds until the next attempt; None: default backoff
    final: bool = False  #: do not retry (dead-letter now)
    cancelled: bool = False  #: nothing left to do (e.g. the endpoint was deleted)
    #: writes made in the transaction that finishes the job: (ctx, still_held_the_lease)
    record: Callable[[Ctx, bool], None] | None = None


@dataclass
class JobRun:
    """One claimed job, handed to its handler."""

    job: Job
    sessions: Sessions
    services: Services
    worker: str
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[JobRun], "Outcome | None"]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[kind] = func
        return func

    return register


def load_handlers() -> dict[str, Handler]:
    """Import every module that registers handlers (workers call this once)."""
    from tools import notifications, schedule, webhook_delivery  # noqa: F401

    return HANDLERS


# --- enqueue ---------------------------------------------------------------------------------


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> Job:
    """Add a job to the caller's transaction (it exists only if that transaction commits)."""
    job = Job(
        id=new_id("job"),
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        run_at=run_at or now,
        max_attempts=max_attempts,
        created_at=now,
        updated_at=now,
    )
    insert_now(session, job)  # on the path of every state change: one Core INSERT, no unit of work
    _notify(session)
    return job


def enqueue_unique(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    dedupe_key: str,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> bool:
    """Insert unless a job with `dedupe_key` exists (from any worker); True when inserted."""
    values = {
        "id": new_id("job"),
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "status": "QUEUED",
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Job.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # RETURNING, not rowcount: psycopg reports -1 for this statement through SQLAlchemy.
    inserted = session.execute(stmt.returning(table.c.id)).first() is not None
    if inserted:
        _notify(session)
    return inserted


def notify_workers(ctx: Ctx) -> None:
    """There is work once this transaction commits: wake the workers (other processes through
    NOTIFY on PostgreSQL, this one through the after-commit hook)."""
    _notify(ctx.session)
    wake_after_commit(ctx)


def wake_after_commit(ctx: Ctx) -> None:
    """Ask the in-process worker to look at the queue once this transaction commits."""
    wake = ctx.services.extra.get("wake_jobs")
    if wake is not None and wake not in ctx.after_commit:
        ctx.after_commit.append(wake)


def _notify(session: Session) -> None:
    # NOTIFY is transactional: listeners hear it only when (and if) the transaction commits, and
    # once per transaction is enough.
    if session.get_bind().dialect.name == "postgresql":
        transaction = session.get_transaction()
        if transaction is None or session.info.get("notified") is not transaction:
            execute_later(session, f"NOTIFY {CHANNEL}")
            session.info["notified"] = session.get_transaction()


# --- claim and finish ------------------------------------------------------------------------


def claim(
    session: Session,
    worker: str,
    *,
    now: datetime,
    limit: int,
    lease: float,
    status: str = "DISPATCHED",
    kinds: tuple[str, ...] | None = None,
) -> list[Job]:
    """Take up to `limit` due jobs (and jobs whose lease ran out) for `worker`; caller commits.

    A worker that claims only as many jobs as it has free slots runs each at once, and claims
    them straight into STARTED (one write less on the way to a delivery). `kinds` limits the
    claim to those kinds of job.
    """
    relaxed_commit(session)
    due = or_(
        and_(Job.status == "QUEUED", Job.run_at <= now),
        and_(Job.status.in_(LIVE), Job.locked_until < now),  # type: ignore[attr-defined]
    )
    stmt = select(Job.id).where(due).order_by(Job.run_at).limit(limit)
    if kinds is not None:  # workers dedicated to some kinds of job
        stmt = stmt.where(Job.kind.in_(kinds))  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.exec(stmt))
    if not ids:
        return []
    session.execute(
        update(Job)
        .where(Job.id.in_(ids))  # type: ignore[attr-defined]
        .values(
            status=status,
            locked_by=worker,
            locked_until=now + timedelta(seconds=lease),
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return list(session.exec(select(Job).where(Job.id.in_(ids)).order_by(Job.run_at)))  # type: ignore[attr-defined]


def relaxed_commit(session: Session) -> None:
    """PostgreSQL: do not wait for the WAL flush on this transaction's commit. Safe for claims and
    completions: a crash that loses one only makes the job run again (at-least-once)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def mark_started(session: Session, job_id: str, worker: str, *, now: datetime) -> bool:
    """DISPATCHED → STARTED, if `worker` still holds the lease."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker)
        .values(status="STARTED", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def finish(session: Session, job: Job, worker: str, outcome: Outcome, *, now: datetime) -> str | None:
    """Write the job's next status; None when `worker` lost its lease (another worker owns it)."""
    relaxed_commit(session)
    values: dict[str, Any] = {"locked_by": None, "locked_until": None, "updated_at": now}
    if outcome.ok:
        values.update(status="COMPLETED", finished_at=now, last_error=None)
    elif outcome.cancelled:
        values.update(status="CANCELLED", finished_at=now, last_error=outcome.error)
    elif outcome.final or job.attempts >= job.max_attempts:
        values.update(status="FAILED", finished_at=now, last_error=outcome.error)
    else:
        delay = outcome.retry_in if outcome.retry_in is not None else backoff(job.attempts)
        values.update(status="QUEUED", run_at=now + timedelta(seconds=delay), last_error=outcome.error)
    result = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.locked_by == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return values["status"] if result.rowcount == 1 else None


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts`: 2, 4, 8 … capped at an hour, ±20 % jitter."""
    return min(BACKOFF_CAP_SECONDS, 2.0**attempts) * random.uniform(0.8, 1.2)


def jitter(seconds: float, spread: float = 0.1) -> float:
    return seconds * random.uniform(1 - spread, 1 + spread)


# --- operator actions ------------------------------------------------------------------------


def replay(session: Session, job_id: str, *, now: datetime) -> Job | None:
    """Put a FAILED or CANCELLED job back in the queue with fresh attempts."""
    job = session.get(Job, job_id)
    if job is None or job.status not in ("FAILED", "CANCELLED"):
        return job
    job.status, job.attempts, job.run_at = "QUEUED", 0, now
    job.last_error = job.finished_at = job.locked_by = job.locked_until = None
    job.updated_at = now
    session.add(job)
    _notify(session)
    return job


def cancel(session: Session, job_id: str, *, now: datetime) -> Job | None:
    """Cancel a job that no worker has taken yet (seed 003: only QUEUED jobs)."""
    job = session.get(Job, job_id)
    if job is not None and job.status == "QUEUED":
        job.status, job.finished_at, job.updated_at = "CANCELLED", now, now
        session.add(job)
    return job
