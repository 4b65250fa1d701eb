"""What the Prometheus business metrics read (``lathe_analytics.floor_metrics``), from the aggregates only.

All-time figures come from the all-time rows (one per process and model, one per process and
cycle-time bin); the few that exist only per production day (unit outcomes, defects) are summed
over a range of days, so the caller can sum old days rarely and recent days often. Processes are
named by their current code (the code the step carried when the process is not known yet).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.models import (
    FloorCycleBinTotal,
    FloorDefectDay,
    FloorOutputDay,
    FloorProcess,
    FloorRecentStep,
    FloorStatusCount,
    FloorStepDay,
    FloorStepTotal,
)

# The output columns of a unit's outcomes (``facts._UNIT_OUTCOME``), by status: PASSED and SCRAPPED are
# final (once per unit), FAILED counts failures as they happen (each waits for a disposition).
UNIT_OUTCOMES = {"PASSED": "units_passed", "FAILED": "units_failed", "SCRAPPED": "units_scrapped"}


@dataclass(frozen=True)
class StepTotals:
    """All time, for one process and model."""

    process_code: str
    model_code: str
    passes: int
    failures: int
    reworks: int
    first_attempts: int
    first_passes: int
    cycle_count: int
    cycle_seconds: Decimal


async def _process_codes(session: AsyncSession) -> dict[uuid.UUID, str]:
    return dict((await session.execute(select(FloorProcess.process_id, FloorProcess.process_code))).all())


async def step_totals(session: AsyncSession) -> list[StepTotals]:
    t = FloorStepTotal
    rows = await session.execute(
        select(
            t.process_id,
            t.process_code,
            t.model_code,
            t.passes,
            t.failures,
            t.reworks,
            t.first_attempts,
            t.first_passes,
            t.cycle_count,
            t.cycle_seconds,
        )
    )
    codes = await _process_codes(session)
    return [
        StepTotals(
            process_code=codes.get(row.process_id, row.process_code),
            model_code=row.model_code,
            passes=row.passes,
            failures=row.failures,
            reworks=row.reworks,
            first_attempts=row.first_attempts,
            first_passes=row.first_passes,
            cycle_count=row.cycle_count,
            cycle_seconds=row.cycle_seconds,
        )
        for row in rows
    ]


async def cycle_bins(session: AsyncSession) -> dict[str, dict[int, int]]:
    """All time: process code -> cycle-time bin (``cycle_bins``) -> steps."""
    b = FloorCycleBinTotal
    codes = await _process_codes(session)
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for process_id, index, n in await session.execute(select(b.process_id, b.bin, b.n)):
        code = codes.get(process_id, str(process_id))
        counts[code][index] = counts[code].get(index, 0) + int(n)
    return dict(counts)


def _days(query: Select[Any], day: Any, since: date | None, before: date | None) -> Select[Any]:
    if since is not None:
        query = query.where(day >= since)
    if before is not None:
        query = query.where(day < before)
    return query


async def unit_outcomes(session: AsyncSession, since: date | None, before: date | None) -> dict[tuple[str, str], int]:
    """Unit outcomes on the production days in ``[since, before)``: (model, status) -> units (see UNIT_OUTCOMES)."""
    o = FloorOutputDay.__table__
    sums = [func.sum(o.c[column]).label(status) for status, column in UNIT_OUTCOMES.items()]
    rows = await session.execute(_days(select(o.c.model_code, *sums).group_by(o.c.model_code), o.c.day, since, before))
    return {
        (row.model_code, status): int(row._mapping[status])
        for row in rows
        for status in UNIT_OUTCOMES
        if row._mapping[status]
    }


async def defect_occurrences(session: AsyncSession, since: date | None, before: date | None) -> dict[str, int]:
    """Defects recorded on the production days in ``[since, before)``: code -> occurrences."""
    d = FloorDefectDay.__table__
    rows = await session.execute(
        _days(select(d.c.defect_code, func.sum(d.c.occurrences)).group_by(d.c.defect_code), d.c.day, since, before)
    )
    return {code: int(n) for code, n in rows}


async def first_passes_on(session: AsyncSession, day: date) -> dict[str, tuple[int, int]]:
    """One production day: process code -> (first passes, first attempts), processes with attempts only."""
    d = FloorStepDay.__table__
    rows = await session.execute(
        select(
            d.c.process_id,
            func.max(d.c.process_code).label("code"),
            func.sum(d.c.first_passes).label("passes"),
            func.sum(d.c.first_attempts).label("attempts"),
        )
        .where(d.c.day == day)
        .group_by(d.c.process_id)
    )
    codes = await _process_codes(session)
    return {codes.get(r.process_id, r.code): (int(r.passes), int(r.attempts)) for r in rows if r.attempts}


async def status_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(subject 'lot' or 'unit', status) -> how many are in it now."""
    c = FloorStatusCount
    return {(s, status): int(n) for s, status, n in await session.execute(select(c.subject, c.status, c.n))}


async def active_process_codes(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(FloorProcess.process_code).where(FloorProcess.is_active)))


async def newest_step_at(session: AsyncSession) -> datetime | None:
    """When the newest step the read model holds was completed (None: no step yet)."""
    return await session.scalar(select(func.max(FloorRecentStep.completed_at)))
