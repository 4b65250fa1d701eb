"""The assembled gateway: rate limits per bucket, proxying, CORS, the merged docs (real Redis)."""

from __future__ import annotations

import base64
import json

import httpx
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


async def test_an_untrusted_peer_cannot_pick_its_bucket(start_gateway, new_client_address, upstreams):
    peer = new_client_address()
    gateway = await start_gateway(client=peer, login_rate_limit_per_minute=1)

    first = await gateway.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": new_client_address()})
    second = await gateway.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": new_client_address()})

    assert [first.status_code, second.status_code] == [200, 429]
    assert upstreams.received[0].headers["x-forwarded-for"] == peer  # the claim is not passed on either


# ------------------------------------------------------------------------------------- proxying


async def test_routing_and_per_service_timeouts(start_gateway, signing_key, upstreams):
    gateway = await start_gateway(upstream_timeout_seconds=30, upstream_timeouts_seconds={"analytics": 60})
    token = signing_key.mint()

    await gateway.get("/api/v1/analytics/yield", headers=_bearer(token))
    await gateway.get("/api/v1/work-orders", headers=_bearer(token))

    analytics, orders = upstreams.received
    assert analytics.url.host == "analytics.test" and analytics.extensions["timeout"]["read"] == 60
    assert orders.url.host == "orders.test" and orders.extensions["timeout"]["read"] == 30


async def test_path_escapes_and_query_reach_the_service_as_sent(start_gateway, signing_key, upstreams):
    gateway = await start_gateway()

    path = "/api/v1/serials/SN%2F001?include=history&x=a%26b"
    response = await gateway.get(path, headers=_bearer(signing_key.mint()))

    assert response.status_code == 200
    assert upstreams.received[0].url.raw_path == path.encode()


async def test_upstream_errors_pass_through_unchanged(start_gateway, signing_key, upstreams):
    body = b'{"type":"https://lathe.dev/problems/lot_closed","status":409,"code":"lot_closed"}'

    async def conflict(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            409,
            content=body,
            headers=[
                ("content-type", "application/problem+json"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("x-custom", "kept"),
            ],
        )

    upstreams.respond = conflict
    gateway = await start_gateway()

    response = await gateway.post("/api/v1/lots/L1/close", headers=_bearer(signing_key.mint()))

    assert response.status_code == 409
    assert response.content == body
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-custom"] == "kept"


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (httpx.ConnectError("refused"), 503, "upstream_unavailable"),
        (httpx.ReadTimeout("slow"), 504, "upstream_timeout"),
        (httpx.ConnectTimeout("slow"), 504, "upstream_timeout"),
    ],
)
async def test_unreachable_upstreams(start_gateway, signing_key, upstreams, code_of, failure, status, code):
    async def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    upstreams.respond = fail
    gateway = await start_gateway()

    response = await gateway.get("/api/v1/lots", headers=_bearer(signing_key.mint()))

    assert response.status_code == status
    assert code_of(response) == code


async def test_unknown_routes_need_a_token_before_they_are_unknown(start_gateway, signing_key, upstreams, code_of):
    gateway = await start_gateway()

    anonymous = await gateway.get("/api/v1/nothing-here")
    signed_in = await gateway.get("/api/v1/nothing-here", headers=_bearer(signing_key.mint()))
    dotted = await gateway.get("/api/v1/auth/%2E%2E/lots", headers=_bearer(signing_key.mint()))

    assert anonymous.status_code == 401
    assert signed_in.status_code == 404 and code_of(signed_in) == "route_not_found"
    assert dotted.status_code == 404 and code_of(dotted) == "route_not_found"
    assert upstreams.received == []


async def test_operations_endpoints_need_no_token(start_gateway, upstreams):
    async def healthy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.path == "/health/ready" else 404, json={})

    upstreams.respond = healthy
    gateway = await start_gateway()

    live, ready, metrics = [await gateway.get(path) for path in ("/health/live", "/health/ready", "/metrics")]

    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == dict.fromkeys(["redis", "auth", "production", "orders", "analytics"], "ok")
    assert metrics.status_code == 200 and "lathe_gateway_rejected_requests_total" in metrics.text


# ----------------------------------------------------------------------------------------- CORS


async def test_cors_is_off_by_default(start_gateway):
    gateway = await start_gateway()

    response = await gateway.get("/health/live", headers={"Origin": "https://ui.example"})

    assert "access-control-allow-origin" not in response.headers


async def test_cors_for_configured_origins(start_gateway):
    gateway = await start_gateway(cors_origins=["https://ui.example"])

    preflight = await gateway.options(
        "/api/v1/lots",
        headers={
            "Origin": "https://ui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    refused = await gateway.get("/api/v1/lots", headers={"Origin": "https://ui.example"})
    stranger = await gateway.get("/api/v1/lots", headers={"Origin": "https://evil.example"})

    assert preflight.status_code == 200  # no token needed to ask
    assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "https://ui.example"  # so the browser shows the 401
    assert "ratelimit-remaining" in refused.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in stranger.headers


# ----------------------------------------------------------------------------------------- docs


def _openapi_of(service: str) -> dict:
    paths = {
        "auth": {"/api/v1/auth/login": {"post": {"responses": {}}}, "/api/v1/users": {"get": {"responses": {}}}},
        "analytics": {"/api/v1/audit-logs": {"get": {"responses": {}}}},
    }[service]
    return {"openapi": "3.1.0", "info": {"title": service, "version": "1"}, "paths": paths}


async def test_openapi_merges_the_services_that_answer_and_caches(start_gateway, upstreams):
    async def serve_openapi(request: httpx.Request) -> httpx.Response:
        service = request.url.host.removesuffix(".test")
        if request.url.path != "/openapi.json" or service in {"production", "orders"}:
            raise httpx.ConnectError("down")
        return httpx.Response(200, json=_openapi_of(service))

    upstreams.respond = serve_openapi
    gateway = await start_gateway()

    response = await gateway.get("/openapi.json")  # no token: public
    cached = await gateway.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) == {"/api/v1/auth/login", "/api/v1/users", "/api/v1/audit-logs"}
    assert "orders, production" in document["info"]["description"]
    assert document["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    assert cached.json() == document
    assert len(upstreams.received) == 4  # one fetch per service, then the cache


async def test_swagger_ui_is_public_and_points_at_the_merged_document(start_gateway):
    gateway = await start_gateway()

    docs = await gateway.get("/docs")
    redirect = await gateway.get("/docs/oauth2-redirect")

    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "url: '/openapi.json'" in docs.text
    assert "/docs/oauth2-redirect" in docs.text
    assert "initOAuth" in docs.text
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()
