"""X-Forwarded-For from an untrusted client cannot pick its rate-limit bucket, through a real gateway process.

The stack's own gateway shares its login bucket for 127.0.0.1 with every other test, so this one
starts a second gateway (``python -m lathe_gateway serve``, exactly as deployed) on a free port,
with its rate-limit counters in a Redis database of their own, in front of the stack's services.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis.asyncio as redis

from .conftest import env

pytestmark = pytest.mark.e2e

LOGIN_LIMIT = 10  # the gateway's default login_rate_limit_per_minute
SEPARATE_REDIS_DB = 7  # the stack's gateway and services use database 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_database(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture
async def separate_gateway() -> AsyncIterator[httpx.AsyncClient]:
    redis_url = redis_database(env("REDIS_URL"), SEPARATE_REDIS_DB)
    client = redis.from_url(redis_url)
    await client.flushdb()  # counters of an earlier run of this test (its own database)
    await client.aclose()
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lathe_gateway",
        "serve",
        env={
            **os.environ,
            "LATHE_GATEWAY_PORT": str(port),
            "LATHE_GATEWAY_REDIS_URL": redis_url,
            "LATHE_GATEWAY_AUTH_URL": env("LATHE_AUTH_URL"),
            "LATHE_GATEWAY_PRODUCTION_URL": env("LATHE_PRODUCTION_URL"),
            "LATHE_GATEWAY_ORDERS_URL": env("LATHE_ORDERS_URL"),
            "LATHE_GATEWAY_ANALYTICS_URL": env("LATHE_ANALYTICS_URL"),
            "LATHE_GATEWAY_TRUSTED_PROXIES": "",  # the default, stated: this gateway is the edge
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as gateway:
            for _ in range(100):
                try:
                    if (await gateway.get("/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.returncode is not None:
                    pytest.fail(f"the gateway exited with {process.returncode}")
                await asyncio.sleep(0.2)
            else:
                pytest.fail("the separate gateway did not start within 20 s")
            yield gateway
    finally:
        process.terminate()
        await process.wait()


async def test_rotating_x_forwarded_for_does_not_escape_the_login_limit(separate_gateway):
    statuses = []
    for n in range(LOGIN_LIMIT + 5):
        response = await separate_gateway.post(
            "/api/v1/auth/login",
            json={"username": "nobody-at-all", "password": "Wrong-Password-1"},
            headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
        )
        statuses.append(response.status_code)
    # Every request came from 127.0.0.1, whatever it claimed: one bucket, and it runs out.
    assert statuses[:LOGIN_LIMIT] == [401] * LOGIN_LIMIT
    assert statuses[LOGIN_LIMIT:] == [429] * 5
