"""The dashboard, production statistics and realtime status, read from pre-aggregated rows only.

What each read costs does not grow with the history of steps: the dashboard reads the all-time
rows (one per process and model), the status counts and this week's output rows; production
statistics the output rows of the asked days; realtime status the open LOTs (an index of open ones
only), work in progress per routing position, the last hour's minute rows and the latest steps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from lathe_common.errors import InvalidInput
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.buckets import PlantClock, Shift, days_between
from lathe_analytics.floor.facts import OPEN_LOT_STATUSES, OUTPUT_FIELDS
from lathe_analytics.floor.models import (
    FloorLot,
    FloorOutputDay,
    FloorProcess,
    FloorProductModel,
    FloorRecentStep,
    FloorStatusCount,
    FloorStepMinute,
    FloorStepTotal,
    FloorWip,
)
from lathe_analytics.floor.rates import average, percent
from lathe_analytics.floor.schemas import (
    DATE_RANGE_TOO_LONG,
    INVALID_DATE_RANGE,
    ActiveLot,
    Dashboard,
    ExecutionSummary,
    GroupBy,
    LotStatistics,
    OutputBucket,
    OutputCounts,
    ProcessWip,
    ProductionStats,
    QualitySummary,
    RecentExecution,
    SerialStatistics,
    Throughput,
)

MAX_RANGE_DAYS = 366
THROUGHPUT_MINUTES = 60


def checked_range(date_from: date | None, date_to: date | None, clock: PlantClock, now: datetime) -> tuple[date, date]:
    """The asked production days; by default the last seven. Refuses a reversed or too long range."""
    last = date_to or clock.today(now)
    first = date_from or min(last, clock.today(now)) - timedelta(days=6)
    if first > last:
        raise InvalidInput(
            f"date_from {first} is after date_to {last}.", code=INVALID_DATE_RANGE.code, date_from=str(first)
        )
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"{first} to {last} spans more than {MAX_RANGE_DAYS} days.",
            code=DATE_RANGE_TOO_LONG.code,
            max_days=MAX_RANGE_DAYS,
        )
    return first, last


async def dashboard(session: AsyncSession, clock: PlantClock, now: datetime) -> Dashboard:
    counts = {(s, status): int(n) for s, status, n in await session.execute(select(FloorStatusCount.__table__))}
    t = FloorStepTotal
    totals = (
        await session.execute(
            select(
                func.coalesce(func.sum(t.executions), 0),
                func.coalesce(func.sum(t.passes), 0),
                func.coalesce(func.sum(t.failures), 0),
                func.coalesce(func.sum(t.reworks), 0),
                func.coalesce(func.sum(t.cycle_count), 0),
                func.sum(t.cycle_seconds),
            )
        )
    ).one()
    executions, passes, failures, reworks, cycle_count = (int(n) for n in totals[:5])
    cycle_seconds = totals[5]
    today, monday = clock.today(now), clock.week_start(now)
    o = FloorOutputDay
    lots_today, lots_this_week, serials_today = (
        int(n)
        for n in (
            await session.execute(
                select(
                    func.coalesce(func.sum(o.lots_created).filter(o.day == today), 0),
                    func.coalesce(func.sum(o.lots_created), 0),
                    func.coalesce(func.sum(o.units_created).filter(o.day == today), 0),
                ).where(o.day >= monday, o.day <= today)
            )
        ).one()
    )

    def total(subject: str) -> int:
        return sum(n for (s, _), n in counts.items() if s == subject)

    return Dashboard(
        production_day=today,
        lot_statistics=LotStatistics(
            total_lots=total("lot"),
            lots_today=lots_today,
            lots_this_week=lots_this_week,
            active_lots=sum(counts.get(("lot", s), 0) for s in OPEN_LOT_STATUSES),
        ),
        serial_statistics=SerialStatistics(
            total_serials=total("unit"),
            serials_today=serials_today,
            in_progress=counts.get(("unit", "IN_PROGRESS"), 0),
            passed=counts.get(("unit", "PASSED"), 0),
            failed=counts.get(("unit", "FAILED"), 0),
            scrapped=counts.get(("unit", "SCRAPPED"), 0),
        ),
        quality_metrics=QualitySummary(
            overall_pass_rate=percent(passes, executions),
            defect_rate=percent(failures, executions),
            rework_rate=percent(reworks, executions),
        ),
        process_performance=ExecutionSummary(
            total_executions=executions,
            avg_cycle_time_seconds=average(cycle_seconds, cycle_count),
            total_failures=failures,
        ),
    )


def _counts(row: dict[str, int]) -> dict[str, int]:
    # Finished for good, each unit once; units_failed counts failures, which wait for a disposition.
    finished = row["units_passed"] + row["units_scrapped"]
    return {**{name: row[name] for name in OUTPUT_FIELDS}, "units_completed": finished}


async def production_stats(session: AsyncSession, first: date, last: date, group_by: GroupBy) -> ProductionStats:
    o = FloorOutputDay
    keys = {GroupBy.DAY: (o.day,), GroupBy.SHIFT: (o.day, o.shift), GroupBy.MODEL: (o.model_code,)}[group_by]
    sums = [func.sum(o.__table__.c[name]).label(name) for name in OUTPUT_FIELDS]
    rows = await session.execute(select(*keys, *sums).where(o.day >= first, o.day <= last).group_by(*keys))
    found = {tuple(row[: len(keys)]): {name: int(row._mapping[name]) for name in OUTPUT_FIELDS} for row in rows}
    zero = dict.fromkeys(OUTPUT_FIELDS, 0)
    buckets: list[OutputBucket] = []
    if group_by is GroupBy.MODEL:
        for (model,), row in sorted(found.items()):
            buckets.append(OutputBucket(bucket=model or "(unknown)", model_code=model or None, **_counts(row)))
    else:
        for day in days_between(first, last):  # every day (and shift) of the range, zero when idle
            if group_by is GroupBy.DAY:
                buckets.append(OutputBucket(bucket=day.isoformat(), day=day, **_counts(found.get((day,), zero))))
                continue
            for shift in Shift:
                row = found.get((day, shift.value), zero)
                buckets.append(
                    OutputBucket(bucket=f"{day.isoformat()} {shift.value}", day=day, shift=shift.value, **_counts(row))
                )
    totals = {name: sum(row[name] for row in found.values()) for name in OUTPUT_FIELDS}
    return ProductionStats(
        date_from=first, date_to=last, group_by=group_by, buckets=buckets, totals=OutputCounts(**_counts(totals))
    )


async def active_lots(session: AsyncSession, limit: int) -> list[ActiveLot]:
    lot = FloorLot
    rows = await session.scalars(
        select(lot)
        .where(lot.status.in_(OPEN_LOT_STATUSES))
        .order_by(lot.created_at.desc(), lot.lot_id.desc())
        .limit(limit)
    )
    return [
        ActiveLot(
            lot_id=r.lot_id,
            lot_number=r.lot_number,
            model_code=r.model_code,
            work_order_number=r.work_order_number,
            status=r.status or "",
            target_quantity=r.target_quantity,
            units=r.units,
            units_finished=r.units_finished,
            units_passed=r.units_passed,
            progress_percent=percent(r.units_finished, r.target_quantity or r.units),
            created_at=r.created_at,
        )
        for r in rows
    ]


async def wip_by_process(session: AsyncSession) -> list[ProcessWip]:
    """Units waiting per routing position, named by the models' routings (as they are now)."""
    waiting = (await session.execute(select(FloorWip.model_code, FloorWip.step_no, FloorWip.units))).all()
    models = {m for m, _, n in waiting if n}
    routings = dict(
        (
            await session.execute(
                select(FloorProductModel.model_code, FloorProductModel.routing).where(
                    FloorProductModel.model_code.in_(models)
                )
            )
        ).all()
    )
    by_process: dict[str | None, int] = defaultdict(int)
    for model, step_no, units in waiting:
        routing = routings.get(model) or []
        by_process[routing[step_no - 1] if 0 < step_no <= len(routing) else None] += units
    names = dict(
        (
            await session.execute(
                select(FloorProcess.process_code, FloorProcess.name).where(
                    FloorProcess.process_code.in_([c for c in by_process if c])
                )
            )
        ).all()
    )
    return [
        ProcessWip(process_code=code, process_name=names.get(code) if code else None, units=units)
        for code, units in sorted(by_process.items(), key=lambda item: (item[0] is None, item[0] or ""))
        if units
    ]


