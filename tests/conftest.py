"""Cross-service tests: the running stack of `make up`, reached the way users reach it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis.asyncio as redis

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


@pytest.fixture(scope="session")
def auth_url() -> str:
    return env("LATHE_AUTH_URL")


class Accounts:
    """Signs in and creates users. Logins go straight to the auth service so that the gateway's
    strict per-address login limit is left to the tests that are about it."""

    def __init__(self, auth_url: str, gateway_url: str) -> None:
        self.auth_url = auth_url
        self.gateway_url = gateway_url
        self._admin_token: str | None = None

    async def login(self, username: str, password: str) -> dict:
        async with httpx.AsyncClient(base_url=self.auth_url, timeout=10) as client:
            response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    async def admin_token(self) -> str:
        if self._admin_token is None:
            tokens = await self.login(env("LATHE_ADMIN_USERNAME"), env("LATHE_ADMIN_PASSWORD"))
            self._admin_token = tokens["access_token"]
        return self._admin_token

    async def create_user(self, role: str, *, password: str = "Plant-Floor-42") -> dict:
        username = f"{role}-{uuid.uuid4().hex[:8]}"
        # Set-up, not the subject: straight to auth, so the admin's gateway bucket is left alone.
        async with httpx.AsyncClient(base_url=self.auth_url, timeout=10) as client:
            response = await client.post(
                "/api/v1/users",
                json={"username": username, "password": password, "role": role, "full_name": f"Test {role}"},
                headers={"Authorization": f"Bearer {await self.admin_token()}"},
            )
        assert response.status_code == 201, response.text
        return response.json() | {"password": password}

    async def token_for(self, role: str) -> str:
        user = await self.create_user(role)
        return (await self.login(user["username"], user["password"]))["access_token"]


@pytest.fixture(scope="session")
def accounts(auth_url, gateway_url) -> Accounts:
    return Accounts(auth_url, gateway_url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Spec limits a test process can carry (the shape of the default P03's, but the test's own copy).
OFFSET_LIMITS = {"offset_mv": {"unit": "mV", "lower_limit": -5, "upper_limit": 5, "target": 0}}


class Catalog:
    """Processes and product models that a test makes for itself, with codes no other test or run uses.

    Plants edit and deactivate their processes through the API, the eight defaults included, so a
    test that borrowed a default would pass or fail by what someone did to the stack before it.
    Only the test of the defaults themselves (test_production_catalog.py) reads them."""

    def __init__(self, gateway: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.gateway, self.headers = gateway, headers

    async def process(self, quality_criteria: dict | None = None, *, name: str = "Test step") -> str:
        """A new active process; returns its code. Numbers are drawn at random (they are unique, and
        a test cannot know which are free), so a clash with another process's number draws again."""
        for _ in range(5):
            code = f"T_{uuid.uuid4().hex[:12].upper()}"
            body = {
                "process_code": code,
                "process_number": 100_000 + uuid.uuid4().int % 900_000,
                "name": name,
                "quality_criteria": quality_criteria or {},
            }
            created = await self.gateway.post("/api/v1/processes", json=body, headers=self.headers)
            if created.status_code == 201:
                return code
            assert created.status_code == 409 and created.json()["code"] == "process_exists", created.text
        pytest.fail("five process numbers drawn were all taken")

    async def processes(self, count: int) -> list[str]:
        return [await self.process() for _ in range(count)]

    async def model(self, routing: list[str], *, prefix: str = "TM") -> str:
        """A new product model with this routing; returns its code."""
        code = f"{prefix}-{uuid.uuid4().hex[:8]}"
        created = await self.gateway.post(
            "/api/v1/product-models",
            json={"model_code": code, "model_name": f"Test model {code}", "routing": routing},
            headers=self.headers,
        )
        assert created.status_code == 201, created.text
        return code


@pytest.fixture
async def auth(auth_url) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=auth_url, timeout=10) as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def separate_gateway(redis_database: int, **settings: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second gateway process (``python -m lathe_gateway serve``, exactly as deployed) on a free
    port, in front of the stack's services, with its rate-limit counters in a Redis database of
    its own (emptied first): for tests whose traffic or limits would disturb the stack's gateway,
    which every other test shares. ``settings`` are LATHE_GATEWAY_* values, named without it."""
    parts = urlsplit(env("REDIS_URL"))
    redis_url = urlunsplit(parts._replace(path=f"/{redis_database}"))
    client = redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    port = free_port()
    services = {
        f"LATHE_GATEWAY_{name}_URL": env(f"LATHE_{name}_URL") for name in ("AUTH", "PRODUCTION", "ORDERS", "ANALYTICS")
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lathe_gateway",
        "serve",
        env={
            **os.environ,
            **services,
            "LATHE_GATEWAY_PORT": str(port),
            "LATHE_GATEWAY_REDIS_URL": redis_url,
            **{f"LATHE_GATEWAY_{name.upper()}": value for name, value in settings.items()},
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as gateway:
            for _ in range(100):
                with contextlib.suppress(httpx.TransportError):
                    if (await gateway.get("/health/live")).status_code == 200:
                        break
                if process.returncode is not None:
                    pytest.fail(f"the gateway exited with {process.returncode}")
                await asyncio.sleep(0.2)
            else:
                pytest.fail("the separate gateway did not start within 20 s")
            yield gateway
    finally:
        process.terminate()
        await process.wait()
