"""Analytics freshness: from a step's commit in production to its effect on the analytics answers,
idle and while the machine topic ingests at full speed (goal p99 < 1 s).

A probe records one step through the gateway (``POST /api/v1/process-data``, which answers after
its transaction, and its step.recorded event, committed) on a process of its own; a reader of
``GET /api/v1/analytics/process-performance`` every 20 ms notes the first answer that counts it: the
time from the POST's answer to that answer is the probe's freshness. The dashboard reads the same
rows, written in the same transaction (it cannot show one process, so the probes read process
performance). First ``IDLE_PROBES`` probes one at a time with nothing else running, then one every
half second (up to ``FLOOD_PROBES``) while ``BENCH_FRESHNESS_FLOOD`` (default 60,000) machine
messages produced to lathe.machine.process-data.v1 are recorded by the stack's production service at
full speed (units of their own written with COPY, as the ingestion benchmark does);
``BENCH_FRESHNESS_ANALYTICS_REPLICAS`` more analytics processes may share the consumers. Every second
the events waiting in production's outbox and how far analytics' floor consumer is behind are
noted, to say where a late probe waited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from benchmarks.machine_flood import freshness_figures, marking_message, marking_units, produce, units_passed
from benchmarks.report import Result
from benchmarks.stack import admin_token, bench_gateway, extra_process

FLOOD = int(os.environ.get("BENCH_FRESHNESS_FLOOD", "60000"))
# More analytics processes beside the stack's (replicas: each takes its share of every consumer
# group's partitions, 3 per topic), started for the measurement.
REPLICAS = int(os.environ.get("BENCH_FRESHNESS_ANALYTICS_REPLICAS", "0"))
IDLE_PROBES, FLOOD_PROBES = 20, 60
UNITS_PER_LOT = 1_000
PORT = 18085
MACHINE_TOPIC = "lathe.machine.process-data.v1"
POLL_SECONDS = 0.02


class Probe:
    """One probe line (a process, a one-step routing, a LOT of 100 units), one probe in flight at a
    time: the benchmark of the realtime stream (analytics_stream) times its steps to the stream."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.process = f"BENCH_FRESH_{uuid.uuid4().hex[:8].upper()}"
        self.units: list[str] = []
        self.recorded = 0

    async def prepare(self) -> None:
        created = await self.client.post(
            "/api/v1/processes",
            json={
                "process_code": self.process,
                "process_number": 100_000 + uuid.uuid4().int % 900_000,
                "name": "Freshness probe",
                "quality_criteria": {},
            },
        )
        created.raise_for_status()
        model = f"BENCH-FRESH-{uuid.uuid4().hex[:8]}"
        made = await self.client.post(
            "/api/v1/product-models", json={"model_code": model, "model_name": "Probe", "routing": [self.process]}
        )
        made.raise_for_status()
        lot = (await self.client.post("/api/v1/lots", json={"model_code": model, "target_quantity": 100})).json()
        serials = await self.client.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 100})
        serials.raise_for_status()
        self.units = [s["serial_number"] for s in serials.json()["items"]]

    async def _counted(self) -> int:
        answer = await self.client.get("/api/v1/analytics/process-performance")
        answer.raise_for_status()
        rows = [p for p in answer.json()["processes"] if p["process_code"] == self.process]
        return rows[0]["total_executions"] if rows else 0

    async def once(self) -> float:
        """Seconds from the step's commit (its answer) to the first analytics answer counting it."""
        unit = self.units[self.recorded]
        answer = await self.client.post(
            "/api/v1/process-data", json={"serial_number": unit, "process_code": self.process, "result": "PASS"}
        )
        committed = time.perf_counter()
        answer.raise_for_status()
        self.recorded += 1
        while await self._counted() < self.recorded:
            if time.perf_counter() - committed > 300:
                raise SystemExit("a probe step did not reach analytics within 5 minutes")
            await asyncio.sleep(POLL_SECONDS)
        return time.perf_counter() - committed


class Probes:
    """Probe steps, each on a process of its own (a one-step routing, a one-unit LOT), so several can
    be in flight and each is seen apart: one reader of process performance every 20 ms marks each
    probe the first time its process counts its step."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.lines: list[tuple[str, str]] = []  # (process code, unit)
        self.committed: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.launched = 0
        self.news = asyncio.Event()  # set when a probe is seen

    async def prepare(self, count: int) -> None:
        for _ in range(count):
            process = f"BENCH_FRESH_{uuid.uuid4().hex[:10].upper()}"
            for _ in range(5):  # process numbers are drawn at random: a taken one is drawn again
                created = await self.client.post(
                    "/api/v1/processes",
                    json={
                        "process_code": process,
                        "process_number": 100_000 + uuid.uuid4().int % 900_000,
                        "name": "Freshness probe",
                        "quality_criteria": {},
                    },
                )
                if created.status_code != 409:
                    break
            created.raise_for_status()
            model = f"BENCH-FRESH-{uuid.uuid4().hex[:8]}"
            made = await self.client.post(
                "/api/v1/product-models", json={"model_code": model, "model_name": "Probe", "routing": [process]}
            )
            made.raise_for_status()
            lot = await self.client.post("/api/v1/lots", json={"model_code": model, "target_quantity": 1})
            lot.raise_for_status()
            serials = await self.client.post(f"/api/v1/lots/{lot.json()['id']}/serials", json={"count": 1})
            serials.raise_for_status()
            self.lines.append((process, serials.json()["items"][0]["serial_number"]))

    async def launch(self) -> str:
        """Records the next probe's step; its clock starts when the answer (after the commit) arrives."""
        process, unit = self.lines[self.launched]
        self.launched += 1
        answer = await self.client.post(
            "/api/v1/process-data", json={"serial_number": unit, "process_code": process, "result": "PASS"}
        )
        self.committed[process] = time.perf_counter()
        answer.raise_for_status()
        return process

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or len(self.seen) < len(self.committed):
            answer = await self.client.get("/api/v1/analytics/process-performance")
            read = time.perf_counter()
            if answer.status_code == 200:
                counted = {p["process_code"] for p in answer.json()["processes"] if p["total_executions"]}
                for process in counted & self.committed.keys() - self.seen.keys():
                    self.seen[process] = read
                    self.news.set()
            await asyncio.sleep(POLL_SECONDS)

    async def wait_seen(self, process: str) -> None:
        await self.news.wait()
        while process not in self.seen:
            self.news.clear()
            await self.news.wait()

    def latencies(self, processes: list[str]) -> list[float]:
        return [self.seen[p] - self.committed[p] for p in processes]


