"""Event streams through the gateway: passed on as written (never buffered), Last-Event-ID to the
service, no read timeout once the head has come, the service's connection closed when the client
leaves, and a limit of their own that leaves ordinary requests their slots.

A stream cannot be read through httpx's ASGI transport (it waits for the whole answer), so the
gateway app runs here under a real uvicorn server on a loopback port; the services are the
conftest's aiohttp servers, the analytics one answering the stream path with an event stream
the test writes event by event.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp import web
from lathe_gateway.main import create_app
from lathe_gateway.settings import GatewaySettings
from prometheus_client import REGISTRY

from .conftest import StaticKeys

STREAM = "/api/v1/analytics/stream"


@dataclass
class StreamingService:
    """The analytics service's stream: what the test puts in ``events`` is written as it comes."""

    events: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    head_delay: float = 0.0
    opened: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    last_event_ids: list[str | None] = field(default_factory=list)
    keep_writing: bool = False  # a comment every 50 ms, to notice the gateway closing

    async def respond(self, service: str, request: web.Request) -> web.StreamResponse:
        if service != "analytics" or request.path != STREAM:
            return web.json_response({"service": service})
        self.last_event_ids.append(request.headers.get("Last-Event-ID"))
        await asyncio.sleep(self.head_delay)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        self.opened += 1
        try:
            while True:
                if self.keep_writing:
                    await response.write(b": keep-alive\n\n")
                    await asyncio.sleep(0.05)
                    continue
                chunk = await self.events.get()
                if chunk is None:
                    break
                await response.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            self.closed.set()
            raise
        await response.write_eof()
        return response


@contextlib.asynccontextmanager
async def served_gateway(redis_url: str, signing_key, urls: dict[str, str], **overrides: Any) -> AsyncIterator[str]:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        **urls,
        "rate_limits_enabled": False,
        "trusted_proxies": [],
        "cors_origins": [],
        "upstream_timeout_seconds": 30.0,
        "upstream_timeouts_seconds": {"analytics": 60.0},
        "upstream_connect_timeout_seconds": 2.0,
        **overrides,
    }
    app = create_app(GatewaySettings(**values), key_source=StaticKeys(signing_key.jwk))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", proxy_headers=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), task.exception()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


@pytest.fixture
def service(upstreams) -> StreamingService:
    playing = StreamingService()
    upstreams.respond = playing.respond
    return playing


