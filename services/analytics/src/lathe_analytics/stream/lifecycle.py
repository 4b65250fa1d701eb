"""What runs beside the streams in every analytics process: the hub, the kpi tick and pruning.

Every replica runs all three. The hub is per process by nature; the tick and pruning are
coordinated through the database (a guarded UPDATE, a try-lock), so running them everywhere
means no replica is special and none has to be elected.

Retention: entries older than STREAM_RETENTION_MINUTES (60), or beyond about the newest
STREAM_RETENTION_ENTRIES (1,000,000), are deleted every PRUNE_EVERY_SECONDS, oldest first, in
rounds of PRUNE_CHUNK; a client whose Last-Event-ID is older gets ``event: gap``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from lathe_common.db import unit_of_work
from lathe_common.stopping import call_on_stop

from lathe_analytics.settings import AnalyticsSettings
from lathe_analytics.stream import repository
from lathe_analytics.stream.hub import Hub
from lathe_analytics.stream.kpi import kpi_now
from lathe_analytics.stream.payloads import kpi_entry

logger = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 60.0
PRUNE_CHUNK = 50_000


class StreamLifecycle:
    def __init__(self, settings: AnalyticsSettings) -> None:
        self.settings = settings
        self._tasks: list[asyncio.Task[None]] = []
        self._undo_signals: Callable[[], None] = lambda: None

    async def start(self, app: FastAPI) -> None:
        s = self.settings
        hub = Hub(
            app.state.engine,
            max_clients=s.stream_max_clients,
            client_queue=s.stream_client_queue,
            poll_seconds=s.stream_poll_seconds,
        )
        await hub.start()
        app.state.stream_hub = hub
        self._undo_signals = call_on_stop(hub.end_streams)
        self._tasks = [
            asyncio.create_task(self._tick(app), name="analytics-stream-kpi"),
            asyncio.create_task(self._prune(app), name="analytics-stream-pruning"),
        ]

    async def stop(self, app: FastAPI) -> None:
        self._undo_signals()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        hub: Hub | None = getattr(app.state, "stream_hub", None)
        if hub is not None:
            hub.end_streams()
            await hub.stop()

    async def _tick(self, app: FastAPI) -> None:
        every = timedelta(seconds=self.settings.stream_kpi_seconds)
        while True:
            await asyncio.sleep(self.settings.stream_kpi_seconds / 5)
            try:
                async with unit_of_work(app.state.session_factory) as session:
                    if await repository.kpi_due(session, every):
                        await repository.append(session, [kpi_entry(await kpi_now(session))])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next tick tries again
                logger.warning("could not write the stream's kpi event", exc_info=True)

    async def _prune(self, app: FastAPI) -> None:
        s = self.settings
        while True:
            try:
                deleted = await prune(app, s.stream_retention_minutes, s.stream_retention_entries)
                if deleted:
                    logger.info("pruned %d stream entries", deleted)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - tried again at the next round
                logger.warning("could not prune the stream's entries", exc_info=True)
            await asyncio.sleep(PRUNE_EVERY_SECONDS)


async def prune(app: FastAPI, retention_minutes: int, retention_entries: int) -> int:
    """Rounds until nothing more is due; returns how many entries went."""
    total = 0
    while True:
        async with app.state.engine.begin() as connection:
            deleted = await repository.prune_round(
                connection,
                older_than=datetime.now(UTC) - timedelta(minutes=retention_minutes),
                keep=retention_entries,
                chunk=PRUNE_CHUNK,
            )
        total += deleted
        if deleted < PRUNE_CHUNK:
            return total
