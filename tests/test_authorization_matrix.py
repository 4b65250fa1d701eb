"""Every API route × every role, generated from the services' own route tables and the role table.

A route that declares no permission fails here, so a new endpoint cannot ship open by accident.
Calls carry empty bodies and random ids: an allowed call answers 4xx for the input (never 401/403)
and changes nothing; a denied one answers 403 before any input is looked at.
"""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from lathe_auth.roles import ROLE_SCOPES, Role
from lathe_common.auth import AUTHENTICATED, declared_access

from .conftest import bearer, separate_gateway

pytestmark = pytest.mark.e2e


def service_routes() -> list[tuple[str, str, str, str | None]]:
    import lathe_analytics.main
    import lathe_auth.main
    import lathe_orders.main
    import lathe_production.main

    found = []
    for module in (lathe_auth.main, lathe_production.main, lathe_orders.main, lathe_analytics.main):
        # Routers are included lazily (FastAPI 0.16x): app.routes holds them unexpanded.
        for route in iter_route_contexts(module.app.routes):
            if isinstance(route.original_route, APIRoute) and route.path_format.startswith(("/api/", "/.well-known/")):
                for method in sorted(route.methods):
                    found.append((module.__name__.split(".")[0], method, route.path_format, declared_access(route)))
    # Logging out ends the caller's session: ask it last.
    return sorted(found, key=lambda r: r[2].endswith("/logout"))


ROUTES = service_routes()


def test_the_matrix_sees_every_service_s_routes():
    # A matrix that finds no routes passes by checking nothing (it did, for a while).
    by_service = {svc: sum(1 for s, *_ in ROUTES if s == svc) for svc, *_ in ROUTES}
    assert set(by_service) == {"lathe_auth", "lathe_production", "lathe_orders", "lathe_analytics"}, by_service
    assert all(count >= 3 for count in by_service.values()), by_service


def test_every_route_declares_its_permission():
    undeclared = [f"{svc}: {method} {path}" for svc, method, path, access in ROUTES if access is None]
    assert not undeclared, f"routes without requires(...) / PUBLIC / CurrentPrincipal: {undeclared}"


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()) if m.group(0).endswith("id}") else "zz-none", path)


async def status_and_code(gateway, method: str, path: str, **kwargs) -> tuple[int, str | None]:
    """An answer's status, and its problem code when refused. Only the head of an allowed answer is
    read: an event stream (GET /api/v1/analytics/stream) answers 200 and never ends by itself."""
    async with gateway.stream(method, path, **kwargs) as response:
        if response.status_code < 400:
            return response.status_code, None
        await response.aread()
        return response.status_code, response.json().get("code")


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_each_role_gets_exactly_what_its_scopes_allow(role, accounts, gateway):
    token = await accounts.token_for(role)
    wrong = []
    for _, method, path, access in ROUTES:
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        status, code = await status_and_code(gateway, method, concrete(path), json=body, headers=bearer(token))
        if access in ("public", AUTHENTICATED) or access in ROLE_SCOPES[Role(role)]:
            if status in (401, 403):
                wrong.append(f"{method} {path}: expected allowed ({access}), got {status}")
        elif status != 403 or code != "insufficient_scope":
            wrong.append(f"{method} {path}: expected 403 (needs {access}), got {status}")
    assert not wrong, "\n".join(wrong)


# Requests without a token share one bucket per address (ANONYMOUS_RATE_LIMIT_PER_MINUTE, 120),
# and every test on this machine comes from 127.0.0.1: the routes outnumber it.
ANONYMOUS_REDIS_DB = 7


async def test_no_token_means_401_on_every_protected_route():
    wrong = []
    async with separate_gateway(ANONYMOUS_REDIS_DB, anonymous_rate_limit_per_minute="100000") as gateway:
        for _, method, path, access in ROUTES:
            if access == "public":
                continue
            response = await gateway.request(
                method, concrete(path), json={} if method in {"POST", "PUT", "PATCH"} else None
            )
            if response.status_code != 401 or response.headers["content-type"] != "application/problem+json":
                wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, wrong
