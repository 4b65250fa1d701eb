"""The stream's table: appending entries, reading them after an id, pruning, the kpi guard.

Order of ids. An identity hands out ids when rows are inserted, not when they commit, so two
writers could commit out of order and a reader that saw id 12 would miss 11 committed after it.
Every writer therefore takes ``pg_advisory_xact_lock(WRITE_LOCK)`` before inserting and holds it
to its commit: the next writer's ids are handed out only after the previous writer's are visible,
so "everything up to the highest id I have seen" is a safe cursor (ids a rolled-back writer took
are simply never seen). Writers are short (one INSERT of a batch), so the lock costs little.

At commit the writer's ``pg_notify(CHANNEL)`` wakes every process's fan-out (``hub``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from lathe_analytics.stream.payloads import NewEntry
from lathe_analytics.stream.wire import KPI, StreamFilter
from lathe_analytics.tables import SCHEMA

CHANNEL = "lathe_analytics_stream"
ENTRIES = f"{SCHEMA}.stream_entries"
STATE = f"{SCHEMA}.stream_state"
_WRITE_LOCK = f"pg_advisory_xact_lock(hashtext('{ENTRIES}'))"
_PRUNE_LOCK = f"pg_try_advisory_xact_lock(hashtext('{ENTRIES} pruning'))"

_APPEND = text(
    f"""INSERT INTO {ENTRIES} (kind, process_code, model_code, data)
    SELECT kind, process_code, model_code, data
    FROM unnest(CAST(:kinds AS text[]), CAST(:processes AS text[]), CAST(:models AS text[]), CAST(:data AS text[]))
        WITH ORDINALITY AS e(kind, process_code, model_code, data, n)
    ORDER BY n"""
)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    kind: str
    process_code: str | None
    model_code: str | None
    data: str


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[StoredEntry]
    pruned_through: int  # in the same snapshot as the entries


async def append(session: AsyncSession, entries: Sequence[NewEntry]) -> None:
    """Stores ``entries`` in this order, in the session's transaction, and wakes the fan-outs at commit."""
    if not entries:
        return
    await session.execute(text(f"SELECT {_WRITE_LOCK}"))
    await session.execute(
        _APPEND,
        {
            "kinds": [e.kind for e in entries],
            "processes": [e.process_code for e in entries],
            "models": [e.model_code for e in entries],
            "data": [e.data for e in entries],
        },
    )
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


async def newest_id(connection: AsyncConnection | AsyncSession) -> int:
    """The highest id ever stored (pruned ones included); 0 before the first."""
    found = await connection.scalar(
        text(f"SELECT greatest((SELECT max(id) FROM {ENTRIES}), (SELECT pruned_through FROM {STATE} WHERE id = 1), 0)")
    )
    return int(found or 0)


async def entries_after(connection: AsyncConnection, after: int, limit: int) -> list[StoredEntry]:
    """What the fan-out publishes: every entry after ``after``, in id order."""
    rows = await connection.execute(
        text(
            f"SELECT id, kind, process_code, model_code, data FROM {ENTRIES} WHERE id > :after ORDER BY id LIMIT :limit"
        ),
        {"after": after, "limit": limit},
    )
    return [StoredEntry(*row) for row in rows]


async def page(connection: AsyncConnection, after: int, upto: int, wanted: StreamFilter, limit: int) -> Page:
    """A client's entries in (after, upto], the filter applied as ``StreamFilter.matches`` does,
    with how far pruning has gone in the same snapshot (one statement)."""
    rows = (
        await connection.execute(
            text(
                f"""SELECT s.pruned_through, e.id, e.kind, e.process_code, e.model_code, e.data
                FROM {STATE} s LEFT JOIN LATERAL (
                    SELECT id, kind, process_code, model_code, data FROM {ENTRIES}
                    WHERE id > :after AND id <= :upto AND kind = ANY(CAST(:kinds AS text[]))
                      AND (kind = '{KPI}' OR (
                        (CAST(:process AS text) IS NULL OR process_code = CAST(:process AS text))
                        AND (CAST(:model AS text) IS NULL OR model_code = CAST(:model AS text))))
                    ORDER BY id LIMIT :limit
                ) e ON true
                WHERE s.id = 1 ORDER BY e.id"""
            ),
            {
                "after": after,
                "upto": upto,
                "kinds": sorted(wanted.kinds),
                "process": wanted.process_code,
                "model": wanted.model_code,
                "limit": limit,
            },
        )
    ).all()
    pruned = int(rows[0][0]) if rows else 0
    return Page([StoredEntry(*row[1:]) for row in rows if row[1] is not None], pruned)


async def prune_round(connection: AsyncConnection, *, older_than: datetime, keep: int, chunk: int) -> int:
    """Deletes the oldest entries that are older than ``older_than`` or beyond the newest ``keep``
    (about: ids may have holes), at most ``chunk`` of them, and records how far it went. Returns
    how many went; 0 also when another replica is pruning right now. Call inside a transaction."""
    if not await connection.scalar(text(f"SELECT {_PRUNE_LOCK}")):
        return 0
    head = (
        await connection.execute(
            text(
                f"""SELECT max(id), max(id) FILTER (WHERE created_at < :older_than)
                FROM (SELECT id, created_at FROM {ENTRIES} ORDER BY id LIMIT :chunk) head"""
            ),
            {"older_than": older_than, "chunk": chunk},
        )
    ).one()
    head_end, aged_end = head
    if head_end is None:
        return 0
    newest = int(await connection.scalar(text(f"SELECT max(id) FROM {ENTRIES}")) or 0)
    bound = max(int(aged_end or 0), min(newest - keep, int(head_end)))
    if bound <= 0:
        return 0
    deleted = await connection.execute(text(f"DELETE FROM {ENTRIES} WHERE id <= :bound"), {"bound": bound})
    await connection.execute(
        text(f"UPDATE {STATE} SET pruned_through = greatest(pruned_through, :bound) WHERE id = 1"), {"bound": bound}
    )
    return int(deleted.rowcount or 0)


async def kpi_due(session: AsyncSession, every: timedelta) -> bool:
    """True for the one replica that may write the next kpi event now (the row stays locked until
    its transaction ends, so another replica's check waits and then finds it written)."""
    claimed = await session.scalar(
        text(
            f"""UPDATE {STATE} SET kpi_at = now()
            WHERE id = 1 AND (kpi_at IS NULL OR kpi_at <= now() - make_interval(secs => :seconds)) RETURNING 1"""
        ),
        {"seconds": every.total_seconds()},
    )
    return claimed is not None


class TableSource:
    """What a stream reads besides its live queue, from the table (``sender.Source``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def page(self, after: int, upto: int, wanted: StreamFilter, limit: int) -> Page:
        async with self.engine.connect() as connection:
            return await page(connection, after, upto, wanted, limit)

    async def newest_id(self) -> int:
        async with self.engine.connect() as connection:
            return await newest_id(connection)
