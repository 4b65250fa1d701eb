"""Shared fixtures: a signing key the gateway trusts, token minting, and a gateway app in-process.

The gateway under test is the real app (``create_app``) with its real Redis (REDIS_URL from
.run/stack.env); only the auth service's JWKS (a KeySource) and the network to the services (an
httpx MockTransport playing the upstreams) are replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import redis.asyncio as redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import PyJWK
from jwt.algorithms import OKPAlgorithm
from lathe_common.auth import AUDIENCE, ISSUER
from lathe_gateway.main import create_app
from lathe_gateway.settings import GatewaySettings

KID = "test-key-1"


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: start the stack (make up) and `set -a; source .run/stack.env; set +a`")
    return url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def unique() -> Callable[[], str]:
    """Fresh names for Redis keys, so runs (and the running stack) never share a counter."""
    return lambda: uuid.uuid4().hex


def random_client_address() -> str:
    # A documentation-range IPv6 address: rate-limit buckets of separate tests and runs never meet.
    return f"2001:db8::{random.getrandbits(16):x}:{random.getrandbits(16):x}:{random.getrandbits(16):x}"


@dataclass
class SigningKey:
    private_key: Ed25519PrivateKey
    kid: str
    jwk: PyJWK

    def mint(self, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid4()),
            "preferred_username": "operator",
            "scope": "lots:read",
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + 900,
        }
        payload.update(claims)
        return jwt.encode(payload, self.private_key, algorithm="EdDSA", headers={"kid": self.kid, **(headers or {})})


class StaticKeys:
    """A KeySource holding the test key, as the auth service's JWKS would."""

    def __init__(self, *keys: PyJWK) -> None:
        self.keys = {key.key_id: key for key in keys}

    async def key_for(self, kid: str) -> PyJWK | None:
        return self.keys.get(kid)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return SigningKey(private_key, KID, PyJWK({**jwk, "kid": KID, "alg": "EdDSA", "use": "sig"}))


@dataclass
class Upstreams:
    """Plays the four services: records what reached them and answers with ``respond``."""

    received: list[httpx.Request] = field(default_factory=list)
    respond: Callable[[httpx.Request], Awaitable[httpx.Response]] | None = None

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.respond is not None:
            return await self.respond(request)
        return httpx.Response(
            200,
            json={
                "host": request.url.host,
                "method": request.method,
                "raw_path": request.url.raw_path.decode(),
                "headers": dict(request.headers),
            },
        )


SERVICE_URLS = {
    "auth_url": "http://auth.test",
    "production_url": "http://production.test",
    "orders_url": "http://orders.test",
    "analytics_url": "http://analytics.test",
}


@pytest.fixture
def upstreams() -> Upstreams:
    return Upstreams()


GatewayFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def start_gateway(redis_url: str, signing_key: SigningKey, upstreams: Upstreams) -> AsyncIterator[GatewayFactory]:
    """``await start_gateway(client=..., **settings)``: a running gateway app and a client to call it.

    Settings the tests rely on are given explicitly, so LATHE_GATEWAY_* in the environment cannot
    change what is tested.
    """
    async with contextlib.AsyncExitStack() as stack:

        async def start(*, client: str | None = None, **overrides: Any) -> httpx.AsyncClient:
            values: dict[str, Any] = {
                "redis_url": redis_url,
                **SERVICE_URLS,
                "rate_limits_enabled": True,
                "rate_limit_per_minute": 600,
                "anonymous_rate_limit_per_minute": 120,
                "login_rate_limit_per_minute": 10,
                "trusted_proxies": [],
                "cors_origins": [],
                "upstream_timeout_seconds": 30.0,
                "upstream_timeouts_seconds": {"analytics": 60.0},
            }
            values.update(overrides)
            config = GatewaySettings(**values)
            app = create_app(
                config, key_source=StaticKeys(signing_key.jwk), upstream_transport=httpx.MockTransport(upstreams.handle)
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app, client=(client or random_client_address(), 50123))
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
            )

        yield start


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    body = json.loads(response.content)
    assert body["status"] == response.status_code
    return str(body["code"])


@pytest.fixture
def code_of() -> Callable[[httpx.Response], str]:
    """The problem+json ``code`` of a response, after checking it is problem+json."""
    return problem_code


@pytest.fixture
def new_client_address() -> Callable[[], str]:
    return random_client_address
