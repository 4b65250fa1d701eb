"""Genealogy traces over a million serials (goal: p99 under 50 ms, each direction).

The data set (100,000 products of 10 units each: a product contains 3 modules, each module 2
parts; 1,000,000 serials and 900,000 component links) is written once with COPY into the local
stack's production schema and reused by later runs. Traces go through the API, one at a time.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, copy_units, percentile

TREES = 100_000
UNITS_PER_TREE = 10  # 1 product + 3 modules + 6 parts
UNITS_PER_LOT = 1_000
MARKER = "BENCH-GEN-LOT-00000"
SAMPLES = 500


async def ensure_data(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM production.lots WHERE lot_number = $1", MARKER):
            return 0.0
        started = time.perf_counter()
        total = TREES * UNITS_PER_TREE
        _, _, ids = await copy_units(
            conn,
            model_code=f"BENCH-GEN-{uuid.uuid4().hex[:6]}",
            model_name="Genealogy bench",
            lot_numbers=[MARKER if n == 0 else f"BENCH-GEN-LOT-{n:05d}" for n in range(total // UNITS_PER_LOT)],
            units_per_lot=UNITS_PER_LOT,
            serial_numbers=[f"GEN-{n:07d}" for n in range(total)],
            lot_status="IN_PROGRESS",
        )
        now = datetime.now(UTC)

        def links():
            for t in range(TREES):
                base = t * UNITS_PER_TREE
                product, modules, parts = ids[base], ids[base + 1 : base + 4], ids[base + 4 : base + 10]
                for m, module in enumerate(modules):
                    yield (uuid.uuid4(), product, module, 1, now)
                    for part in parts[2 * m : 2 * m + 2]:
                        yield (uuid.uuid4(), module, part, 1, now)

        await conn.copy_records_to_table(
            "components",
            schema_name="production",
            columns=["id", "parent_serial_id", "child_serial_id", "quantity", "consumed_at"],
            records=links(),
        )
        await conn.execute("ANALYZE production.serials; ANALYZE production.components")
        return time.perf_counter() - started
    finally:
        await conn.close()


def run() -> Result:
    generation = asyncio.run(ensure_data(os.environ["DATABASE_URL"]))
    headers = {"Authorization": f"Bearer {admin_token()}"}
    rng = random.Random(7)
    timings: dict[str, list[float]] = {"backward": [], "forward": []}
    with httpx.Client(base_url=os.environ["LATHE_PRODUCTION_URL"], headers=headers, timeout=30) as client:
        for direction, offset, expect in (("backward", 0, 9), ("forward", 4, 2)):
            for _ in range(SAMPLES):
                serial = f"GEN-{rng.randrange(TREES) * UNITS_PER_TREE + offset:07d}"
                started = time.perf_counter()
                response = client.get(f"/api/v1/serials/{serial}/genealogy", params={"direction": direction})
                timings[direction].append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                assert len(response.json()["units"]) == expect, response.text
    figures = []
    for direction, values in timings.items():
        p99 = percentile(values, 99)
        figures += [
            Figure(f"{direction} p50", percentile(values, 50), "ms"),
            Figure(f"{direction} p99", p99, "ms", "< 50", p99 < 50),
        ]
    return Result(
        benchmark="genealogy_trace",
        description=f"GET /serials/{{sn}}/genealogy over {TREES * UNITS_PER_TREE:,} serials and "
        f"{TREES * 9:,} links, {SAMPLES} sequential requests per direction, straight to the production service",
        figures=figures,
        comparison={"data_generation_seconds": generation, "samples_ms": timings},
    )
