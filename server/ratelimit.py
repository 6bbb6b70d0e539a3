"""Per-key rate limits (seed 002: 60 requests/min, 10/min on money endpoints)."""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItemPerMinute, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from tools.errors import RateLimited


class RateLimits:
    def __init__(self, *, per_minute: int, money_per_minute: int, storage: str = "memory://") -> None:
        # A sliding window counter: two counters per key and window, O(1) per request (a moving
        # window keeps one timestamp per request, which grows with the limit).
        self.limiter = SlidingWindowCounterRateLimiter(storage_from_string(storage))
        self.general = RateLimitItemPerMinute(per_minute)
        self.money = RateLimitItemPerMinute(money_per_minute)

    def check(self, identity: str, *, money: bool) -> None:
        """Count one request for `identity` (a key hash or a client address); 429 when over."""
        for item, label in ((self.general, "general"), (self.money, "money")):
            if label == "money" and not money:
                continue
            if not self.limiter.hit(item, identity, label):
                reset_at, _remaining = self.limiter.get_window_stats(item, identity, label)
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise RateLimited(
                    f"Rate limit of {item.amount} requests per minute ({label}) exceeded; retry in {retry_after} s.",
                    limit=item.amount,
                    scope=label,
                    retry_after=retry_after,
                )


def identity_of(token: str | None, client: str) -> str:
    if token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return "ip:" + client


__all__ = ["RateLimits", "identity_of", "parse"]
