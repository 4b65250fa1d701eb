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
from datetime import UTC, date, datetime

import asyncpg
import httpx

from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, percentile

TREES = 100_000
UNITS_PER_TREE = 10  # 1 product + 3 modules + 6 parts
UNITS_PER_LOT = 1_000
MARKER = "BENCH-GEN-LOT-00000"
SAMPLES = 500


async def _ensure_data(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM production.lots WHERE lot_number = $1", MARKER):
            return 0.0
        started = time.perf_counter()
        model_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO production.product_models (id, model_code, model_name) VALUES ($1, $2, 'Genealogy bench')",
            model_id,
            f"BENCH-GEN-{model_id.hex[:6]}",
        )
        total = TREES * UNITS_PER_TREE
        lots = [uuid.uuid4() for _ in range(total // UNITS_PER_LOT)]
        now, today = datetime.now(UTC), date.today()
        await conn.copy_records_to_table(
            "lots",
            schema_name="production",
            columns=[
                "id",
                "lot_number",
                "product_model_id",
                "model_code",
                "target_quantity",
                "serial_count",
                "shift",
                "production_date",
                "status",
                "created_at",
                "updated_at",
            ],
            records=[
                (
                    lot,
                    MARKER if n == 0 else f"BENCH-GEN-LOT-{n:05d}",
                    model_id,
                    "BENCH-GEN",
                    UNITS_PER_LOT,
                    UNITS_PER_LOT,
                    "DAY",
                    today,
                    "IN_PROGRESS",
                    now,
                    now,
                )
                for n, lot in enumerate(lots)
            ],
        )
        ids = [uuid.uuid4() for _ in range(total)]
        await conn.copy_records_to_table(
            "serials",
            schema_name="production",
            columns=[
                "id",
                "serial_number",
                "lot_id",
                "sequence_in_lot",
                "status",
                "current_step",
                "rework_count",
                "created_at",
                "updated_at",
            ],
            records=(
                (ids[n], f"GEN-{n:07d}", lots[n // UNITS_PER_LOT], n % UNITS_PER_LOT + 1, "IN_PROGRESS", 0, 0, now, now)
                for n in range(total)
            ),
        )

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
    generation = asyncio.run(_ensure_data(os.environ["DATABASE_URL"]))
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
