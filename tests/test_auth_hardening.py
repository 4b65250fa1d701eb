"""Auth hardening, end to end: revocation at the services themselves, and logins that cannot stall the auth service."""

from __future__ import annotations

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
