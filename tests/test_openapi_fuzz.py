"""Schemathesis fuzzes every operation of the gateway's merged OpenAPI: no answer is a server error.

It runs against a gateway process of its own (the stack's services behind it) whose rate limits
are high enough for the fuzzer, as a freshly created admin, with a bounded number of cases per
operation and a fixed seed, so a failure can be reproduced with the command it prints.
Signing out and changing the password are left out: they would end the fuzzer's own session.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from .conftest import separate_gateway

pytestmark = pytest.mark.e2e

FUZZ_REDIS_DB = 8
CASES_PER_OPERATION = 15
SEED = 20261130
NOT_FUZZED = ("/api/v1/auth/logout", "/api/v1/auth/me/password")


@pytest.fixture
async def roomy_gateway() -> AsyncIterator[httpx.AsyncClient]:
    limits = {"rate_limit_per_minute": "1000000", "anonymous_rate_limit_per_minute": "1000000"}
    async with separate_gateway(FUZZ_REDIS_DB, login_rate_limit_per_minute="1000000", **limits) as gateway:
        yield gateway


async def test_no_operation_answers_with_a_server_error(roomy_gateway, accounts):
    token = await accounts.token_for("admin")
    base = str(roomy_gateway.base_url).rstrip("/")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{base}/openapi.json",
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        str(CASES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        *[argument for path in NOT_FUZZED for argument in ("--exclude-path", path)],
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"}
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-20_000:]
    assert "Rate limited" not in report, report[-5_000:]  # the fuzzer reached the services