async def _sample_backlogs(dsn: str, bootstrap: str, samples: list[dict], stop: asyncio.Event) -> None:
    """Every second: events waiting in production's outbox, and how far behind analytics' floor
    consumer is (where a probe's step waits)."""
    conn = await asyncpg.connect(dsn)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await reader.start()
    started = time.perf_counter()
    try:
        while not stop.is_set():
            outbox = await conn.fetchval("SELECT count(*) FROM production.outbox")
            committed = await admin.list_consumer_group_offsets("lathe.analytics.floor")
            ends = await reader.end_offsets(list(committed))
            behind = sum(max(ends[tp] - meta.offset, 0) for tp, meta in committed.items())
            samples.append({"t": round(time.perf_counter() - started, 1), "outbox": outbox, "floor_behind": behind})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await reader.stop()
        await admin.close()
        await conn.close()


async def _measure(gateway_url: str, headers: dict[str, str], dsn: str, bootstrap: str) -> dict:
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=60) as client:
        probes = Probes(client)
        await probes.prepare(IDLE_PROBES + FLOOD_PROBES)
        stop_watching = asyncio.Event()
        watching = asyncio.create_task(probes.watch(stop_watching))
        idle = []
        for _ in range(IDLE_PROBES):  # one at a time, nothing else running
            process = await probes.launch()
            await probes.wait_seen(process)
            idle.append(process)
        conn = await asyncpg.connect(dsn)
        try:
            numbers, _ = await marking_units(conn, "BENCH-FRESH-FLOOD", FLOOD, model_name="Freshness flood")
        finally:
            await conn.close()
        prefix = numbers[0].rsplit("-U", 1)[0]
        backlogs: list[dict] = []
        stop_sampling = asyncio.Event()
        sampling = asyncio.create_task(_sample_backlogs(dsn, bootstrap, backlogs, stop_sampling))
        flooding = asyncio.create_task(
            produce(
                bootstrap,
                (marking_message(n, measurements={"marking_depth_mm": 0.05}, equipment_id="B-1") for n in numbers),
            )
        )
        started = time.perf_counter()
        under_flood = []
        while len(under_flood) < FLOOD_PROBES:  # every half second, for as long as the flood is recorded
            under_flood.append(await probes.launch())
            if flooding.done() and await units_passed(dsn, prefix) >= FLOOD:
                break
            await asyncio.sleep(0.5)
        produce_seconds = await flooding
        recorded = await units_passed(dsn, prefix)
        flood_seconds = time.perf_counter() - started
        stop_watching.set()
        await watching
        stop_sampling.set()
        await sampling
    return {
        "idle": probes.latencies(idle),
        "flood": probes.latencies(under_flood),
        "produce_seconds": produce_seconds,
        "flood_recorded_while_probing": recorded,
        "probing_seconds": flood_seconds,
        "backlogs": backlogs,
    }


def run() -> Result:
    dsn, bootstrap = os.environ["DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    headers = {"Authorization": f"Bearer {admin_token()}"}
    with contextlib.ExitStack() as replicas:
        for n in range(REPLICAS):
            replicas.enter_context(extra_process("lathe_analytics", 18090 + n))
        with bench_gateway(PORT) as gateway_url:
            found = asyncio.run(_measure(gateway_url, headers, dsn, bootstrap))
    freshness, idle_ms, flood_ms = freshness_figures(found)
    return Result(
        benchmark="analytics_freshness",
        description="seconds from a step's commit in production (POST /process-data answered) to the first "
        "GET /api/v1/analytics/process-performance that counts it, through a gateway, polled every "
        f"{POLL_SECONDS * 1000:.0f} ms; idle, then while {FLOOD:,} machine messages are recorded by production at "
        "full speed (their step events reach analytics' consumers too)",
        figures=[
            *freshness,
        ],
        comparison={
            "idle_ms": idle_ms,
            "flood_ms": flood_ms,
            "flood_messages": FLOOD,
            "produce_seconds": found["produce_seconds"],
            "recorded_while_probing": found["flood_recorded_while_probing"],
            "probing_seconds": found["probing_seconds"],
            "load_average_1m": os.getloadavg()[0],
            "analytics_replicas_added": REPLICAS,
            "backlogs_each_second": found["backlogs"],
        },
    )
