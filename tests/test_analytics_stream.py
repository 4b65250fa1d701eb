"""The realtime stream through the gateway, read with a real SSE client (httpx-sse): steps recorded
through the REST API arrive as ``step`` events, LOT changes as ``lot`` events, a reconnection with
Last-Event-ID gets exactly what it missed, a client that stops reading holds up nobody, and the
refusals (no token, no permission, bad parameters, too many streams) are problem+json.

Each test records steps of a process, model and LOT of its own and filters the stream on them, so
it holds while other tests write to the same stack. Heartbeats, the stream limit and a replica
are tested on a second, API-only analytics process (consumers off, a 1 s heartbeat) behind a
gateway of its own: its streams carry what the stack's consumer writes to the shared table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from .conftest import Catalog, bearer, free_port, separate_gateway

pytestmark = pytest.mark.e2e

STREAM = "/api/v1/analytics/stream"
ARRIVAL_SECONDS = 30  # production's outbox, Kafka, the stream's consumer: normally well under a second


@pytest.fixture(scope="module")
async def staff(accounts) -> dict[str, dict[str, str]]:
    return {role: bearer(await accounts.token_for(role)) for role in ("engineer", "operator", "viewer")}


class Line:
    """A one-step line of the test's own: a process, a model, a LOT of ``units`` serials."""

    def __init__(self, gateway: httpx.AsyncClient, staff: dict[str, dict[str, str]]) -> None:
        self.gateway, self.staff = gateway, staff
        self.operator = f"op-{uuid.uuid4().hex[:6]}"

    async def build(self, units: int) -> Line:
        catalog = Catalog(self.gateway, self.staff["engineer"])
        self.process = await catalog.process(name="Stream step")
        self.model = await catalog.model([self.process], prefix="STREAM")
        lot = await self.gateway.post(
            "/api/v1/lots", json={"model_code": self.model, "target_quantity": units}, headers=self.staff["engineer"]
        )
        assert lot.status_code == 201, lot.text
        self.lot = lot.json()
        made = await self.gateway.post(
            f"/api/v1/lots/{self.lot['id']}/serials", json={"count": units}, headers=self.staff["engineer"]
        )
        self.units = [s["serial_number"] for s in made.json()["items"]]
        return self

    async def record(self, unit: str, result: str = "PASS") -> dict:
        answer = await self.gateway.post(
            "/api/v1/process-data",
            json={
                "serial_number": unit,
                "process_code": self.process,
                "result": result,
                "operator": self.operator,
                "completed_at": datetime.now(UTC).isoformat(),
            },
            headers=self.staff["operator"],
        )
        assert answer.status_code == 201, answer.text
        return answer.json()


