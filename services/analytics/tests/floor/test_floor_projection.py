"""The floor read model in PostgreSQL: the same tables whatever the batches, interleavings and
redeliveries, and the answers they give match what the plant did.

Each run writes into a private schema of the ``lathe_test`` database (the service's tables,
translated there the way a rebuild translates them), through the consumer runtime with its inbox,
so duplicates are discarded the way they are in service.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import pytest
from aiokafka.structs import ConsumerRecord
from lathe_analytics.floor import reads_quality, reads_summary
from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.floor.cycle_bins import ALPHA, nearest_rank
from lathe_analytics.floor.models import FLOOR_TABLES
from lathe_analytics.floor.projector import floor_read_model
from lathe_analytics.read_models.models import ReadModelSkip, ReadModelState
from lathe_analytics.tables import SCHEMA, plumbing
from lathe_common.consumers import Backoff, ConsumerRuntime
from lathe_common.db import create_engine, create_session_factory
from lathe_common.events import Envelope
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import batches, interleave, simulate

pytestmark = pytest.mark.integration

TABLES = (plumbing.inbox, ReadModelState.__table__, ReadModelSkip.__table__, *FLOOR_TABLES)


def stable_columns(table):
    """Every column but ``previous_*``, which hold what a row's latest write replaced (how many
    writes there were depends on the batching; the row itself does not)."""
    return [c for c in table.c if not c.name.startswith("previous_")]


def _zero(table, row) -> bool:
    """A count that came back to zero: the same as no row (its row stays, rows are only added to)."""
    return table.name in ("floor_status_counts", "floor_wip") and row[-1] == 0


class Sandbox:
    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.schema = schema
        self.engine = engine.execution_options(schema_translate_map={SCHEMA: schema})
        self.sessions = create_session_factory(self.engine)
        self.runtime = ConsumerRuntime(
            service="test",
            session_factory=self.sessions,
            inbox=plumbing.inbox,
            producer=None,  # type: ignore[arg-type] - nothing here is dead-lettered
            backoff=Backoff(first_seconds=0.01, max_seconds=0.05),
        )
        self.spec = floor_read_model.consumer()
        self.offset = 0

    async def deliver(self, envelopes: Sequence[Envelope]) -> None:
        records = []
        for e in envelopes:
            records.append(
                ConsumerRecord(
                    "lathe.test.floor",
                    0,
                    self.offset,
                    0,
                    0,
                    e.subject.encode(),
                    e.kafka_value(),
                    None,
                    0,
                    0,
                    e.kafka_headers(),
                )
            )
            self.offset += 1
        outcomes = await self.runtime.process_batch(self.spec, records)
        assert not outcomes.get("dead_lettered"), outcomes

    async def tables(self) -> dict[str, list[tuple]]:
        contents = {}
        async with self.engine.connect() as conn:
            for table in FLOOR_TABLES:
                rows = [r for r in (await conn.execute(select(*stable_columns(table)))).all() if not _zero(table, r)]
                contents[table.name] = sorted(tuple(map(str, row)) for row in rows)
        return contents


@pytest.fixture
async def sandboxes() -> AsyncIterator[callable]:
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0]
    engine = create_engine(url + "/lathe_test", pool_size=4)
    made: list[str] = []

    async def make() -> Sandbox:
        schema = f"floor_{uuid.uuid4().hex[:10]}"
        made.append(schema)
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            translated = await conn.execution_options(schema_translate_map={SCHEMA: schema})
            await translated.run_sync(lambda sync: TABLES[0].metadata.create_all(sync, tables=list(TABLES)))
        return Sandbox(engine, schema)

    try:
        yield make
    finally:
        async with engine.begin() as conn:
            for schema in made:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


@pytest.mark.parametrize("seed", [3, 11])
async def test_batches_interleavings_and_redeliveries_give_the_same_tables(sandboxes, seed):
    plant = simulate(seed, lots=3, units_per_lot=6)
    rng = random.Random(seed)
    whole = await sandboxes()
    for batch in batches(interleave(plant.streams, rng), rng, 500):
        await whole.deliver(batch)
    pieces = await sandboxes()
    delivered: list[list[Envelope]] = []
    for batch in batches(interleave(plant.streams, rng), rng, 7):
        await pieces.deliver(batch)
        delivered.append(batch)
        if rng.random() < 0.3:  # a redelivery of something already handled, as after a crash
            await pieces.deliver(rng.choice(delivered))
    one_by_one = await sandboxes()
    for envelope in interleave(plant.streams, rng):
        await one_by_one.deliver([envelope])
    expected = await whole.tables()
    assert sum(len(rows) for rows in expected.values()) > 50
    assert await pieces.tables() == expected
    assert await one_by_one.tables() == expected


async def test_the_answers_match_what_the_plant_did(sandboxes):
    plant = simulate(5, lots=5, units_per_lot=10)
    sandbox = await sandboxes()
    rng = random.Random(5)
    for batch in batches(interleave(plant.streams, rng), rng, 40):
        await sandbox.deliver(batch)
    expected = plant.expected
    async with sandbox.sessions() as session:
        performance = await reads_quality.process_performance(session, None)
        rows = {p.process_code: p for p in performance.processes}
        for code in plant.process_codes:
            row = rows[code]
            assert row.total_executions == expected.executions[code]
            assert row.success_count == expected.results[code, "PASS"]
            assert row.failure_count == expected.results[code, "FAIL"]
            assert row.first_pass_yield == round(100 * expected.first_passes[code] / expected.first_attempts[code], 2)
            times = expected.cycle_seconds[code]
            mean = sum(Decimal(str(t)) for t in times) / len(times)
            assert row.avg_cycle_time_seconds == round(float(mean), 3)
            for q, estimate in ((0.5, row.cycle_time_p50_seconds), (0.95, row.cycle_time_p95_seconds)):
                true = nearest_rank(times, q)
                assert abs(estimate - true) <= (ALPHA + 1e-6) * true + 0.0005  # the bound, and 3 decimals
        clock = PlantClock("UTC")
        first, last = clock.window(366, plant_now := _latest(plant))
        quality = await reads_quality.quality_metrics(session, first, last)
        model = next(m for m in quality.by_model if m.model_code == plant.model_code)
        fpys = [100 * expected.first_passes[c] / expected.first_attempts[c] for c in plant.process_codes]
        product = 1.0
        for y in fpys:
            product *= y / 100
        assert [s.process_code for s in model.steps] == plant.process_codes  # routing order
        assert model.rolled_throughput_yield == pytest.approx(round(100 * product, 2), abs=0.011)
        assert {d.defect_code: d.occurrences for d in quality.defects_pareto} == dict(expected.defects)
        assert quality.defects_pareto[-1].cumulative_share == 100.0
        wip = await reads_summary.wip_by_process(session)
        assert {w.process_code: w.units for w in wip} == {
            plant.process_codes[position - 1]: n for position, n in expected.wip.items() if n
        }
        dashboard = await reads_summary.dashboard(session, clock, plant_now)
        assert dashboard.serial_statistics.passed == expected.unit_status["PASSED"]
        assert dashboard.serial_statistics.in_progress == expected.unit_status["IN_PROGRESS"]
        assert dashboard.serial_statistics.total_serials == sum(expected.unit_status.values())
        assert dashboard.lot_statistics.total_lots == 5
        assert (
            dashboard.lot_statistics.active_lots == expected.lot_status["CREATED"] + expected.lot_status["IN_PROGRESS"]
        )
        assert dashboard.process_performance.total_executions == sum(expected.executions.values())


def _latest(plant):
    return max(e.time for events in plant.streams.values() for e in events)