async def throughput(session: AsyncSession, now: datetime) -> Throughput:
    m = FloorStepMinute
    row = (
        await session.execute(
            select(
                *(
                    func.coalesce(func.sum(c), 0)
                    for c in (m.executions, m.passes, m.failures, m.reworks, m.units_finished)
                )
            ).where(m.minute > now - timedelta(minutes=THROUGHPUT_MINUTES), m.minute <= now)
        )
    ).one()
    executions, passes, failures, reworks, finished = (int(n) for n in row)
    return Throughput(
        minutes=THROUGHPUT_MINUTES,
        executions=executions,
        passes=passes,
        failures=failures,
        reworks=reworks,
        units_finished=finished,
    )


async def latest_executions(session: AsyncSession, limit: int) -> list[RecentExecution]:
    r = FloorRecentStep
    rows = await session.scalars(select(r).order_by(r.completed_at.desc(), r.step_id.desc()).limit(limit))
    return [
        RecentExecution(
            step_id=s.step_id,
            completed_at=s.completed_at,
            process_code=s.process_code,
            level=s.level,
            model_code=s.model_code,
            lot_number=s.lot_number,
            serial_number=s.serial_number,
            result=s.result,
            serial_status=s.serial_status,
            operator=s.operator,
            equipment_id=s.equipment_id,
            cycle_time_seconds=float(s.cycle_time_seconds) if s.cycle_time_seconds is not None else None,
            defect_codes=list(s.defect_codes),
        )
        for s in rows
    ]


async def active_lot_count(session: AsyncSession) -> int:
    found = await session.scalar(
        select(func.coalesce(func.sum(FloorStatusCount.n), 0)).where(
            FloorStatusCount.subject == "lot", FloorStatusCount.status.in_(OPEN_LOT_STATUSES)
        )
    )
    return int(found or 0)
