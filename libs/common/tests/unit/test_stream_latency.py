"""An event stream's latency is the time to its head: how long it stays open is the client's
choice and would drown every other latency of the service in the histogram."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from lathe_common.http import install_http_plumbing
from prometheus_client import REGISTRY


def duration_sum(route: str) -> float:
    labels = {"service": "unit-latency", "method": "GET", "route": route}
    return REGISTRY.get_sample_value("lathe_http_request_duration_seconds_sum", labels) or 0.0


async def test_a_stream_counts_to_its_head_and_an_ordinary_answer_to_its_end():
    app = FastAPI()
    install_http_plumbing(app, "unit-latency")

    async def events():
        yield b": open\n\n"
        await asyncio.sleep(0.4)
        yield b"event: step\ndata: {}\n\n"

    @app.get("/events")
    async def stream() -> StreamingResponse:
        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/slow")
    async def slow() -> StreamingResponse:
        return StreamingResponse(events(), media_type="application/json")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://unit") as client:
        assert (await client.get("/events")).status_code == 200
        assert (await client.get("/slow")).status_code == 200
    assert duration_sum("/events") < 0.2
    assert duration_sum("/slow") >= 0.4
