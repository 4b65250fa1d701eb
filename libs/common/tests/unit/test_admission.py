"""Admission control: beyond its capacity a process refuses at once instead of queueing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from lathe_common.admission import Admission
from lathe_common.http import health_router, install_http_plumbing


async def test_a_slot_freed_in_time_admits_the_waiting_request_and_otherwise_it_is_shed():
    gate = Admission("unit", max_in_flight=2, max_wait_seconds=0.05)
    assert await gate.enter() and await gate.enter()
    assert not await gate.enter()  # full, and nothing frees a slot within 50 ms

    async def free_soon() -> None:
        await asyncio.sleep(0.01)
        gate.leave()

    freeing = asyncio.create_task(free_soon())
    assert await gate.enter()  # waited, then admitted
    await freeing


def app_with(max_in_flight: int, *, release: asyncio.Event) -> FastAPI:
    app = FastAPI()
    install_http_plumbing(
        app, "unit", admission=Admission("unit-app", max_in_flight=max_in_flight, max_wait_seconds=0.05)
    )
    app.include_router(health_router({}))

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await release.wait()
        return {"ok": "yes"}

    return app


async def test_requests_beyond_capacity_get_503_overloaded_with_retry_after_while_probes_pass():
    release = asyncio.Event()
    app = app_with(2, release=release)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit") as client:
        in_flight = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        await asyncio.sleep(0.02)
        shed = await asyncio.gather(*(client.get("/slow") for _ in range(3)))
        probe = await client.get("/health/live")
        release.set()
        served = await asyncio.gather(*in_flight)
    assert [r.status_code for r in served] == [200, 200]
    for response in shed:
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "overloaded"
    assert probe.status_code == 200


@pytest.mark.parametrize("requests", [1, 5])
async def test_within_capacity_nothing_is_shed(requests):
    release = asyncio.Event()
    release.set()
    app = app_with(5, release=release)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit") as client:
        answers = await asyncio.gather(*(client.get("/slow") for _ in range(requests)))
    assert {r.status_code for r in answers} == {200}


async def test_exempt_routes_such_as_event_streams_hold_no_slot():
    """A long-lived stream would hold a slot for as long as it lasts; its route is left to its own
    limit (``admission_exempt``) and ordinary requests are admitted beside any number of them."""
    release = asyncio.Event()
    app = FastAPI()
    install_http_plumbing(
        app,
        "unit",
        admission=Admission("unit-exempt", max_in_flight=1, max_wait_seconds=0.05),
        admission_exempt=["/stream"],
    )

    @app.get("/stream")
    async def stream() -> dict[str, str]:
        await release.wait()
        return {"ok": "yes"}

    @app.get("/quick")
    async def quick() -> dict[str, str]:
        return {"ok": "yes"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit") as client:
        streams = [asyncio.create_task(client.get("/stream")) for _ in range(3)]
        await asyncio.sleep(0.02)
        quick_answers = [await client.get("/quick") for _ in range(2)]
        release.set()
        assert {r.status_code for r in await asyncio.gather(*streams)} == {200}
    assert [r.status_code for r in quick_answers] == [200, 200]
