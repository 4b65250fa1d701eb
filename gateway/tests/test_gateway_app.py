"""The assembled gateway: proxying, failures, metrics, CORS, the merged docs (rate limits: test_gateway_limits)."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

pytestmark = pytest.mark.integration


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_routing_and_per_service_timeouts(start_gateway, signing_key, upstreams, code_of):
    async def slow_analytics(service: str, request: web.Request) -> web.Response:
        if service == "analytics":
            await asyncio.sleep(1.0)
        return web.json_response({"service": service})

    upstreams.respond = slow_analytics
    gateway = await start_gateway(upstream_timeout_seconds=30, upstream_timeouts_seconds={"analytics": 0.2})
    token = signing_key.mint()

    analytics = await gateway.get("/api/v1/audit-logs", headers=_bearer(token))
    production = await gateway.get("/api/v1/lots", headers=_bearer(token))

    assert [received.service for received in upstreams.received] == ["analytics", "production"]
    assert analytics.status_code == 504 and code_of(analytics) == "upstream_timeout"  # its own, short timeout
    assert production.status_code == 200 and production.json()["service"] == "production"


async def test_requests_reach_the_service_with_method_body_and_ids(start_gateway, signing_key, upstreams):
    gateway = await start_gateway()

    response = await gateway.patch(
        "/api/v1/lots/L1",
        headers={**_bearer(signing_key.mint()), "X-Request-ID": "req-42", "Content-Type": "application/json"},
        content=b'{"note":"x"}',
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    received = upstreams.received[0]
    assert (received.service, received.method, received.body) == ("production", "PATCH", b'{"note":"x"}')
    assert received.headers["x-request-id"] == "req-42"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["content-length"] == "12"


async def test_path_escapes_and_query_reach_the_service_as_sent(start_gateway, signing_key, upstreams):
    gateway = await start_gateway()

    path = "/api/v1/serials/SN%2F001?include=history&x=a%26b"
    response = await gateway.get(path, headers=_bearer(signing_key.mint()))

    assert response.status_code == 200
    assert upstreams.received[0].raw_path == path
    assert upstreams.received[0].service == "production"


async def test_upstream_errors_pass_through_unchanged(start_gateway, signing_key, upstreams):
    body = b'{"type":"https://lathe.dev/problems/lot_closed","status":409,"code":"lot_closed"}'

    async def conflict(service: str, request: web.Request) -> web.Response:
        response = web.Response(status=409, body=body, content_type="application/problem+json")
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        response.headers["X-Custom"] = "kept"
        return response

    upstreams.respond = conflict
    gateway = await start_gateway()

    response = await gateway.post("/api/v1/lots/L1/close", headers=_bearer(signing_key.mint()))

    assert response.status_code == 409
    assert response.content == body
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers["x-custom"] == "kept"
    assert response.headers["content-length"] == str(len(body))


async def test_redirects_and_compressed_bodies_pass_through_as_sent(start_gateway, signing_key, upstreams):
    original = b'{"lots": []}'
    compressed = gzip.compress(original)

    async def answer(service: str, request: web.Request) -> web.Response:
        if request.path.endswith("/moved"):
            return web.Response(status=307, headers={"Location": "/api/v1/lots/elsewhere"})
        return web.Response(body=compressed, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    upstreams.respond = answer
    gateway = await start_gateway()
    token = signing_key.mint()

    moved = await gateway.get("/api/v1/lots/moved", headers=_bearer(token), follow_redirects=False)
    raw = await gateway.get("/api/v1/lots", headers={**_bearer(token), "Accept-Encoding": "gzip"})

    assert moved.status_code == 307 and moved.headers["location"] == "/api/v1/lots/elsewhere"
    assert len(upstreams.received) == 2  # the gateway did not follow the redirect itself
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["content-length"] == str(len(compressed))  # the compressed bytes, passed as they came
    assert raw.content == original  # (decoded by the test's client)
    assert upstreams.received[1].headers["accept-encoding"] == "gzip"


async def test_an_unreachable_service_is_unavailable(start_gateway, signing_key, closed_port_url, code_of):
    gateway = await start_gateway(production_url=closed_port_url)

    response = await gateway.get("/api/v1/lots", headers=_bearer(signing_key.mint()))

    assert response.status_code == 503  # connection refused: not a timeout
    assert code_of(response) == "upstream_unavailable"
    assert response.headers["x-request-id"]


async def test_a_service_that_hangs_up_is_unavailable(start_gateway, signing_key, upstreams, code_of):
    async def hang_up(service: str, request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    upstreams.respond = hang_up
    gateway = await start_gateway()

    response = await gateway.post("/api/v1/lots", headers=_bearer(signing_key.mint()), json={})

    assert response.status_code == 503
    assert code_of(response) == "upstream_unavailable"


async def test_a_service_too_slow_to_answer_times_out(start_gateway, signing_key, upstreams, code_of):
    async def slow(service: str, request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return web.Response()

    upstreams.respond = slow
    gateway = await start_gateway(upstream_timeout_seconds=0.2, upstream_timeouts_seconds={})

    response = await gateway.get("/api/v1/lots", headers=_bearer(signing_key.mint()))

    assert response.status_code == 504
    assert code_of(response) == "upstream_timeout"


async def test_a_connection_that_cannot_be_opened_in_time_times_out(
    start_gateway, signing_key, unanswered_port_url, code_of
):
    gateway = await start_gateway(production_url=unanswered_port_url, upstream_connect_timeout_seconds=0.2)

    response = await gateway.get("/api/v1/lots", headers=_bearer(signing_key.mint()))

    assert response.status_code == 504
    assert code_of(response) == "upstream_timeout"


async def test_proxied_requests_are_measured_by_route_prefix(start_gateway, signing_key):
    gateway = await start_gateway()
    labels = {"service": "gateway", "method": "GET", "route": "/api/v1/serials", "status": "200"}
    before = REGISTRY.get_sample_value("lathe_http_requests_total", labels) or 0.0

    await gateway.get("/api/v1/serials/SN-1", headers=_bearer(signing_key.mint()))
    await gateway.get("/api/v1/serials/SN-2/history", headers=_bearer(signing_key.mint()))

    assert REGISTRY.get_sample_value("lathe_http_requests_total", labels) == before + 2
    assert REGISTRY.get_sample_value("lathe_http_requests_total", {**labels, "route": "/api/v1/serials/SN-1"}) is None


async def test_unknown_routes_need_a_token_before_they_are_unknown(start_gateway, signing_key, upstreams, code_of):
    gateway = await start_gateway()

    anonymous = await gateway.get("/api/v1/nothing-here")
    signed_in = await gateway.get("/api/v1/nothing-here", headers=_bearer(signing_key.mint()))
    dotted = await gateway.get("/api/v1/auth/%2E%2E/lots", headers=_bearer(signing_key.mint()))

    assert anonymous.status_code == 401
    assert signed_in.status_code == 404 and code_of(signed_in) == "route_not_found"
    assert dotted.status_code == 404 and code_of(dotted) == "route_not_found"
    assert upstreams.received == []


async def test_methods_the_gateway_does_not_forward_are_refused_after_the_token(
    start_gateway, signing_key, upstreams, code_of
):
    async def production_documents_lots(service: str, request: web.Request) -> web.Response:
        paths = {"/api/v1/lots": {"get": {}, "post": {}}, "/api/v1/lots/{lot}/status": {"post": {}}}
        paths = paths if service == "production" else {}
        return web.json_response({"openapi": "3.1.0", "info": {"title": service, "version": "1"}, "paths": paths})

    upstreams.respond = production_documents_lots
    gateway = await start_gateway()
    token = _bearer(signing_key.mint())

    anonymous = await gateway.request("TRACE", "/api/v1/lots")
    signed_in = await gateway.request("TRACE", "/api/v1/lots", headers=token)
    query = await gateway.request("QUERY", "/api/v1/lots/L-1/status", headers=token)
    undocumented = await gateway.request("TRACE", "/api/v1/lots/L-1/nothing", headers=token)
    own = await gateway.request("POST", "/openapi.json", headers=token)

    assert anonymous.status_code == 401
    assert signed_in.status_code == 405 and code_of(signed_in) == "method_not_allowed"
    # Allow names what the API documents at that path, as the services' own 405s do.
    assert signed_in.headers["allow"] == "GET, POST"
    assert query.status_code == 405 and query.headers["allow"] == "POST"
    assert undocumented.status_code == 404 and code_of(undocumented) == "route_not_found"
    assert own.status_code == 405 and own.headers["allow"] == "GET"
    assert [r.method for r in upstreams.received if r.method != "GET"] == []  # nothing forwarded


async def test_operations_endpoints_need_no_token(start_gateway, upstreams):
    async def healthy(service: str, request: web.Request) -> web.Response:
        return web.json_response({}, status=200 if request.path == "/health/ready" else 404)

    upstreams.respond = healthy
    gateway = await start_gateway()

    live, ready, metrics = [await gateway.get(path) for path in ("/health/live", "/health/ready", "/metrics")]

    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json()["checks"] == dict.fromkeys(["redis", "auth", "production", "orders", "analytics"], "ok")
    assert metrics.status_code == 200 and "lathe_gateway_rejected_requests_total" in metrics.text
    assert {received.service for received in upstreams.received} == {"auth", "production", "orders", "analytics"}


async def test_readiness_reports_a_service_that_is_down(start_gateway, closed_port_url):
    gateway = await start_gateway(orders_url=closed_port_url)

    ready = await gateway.get("/health/ready")

    assert ready.status_code == 503
    assert ready.json()["checks"]["orders"] == "down"
    assert ready.json()["checks"]["auth"] == "ok"


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


async def test_cors_headers_on_proxied_answers_and_on_the_gateways_own(start_gateway, signing_key):
    gateway = await start_gateway(cors_origins=["https://ui.example"])
    origin = {"Origin": "https://ui.example"}

    proxied = await gateway.get("/api/v1/lots", headers={**origin, **_bearer(signing_key.mint())})
    unknown = await gateway.get("/api/v1/nothing-here", headers=origin)
    own = await gateway.get("/health/live", headers=origin)

    assert proxied.status_code == 200
    assert [unknown.status_code, own.status_code] == [401, 200]
    for response in (proxied, unknown, own):
        assert response.headers["access-control-allow-origin"] == "https://ui.example"
        assert response.headers["x-request-id"]


# ----------------------------------------------------------------------------------------- docs


def _openapi_of(service: str) -> dict:
    paths = {
        "auth": {"/api/v1/auth/login": {"post": {"responses": {}}}, "/api/v1/users": {"get": {"responses": {}}}},
        "analytics": {"/api/v1/audit-logs": {"get": {"responses": {}}}},
    }[service]
    return {"openapi": "3.1.0", "info": {"title": service, "version": "1"}, "paths": paths}


async def test_openapi_merges_the_services_that_answer_and_caches(start_gateway, upstreams, closed_port_url):
    async def serve_openapi(service: str, request: web.Request) -> web.Response:
        if request.path != "/openapi.json" or service == "production":
            return web.json_response({}, status=503)
        return web.json_response(_openapi_of(service))

    upstreams.respond = serve_openapi
    gateway = await start_gateway(orders_url=closed_port_url)  # production fails, orders is down

    response = await gateway.get("/openapi.json")  # no token: public
    cached = await gateway.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) == {"/api/v1/auth/login", "/api/v1/users", "/api/v1/audit-logs"}
    assert "orders, production" in document["info"]["description"]
    assert document["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    assert cached.json() == document
    # One fetch per service that listens (orders does not), then the cache.
    assert sorted(received.service for received in upstreams.received) == ["analytics", "auth", "production"]


async def test_swagger_ui_is_public_and_points_at_the_merged_document(start_gateway):
    gateway = await start_gateway()

    docs = await gateway.get("/docs")
    redirect = await gateway.get("/docs/oauth2-redirect")

    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "url: '/openapi.json'" in docs.text
    assert "/docs/oauth2-redirect" in docs.text
    assert "initOAuth" in docs.text
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()
