"""Per-key rate limits (seed 002: 60 requests/min, 10/min on money endpoints).

A sliding window counter, as `limits` defines it: the count of the current fixed window plus the
previous window's count weighted by how much of it still overlaps the last minute. One process
keeps its counters in memory (`memory://`); replicas share them through Redis
(`redis://host:port/db`), where `limits` runs the same algorithm in a Lua script.

The in-memory counters are ours rather than `limits`' memory storage: that storage starts a
`threading.Timer` to expire keys whenever the previous one has finished (a new thread every
10 ms under load), which cost 9 % of a create-task's CPU (BENCHMARKS.md). Two integers per key
and window need no timer: stale keys are dropped when the table grows.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute

from tools.errors import RateLimited


class RateLimits:
    def __init__(self, *, per_minute: int, money_per_minute: int, storage: str = "memory://") -> None:
        self.general: RateLimitItem = RateLimitItemPerMinute(per_minute)
        self.money: RateLimitItem = RateLimitItemPerMinute(money_per_minute)
        self.counters: LocalCounters | SharedCounters = (
            LocalCounters() if storage.startswith("memory://") else SharedCounters(storage)
        )

    async def check(self, identity: str, *, money: bool) -> None:
        """Count one request for `identity` (a key hash or a client address); 429 when over."""
        await self._hit(self.general, identity, "general")
        if money:
            await self._hit(self.money, identity, "money")

    async def _hit(self, item: RateLimitItem, identity: str, label: str) -> None:
        retry_after = await self.counters.hit(item, f"{label}:{identity}")
        if retry_after is not None:
            raise RateLimited(
                f"Rate limit of {item.amount} requests per minute ({label}) exceeded; retry in {retry_after} s.",
                limit=item.amount,
                scope=label,
                retry_after=retry_after,
            )


class LocalCounters:
    """Sliding window counters of one process."""

    #: past this many keys, those idle for two windows are dropped
    PRUNE_AT = 100_000

    def __init__(self) -> None:
        #: key → (window number, count in that window, count in the window before)
        self.windows: dict[str, tuple[int, int, int]] = {}

    async def hit(self, item: RateLimitItem, key: str) -> int | None:
        """Count one hit and return None, or refuse it and return the seconds to wait."""
        limit, expiry = item.amount, item.get_expiry()
        now = time.time()
        window, into = divmod(now, expiry)
        number = int(window)
        current = previous = 0
        if (found := self.windows.get(key)) is not None:
            if found[0] == number:
                current, previous = found[1], found[2]
            elif found[0] == number - 1:
                previous = found[1]
        weight = previous * (expiry - into) / expiry + current
        if math.floor(weight) + 1 > limit:
            return _wait(limit, current, previous, into, expiry)
        if len(self.windows) >= self.PRUNE_AT and key not in self.windows:
            self.windows = {k: v for k, v in self.windows.items() if v[0] >= number - 1}
        self.windows[key] = (number, current + 1, previous)
        return None


def _wait(limit: int, current: int, previous: int, into: float, expiry: int) -> int:
    """Seconds until the weighted count falls below `limit` again (so one more hit fits)."""
    if current < limit:
        # within this window, once enough of the previous window has slid out of the minute
        seconds = (1 - (limit - current) / previous) * expiry - into
    else:
        # in the next window, where this window's count becomes the weighted one
        seconds = (expiry - into) + (1 - limit / current) * expiry
    return max(1, math.ceil(seconds))


class SharedCounters:
    """Counters in Redis (`limits`' storage and strategy), shared by every replica."""

    def __init__(self, url: str) -> None:
        from limits.aio.strategies import SlidingWindowCounterRateLimiter
        from limits.storage import storage_from_string

        if url.startswith(("redis://", "rediss://")):
            url = "async+" + url
        self.storage = storage_from_string(url, implementation="redispy")
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)

    async def hit(self, item: RateLimitItem, key: str) -> int | None:
        if await self.limiter.hit(item, key):
            return None
        reset_at, _remaining = await self.limiter.get_window_stats(item, key)
        return max(1, math.ceil(reset_at - time.time()))


def identity_of(token: str | None, client: str) -> str:
    if token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return "ip:" + client


__all__ = ["RateLimits", "identity_of"]
