"""The floor's business metrics read from the floor read model in PostgreSQL: they match what the
plant did, a redelivery adds nothing to them, and all-time sums come out the same whether the
plant's days are recent or long past (read from history)."""

from __future__ import annotations

import os
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.floor.cycle_bins import bin_of
from lathe_analytics.floor_metrics.exposition import cycle_time_buckets
from lathe_analytics.floor_metrics.refresher import FloorMetrics
from lathe_analytics.tables import SCHEMA
from lathe_common.db import create_engine
from sqlalchemy import text

from .floor.conftest import batches, interleave, simulate
from .floor.test_floor_projection import TABLES, Sandbox

pytestmark = pytest.mark.integration


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0]
    engine = create_engine(url + "/lathe_test", pool_size=2)
    schema = f"floor_metrics_{uuid.uuid4().hex[:10]}"
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        translated = await conn.execution_options(schema_translate_map={SCHEMA: schema})
        await translated.run_sync(lambda sync: TABLES[0].metadata.create_all(sync, tables=list(TABLES)))
    try:
        yield Sandbox(engine, schema)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


def _metrics() -> FloorMetrics:
    return FloorMetrics(15, clock=PlantClock("UTC"), bootstrap="127.0.0.1:1", consumers=[])


async def test_the_figures_match_the_plant_and_a_redelivery_adds_nothing(sandbox):
    plant = simulate(7, lots=4, units_per_lot=8)
    rng = random.Random(7)
    delivered = batches(interleave(plant.streams, rng), rng, 30)
    for batch in delivered:
        await sandbox.deliver(batch)
    now = max(e.time for events in plant.streams.values() for e in events) + timedelta(minutes=1)
    async with sandbox.sessions() as session:
        figures = await _metrics().read(session, now)

    expected = plant.expected
    results = Counter()
    for s in figures.steps:
        assert s.model_code == plant.model_code
        results[s.process_code, "PASS"] += s.passes
        results[s.process_code, "FAIL"] += s.failures
        results[s.process_code, "REWORK"] += s.reworks
        assert s.first_attempts == expected.first_attempts[s.process_code]
        assert s.first_passes == expected.first_passes[s.process_code]
    assert +results == +expected.results
    for code in plant.process_codes:
        times = expected.cycle_seconds[code]
        assert dict(cycle_time_buckets(figures.cycle_bins[code])) == dict(
            cycle_time_buckets(Counter(bin_of(t) for t in times))
        )
    finished = {status: n for (model, status), n in figures.units_finished.items() if model == plant.model_code}
    # PASSED and SCRAPPED once per unit (by a step or a disposition), FAILED per failure as it happened
    assert finished == +expected.outcomes
    assert figures.defects == dict(expected.defects)  # four codes: all among the top ones
    routing_wip = {plant.process_codes[position - 1]: n for position, n in expected.wip.items()}
    assert figures.wip == {code: routing_wip.get(code, 0) for code in plant.process_codes}
    assert {s: n for (subject, s), n in figures.statuses.items() if subject == "unit" and n} == +expected.unit_status
    assert figures.newest_step_at is not None and figures.newest_step_at <= now

    # The same events again (a redelivery after a crash): the inbox discards them, nothing moves.
    for batch in delivered[: len(delivered) // 2]:
        await sandbox.deliver(batch)
    async with sandbox.sessions() as session:
        again = await _metrics().read(session, now)
    assert again.steps == figures.steps and again.units_finished == figures.units_finished
    assert again.defects == figures.defects and again.wip == figures.wip

    # A month later the plant's days are history, read by the other query: the same all-time sums.
    async with sandbox.sessions() as session:
        later = await _metrics().read(session, now + timedelta(days=30))
    assert later.units_finished == figures.units_finished
    assert later.first_passes_today == {} and later.units_finished_today == {}
    assert later.defects == {}  # nothing recent: no defect code is exported then
