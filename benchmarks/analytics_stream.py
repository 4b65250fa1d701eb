"""Analytics freshness, the stream half: from a step's commit in production to its ``step`` event on
GET /api/v1/analytics/stream through a gateway, idle and while the machine topic ingests at full
speed (goal p99 < 1 s). The dashboard half is ``analytics_freshness``; this one sets up the same
flood (units of their own written with COPY, as the ingestion benchmark does) and measures the
other way a client learns of a step.

One SSE client (httpx-sse) stays connected through a gateway of the benchmark's own, filtered on
the probe's process. A probe records one step (``POST /api/v1/process-data``, answered after its
transaction, its step.recorded event included, commits) and waits for its event: the time from the
POST's answer to the event's arrival. So it covers production's outbox relay, Kafka, the stream's
consumer batch (insert, commit, NOTIFY), the fan-out, analytics' and the gateway's writes. Beside
it, where the time went under the flood (medians): from the POST's answer to the step.recorded
record in Kafka (its timestamp: production's outbox relay), from there to the start of the stream
consumer's batch transaction that stored it (``stream_entries.created_at``: the consumer's lag),
and from there to the client (the batch, its commit, NOTIFY, the fan-out, analytics and the gateway).

Beside it ``BENCH_STREAM_CLIENTS`` (default 5) other clients read the whole stream unfiltered, in
a process of their own, as dashboards would: during the flood each of them receives every step
event (about 60,000), so the fan-out works for them while the probe is timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import time
import uuid

import asyncpg
import httpx
from httpx_sse import aconnect_sse

from benchmarks.machine_flood import (
    freshness_figures,
    marking_message,
    marking_units,
    produce,
    published_at,
    step_offsets,
    units_passed,
)
from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, bench_gateway, percentile

PORT = 18086
STREAM = "/api/v1/analytics/stream"
FLOOD = int(os.environ.get("BENCH_STREAM_FLOOD", "60000"))
IDLE_PROBES, FLOOD_PROBES = 25, 75  # the probe line has 100 units
CLIENTS = int(os.environ.get("BENCH_STREAM_CLIENTS", "5"))
UNITS_PER_LOT = 1_000
MACHINE_TOPIC = "lathe.machine.process-data.v1"


class StreamProbe:
    """A one-step line of the benchmark's own (one LOT of 100 units), each step timed to its event."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.process = f"BENCH_STREAM_{uuid.uuid4().hex[:8].upper()}"
        self.units: list[str] = []
        self.recorded = 0
        self.arrived: dict[str, float] = {}
        self.event = asyncio.Event()
        self.timeline: dict[str, dict[str, float]] = {}  # step id -> epoch seconds of its stages
        self.serials: dict[str, str] = {}  # step id -> unit id (its events' Kafka key)
        self.reconnections = 0

    async def prepare(self) -> None:
        number = 100_000 + uuid.uuid4().int % 900_000
        made = await self.client.post(
            "/api/v1/processes", json={"process_code": self.process, "process_number": number, "name": "Stream probe"}
        )
        made.raise_for_status()
        model = f"BENCH-STREAM-{uuid.uuid4().hex[:8]}"
        made = await self.client.post(
            "/api/v1/product-models", json={"model_code": model, "model_name": "Probe", "routing": [self.process]}
        )
        made.raise_for_status()
        lot = (await self.client.post("/api/v1/lots", json={"model_code": model, "target_quantity": 100})).json()
        serials = await self.client.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 100})
        serials.raise_for_status()
        self.units = [s["serial_number"] for s in serials.json()["items"]]

    async def follow(self) -> None:
        """Reads the stream for as long as the benchmark runs; when it ends (a restart of analytics:
        ``end``, or a broken connection), reconnects with Last-Event-ID as any client would."""
        params = {"types": "step", "process_code": self.process}
        last_id: str | None = None
        while True:
            headers = {"Last-Event-ID": last_id} if last_id else {}
            with contextlib.suppress(httpx.HTTPError):
                async with aconnect_sse(
                    self.client, "GET", STREAM, params=params, headers=headers, timeout=None
                ) as source:
                    source.response.raise_for_status()
                    async for sse in source.aiter_sse():
                        last_id = sse.id or last_id
                        if sse.event == "step":
                            step_id = json.loads(sse.data)["step_id"]
                            self.arrived[step_id] = time.perf_counter()
                            self.timeline.setdefault(step_id, {})["arrived"] = time.time()
                            self.event.set()
            self.reconnections += 1
            await asyncio.sleep(0.5)

    async def once(self) -> float:
        unit = self.units[self.recorded]
        answer = await self.client.post(
            "/api/v1/process-data", json={"serial_number": unit, "process_code": self.process, "result": "PASS"}
        )
        committed, committed_at = time.perf_counter(), time.time()
        answer.raise_for_status()
        self.recorded += 1
        step_id = answer.json()["id"]
        self.timeline.setdefault(step_id, {})["committed"] = committed_at
        self.serials[step_id] = answer.json()["serial_id"]
        while step_id not in self.arrived:
            self.event.clear()
            try:
                await asyncio.wait_for(self.event.wait(), 300 - (time.perf_counter() - committed))
            except TimeoutError:
                raise SystemExit("a probe step did not reach the stream within 5 minutes") from None
        return max(self.arrived[step_id] - committed, 0.0)


