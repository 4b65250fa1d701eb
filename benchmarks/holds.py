"""A recall over a million serials: POST /api/v1/holds/by-component holding every unit that contains
one component LOT, for components that went into 10, 1,000 and 10,000 modules (and so as many
products: forward genealogy two levels up).

It reuses the genealogy benchmark's data set (1,000,000 serials, 900,000 links; written once) and
adds, per run, a material LOT per size consumed by that many modules of distinct products. Each
hold is undone by SQL after it is timed (holds are otherwise permanent until a signed release), so
runs measure the same work. Straight to the production service, one call at a time.
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

from benchmarks import genealogy
from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, percentile

SIZES = (10, 1_000, 10_000)  # modules that consumed the component
REPEATS = 5


async def _component_lots(dsn: str, rng: random.Random) -> dict[int, list[str]]:
    """Per size, REPEATS fresh material LOTs, each consumed by that many modules of distinct products."""
    conn = await asyncpg.connect(dsn)
    try:
        made: dict[int, list[str]] = {}
        now = datetime.now(UTC)
        for size in SIZES:
            for _ in range(REPEATS):
                number = f"BENCH-HOLD-{uuid.uuid4().hex[:10].upper()}"
                lot_id = uuid.uuid4()
                await conn.execute(
                    """INSERT INTO production.lots (id, lot_number, product_model_id, model_code, target_quantity,
                           serial_count, shift, production_date, status, created_at, updated_at)
                       SELECT $1, $2, product_model_id, model_code, $3, 0, shift, production_date, status, $4, $4
                       FROM production.lots WHERE lot_number = $5""",
                    lot_id,
                    number,
                    size,
                    now,
                    genealogy.MARKER,
                )
                trees = rng.sample(range(genealogy.TREES), size)
                modules = [f"GEN-{t * genealogy.UNITS_PER_TREE + 1:07d}" for t in trees]
                await conn.execute(
                    """INSERT INTO production.components (id, parent_serial_id, child_lot_id, quantity, consumed_at)
                       SELECT gen_random_uuid(), s.id, $1, 1, $2 FROM production.serials s
                       WHERE s.serial_number = ANY($3::text[])""",
                    lot_id,
                    now,
                    modules,
                )
                made.setdefault(size, []).append(number)
        return made
    finally:
        await conn.close()


async def _undo(dsn: str, placement_id: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                """UPDATE production.serials SET hold_id = NULL
                   WHERE hold_id IN (SELECT id FROM production.holds WHERE placement_id = $1)""",
                uuid.UUID(placement_id),
            )
            await conn.execute("DELETE FROM production.holds WHERE placement_id = $1", uuid.UUID(placement_id))
    finally:
        await conn.close()


def run() -> Result:
    dsn = os.environ["DATABASE_URL"]
    generation = asyncio.run(genealogy.ensure_data(dsn))  # the genealogy benchmark's data set
    components = asyncio.run(_component_lots(dsn, random.Random()))
    headers = {"Authorization": f"Bearer {admin_token()}"}
    timings: dict[int, list[float]] = {size: [] for size in SIZES}
    with httpx.Client(base_url=os.environ["LATHE_PRODUCTION_URL"], headers=headers, timeout=120) as client:
        for size, numbers in components.items():
            for number in numbers:
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/holds/by-component", json={"component": number, "reason": "benchmark recall"}
                )
                timings[size].append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                placed = response.json()
                # modules and their products (a product has 3 modules: each its own tree here)
                assert placed["units_containing"] == 2 * size, placed
                asyncio.run(_undo(dsn, placed["placement_id"]))
    figures = []
    for size, values in timings.items():
        figures += [
            Figure(f"{2 * size:,} units held p50", percentile(values, 50), "ms"),
            Figure(f"{2 * size:,} units held max", max(values), "ms"),
        ]
    return Result(
        benchmark="hold_by_component",
        description=f"POST /holds/by-component over {genealogy.TREES * genealogy.UNITS_PER_TREE:,} serials: a "
        f"material LOT in {', '.join(f'{s:,}' for s in SIZES)} modules (twice as many units held), "
        f"{REPEATS} calls each, straight to the production service",
        figures=figures,
        comparison={"data_generation_seconds": generation, "samples_ms": {str(k): v for k, v in timings.items()}},
    )
