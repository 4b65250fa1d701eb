"""Shared fixtures: a signing key the gateway trusts, token minting, and a gateway app in-process.

The gateway under test is the real app (``create_app``) with its real Redis (REDIS_URL from
.run/stack.env) and real connections to the services, which are played by small aiohttp servers
on loopback ports (one per service, recording what reached them). Only the auth service's JWKS
is replaced (a KeySource holding a local Ed25519 key).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import redis.asyncio as redis
from aiohttp import web
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
class Received:
    """A request as a service saw it."""

    service: str
    method: str
    raw_path: str  # path and query, escapes as they arrived
    headers: dict[str, str]  # lower-case names
    body: bytes


SERVICES = ("auth", "production", "orders", "analytics")
Respond = Callable[[str, web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Upstreams:
    """Plays the four services: records what reached them and answers with ``respond``
    (by default a JSON echo of the request). ``urls`` holds the gateway settings that point at them."""

    received: list[Received] = field(default_factory=list)
    respond: Respond | None = None
    urls: dict[str, str] = field(default_factory=dict)

    def app_for(self, service: str) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            self.received.append(
                Received(
                    service,
                    request.method,
                    request.raw_path,
                    {name.lower(): value for name, value in request.headers.items()},
                    body,
                )
            )
            if self.respond is not None:
                return await self.respond(service, request)
            return web.json_response(
                {"service": service, "method": request.method, "raw_path": request.raw_path, "body": body.decode()}
            )

        app = web.Application(client_max_size=64 * 1024 * 1024)  # the limits under test are the gateway's
        app.router.add_route("*", "/{tail:.*}", handle)
        return app


@pytest.fixture
async def upstreams() -> AsyncIterator[Upstreams]:
    recorder = Upstreams()
    runners = []
    for service in SERVICES:
        runner = web.AppRunner(recorder.app_for(service), shutdown_timeout=0.5, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        runners.append(runner)
        recorder.urls[f"{service}_url"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield recorder
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def unanswered_port_url() -> Iterator[str]:
    """A loopback URL whose listen queue is full: a connection attempt hangs until it times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}"
    for sock in [*fillers, server]:
        sock.close()


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
                **upstreams.urls,
                "rate_limits_enabled": True,
                "rate_limit_per_minute": 600,
                "anonymous_rate_limit_per_minute": 120,
                "login_rate_limit_per_minute": 10,
                "trusted_proxies": [],
                "cors_origins": [],
                "upstream_timeout_seconds": 30.0,
                "upstream_timeouts_seconds": {"analytics": 60.0},
                "upstream_connect_timeout_seconds": 2.0,
                "token_cache_size": 10_000,
            }
            values.update(overrides)
            config = GatewaySettings(**values)
            app = create_app(config, key_source=StaticKeys(signing_key.jwk))
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
