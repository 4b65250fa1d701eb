"""The verified-token cache (pure) and its use by AccessTokens (a stub verifier, no Redis needed)."""

from __future__ import annotations

import time

import pytest
from lathe_common.auth import Principal, TokenCache
from lathe_common.errors import Unauthorized
from lathe_gateway.tokens import AccessTokens, bearer_token


def _principal(expires_at: int, user: str = "u1") -> Principal:
    return Principal(
        user_id=user,
        username=user,
        role="operator",
        scopes=frozenset({"lots:read"}),
        token_id=f"jti-{user}",
        session_id=None,
        expires_at=expires_at,
    )


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_served_until_its_expiry_and_never_after():
    clock = Clock(1000.0)
    cache = TokenCache(10, clock=clock)
    cache.put("t1", _principal(expires_at=1100))

    clock.now = 1099.9
    assert cache.get("t1") == _principal(expires_at=1100)
    clock.now = 1100.0  # exp itself: the token is verified afresh (and the verifier decides)
    assert cache.get("t1") is None
    assert len(cache) == 0


def test_expired_tokens_are_not_stored():
    cache = TokenCache(10, clock=Clock(2000.0))
    cache.put("late", _principal(expires_at=2000))
    assert cache.get("late") is None and len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_least_recently_used():
    cache = TokenCache(2, clock=Clock(0.0))
    cache.put("a", _principal(100, "a"))
    cache.put("b", _principal(100, "b"))
    assert cache.get("a") is not None  # "a" is now the most recently used

    cache.put("c", _principal(100, "c"))

    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_size_zero_stores_nothing():
    cache = TokenCache(0, clock=Clock(0.0))
    cache.put("a", _principal(100))
    assert cache.get("a") is None


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_parsing(header, token):
    assert bearer_token(header) == token


class CountingVerifier:
    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.calls: list[str] = []
        self.key_retired = False

    async def verify(self, token: str) -> Principal:
        self.calls.append(token)
        if token == "forged" or self.key_retired:
            raise Unauthorized("bad", code="invalid_token")
        return self.principal

    async def still_trusted(self, principal: Principal) -> bool:
        return not self.key_retired


async def test_repeated_requests_skip_verification_but_other_strings_do_not():
    verifier = CountingVerifier(_principal(int(time.time()) + 900))
    tokens = AccessTokens(verifier, redis=None, cache=TokenCache(10))  # type: ignore[arg-type]

    first = await tokens.principal("Bearer good")
    again = await tokens.principal("Bearer good")
    with pytest.raises(Unauthorized):
        await tokens.principal("Bearer forged")
    with pytest.raises(Unauthorized):
        await tokens.principal("Bearer forged")  # failures are never cached

    assert first == again
    assert verifier.calls == ["good", "forged", "forged"]


async def test_without_a_cache_every_request_is_verified():
    verifier = CountingVerifier(_principal(int(time.time()) + 900))
    tokens = AccessTokens(verifier, redis=None, cache=None)  # type: ignore[arg-type]

    await tokens.principal("Bearer good")
    await tokens.principal("Bearer good")

    assert verifier.calls == ["good", "good"]


async def test_a_cached_token_whose_key_was_retired_is_verified_afresh_and_refused():
    verifier = CountingVerifier(_principal(int(time.time()) + 900))
    tokens = AccessTokens(verifier, redis=None, cache=TokenCache(10))  # type: ignore[arg-type]
    await tokens.principal("Bearer good")

    verifier.key_retired = True  # python -m lathe_auth retire-key, seen by the JWKS cache
    with pytest.raises(Unauthorized):
        await tokens.principal("Bearer good")
    assert verifier.calls == ["good", "good"]
