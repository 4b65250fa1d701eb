"""Reads the floor's figures every ``LATHE_ANALYTICS_METRICS_REFRESH_SECONDS`` and serves the latest
reading on ``/metrics`` (a collector of prometheus_client's default registry).

A scrape never touches the database: however many Prometheus servers scrape however often, each
replica reads the figures once per interval, in one read-only snapshot. Until the first reading
succeeds nothing is exposed (a 0 followed by the real total would look like a burst of
production); a failed reading keeps the previous one and is logged, and
``lathe_floor_metrics_refreshed_timestamp_seconds`` shows how old the exposed figures are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from prometheus_client.core import REGISTRY, Metric
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lathe_analytics.floor import reads_metrics
from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.floor.reads_summary import wip_by_process
from lathe_analytics.floor_metrics.exposition import NO_PROCESS, FloorFigures, families, top_defects
from lathe_analytics.floor_metrics.group_lag import GroupLag
from lathe_analytics.floor_metrics.history import AllTimeSums

logger = logging.getLogger(__name__)


class FloorMetrics:
    def __init__(self, every_seconds: float, *, clock: PlantClock, bootstrap: str, consumers: Sequence[str]) -> None:
        self.every_seconds = every_seconds
        self.clock = clock
        self.group_lag = GroupLag(bootstrap, consumers)
        self.units_finished = AllTimeSums(reads_metrics.unit_outcomes)
        self.defects = AllTimeSums(reads_metrics.defect_occurrences)
        self.figures: FloorFigures | None = None
        self._task: asyncio.Task[None] | None = None

    # -- prometheus_client's collector protocol (called by the /metrics endpoint)

    def describe(self) -> Iterable[Metric]:
        return []  # names are not reserved at registration: the figures may not be read yet

    def collect(self) -> Iterable[Metric]:
        figures = self.figures
        return families(figures) if figures is not None else []

    # -- the service's start and stop

    async def start(self, app: FastAPI) -> None:
        REGISTRY.register(self)
        self._task = asyncio.create_task(self._forever(app.state.session_factory), name="analytics-floor-metrics")

    async def stop(self, _: FastAPI) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(KeyError):  # never registered: start failed before
            REGISTRY.unregister(self)
        await self.group_lag.close()

    async def _forever(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        while True:
            await self.refresh(sessions)
            await asyncio.sleep(self.every_seconds)

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """One reading; a failure is logged and leaves the previous figures exposed."""
        try:
            async with sessions() as session:
                figures = await self.read(session, datetime.now(UTC))
        except Exception:  # noqa: BLE001 - tried again next interval; the exposed figures say how old they are
            logger.warning("could not read the floor metrics; the previous figures stay exposed", exc_info=True)
            return
        try:
            lag: dict[str, int] | None = await self.group_lag.read()
        except Exception:  # noqa: BLE001 - lag unknown: not exposed rather than shown stale
            logger.warning("could not read the consumer groups' lag from Kafka", exc_info=True)
            lag = None
        self.figures = replace(figures, group_lag=lag)

    async def read(self, session: AsyncSession, now: datetime) -> FloorFigures:
        """The read model's figures as of one snapshot."""
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
        today, tick = self.clock.today(now), time.monotonic()
        units_finished, _ = await self.units_finished.sums(session, today, tick)
        defects, recent_defects = await self.defects.sums(session, today, tick)
        wip = dict.fromkeys(await reads_metrics.active_process_codes(session), 0)
        for waiting in await wip_by_process(session):
            wip[waiting.process_code or NO_PROCESS] = waiting.units
        return FloorFigures(
            refreshed_at=now,
            steps=await reads_metrics.step_totals(session),
            cycle_bins=await reads_metrics.cycle_bins(session),
            units_finished=units_finished,
            defects=top_defects(defects, recent_defects),
            wip=wip,
            statuses=await reads_metrics.status_counts(session),
            first_passes_today=await reads_metrics.first_passes_on(session, today),
            units_finished_today=await reads_metrics.unit_outcomes(session, today, today + timedelta(days=1)),
            newest_step_at=await reads_metrics.newest_step_at(session),
        )
