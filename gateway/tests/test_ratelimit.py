"""The limiter against the stack's real Redis (and against no Redis at all)."""

from __future__ import annotations

import asyncio
import time

import pytest
from lathe_gateway.fail_open_redis import FailOpenRedis, connect
from lathe_gateway.ratelimit import RateLimiter
from prometheus_client import REGISTRY

pytestmark = pytest.mark.integration


@pytest.fixture
async def limiter_for(unique):
    """``limiter_for(url, window_seconds=60)``: a limiter with a key prefix no other test or run shares."""
    clients = []

    def make(url: str, *, window_seconds: int = 60, pause_seconds: float = 1.0) -> RateLimiter:
        client = connect(url, timeout_seconds=0.25)
        clients.append(client)
        return RateLimiter(
            FailOpenRedis(client, pause_seconds=pause_seconds),
            window_seconds=window_seconds,
            key_prefix=f"lathe:test-ratelimit:{unique()}:",
        )

    yield make
    for client in clients:
        await client.aclose()


async def test_allows_the_limit_then_refuses(limiter_for, redis_url):
    limiter = limiter_for(redis_url)

    decisions = [await limiter.hit("user:a", 3) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    refused = decisions[-1]
    assert refused.limit == 3
    assert 1 <= refused.reset_seconds <= 60
    assert refused.headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(refused.reset_seconds),
        "Retry-After": str(refused.reset_seconds),
    }
    assert "Retry-After" not in decisions[0].headers()


async def test_windows_are_per_key(limiter_for, redis_url):
    limiter = limiter_for(redis_url)
    for _ in range(2):
        await limiter.hit("user:a", 2)
    assert not (await limiter.hit("user:a", 2)).allowed

    other = await limiter.hit("user:b", 2)

    assert other.allowed
    assert other.remaining == 1


async def test_the_window_expires_and_counting_starts_again(limiter_for, redis_url):
    limiter = limiter_for(redis_url, window_seconds=1)
    assert (await limiter.hit("ip:x", 1)).allowed
    refused = await limiter.hit("ip:x", 1)
    assert not refused.allowed
    assert refused.reset_seconds == 1

    await asyncio.sleep(1.1)

    again = await limiter.hit("ip:x", 1)
    assert again.allowed
    assert again.remaining == 0


async def test_every_counter_expires(limiter_for, redis_url, redis_client):
    limiter = limiter_for(redis_url)
    await limiter.hit("user:a", 5)
    assert 0 < await redis_client.pttl(f"{limiter.key_prefix}user:a") <= 60_000

    # A counter left without expiry (by hand, or an older version) gets one rather than blocking forever.
    await redis_client.set(f"{limiter.key_prefix}user:stuck", 100)
    decision = await limiter.hit("user:stuck", 5)
    assert not decision.allowed
    assert 0 < await redis_client.pttl(f"{limiter.key_prefix}user:stuck") <= 60_000
    await redis_client.delete(f"{limiter.key_prefix}user:stuck")


async def test_concurrent_hits_never_exceed_the_limit(limiter_for, redis_url):
    limiter = limiter_for(redis_url)

    decisions = await asyncio.gather(*(limiter.hit("user:busy", 10) for _ in range(50)))

    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))


async def test_fails_open_quickly_when_redis_is_unreachable(limiter_for):
    limiter = limiter_for("redis://127.0.0.1:1/0", pause_seconds=60)
    labels = {"operation": "rate_limit"}
    errors_before = REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", labels) or 0.0

    started = time.perf_counter()
    first = await limiter.hit("user:a", 1)
    second = await limiter.hit("user:a", 1)  # within the pause: Redis is not even tried
    elapsed = time.perf_counter() - started

    assert first is None and second is None  # None: no decision, the request goes on
    assert REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", labels) == errors_before + 1
    assert elapsed < 1.0


async def test_tries_redis_again_after_the_pause(limiter_for):
    limiter = limiter_for("redis://127.0.0.1:1/0", pause_seconds=0.05)
    labels = {"operation": "rate_limit"}
    errors_before = REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", labels) or 0.0

    await limiter.hit("user:a", 1)
    await asyncio.sleep(0.1)
    await limiter.hit("user:a", 1)

    assert REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", labels) == errors_before + 2


async def test_one_round_trip_checks_revocation_and_counts(limiter_for, redis_url, redis_client, unique):
    limiter = limiter_for(redis_url)
    revoked_key = f"lathe:test-revoked:{unique()}"

    revoked, first = await limiter.hit_unless_revoked("user:a", 5, revoked_key)
    await redis_client.set(revoked_key, "1", ex=60)
    try:
        revoked_later, uncounted = await limiter.hit_unless_revoked("user:a", 5, revoked_key)
    finally:
        await redis_client.delete(revoked_key)
    _, after = await limiter.hit_unless_revoked("user:a", 5, revoked_key)

    assert revoked is False and first is not None and first.allowed and first.remaining == 4
    assert revoked_later is True and uncounted is None
    assert after is not None and after.remaining == 3  # the revoked request was not counted
    assert 0 < await redis_client.pttl(f"{limiter.key_prefix}user:a") <= 60_000


async def test_the_combined_check_fails_open_and_counts_both_operations(limiter_for):
    limiter = limiter_for("redis://127.0.0.1:1/0", pause_seconds=60)
    names = ("revocation_check", "rate_limit")
    before = {
        name: REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", {"operation": name}) or 0.0
        for name in names
    }

    result = await limiter.hit_unless_revoked("user:a", 1, "lathe:test-revoked:x")

    assert result == (False, None)  # not revoked, not counted: the request goes on
    for name in names:
        assert REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", {"operation": name}) == before[name] + 1
