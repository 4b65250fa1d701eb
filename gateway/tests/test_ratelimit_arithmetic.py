"""The rate limiter's arithmetic, without Redis: allowed, remaining, reset, Retry-After, headers.

(test_ratelimit.py runs the same limiter against the stack's real Redis.)
"""

from __future__ import annotations

import pytest
from lathe_gateway.ratelimit import RateLimitDecision, decide


@pytest.mark.parametrize(
    ("count", "allowed", "remaining"),
    [(1, True, 2), (2, True, 1), (3, True, 0), (4, False, 0), (5, False, 0), (1000, False, 0)],
)
def test_the_limit_th_request_is_the_last_allowed(count, allowed, remaining):
    decision = decide(count, 30_000, 3)
    assert (decision.allowed, decision.remaining, decision.limit) == (allowed, remaining, 3)


def test_a_limit_of_one():
    assert decide(1, 60_000, 1) == RateLimitDecision(allowed=True, limit=1, remaining=0, reset_seconds=60)
    assert decide(2, 60_000, 1) == RateLimitDecision(allowed=False, limit=1, remaining=0, reset_seconds=60)


@pytest.mark.parametrize(
    ("ttl_ms", "reset_seconds"),
    [(60_000, 60), (59_001, 60), (59_000, 59), (1_001, 2), (1_000, 1), (999, 1), (1, 1), (0, 1), (-1, 1)],
)
def test_the_reset_is_whole_seconds_rounded_up_and_never_zero(ttl_ms, reset_seconds):
    assert decide(1, ttl_ms, 10).reset_seconds == reset_seconds


def test_an_allowed_request_carries_the_ratelimit_fields_without_retry_after():
    decision = decide(1, 42_500, 600)
    assert decision.headers() == {"RateLimit-Limit": "600", "RateLimit-Remaining": "599", "RateLimit-Reset": "43"}


def test_a_refused_request_also_says_when_to_retry():
    decision = decide(11, 7_000, 10)
    assert decision.headers() == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "7",
        "Retry-After": "7",
    }


def test_raw_headers_are_the_same_fields_as_asgi_pairs():
    assert decide(11, 7_000, 10).raw_headers() == [
        (b"ratelimit-limit", b"10"),
        (b"ratelimit-remaining", b"0"),
        (b"ratelimit-reset", b"7"),
        (b"retry-after", b"7"),
    ]
    assert decide(1, 1_000, 2).raw_headers() == [
        (b"ratelimit-limit", b"2"),
        (b"ratelimit-remaining", b"1"),
        (b"ratelimit-reset", b"1"),
    ]
