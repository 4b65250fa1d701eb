"""The kpi event: the floor at a glance, from the floor read model's own reads (``reads_summary``).

Every replica tries every fifth of STREAM_KPI_SECONDS; the guarded UPDATE of ``stream_state``
(``repository.kpi_due``) lets one of them write per interval, so clients get one tick whatever
the number of replicas.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor import reads_summary
from lathe_analytics.floor.rates import percent
from lathe_analytics.stream.payloads import KpiEvent, LastHour


async def kpi_now(session: AsyncSession, now: datetime | None = None) -> KpiEvent:
    now = now or datetime.now(UTC)
    hour = await reads_summary.throughput(session, now)
    wip = await reads_summary.wip_by_process(session)
    return KpiEvent(
        at=now,
        active_lots=await reads_summary.active_lot_count(session),
        wip_units=sum(row.units for row in wip),
        last_hour=LastHour(
            minutes=hour.minutes,
            executions=hour.executions,
            passes=hour.passes,
            failures=hour.failures,
            reworks=hour.reworks,
            units_finished=hour.units_finished,
            pass_rate=percent(hour.passes, hour.executions),
        ),
    )
