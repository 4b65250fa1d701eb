"""Cross-service tests: the running stack of `make up`, reached the way users reach it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

SERVICE_PORTS = {"gateway": 8000, "auth": 8001, "production": 8002, "orders": 8003, "analytics": 8004}


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test` (it starts the stack and exports it)")
    return value


@pytest.fixture(scope="session")
def gateway_url() -> str:
    return env("GATEWAY_URL")


@pytest.fixture(scope="session")
def kafka() -> str:
    return env("KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture(scope="session")
def superuser_dsn() -> str:
    return env("DATABASE_URL")


@pytest.fixture
async def gateway(gateway_url) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
        yield client
