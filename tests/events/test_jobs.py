"""The job queue's guarantees, on both databases: dedupe, leases, guarded completion, dead letters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import delete

from tests.conftest import LiveServer
from tools import jobs
from tools.models import Job

# Far in the future, so the server's own worker never sees these jobs.
LATER = datetime.now(UTC) + timedelta(days=3650)


@pytest.fixture
def queue(server: LiveServer) -> Iterator[LiveServer]:
    yield server
    with server.state.db(write=True) as session:
        session.exec(delete(Job).where(Job.kind.like("test-%")))  # type: ignore[attr-defined,call-overload]
        session.commit()


def _add(server: LiveServer, count: int = 1, **kw: object) -> list[str]:
    with server.state.db(write=True) as session:
        ids = [jobs.enqueue(session, "test-noop", {"n": i}, now=LATER, **kw).id for i in range(count)]  # type: ignore[arg-type]
        session.commit()
    return ids


def _claim(server: LiveServer, worker: str, *, now: datetime = LATER, limit: int = 10, lease: float = 30) -> list[Job]:
    with server.state.db(write=True) as session:
        # only this test's kind: the shared server's real jobs are not ours to take
        claimed = jobs.claim(session, worker, now=now, limit=limit, lease=lease, kinds=("test-noop",))
        session.commit()
    return claimed


def test_a_dedupe_key_is_enqueued_once(queue: LiveServer) -> None:
    with queue.state.db(write=True) as session:
        first = jobs.enqueue_unique(session, "test-tick", {}, now=LATER, dedupe_key="test:tick:1")
        second = jobs.enqueue_unique(session, "test-tick", {}, now=LATER, dedupe_key="test:tick:1")
        session.commit()
    assert (first, second) == (True, False)


def test_a_job_whose_worker_died_is_claimed_again_and_the_dead_worker_cannot_finish_it(queue: LiveServer) -> None:
    [job_id] = _add(queue)
    [job] = _claim(queue, "w1", lease=5)
    assert job.id == job_id and job.status == "DISPATCHED" and job.attempts == 1
    assert _claim(queue, "w2") == [], "a live lease keeps the job"
    [again] = _claim(queue, "w2", now=LATER + timedelta(seconds=6))
    assert again.id == job_id and again.attempts == 2 and again.locked_by == "w2"
    with queue.state.db(write=True) as session:
        assert jobs.finish(session, job, "w1", jobs.Outcome(), now=LATER) is None
        assert jobs.finish(session, again, "w2", jobs.Outcome(), now=LATER) == "COMPLETED"
        session.commit()


def test_failures_back_off_then_dead_letter_and_can_be_replayed(queue: LiveServer) -> None:
    [job_id] = _add(queue, max_attempts=2)
    now = LATER
    [job] = _claim(queue, "w1", now=now)
    with queue.state.db(write=True) as session:
        assert jobs.finish(session, job, "w1", jobs.Outcome(ok=False, error="boom"), now=now) == "QUEUED"
        session.commit()
        retry_at = session.get(Job, job_id).run_at  # type: ignore[union-attr]
    assert now + timedelta(seconds=1) < retry_at < now + timedelta(seconds=3)  # 2 s ± 20 %
    assert _claim(queue, "w1", now=now) == []
    [job] = _claim(queue, "w1", now=retry_at)
    with queue.state.db(write=True) as session:
        assert jobs.finish(session, job, "w1", jobs.Outcome(ok=False, error="boom again"), now=retry_at) == "FAILED"
        session.commit()
        dead = session.get(Job, job_id)
        assert dead is not None and dead.status == "FAILED" and dead.last_error == "boom again"
        replayed = jobs.replay(session, job_id, now=retry_at)
        session.commit()
        assert replayed is not None and replayed.status == "QUEUED" and replayed.attempts == 0


def test_concurrent_workers_never_claim_the_same_job(queue: LiveServer) -> None:
    ids = set(_add(queue, 40))
    taken: dict[str, list[str]] = {"a": [], "b": []}

    def work(name: str) -> None:
        while True:
            got = _claim(queue, name, limit=3)
            if not got:
                return
            taken[name] += [j.id for j in got]

    threads = [threading.Thread(target=work, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken["a"] + taken["b"]) == sorted(ids)


def test_only_queued_jobs_can_be_cancelled(queue: LiveServer) -> None:
    first, second = _add(queue, 2)
    _claim(queue, "w1", limit=1)
    with queue.state.db(write=True) as session:
        statuses = {jid: jobs.cancel(session, jid, now=LATER).status for jid in (first, second)}  # type: ignore[union-attr]
        session.commit()
    assert sorted(statuses.values()) == ["CANCELLED", "DISPATCHED"]
