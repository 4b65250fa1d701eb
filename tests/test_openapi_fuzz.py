"""Schemathesis fuzzes every operation of the gateway's merged OpenAPI: every answer is one the
document promises (its status, its content type, a body matching its schema: problem+json with a
documented code for refusals), a request the schema rules out is refused, a 405 names in Allow
the methods the document lists, and no answer is a server error.

It runs against a gateway process of its own (the stack's services behind it) whose rate limits
are high enough for the fuzzer, as a freshly created admin, with a bounded number of cases per
operation and a fixed seed, so a failure can be reproduced with the command it prints.
Signing out and changing the password are left out: they would end the fuzzer's own session;
so is the realtime stream, which never ends by itself.
Every call that changes an existing resource goes to one this test made for the fuzzer (see
fuzz_hooks.py): the shared admin and the default processes are never touched.

``positive_data_acceptance`` is not among the checks: some refusals of schema-valid requests are
right and no JSON schema can state their rule (a cursor the server did not give out, a routing
naming a process that does not exist, lower_limit above upper_limit, started_at after
completed_at, NUL characters and 64-bit overflow anywhere in a body); what a schema can state
(one of model_code / product_model_id, patterns, bounds, unique items, the password rules) it does.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from .conftest import bearer, separate_gateway

pytestmark = pytest.mark.e2e

FUZZ_REDIS_DB = 8
CASES_PER_OPERATION = 15
SEED = 20261130
# The realtime stream answers 200 and stays open for as long as the client does (until the
# token expires): every case would wait out the request timeout. Its parameters and refusals are
# tested in test_analytics_stream.py.
NOT_FUZZED = ("/api/v1/auth/logout", "/api/v1/auth/me/password", "/api/v1/analytics/stream")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",  # every status answered is documented for the operation
    "content_type_conformance",  # ... with the content type answered (application/problem+json)
    "response_schema_conformance",  # ... and the body matches its schema (a documented code)
    "response_headers_conformance",
    "negative_data_rejection",  # what the schema rules out is refused
    "unsupported_method",  # a method the document does not list is 405 with Allow
    "allow_header_conformance",  # ... and Allow lists exactly what it documents
)
HOOKS = Path(__file__).with_name("fuzz_hooks.py")


@pytest.fixture
async def roomy_gateway() -> AsyncIterator[httpx.AsyncClient]:
    limits = {"rate_limit_per_minute": "1000000", "anonymous_rate_limit_per_minute": "1000000"}
    async with separate_gateway(FUZZ_REDIS_DB, login_rate_limit_per_minute="1000000", **limits) as gateway:
        yield gateway


async def owned_resources(gateway: httpx.AsyncClient, accounts, token: str) -> dict[str, str]:
    """What the fuzzer may change: a user, a process, a product model, a LOT and one of its units."""
    admin = bearer(token)
    victim = await accounts.create_user("viewer")
    code = f"FUZZ_{uuid.uuid4().hex[:8].upper()}"
    number = 100_000 + uuid.uuid4().int % 900_000
    made = await gateway.post(
        "/api/v1/processes", json={"process_code": code, "process_number": number, "name": "Fuzzed"}, headers=admin
    )
    assert made.status_code == 201, made.text
    model = f"FUZZ-{uuid.uuid4().hex[:8]}"
    made = await gateway.post(
        "/api/v1/product-models", json={"model_code": model, "model_name": "Fuzzed", "routing": [code]}, headers=admin
    )
    assert made.status_code == 201, made.text
    lot = (await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": 100}, headers=admin)).json()
    units = (await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 1}, headers=admin)).json()
    return {
        "user_id": victim["id"],
        "process": code,
        "model": model,
        "lot": lot["lot_number"],
        "serial_number": units["items"][0]["serial_number"],
    }


async def test_every_operation_answers_as_its_document_says(roomy_gateway, accounts):
    token = await accounts.token_for("admin")
    owned = await owned_resources(roomy_gateway, accounts, token)
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
        ",".join(CHECKS),
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
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": str(HOOKS), "LATHE_FUZZ_OWNED": json.dumps(owned)},
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-20_000:]
    assert "Rate limited" not in report, report[-5_000:]  # the fuzzer reached the services
