"""``python -m lathe_analytics rebuild analytics.spc``: a rebuild during traffic ends with the tables one
pass over the events gives, and announces nothing (the live consumer announced already).

Real Kafka and PostgreSQL, the service's own rebuild code (as tests/floor/test_floor_rebuild.py for
the floor): process and step events go to a private topic of three partitions (a process's steps
keyed by the process, so they arrive in time order, and processes interleave across partitions);
the read model's live consumer builds a private live schema as they come; the rebuild replays the
topic into a private shadow schema and switches while the rest is still being produced. The
outbox is replaced by a recorder (the private schemas have none): it notes who announced what.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.structs import ConsumerRecord
from lathe_analytics.read_models.declaration import replaying
from lathe_analytics.read_models.models import ReadModelSkip, ReadModelState
from lathe_analytics.read_models.rebuild import Rebuild
from lathe_analytics.read_models.testing import LiveConsumer, private_schemas
from lathe_analytics.spc import alerts
from lathe_analytics.spc.analysis import analyse
from lathe_analytics.spc.consumer import spc_read_model
from lathe_analytics.spc.models import SpcAlert, SpcAlertPoint, SpcChart, SpcPoint, SpcProcess
from lathe_analytics.spc.statistics import SpecLimits
from lathe_analytics.tables import SCHEMA, plumbing
from lathe_common.consumers import Backoff, ConsumerRuntime
from lathe_common.db import create_session_factory
from lathe_common.events import Envelope
from lathe_common.kafka import create_producer
from lathe_contracts.production import ProcessDefinedEvent, StepRecordedEvent
from sqlalchemy import func, select

pytestmark = pytest.mark.integration

SPC_TABLES = (SpcProcess.__table__, SpcPoint.__table__, SpcChart.__table__)
TABLES = (
    plumbing.inbox,
    ReadModelState.__table__,
    ReadModelSkip.__table__,
    *SPC_TABLES,
    SpcAlert.__table__,
    SpcAlertPoint.__table__,
)
# A stable process: no tail of any prefix breaks a rule (asserted below); the first process shifts
# up for its last points, which breaks rules 1 and 2.
SHIFT_AT = 28
PATTERN = [10.0, 10.2, 9.9, 10.1, 9.8, 10.05, 10.15, 9.95, 9.85, 10.1]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)  # recent enough to alert


def _envelope(event, at: datetime) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="lathe/production",
        type=event.event_type,
        time=at,
        subject=event.aggregate_id,
        data=event.model_dump(mode="json"),
    )


def plant(processes: int, steps: int) -> list[tuple[str, Envelope]]:
    """(key, event) in the order produced: each process's definition, then its steps by time."""
    out: list[tuple[str, Envelope]] = []
    for p in range(processes):
        code = f"RB_{uuid.uuid4().hex[:8].upper()}"
        criteria = {"gap_mm": {"unit": "mm", "lower_limit": 9.0, "upper_limit": 11.0, "target": 10.0}}
        defined = ProcessDefinedEvent(
            id=uuid.uuid4(),
            process_code=code,
            process_number=p + 1,
            name="Gap",
            quality_criteria=criteria,
            is_active=True,
        )
        out.append((code, _envelope(defined, T0)))
        for n in range(steps):
            at = T0 + timedelta(minutes=n)
            step = StepRecordedEvent(
                id=uuid.uuid4(),
                subject_id=uuid.uuid4(),
                message_id=None,
                process_id=defined.id,
                process_code=code,
                level="SERIAL",
                step_no=1,
                lot_id=uuid.uuid4(),
                lot_number="RB-LOT",
                model_code="RB-MODEL",
                work_order_number=None,
                serial_id=uuid.uuid4(),
                serial_number=f"RB-{p}-{n:04d}",
                result="PASS",
                reported_result=None,
                measurements={
                    "gap_mm": PATTERN[(n + p) % len(PATTERN)] + (0.8 if p == 0 and n >= SHIFT_AT else 0),
                    "note": "ok",
                },
                violations=[],
                defect_codes=[],
                operator="lee",
                equipment_id=None,
                started_at=None,
                completed_at=at.isoformat(),
                cycle_time_seconds=None,
                serial_status="PASSED",
                rework_count=0,
            )
            out.append((code, _envelope(step, at)))
    return out


