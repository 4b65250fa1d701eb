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
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from aiokafka.structs import ConsumerRecord
from lathe_analytics.floor import reads_quality, reads_summary
from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.floor.cycle_bins import ALPHA, nearest_rank
from lathe_analytics.floor.models import FLOOR_TABLES
from lathe_analytics.floor.projector import floor_read_model
from lathe_analytics.floor.schemas import GroupBy
from lathe_analytics.read_models.models import ReadModelSkip, ReadModelState
from lathe_analytics.tables import SCHEMA, plumbing
from lathe_common.consumers import Backoff, ConsumerRuntime
from lathe_common.db import create_engine, create_session_factory
from lathe_common.events import Envelope
from lathe_contracts.production import (
    LotCreatedEvent,
    SerialsCreatedEvent,
    SerialStatusChangedEvent,
    StepRecordedEvent,
)
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import batches, envelope, interleave, simulate

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
    for event in interleave(plant.streams, rng):
        await one_by_one.deliver([event])
    expected = await whole.tables()
    assert sum(len(rows) for rows in expected.values()) > 50
    assert await pieces.tables() == expected
    assert await one_by_one.tables() == expected


async def test_the_answers_match_what_the_plant_did(sandboxes):
    plant = simulate(10, lots=5, units_per_lot=10)  # dispositions of every kind, failures still undecided
    sandbox = await sandboxes()
    rng = random.Random(10)
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
        assert set(expected.dispositions) == {"REWORK", "SCRAP", "USE_AS_IS"}  # the plant decided some of each
        assert dashboard.serial_statistics.passed == expected.unit_status["PASSED"]
        assert dashboard.serial_statistics.in_progress == expected.unit_status["IN_PROGRESS"]
        assert dashboard.serial_statistics.failed == expected.unit_status["FAILED"]  # awaiting their dispositions
        assert dashboard.serial_statistics.scrapped == expected.unit_status["SCRAPPED"]
        totals = (await reads_summary.production_stats(session, first, last, GroupBy.MODEL)).totals
        assert (totals.units_passed, totals.units_failed, totals.units_scrapped) == (
            expected.outcomes["PASSED"],
            expected.outcomes["FAILED"],
            expected.outcomes["SCRAPPED"],
        )
        assert totals.units_completed == expected.unit_status["PASSED"] + expected.unit_status["SCRAPPED"]
        lots = await reads_summary.active_lots(session, 100)
        assert all(lot.units_finished <= lot.units for lot in lots)
        assert dashboard.serial_statistics.total_serials == sum(expected.unit_status.values())
        assert dashboard.lot_statistics.total_lots == 5
        assert (
            dashboard.lot_statistics.active_lots == expected.lot_status["CREATED"] + expected.lot_status["IN_PROGRESS"]
        )
        assert dashboard.process_performance.total_executions == sum(expected.executions.values())


def _latest(plant):
    return max(e.time for events in plant.streams.values() for e in events)


def _unit_events(lot_id, model):
    """Hand-made events of a two-step routing: a unit's steps and dispositions, as production sends them,
    each ``day`` (of January 2026) at 08:00 plus ``minute``."""

    def at(day: int, minute: int) -> datetime:
        return datetime(2026, 1, day, 8, tzinfo=UTC) + timedelta(minutes=minute)

    def step(unit, no: int, result: str, status: str, day: int, minute: int, reworks: int = 0) -> Envelope:
        moment = at(day, minute)
        return envelope(
            StepRecordedEvent(
                id=uuid.uuid4(),
                subject_id=unit[0],
                message_id=None,
                process_id=uuid.UUID(int=no),
                process_code=f"DISP_P{no}",
                level="SERIAL",
                step_no=no,
                lot_id=lot_id,
                lot_number="DISP-L",
                model_code=model,
                work_order_number=None,
                serial_id=unit[0],
                serial_number=unit[1],
                result=result,
                reported_result=result,
                measurements={},
                violations=[],
                defect_codes=[] if result == "PASS" else ["BRIDGE"],
                operator="kim",
                equipment_id=None,
                started_at=None,
                completed_at=moment.isoformat(),
                cycle_time_seconds=30.0,
                serial_status=status,
                rework_count=reworks,
            ),
            moment,
        )

    def disposed(unit, disposition: str, status: str, completed: int, day: int, minute: int, reworks: int = 0):
        changed = SerialStatusChangedEvent(
            serial_id=unit[0],
            serial_number=unit[1],
            lot_id=lot_id,
            lot_number="DISP-L",
            model_code=model,
            work_order_number=None,
            previous_status="FAILED",
            serial_status=status,
            rework_count=reworks,
            current_step=completed,
            cause="disposition",
            nonconformance_id=uuid.uuid4(),
            disposition=disposition,
            code=None,
        )
        return envelope(changed, at(day, minute))

    return step, disposed


