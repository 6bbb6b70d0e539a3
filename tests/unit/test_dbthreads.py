"""The database threads: calls of one turn of the event loop are handed over together, and every
caller gets its own answer, whatever happens to the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from server.dbthreads import DbThreads
from server.logs import request_id_var


class Recorder:
    """A `together` that runs the calls and remembers how they were grouped."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, calls: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
        self.batches.append(len(calls))
        outcomes: list[tuple[Any, BaseException | None]] = []
        for call in calls:
            try:
                outcomes.append((call(), None))
            except Exception as exc:
                outcomes.append((None, exc))
        return outcomes


def test_calls_made_in_one_turn_reach_the_thread_together() -> None:
    together = Recorder()
    threads = DbThreads(1, together=together)

    async def main() -> list[int]:
        return await asyncio.gather(*(threads.run(lambda i=i: i * i) for i in range(10)))

    try:
        assert asyncio.run(main()) == [i * i for i in range(10)]
    finally:
        threads.shutdown()
    assert together.batches == [10]


def test_a_call_runs_in_a_database_thread_with_the_callers_request_id() -> None:
    threads = DbThreads(1)

    async def main() -> tuple[str, str]:
        request_id_var.set("req_test")
        return await threads.run(lambda: (threading.current_thread().name, request_id_var.get()))

    try:
        name, request_id = asyncio.run(main())
    finally:
        threads.shutdown()
    assert name.startswith("crewcall-db") and request_id == "req_test"


def test_each_caller_gets_its_own_error() -> None:
    threads = DbThreads(1, together=Recorder())

    def fails() -> None:
        raise LookupError("no such thing")

    async def main() -> list[Any]:
        return await asyncio.gather(
            threads.run(lambda: 1), threads.run(fails), threads.run(lambda: 3), return_exceptions=True
        )

    try:
        first, second, third = asyncio.run(main())
    finally:
        threads.shutdown()
    assert (first, third) == (1, 3) and isinstance(second, LookupError)


def test_a_batch_that_fails_as_a_whole_answers_every_caller() -> None:
    def broken(calls: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
        raise OSError("disk gone")

    threads = DbThreads(1, together=broken)

    async def main() -> list[Any]:
        calls = (threads.run(lambda: 1) for _ in range(3))
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=10)

    try:
        answers = asyncio.run(main())
    finally:
        threads.shutdown()
    assert [type(a) for a in answers] == [OSError] * 3


def test_several_threads_share_a_batch_and_the_rest_wait_their_turn() -> None:
    threads = DbThreads(4, max_batch=2)
    seen: set[str] = set()
    lock = threading.Lock()
    barrier = threading.Barrier(4, timeout=10)

    def work() -> None:
        with lock:
            seen.add(threading.current_thread().name)
        barrier.wait()  # four calls at once: each thread took its share

    async def main() -> None:
        await asyncio.gather(*(threads.run(work) for _ in range(8)))

    try:
        asyncio.run(main())
    finally:
        threads.shutdown()
    assert len(seen) == 4


def test_calls_after_shutdown_are_refused() -> None:
    threads = DbThreads(1)
    threads.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        asyncio.run(threads.run(lambda: None))
