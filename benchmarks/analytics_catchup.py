"""Analytics catch-up after a pause: events per second each consumer of the analytics service reads
back once it runs again, the floor read model beside the audit trail.

The stack's analytics service is stopped; ``BENCH_CATCHUP_MESSAGES`` (default 50,000) machine
messages are recorded by the stack's production service (units of their own written with COPY, one
step each, as the ingestion benchmark does), which publishes a step.recorded event for each (and the
LOTs' status changes). Then analytics starts again. From the moment it answers ready, the committed
positions of its consumer groups lathe.analytics.floor and lathe.analytics.audit-log are read every
0.2 s until each has reached the end its topics had then: the events it was behind at that moment,
divided by the seconds it took, is its catch-up rate. Both consumers run in the same process
at the same time (as in service), sharing its one event loop and the machine's cores.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from benchmarks.machine_flood import marking_message, marking_units, produce
from benchmarks.report import Figure, Result
from benchmarks.stack import ROOT

MESSAGES = int(os.environ.get("BENCH_CATCHUP_MESSAGES", "50000"))
UNITS_PER_LOT = 1_000
MACHINE_TOPIC = "lathe.machine.process-data.v1"
GROUPS = {"floor read model": "lathe.analytics.floor", "audit trail": "lathe.analytics.audit-log"}


def _supervisor(*args: str) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(ROOT / ".run/supervisord.conf"), *args],
        check=False,
        capture_output=True,
    )


async def _record_backlog(dsn: str, bootstrap: str) -> None:
    """Units, their machine messages, and production recording them all (analytics stopped)."""
    conn = await asyncpg.connect(dsn)
    try:
        numbers, lots = await marking_units(conn, "BENCH-CATCHUP", MESSAGES, model_name="Catch-up bench")
        timed = {"started_at": "2026-11-22T08:00:00Z", "completed_at": "2026-11-22T08:00:30Z"}
        await produce(bootstrap, (marking_message(n, **timed) for n in numbers))
        deadline = time.monotonic() + 1800
        while True:
            recorded = await conn.fetchval("SELECT count(*) FROM production.process_data WHERE lot_id = ANY($1)", lots)
            if recorded >= MESSAGES and not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM production.outbox)"):
                return
            if time.monotonic() > deadline:
                raise SystemExit("production did not record the backlog in 30 minutes")
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def _positions(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    return {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}


async def _catch_up(bootstrap: str) -> dict[str, dict[str, float]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await reader.start()
    try:
        _supervisor("start", "apps:analytics")
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get("http://127.0.0.1:8004/health/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        ready = time.perf_counter()
        # From here: what each group still had to read when the service was ready (its consumers
        # start a moment before it answers ready).
        started_at = {name: await _positions(admin, group) for name, group in GROUPS.items()}
        targets = {name: await reader.end_offsets(list(positions)) for name, positions in started_at.items()}
        behind = {
            name: sum(max(targets[name][tp] - offset, 0) for tp, offset in started_at[name].items()) for name in GROUPS
        }
        done: dict[str, float] = {}
        while len(done) < len(GROUPS):
            for name, group in GROUPS.items():
                if name in done:
                    continue
                now = await _positions(admin, group)
                if all(now.get(tp, 0) >= end for tp, end in targets[name].items()):
                    done[name] = time.perf_counter() - ready
            if time.perf_counter() - ready > 1800:
                raise SystemExit(f"analytics did not catch up in 30 minutes: {done}")
            await asyncio.sleep(0.2)
        return {name: {"events": behind[name], "seconds": done[name]} for name in GROUPS}
    finally:
        await reader.stop()
        await admin.close()


def run() -> Result:
    dsn, bootstrap = os.environ["DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    _supervisor("stop", "apps:analytics")
    try:
        asyncio.run(_record_backlog(dsn, bootstrap))
        found = asyncio.run(_catch_up(bootstrap))
    finally:
        _supervisor("start", "apps:analytics")  # no-op when it runs already
    figures = []
    for name, measured in found.items():
        rate = measured["events"] / measured["seconds"] if measured["seconds"] else 0.0
        figures.append(Figure(f"{name} catch-up", rate, "events/s"))
        figures.append(Figure(f"{name} events behind", measured["events"], "events"))
        figures.append(Figure(f"{name} seconds to catch up", measured["seconds"], "s"))
    return Result(
        benchmark="analytics_catch_up",
        description=f"analytics stopped while production recorded {MESSAGES:,} machine messages (a step.recorded "
        "event each, plus LOT moves), then started: events each consumer group was behind at start-up over the "
        "seconds until its committed positions reached that end; the two run at once in one process",
        figures=figures,
        comparison={"consumers": found, "messages": MESSAGES, "load_average_1m": os.getloadavg()[0]},
    )
