"""List pages as history grows: the first page and a deep page of serials and of process data, with
1M and then 10M step executions stored (goal: p99 under 20 ms for each, flat from 1M to 10M).

The data set is written into the local stack's production schema by PostgreSQL itself
(``INSERT ... SELECT generate_series``, foreign-key triggers off for the superuser's session: the
rows are consistent by construction): 8 steps a unit, so 1M executions are 125,000 units and 10M
are 1.25M, in LOTs of 100, completed one second apart. It is kept and reused: a later run that
finds the 10M rows measures at 10M only and reports the 1M figures of the run that measured them
(their time is in the JSON). Pages are read through a gateway process of the benchmark's own (the
stack's limits raised), one request at a time: a page's own cost, not its wait in a queue.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime

import asyncpg
import httpx
from lathe_production.lots.service import BY_SERIAL_NUMBER
from lathe_production.process_data.history import NEWEST_FIRST

from benchmarks.report import OUT, Figure, Result
from benchmarks.stack import admin_token, bench_gateway, percentile

STEPS_PER_UNIT = 8
UNITS_PER_LOT = 100
SIZES = (1_000_000, 10_000_000)
SAMPLES = 300
PAGE = 50
PREFIX = "BENCH-LIST"
START = datetime(2025, 1, 1, tzinfo=UTC)
PORT = 18083
ONE_MILLION_FILE = OUT / "list_pages_at_1m.json"


async def _bench_rows(conn: asyncpg.Connection) -> int:
    """How many of the benchmark's step executions are stored (its units are numbered in order)."""
    units = await conn.fetchval("SELECT count(*) FROM production.serials WHERE serial_number LIKE $1", f"{PREFIX}-%")
    return int(units) * STEPS_PER_UNIT


async def _grow_to(conn: asyncpg.Connection, executions: int) -> float:
    """Add LOTs, units and their step executions until ``executions`` are stored; returns seconds."""
    have_units = await _bench_rows(conn) // STEPS_PER_UNIT
    want_units = executions // STEPS_PER_UNIT
    if have_units >= want_units:
        return 0.0
    started = time.perf_counter()
    first_lot, last_lot = have_units // UNITS_PER_LOT, want_units // UNITS_PER_LOT
    processes = [r["id"] for r in await conn.fetch("SELECT id FROM production.processes ORDER BY process_number")]
    model = await conn.fetchval("SELECT id FROM production.product_models WHERE model_code = $1", PREFIX)
    if model is None:
        model = await conn.fetchval(
            "INSERT INTO production.product_models (id, model_code, model_name) "
            "VALUES (gen_random_uuid(), $1, 'List pages bench') RETURNING id",
            PREFIX,
        )
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")  # no FK triggers: consistent by construction
        # One statement: the LOTs, their units and the units' executions, each from the rows before.
        await conn.execute(
            """WITH new_lots AS (
                   INSERT INTO production.lots (id, lot_number, product_model_id, model_code, target_quantity,
                       serial_count, finished_count, shift, production_date, status, created_at, updated_at)
                   SELECT gen_random_uuid(), $1 || '-' || lpad(n::text, 6, '0'), $2, $1, $3, $3, $3, 'DAY',
                          ($4::timestamptz + n * interval '100 seconds')::date, 'COMPLETED',
                          $4::timestamptz + n * interval '100 seconds', $4::timestamptz + n * interval '100 seconds'
                   FROM generate_series($5::int, $6::int - 1) AS n
                   RETURNING id, lot_number, created_at
               ), new_units AS (
                   INSERT INTO production.serials (id, serial_number, lot_id, sequence_in_lot, status, current_step,
                       rework_count, created_at, updated_at)
                   SELECT gen_random_uuid(), l.lot_number || '-' || lpad(s::text, 4, '0'), l.id, s, 'PASSED', $7, 0,
                          l.created_at, l.created_at
                   FROM new_lots l, generate_series(1, $3) AS s
                   RETURNING id, lot_id, created_at
               ), steps AS (
                   SELECT id, process_code, row_number() OVER (ORDER BY process_number) AS step
                   FROM production.processes WHERE id = ANY($8::uuid[])
               )
               INSERT INTO production.process_data (id, process_id, process_code, lot_id, serial_id, level, step_no,
                   result, measurements, violations, defects, operator, equipment_id, started_at, completed_at,
                   cycle_time_seconds, recorded_at)
               SELECT gen_random_uuid(), p.id, p.process_code, u.lot_id, u.id, 'SERIAL', p.step, 'PASS', '{}', '[]',
                      '[]', 'bench-op-' || (p.step % 5), 'EQ-' || p.step,
                      u.created_at + (p.step * 10 - 9) * interval '1 second',
                      u.created_at + p.step * 10 * interval '1 second', 9,
                      u.created_at + p.step * 10 * interval '1 second'
               FROM new_units u CROSS JOIN steps p""",
            PREFIX,
            model,
            UNITS_PER_LOT,
            START,
            first_lot,
            last_lot,
            STEPS_PER_UNIT,
            processes[:STEPS_PER_UNIT],
        )
    await conn.execute("ANALYZE production.lots; ANALYZE production.serials; ANALYZE production.process_data")
    return time.perf_counter() - started