class Reader:
    """One SSE client: events read in the background into a queue, so a test can wait for them."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[ServerSentEvent] = asyncio.Queue()
        self.headers: httpx.Headers | None = None

    async def next(self, event: str | None = None, timeout: float = ARRIVAL_SECONDS) -> ServerSentEvent:
        async def wanted() -> ServerSentEvent:
            while True:
                found = await self.events.get()
                if event is None or found.event == event:
                    return found

        return await asyncio.wait_for(wanted(), timeout)

    async def steps(self, count: int) -> list[ServerSentEvent]:
        return [await self.next("step") for _ in range(count)]


@contextlib.asynccontextmanager
async def reading(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> AsyncIterator[Reader]:
    reader = Reader()
    async with aconnect_sse(client, "GET", STREAM, headers=headers, params=params, timeout=None) as source:
        source.response.raise_for_status()
        reader.headers = source.response.headers

        async def pump() -> None:
            async for sse in source.aiter_sse():
                await reader.events.put(sse)

        task = asyncio.create_task(pump())
        try:
            yield reader
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task


async def test_a_step_recorded_through_the_api_arrives_on_the_stream(gateway, staff):
    line = await Line(gateway, staff).build(units=1)
    async with reading(gateway, staff["viewer"], types="step", process_code=line.process) as reader:
        assert reader.headers["content-type"].startswith("text/event-stream")
        recorded = await line.record(line.units[0])
        event = await reader.next("step")
    step = json.loads(event.data)
    assert int(event.id) > 0
    assert step["step_id"] == recorded["id"]
    assert (step["process_code"], step["result"], step["serial_number"]) == (line.process, "PASS", line.units[0])
    assert (step["lot_number"], step["model_code"], step["operator"]) == (
        line.lot["lot_number"],
        line.model,
        line.operator,
    )
    assert step["serial_status"] == "PASSED" and step["completed_at"] and step["recorded_at"]


async def test_lot_changes_arrive_with_their_model(gateway, staff):
    catalog = Catalog(gateway, staff["engineer"])
    process = await catalog.process(name="Stream step")
    model = await catalog.model([process], prefix="STREAM")
    async with reading(gateway, staff["viewer"], types="lot", model_code=model) as reader:
        lot = (
            await gateway.post(
                "/api/v1/lots", json={"model_code": model, "target_quantity": 1}, headers=staff["engineer"]
            )
        ).json()
        created = json.loads((await reader.next("lot")).data)
        unit = (
            await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 1}, headers=staff["engineer"])
        ).json()["items"][0]["serial_number"]
        step = {"serial_number": unit, "process_code": process, "result": "PASS"}
        assert (await gateway.post("/api/v1/process-data", json=step, headers=staff["operator"])).status_code == 201
        started = json.loads((await reader.next("lot")).data)
    assert (created["lot_number"], created["status"], created["previous_status"]) == (
        lot["lot_number"],
        "CREATED",
        None,
    )
    assert created["model_code"] == model and created["target_quantity"] == 1
    assert (started["lot_id"], started["previous_status"]) == (lot["id"], "CREATED")
    assert started["model_code"] == model  # a status change names no model: the stream adds it


async def test_last_event_id_resumes_with_exactly_the_events_missed(gateway, staff):
    line = await Line(gateway, staff).build(units=4)
    wanted = {"types": "step", "process_code": line.process}
    async with reading(gateway, staff["viewer"], **wanted) as observer:
        async with reading(gateway, staff["viewer"], **wanted) as first:
            await line.record(line.units[0])
            seen = await first.next("step")
            assert (await observer.next("step")).id == seen.id
        # The first client has gone; two steps happen while it is away.
        await line.record(line.units[1])
        await line.record(line.units[2])
        missed = await observer.steps(2)  # stored by now: the observer has them
        async with reading(gateway, staff["viewer"] | {"Last-Event-ID": seen.id}, **wanted) as back:
            replayed = await back.steps(2)
            await line.record(line.units[3])
            live = await back.next("step")
            assert (await observer.next("step")).id == live.id
            with pytest.raises(TimeoutError):  # and nothing twice
                await back.next("step", timeout=1.0)
    assert [e.id for e in replayed] == [e.id for e in missed]
    assert sorted(json.loads(e.data)["serial_number"] for e in replayed) == line.units[1:3]
    assert int(seen.id) < int(replayed[0].id) < int(replayed[1].id) < int(live.id)


async def test_a_client_that_stops_reading_holds_up_nobody(gateway, staff):
    line = await Line(gateway, staff).build(units=12)
    wanted = {"types": "step", "process_code": line.process}
    async with (
        gateway.stream("GET", STREAM, headers=staff["viewer"], params=wanted, timeout=None) as slow,
        reading(gateway, staff["viewer"], **wanted) as fast,
    ):
        assert slow.status_code == 200  # and then never read while the steps happen
        for unit in line.units:
            await line.record(unit)
        arrived = [json.loads(e.data)["serial_number"] for e in await fast.steps(len(line.units))]
        # Each unit's events are keyed by the unit: across units, Kafka's partitions decide the order.
        assert sorted(arrived) == sorted(line.units)
        # The slow client reads at last: everything, in order, once.
        received = []
        async for text in slow.aiter_text():
            received += [
                json.loads(part[6:])["serial_number"] for part in text.split("\n") if part.startswith("data: ")
            ]
            if len(received) >= len(line.units):
                break
    assert received == arrived


async def test_refusals_are_problems(gateway, staff):
    missing = await gateway.get(STREAM)
    assert missing.status_code == 401 and missing.json()["code"] == "missing_token"
    assert missing.headers["content-type"] == "application/problem+json"
    forbidden = await gateway.get(STREAM, headers=staff["operator"])  # operators lack analytics:read
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "insufficient_scope"
    unknown = await gateway.get(STREAM, params={"types": "step,alarms"}, headers=staff["viewer"])
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_event_type"
    bad_id = await gateway.get(STREAM, headers=staff["viewer"] | {"Last-Event-ID": "yesterday"})
    assert bad_id.status_code == 422 and bad_id.json()["code"] == "invalid_last_event_id"


@contextlib.asynccontextmanager
async def api_replica(**settings: str) -> AsyncIterator[str]:
    """Another analytics process on the stack's database, serving the API only (no consumers)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lathe_analytics",
        "serve",
        env={
            **os.environ,
            "LATHE_ANALYTICS_PORT": str(port),
            "LATHE_ANALYTICS_CONSUMERS_ENABLED": "false",
            "LATHE_ANALYTICS_LOG_LEVEL": "WARNING",
            **{f"LATHE_ANALYTICS_{name.upper()}": value for name, value in settings.items()},
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=5) as probe:
            for _ in range(150):
                with contextlib.suppress(httpx.TransportError):
                    if (await probe.get("/health/ready")).status_code == 200:
                        break
                if process.returncode is not None:
                    pytest.fail(f"the analytics replica exited with {process.returncode}")
                await asyncio.sleep(0.2)
            else:
                pytest.fail("the analytics replica did not start within 30 s")
        yield url
    finally:
        process.terminate()
        await process.wait()


STREAM_REPLICA_REDIS_DB = 9


async def test_an_api_only_replica_streams_the_shared_table_with_heartbeats_and_its_own_limit(gateway, staff):
    async with (
        api_replica(stream_heartbeat_seconds="1", stream_max_clients="2") as replica,
        separate_gateway(STREAM_REPLICA_REDIS_DB, analytics_url=replica) as own_gateway,
    ):
        line = await Line(gateway, staff).build(units=1)
        headers = staff["viewer"]
        async with own_gateway.stream(
            "GET", STREAM, headers=headers, params={"types": "step", "process_code": line.process}, timeout=None
        ) as quiet:
            lines = quiet.aiter_lines()

            async def until(wanted) -> str:  # noqa: ANN001
                async for text in lines:
                    if wanted(text):
                        return text
                raise AssertionError("the stream ended")

            # Nothing of this process yet: a heartbeat comes within about a second, and again.
            await asyncio.wait_for(until(lambda t: t == ": keep-alive"), 5)
            await asyncio.wait_for(until(lambda t: t == ": keep-alive"), 5)
            # A step recorded through the stack (whose consumer fills the shared table) arrives here.
            await line.record(line.units[0])
            data = await asyncio.wait_for(until(lambda t: t.startswith("data: ")), ARRIVAL_SECONDS)
            assert json.loads(data[6:])["serial_number"] == line.units[0]
            async with own_gateway.stream("GET", STREAM, headers=headers, timeout=None) as second:
                assert second.status_code == 200
                third = await own_gateway.get(STREAM, headers=headers)
                assert third.status_code == 503 and third.json()["code"] == "too_many_streams"
                assert third.headers["retry-after"] == "5"
