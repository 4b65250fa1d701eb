"""X-Forwarded-For from an untrusted client cannot pick its rate-limit bucket, through a real gateway process.

The stack's own gateway shares its login bucket for 127.0.0.1 with every other test, so this one
starts a second gateway (``python -m lathe_gateway serve``, exactly as deployed) on a free port,
with its rate-limit counters in a Redis database of their own, in front of the stack's services.
The client connects from 127.0.0.1, the address uvicorn's own proxy-header handling trusted
(the hole this test closes).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import separate_gateway

pytestmark = pytest.mark.e2e

LOGIN_LIMIT = 10  # the gateway's default login_rate_limit_per_minute
# The stack's gateway and services use database 0, the fuzz test 8; one of the others at random,
# so a run of this test that starts while another is under way rarely empties its counters.
SEPARATE_REDIS_DB = random.randint(9, 15)


@pytest.fixture
async def gateway_of_its_own() -> AsyncIterator[httpx.AsyncClient]:
    # Trusted proxies: none, the default, stated: this gateway is the edge. A patient Redis
    # timeout, so a busy machine does not make the limiter fail open in the middle of the test.
    async with separate_gateway(SEPARATE_REDIS_DB, trusted_proxies="", redis_timeout_seconds="2") as gateway:
        yield gateway


async def test_rotating_x_forwarded_for_does_not_escape_the_login_limit(gateway_of_its_own):
    statuses = []
    for n in range(LOGIN_LIMIT + 5):
        response = await gateway_of_its_own.post(
            "/api/v1/auth/login",
            json={"username": "nobody-at-all", "password": "Wrong-Password-1"},
            headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
        )
        statuses.append(response.status_code)
    # Every request came from 127.0.0.1, whatever it claimed: one bucket, and it runs out.
    assert statuses[:LOGIN_LIMIT] == [401] * LOGIN_LIMIT
    assert statuses[LOGIN_LIMIT:] == [429] * 5
