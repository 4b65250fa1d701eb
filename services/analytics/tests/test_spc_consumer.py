"""The SPC consumer's handlers against the real PostgreSQL (the analytics schema of the local stack):
replays add nothing, batching does not change the points or the summary, storage is bounded, and
spec limits apply whenever their process event arrives. Each test uses process codes of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from lathe_analytics.settings import settings
from lathe_analytics.spc import consumer, repository
from lathe_analytics.spc.models import SpcAlert, SpcAlertPoint, SpcChart, SpcPoint, SpcProcess
from lathe_common.db import create_engine, create_session_factory, unit_of_work
from lathe_contracts.production import ProcessChangedEvent, ProcessDefinedEvent, StepRecordedEvent
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration

# Recent: violations older than SPC_ALERT_MAX_AGE_HOURS are history, never announced.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
# In control for 16 points (no rule hit among them), then nine high: rule 2 on the nine.
BASELINE = [9.98, 10.03, 9.97, 10.01, 10.04, 9.96, 9.99, 10.02, 9.97, 10.03, 10.0, 9.95, 10.02, 9.98, 10.01, 9.9]
SHIFTED = [10.5, 10.52, 10.49, 10.51, 10.53, 10.48, 10.5, 10.52, 10.51]


@pytest.fixture(scope="module")
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def code() -> str:
    return f"T_{uuid.uuid4().hex[:12].upper()}"


def steps(process_code: str, values: list, start: int = 0) -> list[StepRecordedEvent]:
    return [
        StepRecordedEvent(
            id=uuid.uuid4(),
            subject_id=uuid.uuid4(),
            message_id=None,
            process_id=uuid.uuid4(),
            process_code=process_code,
            level="SERIAL",
            step_no=1,
            lot_id=uuid.uuid4(),
            lot_number="WF-KR-260202D-001",
            model_code="SPC-MODEL",
            work_order_number=None,
            serial_id=uuid.uuid4(),
            serial_number=f"SN-{start + n:04d}",
            result="PASS",
            reported_result=None,
            measurements={"width_mm": value, "note": "ok", "checked": True},
            violations=[],
            defect_codes=[],
            operator="lee",
            equipment_id=None,
            started_at=None,
            completed_at=(T0 + timedelta(minutes=start + n)).isoformat(),
            cycle_time_seconds=None,
            serial_status="IN_PROGRESS",
            rework_count=0,
        )
        for n, value in enumerate(values)
    ]


def process(process_code: str, criteria: dict, *, changed: bool = False) -> ProcessDefinedEvent:
    fields = dict(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, process_code),
        process_code=process_code,
        process_number=1,
        name="Width check",
        quality_criteria=criteria,
        is_active=True,
    )
    return ProcessChangedEvent(**fields, changed=["quality_criteria"]) if changed else ProcessDefinedEvent(**fields)


LIMITS = {"width_mm": {"unit": "mm", "lower_limit": 9.0, "upper_limit": 11.0, "target": 10.0}}


async def apply_steps(sessions, events: list[StepRecordedEvent]) -> None:
    async with unit_of_work(sessions) as session:
        await consumer.steps_recorded(session, events)


async def stored(sessions, process_code: str) -> tuple[list[tuple], SpcChart | None, int, int]:
    async with unit_of_work(sessions) as session:
        points = (
            await session.execute(
                select(SpcPoint.measurement, SpcPoint.value, SpcPoint.serial_number)
                .where(SpcPoint.process_code == process_code)
                .order_by(SpcPoint.completed_at, SpcPoint.step_id)
            )
        ).all()
        chart = await session.get(SpcChart, (process_code, "width_mm"))
        alerts = await session.scalar(select(func.count()).where(SpcAlert.process_code == process_code))
        remembered = await session.scalar(select(func.count()).where(SpcAlertPoint.process_code == process_code))
    return [tuple(p) for p in points], chart, alerts or 0, remembered or 0


async def test_a_replayed_batch_adds_no_point_and_no_alert(sessions):
    pc = code()
    events = steps(pc, BASELINE + SHIFTED)
    await apply_steps(sessions, events[:16])
    await apply_steps(sessions, events[16:])
    first = await stored(sessions, pc)
    assert len(first[0]) == 25 and first[1].points_kept == 25  # only the numeric measurement is a point
    assert first[2] >= 1  # the shift was announced
    await apply_steps(sessions, events)  # everything again, in one batch
    await apply_steps(sessions, events[20:])
    again = await stored(sessions, pc)
    assert again[0] == first[0] and again[1].points_kept == 25 and again[2:] == first[2:]


async def test_points_and_summary_do_not_depend_on_batching(sessions):
    together, one_by_one = code(), code()
    for pc in (together, one_by_one):
        async with unit_of_work(sessions) as session:
            await consumer.processes_defined(session, [process(pc, LIMITS)])
    await apply_steps(sessions, steps(together, BASELINE + SHIFTED))
    for event in steps(one_by_one, BASELINE + SHIFTED):
        await apply_steps(sessions, [event])
    a, b = await stored(sessions, together), await stored(sessions, one_by_one)
    assert a[0] == b[0]
    assert (a[1].window_n, a[1].mean, a[1].cpk, a[1].ppk) == (b[1].window_n, b[1].mean, b[1].cpk, b[1].ppk)
    assert a[1].cpk is not None and a[1].points_kept == b[1].points_kept == 25


async def test_spec_limits_apply_whenever_the_process_arrives(sessions):
    pc = code()
    await apply_steps(sessions, steps(pc, BASELINE))
    assert (await stored(sessions, pc))[1].cpk is None  # no limits known yet
    async with unit_of_work(sessions) as session:
        await consumer.processes_defined(session, [process(pc, LIMITS)])
    known = (await stored(sessions, pc))[1]
    assert known.cpk is not None and known.ppk is not None
    narrower = {"width_mm": {**LIMITS["width_mm"], "upper_limit": 10.1}}
    async with unit_of_work(sessions) as session:
        await consumer.processes_changed(session, [process(pc, narrower, changed=True)])
        await consumer.processes_defined(session, [process(pc, LIMITS)])  # a late copy of the definition
    changed = (await stored(sessions, pc))[1]
    assert changed.cpk < known.cpk
    async with unit_of_work(sessions) as session:
        kept = await session.get(SpcProcess, pc)
        assert kept.quality_criteria == narrower  # the definition did not undo the change


async def test_a_chart_keeps_only_its_latest_points(sessions):
    pc = code()
    await apply_steps(sessions, steps(pc, BASELINE + SHIFTED))
    async with unit_of_work(sessions) as session:
        await repository.keep_latest(session, (pc, "width_mm"), 10)
    points, chart, alerts, remembered = await stored(sessions, pc)
    assert [serial for _, _, serial in points] == [f"SN-{n:04d}" for n in range(15, 25)]
    assert chart.points_kept == 10
    async with unit_of_work(sessions) as session:
        left = await session.scalars(select(SpcAlertPoint.step_id).where(SpcAlertPoint.process_code == pc))
        kept = set(await session.scalars(select(SpcPoint.step_id).where(SpcPoint.process_code == pc)))
        assert set(left) <= kept  # what alerts remember of deleted points went with them


async def test_two_transactions_extending_one_run_announce_it_once(sessions):
    """Two consumers (members of the group, other partitions) bring points to one chart at the
    same time, each completing the same run of nine with the eight before: the chart's row lock
    makes the second judge after the first commits, so the run is announced once."""
    pc = code()
    await apply_steps(sessions, steps(pc, BASELINE + SHIFTED[:8]))
    last_two = steps(pc, SHIFTED[7:9], start=len(BASELINE) + 8)
    async with unit_of_work(sessions) as first:
        await consumer.steps_recorded(first, last_two[:1])
        second = asyncio.create_task(apply_steps(sessions, last_two[1:]))
        await asyncio.sleep(1)  # the second is waiting for the first's lock by now
        assert not second.done()
    await second
    async with unit_of_work(sessions) as session:
        runs = await session.scalars(select(SpcAlert).where(SpcAlert.process_code == pc, SpcAlert.rule == 2))
        shifted = [a for a in runs if any(p["step_id"] in {str(e.id) for e in last_two} for p in a.points)]
        assert [len(alert.points) for alert in shifted] == [9]  # not a second one for the same run


async def test_history_is_not_announced_but_a_run_that_goes_on_now_is(sessions):
    """Old records (a first start over years of steps, a machine sending what it kept offline)
    break rules in the past: nothing to act on. If the run goes on with new points, it is news."""
    pc = code()
    old = T0 - timedelta(hours=settings.spc_alert_max_age_hours + 24)
    history = [
        event.model_copy(update={"completed_at": (old + timedelta(minutes=n)).isoformat()})
        for n, event in enumerate(steps(pc, BASELINE + SHIFTED))
    ]
    await apply_steps(sessions, history)
    _, _, alerts, remembered = await stored(sessions, pc)
    assert (alerts, remembered) == (0, 0)
    await apply_steps(sessions, steps(pc, SHIFTED[:2], start=len(BASELINE) + len(SHIFTED)))
    async with unit_of_work(sessions) as session:
        rules = set(await session.scalars(select(SpcAlert.rule).where(SpcAlert.process_code == pc)))
    assert 2 in rules  # nine (now eleven) on one side, the newest two recorded now
