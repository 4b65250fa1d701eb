"""The running stack: every process ready, observable, and the gateway in front of it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from .conftest import SERVICE_PORTS, bearer

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("name,port", SERVICE_PORTS.items())
async def test_every_process_is_live_ready_and_exports_metrics(name, port):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        assert (await client.get("/health/live")).status_code == 200
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"].values()) == {"ok"}
        metrics = (await client.get("/metrics")).text
    assert f'lathe_http_requests_total{{method="GET",route="/health/ready",service="{name}",status="200"}}' in metrics


def test_the_stack_environment_is_readable_by_its_owner_only():
    stack_env = Path(__file__).resolve().parents[1] / ".run" / "stack.env"
    if not stack_env.exists():  # LATHE_RUN_DIR elsewhere: the file the tests were given instead
        stack_env = Path(os.environ.get("LATHE_RUN_DIR", "")) / "stack.env"
    assert stat.S_IMODE(stack_env.stat().st_mode) == 0o600


async def test_gateway_readiness_reports_each_service(gateway):
    checks = (await gateway.get("/health/ready")).json()["checks"]
    assert checks == {"redis": "ok", "auth": "ok", "production": "ok", "orders": "ok", "analytics": "ok"}


async def test_gateway_routes_by_prefix_and_propagates_the_request_id(gateway, accounts):
    headers = {"X-Request-ID": "e2e-req-1"} | bearer(await accounts.admin_token())
    response = await gateway.get("/api/v1/audit-logs", params={"limit": 1}, headers=headers)
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "e2e-req-1"
    assert {"items", "limit", "next"} <= response.json().keys()


async def test_unknown_route_is_a_problem_not_a_500(gateway, accounts):
    anonymous = await gateway.get("/api/v1/no-such-thing")
    assert anonymous.status_code == 401  # nothing about the API is revealed before sign-in
    response = await gateway.get("/api/v1/no-such-thing", headers=bearer(await accounts.admin_token()))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "route_not_found"


async def test_bad_query_parameters_are_422_problems_through_the_gateway(gateway, accounts):
    response = await gateway.get(
        "/api/v1/audit-logs", params={"limit": 100000}, headers=bearer(await accounts.admin_token())
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