async def test_dispositions_move_units_statuses_wip_and_output_once(sandboxes):
    sandbox = await sandboxes()
    lot_id, model = uuid.uuid4(), f"DISP-{uuid.uuid4().hex[:6]}"
    scrapped, used, reworked = ((uuid.uuid4(), f"DISP-L-{n}") for n in range(3))
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    created = [
        envelope(
            LotCreatedEvent(
                id=lot_id,
                lot_number="DISP-L",
                product_model_id=uuid.uuid4(),
                model_code=model,
                work_order_number=None,
                target_quantity=3,
                shift="DAY",
                production_date="2026-01-05",
                status="CREATED",
            ),
            start,
        ),
        envelope(
            SerialsCreatedEvent(
                lot_id=lot_id,
                lot_number="DISP-L",
                work_order_number=None,
                model_code=model,
                serials=[{"id": str(i), "serial_number": s} for i, s in (scrapped, used, reworked)],
            ),
            start,
        ),
    ]
    step, disposed = _unit_events(lot_id, model)
    failures = [  # on the 5th
        step(scrapped, 1, "PASS", "IN_PROGRESS", 5, 0),
        step(scrapped, 2, "FAIL", "FAILED", 5, 5),
        step(used, 1, "PASS", "IN_PROGRESS", 5, 10),
        step(used, 2, "FAIL", "FAILED", 5, 15),  # the routing's last step
    ]
    await sandbox.deliver(created + failures)
    decided = [  # on the 6th
        disposed(scrapped, "SCRAP", "SCRAPPED", 1, 6, 0),
        disposed(used, "USE_AS_IS", "PASSED", 2, 6, 5),
        # One batch: failed, sent back to step 1, passed it: the three in their order.
        step(reworked, 1, "FAIL", "FAILED", 6, 10),
        disposed(reworked, "REWORK", "IN_PROGRESS", 0, 6, 15, reworks=1),
        step(reworked, 1, "PASS", "IN_PROGRESS", 6, 20, reworks=1),
    ]
    await sandbox.deliver(decided)
    await sandbox.deliver(decided[:2])  # a redelivery: the inbox discards it
    tables = await sandbox.tables()
    units = {row[1]: (row[4], row[5], row[6], row[7]) for row in tables["floor_units"]}
    assert units == {  # status, rework count, furthest step, waiting step
        scrapped[1]: ("SCRAPPED", "0", "2", "None"),
        used[1]: ("PASSED", "0", "2", "None"),
        reworked[1]: ("IN_PROGRESS", "1", "1", "2"),
    }
    assert [r for r in tables["floor_status_counts"] if r[0] == "unit"] == [
        ("unit", "IN_PROGRESS", "1"),
        ("unit", "PASSED", "1"),
        ("unit", "SCRAPPED", "1"),
    ]  # FAILED back at zero: no row (see _zero)
    assert tables["floor_wip"] == [(model, "2", "1")]
    async with sandbox.sessions() as session:
        stats = await reads_summary.production_stats(session, date(2026, 1, 5), date(2026, 1, 6), GroupBy.DAY)
        dashboard = await reads_summary.dashboard(session, PlantClock("UTC"), datetime(2026, 1, 6, 12, tzinfo=UTC))
        (lot,) = await reads_summary.active_lots(session, 10)
    first, second = stats.buckets
    # The failures on their day, each unit finished once on the day its disposition was decided.
    assert (first.units_failed, first.units_passed, first.units_scrapped, first.units_completed) == (2, 0, 0, 0)
    assert (second.units_failed, second.units_passed, second.units_scrapped, second.units_completed) == (1, 1, 1, 2)
    assert (stats.totals.units_started, stats.totals.units_completed) == (3, 2)
    serials = dashboard.serial_statistics
    assert (serials.in_progress, serials.passed, serials.failed, serials.scrapped) == (1, 1, 0, 1)
    assert (lot.units_finished, lot.units_passed, lot.progress_percent) == (2, 1, 66.67)
