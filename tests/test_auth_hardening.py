"""Auth hardening, end to end: revocation at the services themselves, and logins that cannot stall the auth service."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from .conftest import SERVICE_PORTS, bearer

pytestmark = pytest.mark.e2e


async def test_services_called_directly_refuse_a_token_revoked_by_logout(accounts, gateway):
    user = await accounts.create_user("operator")
    tokens = await accounts.login(user["username"], user["password"])
    direct = {
        "auth": f"http://127.0.0.1:{SERVICE_PORTS['auth']}/api/v1/auth/me",
        "production": f"http://127.0.0.1:{SERVICE_PORTS['production']}/api/v1/lots?limit=1",
    }
    async with httpx.AsyncClient(timeout=10) as client:
        for url in direct.values():
            assert (await client.get(url, headers=bearer(tokens["access_token"]))).status_code == 200, url

        out = await gateway.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
        assert out.status_code == 204

        for service, url in direct.items():
            again = await client.get(url, headers=bearer(tokens["access_token"]))
            assert again.status_code == 401, (service, again.text)
            assert again.json()["code"] == "token_revoked", service


async def test_a_login_flood_does_not_stall_jwks_or_refresh(accounts, auth_url):
    """argon2 (~0.1 s each) runs in worker threads, never on the event loop: while a burst of
    logins queues for the hasher, the same process answers JWKS and refreshes at once."""
    users = await asyncio.gather(*(accounts.create_user("viewer") for _ in range(8)))
    session = await accounts.login(users[0]["username"], users[0]["password"])
    # Shift change: eight people signing in, twice each, and eight names that exist nowhere.
    attempts = [{"username": u["username"], "password": u["password"]} for u in users] * 2
    attempts += [{"username": f"nobody-{n}", "password": "Not-A-Password-1"} for n in range(8)]
    limits = httpx.Limits(max_connections=len(attempts) + 4)
    async with httpx.AsyncClient(base_url=auth_url, timeout=60, limits=limits) as auth:
        flood = [asyncio.create_task(auth.post("/api/v1/auth/login", json=attempt)) for attempt in attempts]
        await asyncio.sleep(0.2)  # the logins are in: reading the hash, hashing, or queued for it
        in_flight = sum(not task.done() for task in flood)

        started = time.perf_counter()
        jwks = await auth.get("/.well-known/jwks.json")
        jwks_seconds = time.perf_counter() - started
        started = time.perf_counter()
        refreshed = await auth.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
        refresh_seconds = time.perf_counter() - started

        logins = await asyncio.gather(*flood)
    assert jwks.status_code == 200 and refreshed.status_code == 200, refreshed.text
    assert [r.status_code for r in logins] == [200] * 16 + [401] * 8
    assert in_flight > len(attempts) // 2, "the flood was nearly over before JWKS was asked: nothing was measured"
    assert jwks_seconds < 0.5, f"JWKS took {jwks_seconds:.2f} s during the login flood"
    # A refresh does real database work on a machine whose cores the hashing keeps busy: a looser
    # bound than JWKS, still far below the seconds it waited behind argon2 on the event loop.
    assert refresh_seconds < 1.0, f"a refresh took {refresh_seconds:.2f} s during the login flood"
