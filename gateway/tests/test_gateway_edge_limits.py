"""What the gateway refuses or rewrites at the edge: bodies over the limit, services' own addresses."""

from __future__ import annotations

import asyncio

from aiohttp import web


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def test_a_body_over_the_limit_gets_413_and_never_reaches_the_service(
    start_gateway, signing_key, upstreams, code_of
):
    gateway = await start_gateway(max_request_body_bytes=2048, request_body_limits={})
    headers = _bearer(signing_key.mint())

    declared = await gateway.post("/api/v1/processes", content=b"x" * 2049, headers=headers)

    async def stream():
        for _ in range(5):
            yield b"y" * 1000  # no Content-Length: sent chunked, refused once it passes the limit

    streamed = await gateway.post("/api/v1/processes", content=stream(), headers=headers)
    exactly = await gateway.post("/api/v1/processes", content=b"z" * 2048, headers=headers)

    assert declared.status_code == 413 and code_of(declared) == "payload_too_large"
    assert streamed.status_code == 413 and code_of(streamed) == "payload_too_large"
    assert exactly.status_code == 200
    assert [len(r.body) for r in upstreams.received] == [2048]


async def test_a_route_may_allow_larger_bodies(start_gateway, signing_key, upstreams, code_of):
    gateway = await start_gateway(max_request_body_bytes=2048, request_body_limits={"/api/v1/lots": 8192})
    headers = _bearer(signing_key.mint())

    bulk = await gateway.post("/api/v1/lots/L-1/serials", content=b"s" * 8000, headers=headers)
    other = await gateway.post("/api/v1/lotsX", content=b"s" * 8000, headers=headers)  # not under the prefix
    elsewhere = await gateway.post("/api/v1/processes", content=b"s" * 8000, headers=headers)

    assert bulk.status_code == 200 and len(upstreams.received[0].body) == 8000
    assert other.status_code in (404, 413) and elsewhere.status_code == 413


async def test_the_default_limit_is_one_mebibyte_with_room_for_a_lot_s_bulk_serials(start_gateway, signing_key):
    gateway = await start_gateway()
    headers = _bearer(signing_key.mint())
    assert (
        await gateway.post("/api/v1/processes", content=b"x" * (1024 * 1024 + 1), headers=headers)
    ).status_code == 413
    assert (await gateway.post("/api/v1/processes", content=b"x" * (1024 * 1024), headers=headers)).status_code == 200
    assert (
        await gateway.post("/api/v1/lots/L/serials", content=b"x" * (8 * 1024 * 1024), headers=headers)
    ).status_code == 200


async def test_a_service_s_own_address_in_location_never_reaches_the_client(start_gateway, signing_key, upstreams):
    async def redirect(service: str, request: web.Request) -> web.StreamResponse:
        target = upstreams.urls[f"{service}_url"] + "/api/v1/lots?limit=5"
        return web.Response(status=307, headers={"Location": target})

    upstreams.respond = redirect
    gateway = await start_gateway()
    response = await gateway.get("/api/v1/lots/", headers=_bearer(signing_key.mint()))

    assert response.status_code == 307
    assert response.headers["location"] == "/api/v1/lots?limit=5"
    assert "127.0.0.1" not in str(response.headers)


async def test_a_saturated_service_sheds_at_once_and_the_others_are_unaffected(start_gateway, signing_key, upstreams):
    release = asyncio.Event()

    async def slow_production(service: str, request: web.Request) -> web.StreamResponse:
        if service == "production":
            await release.wait()
        return web.json_response({"service": service})

    upstreams.respond = slow_production
    gateway = await start_gateway(max_in_flight_per_service=2, admission_wait_seconds=0.05)
    headers = _bearer(signing_key.mint())
    waiting = [asyncio.create_task(gateway.get("/api/v1/lots", headers=headers)) for _ in range(2)]
    await asyncio.sleep(0.1)
    shed = await gateway.get("/api/v1/lots", headers=headers)
    other = await gateway.get("/api/v1/users", headers=headers)
    release.set()
    served = await asyncio.gather(*waiting)

    assert shed.status_code == 503 and shed.json()["code"] == "overloaded" and shed.headers["retry-after"] == "1"
    assert other.status_code == 200 and other.json()["service"] == "auth"
    assert [r.status_code for r in served] == [200, 200]
    assert sum(1 for r in upstreams.received if r.service == "production") == 2  # the shed one never reached it
