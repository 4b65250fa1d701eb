"""Signing in, refreshing, signing out and locking out, end to end.

Authenticated calls go through the gateway; logins and refreshes go to the auth service directly,
because the gateway's strict per-address limit on them is the subject of its own tests."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from lathe_common.testing import eventually

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


def new_address() -> str:
    # A documentation-range address per test: lockouts of separate tests and runs never meet.
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def sign_in(auth: httpx.AsyncClient, username: str, password: str, address: str, **headers: str):
    # Straight to auth, which believes X-Forwarded-For from loopback (the gateway's address in
    # the local stack): the request comes "from" ``address``, as the gateway would say.
    return auth.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address, **headers},
    )


async def test_a_lockout_from_one_address_leaves_the_owner_in_from_another(accounts, auth):
    user = await accounts.create_user("operator")
    attacker, owner = new_address(), new_address()
    codes = [(await sign_in(auth, user["username"], f"Wrong-{i}9x", attacker)).json()["code"] for i in range(5)]
    assert codes == ["invalid_credentials"] * 5

    # Locked from the attacker's address: even the right password gets the wrong-password answer.
    locked = await sign_in(auth, user["username"], user["password"], attacker)
    assert locked.status_code == 401 and locked.json()["code"] == "invalid_credentials"
    assert "retry-after" not in locked.headers
    # The owner, elsewhere, is not locked out.
    assert (await sign_in(auth, user["username"], user["password"], owner)).status_code == 200

    unlocked = await auth.post(f"/api/v1/users/{user['id']}/unlock", headers=bearer(await accounts.admin_token()))
    assert unlocked.status_code == 200
    assert (await sign_in(auth, user["username"], user["password"], attacker)).status_code == 200


async def test_concurrent_wrong_passwords_are_each_counted(accounts, auth):
    user = await accounts.create_user("viewer")
    address = new_address()
    burst = await asyncio.gather(*(sign_in(auth, user["username"], f"Wrong-{i}9x", address) for i in range(4)))
    assert [r.status_code for r in burst] == [401] * 4
    await sign_in(auth, user["username"], "Wrong-49x", address)  # the fifth: locked, if none was lost
    assert (await sign_in(auth, user["username"], user["password"], address)).status_code == 401


async def test_unknown_wrong_and_locked_accounts_get_byte_identical_answers(accounts, auth):
    locked_user, other_user = await accounts.create_user("viewer"), await accounts.create_user("viewer")
    address = new_address()
    for i in range(5):
        await sign_in(auth, locked_user["username"], f"Wrong-{i}9x", address)
    same_id = {"X-Request-ID": uuid.uuid4().hex}  # request ids aside, nothing may differ

    answers = {
        "unknown account": await sign_in(auth, f"nobody-{uuid.uuid4().hex[:8]}", "Whatever-1x", address, **same_id),
        "wrong password": await sign_in(auth, other_user["username"], "Whatever-1x", address, **same_id),
        "locked account": await sign_in(auth, locked_user["username"], locked_user["password"], address, **same_id),
    }

    def shape(response: httpx.Response) -> tuple:
        headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
        return response.status_code, headers, response.content

    assert answers["unknown account"].status_code == 401
    assert answers["unknown account"].json()["code"] == "invalid_credentials"
    assert shape(answers["unknown account"]) == shape(answers["wrong password"]) == shape(answers["locked account"])


async def test_wrong_current_passwords_lock_password_changes_and_sign_ins_from_that_address(accounts, auth):
    user = await accounts.create_user("engineer")
    token = (await accounts.login(user["username"], user["password"]))["access_token"]
    guesser, elsewhere = new_address(), new_address()

    async def change(current: str, address: str) -> httpx.Response:
        return await auth.put(
            "/api/v1/auth/me/password",
            json={"current_password": current, "new_password": "Brand-New-42"},
            headers={**bearer(token), "X-Forwarded-For": address},
        )

    wrong = [await change(f"Guess-{i}-Nope", guesser) for i in range(5)]
    assert [(r.status_code, r.json()["code"]) for r in wrong] == [(422, "wrong_password")] * 5
    refused = await change(user["password"], guesser)  # even the right one, while locked
    assert refused.status_code == 429 and refused.json()["code"] == "account_locked"
    assert int(refused.headers["retry-after"]) > 0
    # The same lockout as sign-ins: from this address those are refused too.
    assert (await sign_in(auth, user["username"], user["password"], guesser)).status_code == 401

    assert (await change(user["password"], elsewhere)).status_code == 204
    assert (await sign_in(auth, user["username"], "Brand-New-42", elsewhere)).status_code == 200


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

    # Through the users service: announced like an administrator's reset, and so audited.
    quality = bearer(await accounts.token_for("quality"))

    async def password_change_audited() -> bool:
        params = {"subject": user["id"], "event_type": "lathe.auth.user.updated.v1"}
        entries = (await gateway.get("/api/v1/audit-logs", params=params, headers=quality)).json()["items"]
        return any(entry["data"]["changed"] == ["password"] for entry in entries)

    assert await eventually(password_change_audited)
