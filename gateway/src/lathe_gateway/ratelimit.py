"""Request counting in Redis: a fixed window per key, shared by every gateway replica.

One Lua script increments the key and, on its first hit, sets the window's expiry, atomically,
so replicas cannot race and a crash cannot leave a counter without an expiry. The window starts
at a key's first request and lasts ``window_seconds``; a client can therefore send up to twice
the limit around a window boundary, an accepted cost of one key and one round trip per request.
Expiry is Redis's clock, so replicas' clocks do not matter.

For a signed-in user the same script first looks up the token's revocation key, so the gateway
needs one round trip per request for both: a revoked token is not counted in its user's bucket
(the gateway counts it as anonymous instead, like any other refused token).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lathe_gateway.fail_open_redis import FailOpenRedis

REVOKED = -1  # the script's count when the revocation key exists

# KEYS[1]: the counter; KEYS[2], optional: a key whose existence means "revoked, count nothing".
_HIT = """
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  return {-1, 0}
end
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window ends

    def headers(self) -> dict[str, str]:
        """IETF draft RateLimit-* fields, sent on every limited response; plus Retry-After on a refusal."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """``headers()`` as ASGI header pairs."""
        return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers().items()]


def decide(count: int, ttl_ms: int, limit: int) -> RateLimitDecision:
    """The arithmetic of a window, free of Redis: the ``count``-th request of a window that has
    ``ttl_ms`` milliseconds left, against ``limit``. The reset is in whole seconds, rounded up and
    never 0 (a client told to wait 0 s would retry at once)."""
    return RateLimitDecision(
        allowed=count <= limit,
        limit=limit,
        remaining=max(0, limit - count),
        reset_seconds=max(1, math.ceil(ttl_ms / 1000)),
    )


class RateLimiter:
    def __init__(self, redis: FailOpenRedis, *, window_seconds: int = 60, key_prefix: str = "lathe:ratelimit:") -> None:
        self.redis = redis
        self.window_seconds = window_seconds
        self.key_prefix = key_prefix
        self._script = redis.client.register_script(_HIT)

    async def hit(self, key: str, limit: int) -> RateLimitDecision | None:
        """Count one request against ``key``; None when Redis could not be asked (the request goes on)."""
        result = await self.redis.run(
            "rate_limit", lambda _: self._script(keys=[self.key_prefix + key], args=[self.window_seconds * 1000])
        )
        return None if result is None else decide(int(result[0]), int(result[1]), limit)

    async def hit_unless_revoked(self, key: str, limit: int, revoked_key: str) -> tuple[bool, RateLimitDecision | None]:
        """(revoked, decision) in one round trip: whether ``revoked_key`` exists, and if not, ``hit(key, limit)``.

        A revoked request is not counted (decision None). When Redis cannot be asked, the answer is
        (False, None): not revoked, not counted, and the failure counts against both operations."""
        result = await self.redis.run(
            ("revocation_check", "rate_limit"),
            lambda _: self._script(keys=[self.key_prefix + key, revoked_key], args=[self.window_seconds * 1000]),
        )
        if result is None:
            return False, None
        if int(result[0]) == REVOKED:
            return True, None
        return False, decide(int(result[0]), int(result[1]), limit)
