"""The JWKS cache: keys expire after cache_seconds (a retired key stops verifying), unknown kids
refetch at most once per min_refetch_seconds, and a failed fetch keeps the keys we had."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from lathe_common import auth
from lathe_common.auth import JwksKeySource


def jwk(kid: str) -> dict:
    public = OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate().public_key(), as_dict=True)
    return {**public, "kid": kid, "alg": "EdDSA", "use": "sig"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeAuthService:
    """Answers the JWKS URL with ``published`` keys, or 503 while ``down``."""

    def __init__(self, *kids: str) -> None:
        self.published = {kid: jwk(kid) for kid in kids}
        self.down = False
        self.fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.down:
            return httpx.Response(503)
        return httpx.Response(200, json={"keys": list(self.published.values())})


@pytest.fixture
def service(monkeypatch) -> FakeAuthService:
    fake = FakeAuthService("old", "new")
    real_client = httpx.AsyncClient
    monkeypatch.setattr(
        auth.httpx, "AsyncClient", lambda **kw: real_client(transport=httpx.MockTransport(fake.handle), **kw)
    )
    return fake


def source(clock: Clock) -> JwksKeySource:
    return JwksKeySource("http://auth/.well-known/jwks.json", cache_seconds=300, min_refetch_seconds=1, clock=clock)


async def test_a_retired_key_stops_verifying_once_the_cache_expires(service):
    clock = Clock()
    keys = source(clock)
    assert await keys.key_for("old") is not None
    del service.published["old"]  # python -m lathe_auth retire-key old

    clock.now += 299
    assert await keys.key_for("old") is not None  # within the cache time: still trusted, no fetch
    assert service.fetches == 1
    clock.now += 2
    assert await keys.key_for("old") is None
    assert await keys.key_for("new") is not None
    assert service.fetches == 2


async def test_fresh_keys_are_served_without_fetching(service):
    clock = Clock()
    keys = source(clock)
    for _ in range(5):
        assert await keys.key_for("new") is not None
        clock.now += 10
    assert service.fetches == 1


async def test_an_unknown_kid_refetches_at_most_once_per_interval(service):
    clock = Clock()
    keys = source(clock)
    await keys.key_for("new")
    assert await keys.key_for("forged-kid") is None
    assert service.fetches == 1  # the fetch a moment ago is recent enough
    clock.now += 1
    for _ in range(10):
        assert await keys.key_for("forged-kid") is None
    assert service.fetches == 2  # one fetch for the unknown kid, not ten
    service.published["rotated"] = jwk("rotated")
    clock.now += 1
    assert await keys.key_for("rotated") is not None  # a rotation's new key, picked up at once
    assert service.fetches == 3


async def test_a_failed_fetch_keeps_the_last_keys_and_is_retried(service, caplog):
    clock = Clock()
    keys = source(clock)
    await keys.key_for("old")
    service.down = True
    clock.now += 301

    assert await keys.key_for("old") is not None  # stale, but the auth service is not answering
    assert "still using the 2 keys we had" in caplog.text
    assert await keys.key_for("old") is not None
    assert service.fetches == 2  # not again within min_refetch_seconds

    service.down = False
    del service.published["old"]
    clock.now += 1
    assert await keys.key_for("old") is None  # back up: the retirement takes effect
    assert service.fetches == 3
