"""The audit trail's monthly partitions, created ahead of time: at start and then daily, the
current month and the next ``AUDIT_PARTITION_MONTHS_AHEAD`` (the database function
``analytics.audit_log_add_partitions`` of migration 0005 creates and seals each month missing).

An event whose month has no partition (a clock far off, a replay of years-old events) lands in
the DEFAULT partition: no event is ever refused for its time. A month that already has rows in
DEFAULT is left there (moving them would be a DELETE, which the trail refuses): its rows are
read as usual, the month is named in a warning. The work waits at most ``LOCK_TIMEOUT`` for its
locks, so it never queues the trail's writers behind a long export; it tries again the next day,
with months to spare.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

EVERY_SECONDS = 24 * 3600
LOCK_TIMEOUT = "5s"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def months_ahead(today: date, ahead: int) -> tuple[date, date]:
    """The first day of this month and of the month ``ahead`` months later."""
    index = today.year * 12 + today.month - 1 + ahead
    return first_of_month(today), date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Partition:
    name: str
    bounds: str  # as PostgreSQL states them: FOR VALUES FROM (...) TO (...), or DEFAULT
    estimated_rows: int


async def ensure_partitions(engine: AsyncEngine, ahead: int, *, today: date | None = None) -> list[str]:
    """Creates the missing partitions from this month to ``ahead`` months on; returns the months
    left in DEFAULT because it already holds rows of theirs."""
    first, last = months_ahead(today or datetime.now(UTC).date(), ahead)
    async with engine.begin() as connection:
        await connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        left = await connection.scalar(
            text("SELECT analytics.audit_log_add_partitions(:first, :last)"), {"first": first, "last": last}
        )
    return list(left or [])


async def partitions(engine: AsyncEngine) -> list[Partition]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0)::bigint
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'analytics.audit_log'::regclass ORDER BY c.relname"""
            )
        )
        return [Partition(name, bounds, estimated) for name, bounds, estimated in rows]


async def maintain(engine: AsyncEngine, ahead: int) -> None:
    """One round; a failure is logged, never raised: DEFAULT holds what has no month yet."""
    try:
        left = await ensure_partitions(engine, ahead)
    except Exception:  # noqa: BLE001 - tried again at the next round; nothing is lost meanwhile
        logger.warning("could not create the audit trail's partitions; will try again", exc_info=True)
        return
    if left:
        logger.warning("audit trail months kept in the DEFAULT partition (it holds rows of theirs): %s", left)


async def maintain_forever(engine: AsyncEngine, ahead: int, every_seconds: float = EVERY_SECONDS) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        await maintain(engine, ahead)


class PartitionMaintenance:
    """At start (before the consumers run), then daily while the service runs."""

    def __init__(self, ahead: int) -> None:
        self.ahead = ahead
        self.task: asyncio.Task[None] | None = None

    async def start(self, app: FastAPI) -> None:
        await maintain(app.state.engine, self.ahead)
        self.task = asyncio.create_task(maintain_forever(app.state.engine, self.ahead), name="audit-partitions")

    async def stop(self, _: FastAPI) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
