"""Redis calls the gateway can do without: when Redis is down, requests go on unchecked.

Rate limits and the revocation list both live in Redis. If Redis is unreachable the gateway
lets requests through rather than stopping the plant floor: rate limits are a protection against
overload, not an authorisation rule, and a revoked access token is still signed, unexpired and
short-lived (15 minutes), so the exposure is bounded. Each failure increments
``lathe_gateway_redis_errors_total{operation}`` (alert on it) and logs a warning at most every
``redis_warning_interval_seconds``. After a failure Redis is left alone for
``redis_failure_pause_seconds`` so a Redis that times out does not add its timeout to every request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as redis
from prometheus_client import Counter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

logger = logging.getLogger(__name__)

T = TypeVar("T")

REDIS_ERRORS = Counter(
    "lathe_gateway_redis_errors_total", "Redis calls that failed, so the request went on unchecked", ["operation"]
)


def connect(url: str, *, timeout_seconds: float) -> redis.Redis:
    # redis-py retries 10 times with backoff by default; one quick retry only replaces a pooled
    # connection that Redis closed, anything longer would hold every request while Redis is down.
    return redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
    )


class FailOpenRedis:
    def __init__(
        self, client: redis.Redis, *, pause_seconds: float = 1.0, warning_interval_seconds: float = 30.0
    ) -> None:
        self.client = client
        self.pause_seconds = pause_seconds
        self.warning_interval_seconds = warning_interval_seconds
        self._paused_until = float("-inf")
        self._last_warning = float("-inf")

    async def run(self, operation: str | tuple[str, ...], call: Callable[[redis.Redis], Awaitable[T]]) -> T | None:
        """The call's result, or None when Redis failed (or failed less than a pause ago).

        ``operation`` labels the error counter; a call that does several checks at once (a tuple)
        counts its failure once under each, since each went unchecked."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            return await call(self.client)
        except (redis.RedisError, OSError) as exc:
            names = (operation,) if isinstance(operation, str) else operation
            for name in names:
                REDIS_ERRORS.labels(name).inc()
            now = time.monotonic()
            self._paused_until = now + self.pause_seconds
            if now - self._last_warning >= self.warning_interval_seconds:
                self._last_warning = now
                logger.warning("Redis unavailable (%s: %r); letting requests through unchecked", "+".join(names), exc)
            return None
