"""The threads that run database work for the event loop, handed over in batches.

Every transport (REST, MCP, the pages, the file routes) awaits `DbThreads.run(func, *args)`.
Calls that arrive in one turn of the event loop go to the threads together at the end of that
turn, and a thread hands back the results of what it took together, with one wake-up of the loop.

Why batches: handed over one by one, the loop parses the next requests while a thread runs the
last call, and the two fight for the GIL, which the thread gives up in every SQLite or libpq call
and then waits to get back. Under 32 concurrent clients that cost a create-task about a third of
its CPU time and throughput (BENCHMARKS.md). In batches, the loop mostly waits on the network
while the threads work, and the threads wait for the next batch while the loop answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from server.db import Outcome, outcome

T = TypeVar("T")
log = logging.getLogger("crewcall.db")


@dataclass(slots=True)
class _Item:
    context: contextvars.Context
    func: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


#: Runs several calls and gives each one's outcome: `Database.run_together`.
Together = Callable[[list[Callable[[], Any]]], list[Outcome]]


class DbThreads:
    """A fixed number of threads fed from one queue; see the module's docstring.

    With `together`, the calls a thread takes at once run through it (group commit on SQLite),
    at most `max_batch` of them.
    """

    def __init__(
        self, threads: int, *, together: Together | None = None, max_batch: int = 64, name: str = "crewcall-db"
    ) -> None:
        self.size = threads
        self.together = together
        self.max_batch = max_batch
        self.name = name
        self._queue: deque[_Item] = deque()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False
        #: per event loop: the calls of its current turn, not yet handed over
        self._turn: dict[asyncio.AbstractEventLoop, list[_Item]] = {}

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run `func(*args)` in a database thread, in a copy of the caller's context (the
        request id reaches the thread's log lines)."""
        if self._closed:
            raise RuntimeError("the database threads are shut down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        turn = self._turn.setdefault(loop, [])
        if not turn:
            loop.call_soon(self._hand_over, loop)
        turn.append(_Item(contextvars.copy_context(), func, args, future, loop))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        items = self._turn.pop(loop, [])
        if not items:
            return
        with self._ready:
            self._queue.extend(items)
            if len(self._threads) < self.size:
                self._start_threads()
            self._ready.notify(len(items))

    def _start_threads(self) -> None:
        while len(self._threads) < self.size:
            thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _take(self) -> list[_Item] | None:
        """This thread's share of the queue (all of it with one thread), or None once closed."""
        with self._ready:
            while not self._queue:
                if self._closed:
                    return None
                self._ready.wait()
            share = min(-(-len(self._queue) // self.size), self.max_batch)
            return [self._queue.popleft() for _ in range(min(share, len(self._queue)))]

    def _work(self) -> None:
        while (items := self._take()) is not None:
            calls = [functools.partial(item.context.run, item.func, *item.args) for item in items]
            try:
                if self.together is not None and len(calls) > 1:
                    outcomes = self.together(calls)
                else:
                    outcomes = [outcome(call) for call in calls]
            except BaseException as exc:  # never leave a caller waiting for an answer
                log.exception("database thread: a batch of %d calls failed as a whole", len(calls))
                outcomes = [(None, exc)] * len(calls)
            done = [(item, result, error) for item, (result, error) in zip(items, outcomes, strict=True)]
            for loop in {item.loop for item in items}:
                mine = [entry for entry in done if entry[0].loop is loop]
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits these any more
                    loop.call_soon_threadsafe(_settle, mine)

    def shutdown(self) -> None:
        """Finish the calls already made, then stop the threads. Called on the event loop."""
        for loop in list(self._turn):
            self._hand_over(loop)
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()


def _settle(done: list[tuple[_Item, Any, BaseException | None]]) -> None:
    for item, result, error in done:
        if item.future.cancelled():
            continue
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)
