"""The assembled gateway's rate limits: buckets per address, per user, for sign-in; trusted proxies (real Redis)."""

from __future__ import annotations

import base64
import json

import pytest

pytestmark = pytest.mark.integration


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------- rate limits


async def test_anonymous_requests_are_limited_per_address(start_gateway, new_client_address, code_of):
    address = new_client_address()
    gateway = await start_gateway(client=address, anonymous_rate_limit_per_minute=2)

    first, second, third = [await gateway.get("/api/v1/lots") for _ in range(3)]

    assert [first.status_code, second.status_code] == [401, 401]
    assert first.headers["RateLimit-Limit"] == "2" and first.headers["RateLimit-Remaining"] == "1"
    assert third.status_code == 429
    assert code_of(third) == "rate_limited"
    assert third.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert third.headers["Retry-After"] == third.headers["RateLimit-Reset"]

    elsewhere = await start_gateway(client=new_client_address(), anonymous_rate_limit_per_minute=2)
    assert (await elsewhere.get("/api/v1/lots")).status_code == 401  # another address, another bucket


async def test_public_routes_count_as_anonymous(start_gateway, new_client_address):
    gateway = await start_gateway(client=new_client_address(), anonymous_rate_limit_per_minute=1)

    assert (await gateway.get("/health/live")).status_code == 200
    assert (await gateway.get("/health/live")).status_code == 429


async def test_users_are_limited_per_token_subject(start_gateway, signing_key, upstreams, code_of):
    gateway = await start_gateway(rate_limit_per_minute=2, anonymous_rate_limit_per_minute=100)
    alice, bob = signing_key.mint(), signing_key.mint()  # different subs, same address

    statuses = [(await gateway.get("/api/v1/lots", headers=_bearer(alice))).status_code for _ in range(3)]
    bobs = await gateway.get("/api/v1/lots", headers=_bearer(bob))
    # A new token of the same user shares the user's bucket.
    alice_again = signing_key.mint(sub=_subject(alice))
    refused = await gateway.get("/api/v1/lots", headers=_bearer(alice_again))

    assert statuses == [200, 200, 429]
    assert bobs.status_code == 200 and bobs.headers["RateLimit-Remaining"] == "1"
    assert refused.status_code == 429 and code_of(refused) == "rate_limited"
    assert len(upstreams.received) == 3


def _subject(token: str) -> str:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["sub"]


async def test_login_and_refresh_have_their_own_stricter_limit(start_gateway, new_client_address, upstreams):
    gateway = await start_gateway(
        client=new_client_address(), login_rate_limit_per_minute=2, anonymous_rate_limit_per_minute=100
    )
    logins = [(await gateway.post("/api/v1/auth/login", json={})).status_code for _ in range(3)]
    refresh = await gateway.post("/api/v1/auth/refresh", json={})
    other = await gateway.get("/health/live")

    assert logins == [200, 200, 429]
    assert refresh.status_code == 200 and refresh.headers["RateLimit-Limit"] == "2"
    assert other.status_code == 200 and other.headers["RateLimit-Limit"] == "100"
    assert len(upstreams.received) == 3


async def test_limits_can_be_switched_off(start_gateway, signing_key):
    gateway = await start_gateway(rate_limits_enabled=False, anonymous_rate_limit_per_minute=1)

    responses = [await gateway.get("/api/v1/lots", headers=_bearer(signing_key.mint())) for _ in range(3)]
    anonymous = [await gateway.get("/health/live") for _ in range(3)]

    assert [r.status_code for r in responses + anonymous] == [200] * 6
    assert all("RateLimit-Limit" not in r.headers for r in responses + anonymous)


async def test_a_trusted_proxy_forwards_the_real_client(start_gateway, new_client_address, upstreams):
    client_a, client_b = new_client_address(), new_client_address()
    gateway = await start_gateway(client="10.9.8.7", trusted_proxies=["10.9.8.7"], login_rate_limit_per_minute=1)

    first = await gateway.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": client_a})
    second = await gateway.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": client_b})
    again = await gateway.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": client_a})

    assert [first.status_code, second.status_code, again.status_code] == [200, 200, 429]
    assert upstreams.received[0].headers["x-forwarded-for"] == client_a
    assert upstreams.received[0].service == "auth"


async def test_an_untrusted_peer_cannot_pick_its_bucket(start_gateway, new_client_address, upstreams):
    peer = new_client_address()
    gateway = await start_gateway(client=peer, login_rate_limit_per_minute=1)

    first = await gateway.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": new_client_address()})
    second = await gateway.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": new_client_address()})

    assert [first.status_code, second.status_code] == [200, 429]
    assert upstreams.received[0].headers["x-forwarded-for"] == peer  # the claim is not passed on either


# ------------------------------------------------------------------------------------- proxying
