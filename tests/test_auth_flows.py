"""Signing in, refreshing, signing out and locking out, end to end.

Authenticated calls go through the gateway; logins and refreshes go to the auth service directly,
because the gateway's strict per-address limit on them is the subject of its own tests."""

from __future__ import annotations

import httpx
import pytest

from .conftest import bearer

pytestmark = pytest.mark.e2e


async def test_login_then_call_a_service_through_the_gateway(gateway, accounts):
    user = await accounts.create_user("quality")
    tokens = await accounts.login(user["username"], user["password"])
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900

    me = await gateway.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == user["username"] and "audit:read" in me.json()["scopes"]
    audit = await gateway.get(
        "/api/v1/audit-logs", params={"subject": user["id"]}, headers=bearer(tokens["access_token"])
    )
    assert audit.status_code == 200


async def test_swagger_password_form_login_works(accounts, gateway):
    user = await accounts.create_user("viewer")
    response = await gateway.post(
        "/api/v1/auth/login",
        data={"username": user["username"], "password": user["password"], "grant_type": "password"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


async def test_refresh_rotates_and_reuse_closes_the_whole_session(accounts, auth):
    user = await accounts.create_user("operator")
    first = await accounts.login(user["username"], user["password"])

    second = (await auth.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = (await auth.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})).json()
    assert third["access_token"]

    replay = await auth.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "refresh_token_reused"
    # The thief's replay also ended the legitimate holder's session.
    after = await auth.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert after.status_code == 401 and after.json()["code"] == "invalid_refresh_token"


async def test_logout_revokes_the_access_token_and_the_refresh_family(accounts, gateway, auth):
    user = await accounts.create_user("viewer")
    tokens = await accounts.login(user["username"], user["password"])
    assert (await gateway.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))).status_code == 200

    out = await gateway.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 204

    again = await gateway.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert again.status_code == 401 and again.json()["code"] == "token_revoked"
    refresh = await auth.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


async def test_repeated_failures_lock_the_account_and_an_admin_unlocks_it(accounts, auth_url):
    user = await accounts.create_user("operator")
    async with httpx.AsyncClient(base_url=auth_url, timeout=10) as auth:
        codes = [
            (
                await auth.post("/api/v1/auth/login", json={"username": user["username"], "password": f"Wrong-{i}9x"})
            ).json()["code"]
            for i in range(5)
        ]
        assert codes == ["invalid_credentials"] * 5
        locked = await auth.post(
            "/api/v1/auth/login", json={"username": user["username"], "password": user["password"]}
        )
        assert locked.status_code == 401 and locked.json()["code"] == "account_locked"
        assert int(locked.headers["retry-after"]) > 0

        unlocked = await auth.post(f"/api/v1/users/{user['id']}/unlock", headers=bearer(await accounts.admin_token()))
        assert unlocked.status_code == 200
    assert (await accounts.login(user["username"], user["password"]))["access_token"]


async def test_unknown_user_and_wrong_password_look_the_same(auth_url, accounts):
    user = await accounts.create_user("viewer")
    async with httpx.AsyncClient(base_url=auth_url, timeout=10) as auth:
        ghost = await auth.post("/api/v1/auth/login", json={"username": "nobody-here", "password": "Whatever-1x"})
        wrong = await auth.post("/api/v1/auth/login", json={"username": user["username"], "password": "Whatever-1x"})
    assert ghost.status_code == wrong.status_code == 401
    assert ghost.json()["code"] == wrong.json()["code"] == "invalid_credentials"
    assert ghost.json()["detail"] == wrong.json()["detail"]


async def test_users_admin_filters_paginates_and_deactivates(accounts, gateway):
    admin = bearer(await accounts.admin_token())
    user = await accounts.create_user("purchasing")

    listed = (await gateway.get("/api/v1/users", params={"role": "purchasing", "limit": 1}, headers=admin)).json()
    assert listed["limit"] == 1 and len(listed["items"]) == 1 and listed["total"] >= 1
    assert all(u["role"] == "purchasing" for u in listed["items"])

    weak = await gateway.post(
        "/api/v1/users", json={"username": "weakling", "password": "password", "role": "viewer"}, headers=admin
    )
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
    dup = await gateway.post(
        "/api/v1/users",
        json={"username": user["username"], "password": "Plant-Floor-42", "role": "viewer"},
        headers=admin,
    )
    assert dup.status_code == 409 and dup.json()["code"] == "user_exists"

    gone = await gateway.delete(f"/api/v1/users/{user['id']}", headers=admin)
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    inactive = (
        await gateway.get("/api/v1/users", params={"is_active": False, "q": user["username"]}, headers=admin)
    ).json()
    assert [u["id"] for u in inactive["items"]] == [user["id"]]
    async with httpx.AsyncClient(base_url=accounts.auth_url) as auth:
        login = await auth.post("/api/v1/auth/login", json={"username": user["username"], "password": user["password"]})
    assert login.status_code == 401


async def test_password_change_requires_the_current_one(accounts, gateway):
    user = await accounts.create_user("engineer")
    token = (await accounts.login(user["username"], user["password"]))["access_token"]
    wrong = await gateway.put(
        "/api/v1/auth/me/password",
        json={"current_password": "Nope-Nope-1", "new_password": "Brand-New-42"},
        headers=bearer(token),
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password"
    ok = await gateway.put(
        "/api/v1/auth/me/password",
        json={"current_password": user["password"], "new_password": "Brand-New-42"},
        headers=bearer(token),
    )
    assert ok.status_code == 204
    assert (await accounts.login(user["username"], "Brand-New-42"))["access_token"]