def bearer(signing_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {signing_key.mint(scope='analytics:read')}"}


async def read_until(lines: AsyncIterator[str], wanted: str, timeout: float = 3.0) -> list[str]:
    seen: list[str] = []

    async def read() -> None:
        async for line in lines:
            seen.append(line)
            if line == wanted:
                return

    await asyncio.wait_for(read(), timeout)
    return seen


async def test_an_event_stream_passes_through_as_it_is_written_with_last_event_id(
    redis_url, signing_key, upstreams, service
):
    async with served_gateway(redis_url, signing_key, upstreams.urls) as url, httpx.AsyncClient(base_url=url) as client:
        headers = bearer(signing_key) | {"Last-Event-ID": "41"}
        async with client.stream("GET", STREAM, headers=headers, timeout=10) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            assert "content-length" not in response.headers and response.headers["cache-control"] == "no-cache"
            lines = response.aiter_lines()
            await service.events.put(b'id: 42\nevent: step\ndata: {"n": 1}\n\n')
            # The first event is read while the service has not written the second: nothing waits
            # for the answer to end, nor for a buffer to fill.
            assert await read_until(lines, 'data: {"n": 1}') == ["id: 42", "event: step", 'data: {"n": 1}']
            await service.events.put(b'id: 43\nevent: step\ndata: {"n": 2}\n\n')
            assert (await read_until(lines, 'data: {"n": 2}'))[-3:] == ["id: 43", "event: step", 'data: {"n": 2}']
            await service.events.put(None)  # the service ends the stream: so does the gateway
            assert [line async for line in lines] == [""]
    assert service.last_event_ids == ["41"]


async def test_a_stream_may_stay_silent_longer_than_the_read_timeout_but_its_head_may_not(
    redis_url, signing_key, upstreams, service, code_of
):
    timeouts = {"upstream_timeouts_seconds": {"analytics": 0.3}}
    async with (
        served_gateway(redis_url, signing_key, upstreams.urls, **timeouts) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        async with client.stream("GET", STREAM, headers=bearer(signing_key), timeout=10) as response:
            assert response.status_code == 200
            await asyncio.sleep(1.0)  # over three read timeouts without a byte
            await service.events.put(b"event: kpi\ndata: {}\n\n")
            assert await read_until(response.aiter_lines(), "data: {}") == ["event: kpi", "data: {}"]
            await service.events.put(None)
        service.head_delay = 1.0
        late = await client.get(STREAM, headers=bearer(signing_key), timeout=10)
        assert late.status_code == 504 and code_of(late) == "upstream_timeout"


async def test_a_client_that_leaves_closes_the_service_s_stream(redis_url, signing_key, upstreams, service):
    service.keep_writing = True
    async with served_gateway(redis_url, signing_key, upstreams.urls) as url, httpx.AsyncClient(base_url=url) as client:
        async with client.stream("GET", STREAM, headers=bearer(signing_key), timeout=10) as response:
            await read_until(response.aiter_lines(), ": keep-alive")
        # The client has gone: the gateway closes its connection to the service within moments.
        await asyncio.wait_for(service.closed.wait(), 3)


async def test_streams_have_their_own_limit_and_leave_ordinary_requests_their_slots(
    redis_url, signing_key, upstreams, service, code_of
):
    limits = {"max_streams_per_service": 2, "max_in_flight_per_service": 1}
    async with (
        served_gateway(redis_url, signing_key, upstreams.urls, **limits) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
        contextlib.AsyncExitStack() as held,
    ):
        for _ in range(2):
            opened = await held.enter_async_context(client.stream("GET", STREAM, headers=bearer(signing_key)))
            assert opened.status_code == 200
        refused = await client.get(STREAM, headers=bearer(signing_key))
        assert refused.status_code == 503 and code_of(refused) == "overloaded"
        assert refused.headers["retry-after"] == "5"
        # The one request slot of analytics is free: two streams hold none of it.
        ordinary = await client.get("/api/v1/analytics/dashboard", headers=bearer(signing_key))
        assert ordinary.status_code == 200
        await held.aclose()  # both clients leave: their slots free as soon as the gateway notices
        statuses = []
        for _ in range(60):
            async with client.stream("GET", STREAM, headers=bearer(signing_key)) as reopened:
                statuses.append(reopened.status_code)
            if statuses[-1] == 200:
                break
            await asyncio.sleep(0.05)
        assert statuses[-1] == 200, statuses


async def test_a_stream_s_latency_is_its_time_to_the_head(redis_url, signing_key, upstreams, service):
    labels = {"service": "gateway", "method": "GET", "route": "/api/v1/analytics"}

    def measured() -> tuple[float, float]:
        total = REGISTRY.get_sample_value("lathe_http_request_duration_seconds_sum", labels) or 0.0
        count = REGISTRY.get_sample_value("lathe_http_request_duration_seconds_count", labels) or 0.0
        return total, count

    before = measured()
    async with served_gateway(redis_url, signing_key, upstreams.urls) as url, httpx.AsyncClient(base_url=url) as client:
        async with client.stream("GET", STREAM, headers=bearer(signing_key), timeout=10) as response:
            assert response.status_code == 200
            await asyncio.sleep(0.6)
            await service.events.put(None)
            [_ async for _ in response.aiter_bytes()]
        await asyncio.sleep(0.1)
    after = measured()
    assert after[1] == before[1] + 1
    assert after[0] - before[0] < 0.3  # open 0.6 s, counted to its head