def test_the_pattern_breaks_no_rule_at_any_point():
    for offset in range(len(PATTERN)):
        series = [PATTERN[(n + offset) % len(PATTERN)] for n in range(60)]
        for end in range(2, len(series) + 1):
            assert analyse(series[max(0, end - 100) : end], SpecLimits(9.0, 11.0)).violations == [], (offset, end)


@pytest.fixture
async def private() -> AsyncIterator[dict]:
    async with private_schemas("spc", TABLES) as made:
        yield made


def _stable(table) -> list:
    """Every column but the row id and write times (which differ between two builds of one table)."""
    return [c for c in table.c if c.name not in ("id", "updated_at")]


async def _tables(engine, schema: str) -> dict[str, list[tuple]]:
    translated = engine.execution_options(schema_translate_map={SCHEMA: schema})
    async with translated.connect() as conn:
        return {
            t.name: sorted(tuple(map(str, row)) for row in (await conn.execute(select(*_stable(t)))).all())
            for t in SPC_TABLES
        }


async def _deliver_in_one_go(engine, schema: str, events: list[tuple[str, Envelope]]) -> None:
    translated = engine.execution_options(schema_translate_map={SCHEMA: schema})
    runtime = ConsumerRuntime(
        service="test",
        session_factory=create_session_factory(translated),
        inbox=plumbing.inbox,
        producer=None,  # type: ignore[arg-type]
        backoff=Backoff(first_seconds=0.01, max_seconds=0.05),
    )
    records = [
        ConsumerRecord("t", 0, n, 0, 0, key.encode(), e.kafka_value(), None, 0, 0, e.kafka_headers())
        for n, (key, e) in enumerate(events)
    ]
    outcomes = await runtime.process_batch(spc_read_model.consumer(), records)
    assert not outcomes.get("dead_lettered"), outcomes


class Recorder:
    """Stands in for the outbox: counts the alerts announced, by schema and whether replaying."""

    def __init__(self) -> None:
        self.announced: Counter[tuple[str, bool]] = Counter()

    async def add(self, session, *events, **kwargs) -> None:
        schema = session.bind.get_execution_options()["schema_translate_map"][SCHEMA]
        self.announced[(schema, replaying())] += len(events)


async def test_a_rebuild_during_traffic_ends_with_what_one_pass_over_the_events_gives(private, monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(alerts, "outbox", recorder)
    events = plant(processes=4, steps=40)
    model = dataclasses.replace(spc_read_model, name=f"test.spc.{uuid.uuid4().hex[:8]}", topics=(private["topic"],))
    live_engine = private["engine"].execution_options(schema_translate_map={SCHEMA: private["schemas"]["live"]})
    producer = create_producer(private["bootstrap"], client_id="lathe-tests")
    await producer.start()

    async def produce(batch, pause: float = 0.0) -> None:
        for key, e in batch:
            await producer.send_and_wait(private["topic"], e.kafka_value(), key=key.encode(), headers=e.kafka_headers())
            if pause:
                await asyncio.sleep(pause)

    first, rest = events[: len(events) * 2 // 3], events[len(events) * 2 // 3 :]
    live = LiveConsumer(model, live_engine, private["bootstrap"])
    running = asyncio.create_task(live.run())
    try:
        await produce(first)
        rebuild = Rebuild(
            model,
            database_url=private["url"],
            bootstrap=private["bootstrap"],
            live_schema=private["schemas"]["live"],
            shadow_schema=private["schemas"]["shadow"],
            switch_lag=20,
        )
        traffic = asyncio.create_task(produce(rest, pause=3.0 / len(rest)))
        report = await rebuild.run()
        await traffic
        assert report.generation == 2 and report.events >= len(first)
        await _deliver_in_one_go(private["engine"], private["schemas"]["reference"], events)
        expected = await _tables(private["engine"], private["schemas"]["reference"])
        assert len(expected["spc_points"]) == 4 * 40 and len(expected["spc_charts"]) == 4
        for _ in range(300):
            if await _tables(private["engine"], private["schemas"]["live"]) == expected:
                break
            await asyncio.sleep(0.1)
        assert await _tables(private["engine"], private["schemas"]["live"]) == expected
        live_schema, shadow_schema = private["schemas"]["live"], private["schemas"]["shadow"]
        assert not any(during_replay for _, during_replay in recorder.announced)
        assert recorder.announced[(shadow_schema, False)] == 0
        announced = recorder.announced[(live_schema, False)]
        assert announced > 0  # the shift, by the live consumer
        async with live_engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(SpcAlert)) == announced
    finally:
        live.stopping.set()
        await running
        await producer.stop()
