"""The sliding window counters behind the per-key rate limits."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from server import ratelimit
from server.ratelimit import RateLimits
from tests.conftest import IN_CI
from tools.errors import RateLimited

REDIS_URL = "redis://127.0.0.1:6379/0"


class FrozenTime:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenTime:
    frozen = FrozenTime(1_800_000_000.0)  # the start of a minute
    monkeypatch.setattr(ratelimit.time, "time", frozen.time)
    return frozen


def hits(limits: RateLimits, identity: str, count: int, *, money: bool = False) -> list[int | None]:
    """None for each hit let through, the Retry-After seconds for each refused."""
    return hits_in_turn([limits] * count, identity, money=money)


def hits_in_turn(limiters: list[RateLimits], identity: str, *, money: bool = False) -> list[int | None]:
    """One hit through each of `limiters` in turn (replicas sharing a store)."""

    async def run() -> list[int | None]:
        answers: list[int | None] = []
        for limits in limiters:
            try:
                await limits.check(identity, money=money)
                answers.append(None)
            except RateLimited as exc:
                answers.append(exc.details["retry_after"])
        return answers

    return asyncio.run(run())


def test_the_hit_past_the_limit_is_refused_until_the_window_slides(clock: FrozenTime) -> None:
    limits = RateLimits(per_minute=3, money_per_minute=1)
    clock.now += 20
    assert hits(limits, "key:a", 4) == [None, None, None, 40]
    clock.now += 40.5  # the next minute: the last one's three hits still weigh 3 × 59.5/60
    assert hits(limits, "key:a", 1) == [None]
    assert hits(limits, "key:a", 1) == [20]  # 3 × (60 - t)/60 + 1 < 3 once t > 20 s


def test_the_previous_minute_weighs_by_how_much_of_it_still_overlaps(clock: FrozenTime) -> None:
    limits = RateLimits(per_minute=10, money_per_minute=10)
    assert hits(limits, "key:a", 10) == [None] * 10
    clock.now += 60 + 30  # halfway into the next minute: the ten count as five
    assert hits(limits, "key:a", 6) == [None] * 5 + [1]  # 10 × 30/60 + 5 = 10: full, for now


def test_money_calls_count_against_both_limits(clock: FrozenTime) -> None:
    limits = RateLimits(per_minute=3, money_per_minute=1)
    assert hits(limits, "key:a", 2, money=True)[1] is not None
    assert hits(limits, "key:a", 2) == [None, 60]  # the refused money call counted as general


def test_keys_are_counted_apart(clock: FrozenTime) -> None:
    limits = RateLimits(per_minute=1, money_per_minute=1)
    assert hits(limits, "key:a", 2)[1] is not None
    assert hits(limits, "key:b", 1) == [None]


def test_idle_keys_are_dropped_when_the_table_grows(clock: FrozenTime, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = RateLimits(per_minute=5, money_per_minute=5)
    monkeypatch.setattr(limits.counters, "PRUNE_AT", 3)
    hits(limits, "key:a", 1)
    hits(limits, "key:b", 1)
    clock.now += 180
    hits(limits, "key:c", 1)
    hits(limits, "key:d", 1)
    assert set(limits.counters.windows) == {"general:key:c", "general:key:d"}


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except redis.RedisError as exc:
        return str(exc)


def test_replicas_share_their_counters_through_redis() -> None:
    if problem := _redis_problem():
        if IN_CI:
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}: {problem}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({problem})")
    first = RateLimits(per_minute=3, money_per_minute=1, storage=REDIS_URL)
    second = RateLimits(per_minute=3, money_per_minute=1, storage=REDIS_URL)
    answers = hits_in_turn([first, second, first, second], f"key:test-{secrets.token_hex(6)}")
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None and 1 <= answers[3] <= 120