async def _stored_at(dsn: str, process: str) -> dict[str, float]:
    """When the stream's consumer began the batch that stored each probe step (epoch seconds)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT data, created_at FROM analytics.stream_entries WHERE kind = 'step' AND process_code = $1", process
        )
    finally:
        await conn.close()
    return {json.loads(row["data"])["step_id"]: row["created_at"].timestamp() for row in rows}


def _stages(probe: StreamProbe, flood_steps: list[str], published: dict[str, float], stored: dict[str, float]):  # noqa: ANN202
    relay, consumer, delivery = [], [], []
    for step_id in flood_steps:
        times = probe.timeline[step_id]
        kafka, entry = published.get(probe.serials[step_id]), stored.get(step_id)
        if kafka is None or entry is None:
            continue
        relay.append(max(kafka - times["committed"], 0.0) * 1000)
        consumer.append(max(entry - kafka, 0.0) * 1000)
        delivery.append(max(times["arrived"] - entry, 0.0) * 1000)
    return relay, consumer, delivery


def _dashboards(url: str, token: str, clients: int, stop, counts) -> None:  # noqa: ANN001 - multiprocessing
    """In a process of its own: ``clients`` unfiltered streams read to the end, counting events."""

    async def read(client: httpx.AsyncClient, n: int) -> None:
        while True:  # from where it is, after a restart of analytics (no Last-Event-ID: counting only)
            with contextlib.suppress(httpx.HTTPError):
                async with client.stream("GET", STREAM, timeout=None) as response:
                    async for chunk in response.aiter_bytes():
                        counts[n] += chunk.count(b"\nevent: step\n")
            await asyncio.sleep(0.5)

    async def main() -> None:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            readers = [asyncio.create_task(read(client, n)) for n in range(clients)]
            await asyncio.to_thread(stop.wait)  # a multiprocessing event: waited for in a thread
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    asyncio.run(main())


async def _measure(gateway_url: str, token: str, dsn: str, bootstrap: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    context = multiprocessing.get_context("spawn")
    stop, counts = context.Event(), context.Array("q", max(CLIENTS, 1))
    dashboards = context.Process(target=_dashboards, args=(gateway_url, token, CLIENTS, stop, counts))
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=60) as client:
        probe = StreamProbe(client)
        await probe.prepare()
        following = asyncio.create_task(probe.follow())
        if CLIENTS:
            dashboards.start()
        try:
            await asyncio.sleep(1.0)  # every stream open
            await probe.once()  # warm
            idle = [await probe.once() for _ in range(IDLE_PROBES - 1)]
            conn = await asyncpg.connect(dsn)
            try:
                numbers, _ = await marking_units(conn, "BENCH-STREAM-FLOOD", FLOOD, model_name="Stream flood")
            finally:
                await conn.close()
            prefix = numbers[0].rsplit("-U", 1)[0]
            offsets = await step_offsets(bootstrap)
            before_flood = set(probe.timeline)
            flooding = asyncio.create_task(
                produce(bootstrap, (marking_message(n, equipment_id="B-S") for n in numbers))
            )
            started = time.perf_counter()
            under_flood: list[float] = []
            while len(under_flood) < FLOOD_PROBES:
                under_flood.append(await probe.once())
                if flooding.done() and await units_passed(dsn, prefix) >= FLOOD:
                    break
                await asyncio.sleep(0.25)
            produce_seconds = await flooding
            recorded = await units_passed(dsn, prefix)
            probing_seconds = time.perf_counter() - started
        finally:
            stop.set()
            if CLIENTS:
                dashboards.join(30)
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
    flood_steps = [step_id for step_id in probe.timeline if step_id not in before_flood]
    published = await published_at(bootstrap, offsets, {probe.serials[s] for s in flood_steps})
    relay, consumer, delivery = _stages(probe, flood_steps, published, await _stored_at(dsn, probe.process))
    return {
        "reconnections": probe.reconnections,
        "relay_ms": relay,
        "consumer_ms": consumer,
        "delivery_ms": delivery,
        "idle": idle,
        "flood": under_flood,
        "produce_seconds": produce_seconds,
        "flood_recorded_while_probing": recorded,
        "probing_seconds": probing_seconds,
        "dashboard_events": list(counts[:CLIENTS]),
    }


def run() -> Result:
    dsn, bootstrap = os.environ["DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    token = admin_token()
    with bench_gateway(PORT) as gateway_url:
        found = asyncio.run(_measure(gateway_url, token, dsn, bootstrap))
    freshness, idle_ms, flood_ms = freshness_figures(found)
    return Result(
        benchmark="analytics_stream_freshness",
        description="milliseconds from a step's commit in production (POST /process-data answered) to its step "
        "event on GET /api/v1/analytics/stream through a gateway (one SSE client filtered on the probe's "
        f"process; {CLIENTS} more reading everything); idle, then while {FLOOD:,} machine messages are recorded "
        "by production at full speed",
        figures=[
            *freshness,
            Figure("under flood, of which production's relay (p50)", percentile(found["relay_ms"] or [0.0], 50), "ms"),
            Figure(
                "under flood, of which the stream consumer's lag (p50)",
                percentile(found["consumer_ms"] or [0.0], 50),
                "ms",
            ),
            Figure("under flood, of which batch to client (p50)", percentile(found["delivery_ms"] or [0.0], 50), "ms"),
            Figure("under flood, of which batch to client (p99)", percentile(found["delivery_ms"] or [0.0], 99), "ms"),
            Figure(
                "step events each unfiltered client received (min)", min(found["dashboard_events"] or [0]), "events"
            ),
        ],
        comparison={
            "idle_ms": idle_ms,
            "flood_ms": flood_ms,
            "relay_ms": found["relay_ms"],
            "consumer_ms": found["consumer_ms"],
            "delivery_ms": found["delivery_ms"],
            "flood_messages": FLOOD,
            "unfiltered_clients": CLIENTS,
            "probe_stream_reconnections": found["reconnections"],
            "dashboard_events": found["dashboard_events"],
            "produce_seconds": found["produce_seconds"],
            "recorded_while_probing": found["flood_recorded_while_probing"],
            "probing_seconds": found["probing_seconds"],
            "load_average_1m": os.getloadavg()[0],
        },
    )
