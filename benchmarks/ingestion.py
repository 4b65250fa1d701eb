"""Machine ingestion: 100,000 messages already in the topic → all recorded and their events published.

The count is ``BENCH_INGESTION_MESSAGES`` (default 100,000).

Beside it, in the same run, the floor: asyncpg COPY of the same rows into a scratch table.
The units (100 LOTs of 1,000, one-step routing) are written with COPY first. The stack's production
service is stopped while the backlog is produced, then a fresh production process (same consumer
group; ``BENCH_INGESTION_PROCESSES`` of them, default 1) drains it, and the stack's service is started
again. The time runs from the first batch's transaction to the moment everything is recorded and
published (see ``_ingestion_seconds``). The analytics service is paused for the
measurement: on this benchmark's small machine its audit consumer would share the cores with what is
measured; it catches up on the events when it is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from benchmarks.machine_flood import produce
from benchmarks.report import Figure, Result
from benchmarks.stack import ROOT, copy_units, extra_process

MESSAGES = int(os.environ.get("BENCH_INGESTION_MESSAGES", "100000"))
# Production processes draining the topic together (replicas: each takes its share of the partitions).
PROCESSES = int(os.environ.get("BENCH_INGESTION_PROCESSES", "1"))
UNITS_PER_LOT = 1_000
TOPIC = "lathe.machine.process-data.v1"


def _supervisor(*args: str) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(ROOT / ".run/supervisord.conf"), *args],
        check=False,
        capture_output=True,
    )


async def _units(conn: asyncpg.Connection) -> tuple[list[uuid.UUID], list[str]]:
    code = f"BENCH-ING-{uuid.uuid4().hex[:6]}"
    numbers = [f"{code}-U{n:06d}" for n in range(MESSAGES)]
    model_id, lots, _ = await copy_units(
        conn,
        model_code=code,
        model_name="Ingestion bench",
        lot_numbers=[f"{code}-{n:03d}" for n in range(MESSAGES // UNITS_PER_LOT)],
        units_per_lot=UNITS_PER_LOT,
        serial_numbers=numbers,
        lot_status="CREATED",
    )
    await conn.execute(
        "INSERT INTO production.routing_steps (product_model_id, step_no, process_id) "
        "SELECT $1, 1, id FROM production.processes WHERE process_code = 'P01_LASER_MARKING'",
        model_id,
    )
    return lots, numbers


def _message(serial: str) -> dict:
    return {
        "message_id": str(uuid.uuid4()),
        "serial_number": serial,
        "process_code": "P01_LASER_MARKING",
        "result": "PASS",
        "measurements": {"marking_depth_mm": 0.05},
        "operator": "bench",
        "equipment_id": "B-1",
        "started_at": "2026-11-22T08:00:00Z",
        "completed_at": "2026-11-22T08:00:30Z",
    }


async def _copy_floor(conn: asyncpg.Connection, messages: list[dict], lot_of: dict[str, uuid.UUID]) -> float:
    await conn.execute("CREATE TEMP TABLE ingest_floor (LIKE production.process_data INCLUDING DEFAULTS)")
    now = datetime.now(UTC)
    rows = [
        (
            uuid.uuid4(),
            m["message_id"],
            uuid.uuid4(),
            m["process_code"],
            lot_of[m["serial_number"]],
            None,
            "SERIAL",
            1,
            "PASS",
            "PASS",
            json.dumps(m["measurements"]),
            "[]",
            "[]",
            m["operator"],
            m["equipment_id"],
            now,
            now,
            30,
            now,
        )
        for m in messages
    ]
    started = time.perf_counter()
    await conn.copy_records_to_table("ingest_floor", records=rows)
    return time.perf_counter() - started


async def _drained(conn: asyncpg.Connection, lots: list[uuid.UUID]) -> bool:
    # The cheap question first: the count of recorded rows is only worth asking with the outbox empty.
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM production.outbox)"):
        return False
    recorded = await conn.fetchval("SELECT count(*) FROM production.process_data WHERE lot_id = ANY($1)", lots)
    return recorded >= MESSAGES and not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM production.outbox)")


async def _ingestion_seconds(dsn: str, lots: list[uuid.UUID], launched: float) -> float:
    """From the start of the first batch's transaction (its rows' recorded_at) to the moment every
    row is recorded and the outbox is empty, both on the database's clock: process start-up and
    joining the consumer group are not ingestion, and with several processes they overlap it."""
    conn = await asyncpg.connect(dsn)
    try:
        while not await _drained(conn, lots):
            if time.perf_counter() - launched > 1800:
                raise SystemExit("ingestion did not finish in 30 minutes")
            await asyncio.sleep(0.2)
        return await conn.fetchval(
            "SELECT extract(epoch FROM clock_timestamp() - min(recorded_at))::float8 "
            "FROM production.process_data WHERE lot_id = ANY($1)",
            lots,
        )
    finally:
        await conn.close()


def run() -> Result:
    dsn, bootstrap = os.environ["DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]

    async def prepare() -> tuple[list[uuid.UUID], list[dict], float]:
        conn = await asyncpg.connect(dsn)
        try:
            lots, numbers = await _units(conn)
            messages = [_message(s) for s in numbers]
            lot_of = {s: lots[n // UNITS_PER_LOT] for n, s in enumerate(numbers)}
            floor = await _copy_floor(conn, messages, lot_of)
        finally:
            await conn.close()
        await produce(bootstrap, messages, TOPIC)
        return lots, messages, floor

    _supervisor("stop", "apps:production", "apps:analytics")
    try:
        lots, _, copy_seconds = asyncio.run(prepare())
        launched = time.perf_counter()
        with contextlib.ExitStack() as processes:
            for n in range(PROCESSES):
                processes.enter_context(extra_process("lathe_production", 18083 + n))
            seconds = asyncio.run(_ingestion_seconds(dsn, lots, launched))
        overall = time.perf_counter() - launched
    finally:
        _supervisor("start", "apps:production", "apps:analytics")
    rate, floor_rate = MESSAGES / seconds, MESSAGES / copy_seconds
    return Result(
        benchmark="machine_ingestion",
        description=f"{MESSAGES:,} machine messages already in {TOPIC} (3 partitions) → recorded through the "
        "batched consumer and every resulting event published from the outbox (one domain event per message, "
        "step recorded, carrying the unit's new status); 'events/s' counts machine messages; "
        "floor: COPY of the same rows",
        figures=[
            # The goal as restated for a 2-core machine (issue 8's decisions); the durable floor it is also
            # to be compared with is not measured yet: the COPY floor below is the older, unindexed one.
            Figure("ingestion", rate, "events/s", ">= 10000", rate >= 10_000),
            Figure("COPY floor", floor_rate, "rows/s"),
            Figure("ratio ingestion/COPY", rate / floor_rate, "x", ">= 0.5", rate / floor_rate >= 0.5),
            Figure("ingestion time", seconds, "s"),
            Figure("wall time including process start-up", overall, "s"),
        ],
        comparison={
            "ingestion_seconds": seconds,
            "copy_seconds": copy_seconds,
            "messages": MESSAGES,
            "production_processes": PROCESSES,
        },
    )