async def _deep_cursors(conn: asyncpg.Connection, depth: int) -> dict[str, str]:
    """Cursors ``depth`` rows into each list, as the API would have handed them out after that many rows."""
    data = await conn.fetchrow(
        "SELECT completed_at, id FROM production.process_data ORDER BY completed_at DESC, id DESC OFFSET $1 LIMIT 1",
        depth,
    )
    unit = await conn.fetchrow(
        "SELECT serial_number FROM production.serials ORDER BY serial_number OFFSET $1 LIMIT 1", depth // STEPS_PER_UNIT
    )
    return {"process-data": NEWEST_FIRST.cursor_of(_Row(data)), "serials": BY_SERIAL_NUMBER.cursor_of(_Row(unit))}


class _Row:
    def __init__(self, record: asyncpg.Record) -> None:
        self.__dict__.update(dict(record))


def _measure(client: httpx.Client, path: str, cursor: str | None) -> list[float]:
    params = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
    client.get(path, params=params).raise_for_status()  # warm
    timings = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = client.get(path, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        assert len(response.json()["items"]) == PAGE, response.text
    return timings


def _figures_at(size: int, dsn: str, gateway_url: str, headers: dict[str, str]) -> dict[str, dict[str, float]]:
    cursors = asyncio.run(_cursors(dsn, size))
    figures: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=gateway_url, headers=headers, timeout=30) as client:
        for name, path in (("serials", "/api/v1/serials"), ("process-data", "/api/v1/process-data")):
            for page, cursor in (("first page", None), ("deep page", cursors[name])):
                timings = _measure(client, path, cursor)
                figures[f"{name} {page}"] = {"p50": percentile(timings, 50), "p99": percentile(timings, 99)}
    return figures


async def _cursors(dsn: str, size: int) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        return await _deep_cursors(conn, int(size * 0.9))
    finally:
        await conn.close()


async def _prepare(dsn: str, size: int) -> tuple[int, float]:
    conn = await asyncpg.connect(dsn)
    try:
        seconds = await _grow_to(conn, size)
        return await _bench_rows(conn), seconds
    finally:
        await conn.close()


def run() -> Result:
    dsn = os.environ["DATABASE_URL"]
    headers = {"Authorization": f"Bearer {admin_token()}"}
    stored, _ = asyncio.run(_prepare(dsn, 0))
    measured: dict[int, dict[str, dict[str, float]]] = {}
    generation: dict[int, float] = {}
    with bench_gateway(PORT) as gateway_url:
        for size in SIZES:
            if stored > size and size != SIZES[-1]:
                continue  # measured when the data set passed this size, in an earlier run
            stored, generation[size] = asyncio.run(_prepare(dsn, size))
            measured[size] = _figures_at(size, dsn, gateway_url, headers)
    if SIZES[0] in measured:
        ONE_MILLION_FILE.parent.mkdir(parents=True, exist_ok=True)
        ONE_MILLION_FILE.write_text(
            json.dumps({"measured_at": datetime.now(UTC).isoformat(), "figures": measured[SIZES[0]]})
        )
        at_1m, at_1m_when = measured[SIZES[0]], "this run"
    else:
        earlier = json.loads(ONE_MILLION_FILE.read_text()) if ONE_MILLION_FILE.exists() else None
        at_1m = earlier["figures"] if earlier else {}
        at_1m_when = earlier["measured_at"] if earlier else "never (the data set was larger before this benchmark)"
    at_10m = measured[SIZES[-1]]
    figures = []
    for name, values in at_10m.items():
        figures.append(Figure(f"{name} p50 at 10M", values["p50"], "ms"))
        figures.append(Figure(f"{name} p99 at 10M", values["p99"], "ms", "< 20", values["p99"] < 20))
        if name in at_1m:
            figures.append(Figure(f"{name} p99 at 1M", at_1m[name]["p99"], "ms", "< 20", at_1m[name]["p99"] < 20))
            ratio = values["p99"] / at_1m[name]["p99"]
            figures.append(Figure(f"{name} p99 10M / 1M", ratio, "x", "flat (<= 1.5)", ratio <= 1.5))
    return Result(
        benchmark="list_pages",
        description=f"GET /api/v1/serials and /api/v1/process-data, limit {PAGE}: the first page and a page 90% deep "
        f"(by cursor), {SAMPLES} sequential requests each through a gateway, with 1M and 10M step executions "
        f"stored ({STEPS_PER_UNIT} a unit); 1M figures from {at_1m_when}",
        figures=figures,
        comparison={"at_1m": at_1m, "at_10m": at_10m, "generation_seconds": generation, "stored": stored},
    )
