"""All-time sums of rows kept per production day, without summing all of history on every refresh.

The days before the last ``RECENT_DAYS`` change only when an event arrives days late, so their
sums are read again at most every ``history_seconds`` (and whenever the recent window moves on);
the recent days are read on every refresh. The two reads split the days without a gap or an
overlap, so the total is exact as of the older read, and it never decreases: each part only grows
(rows are only ever added to), and when the window moves on, the day leaving it is read into the
history at the same time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import date, timedelta
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

K = TypeVar("K", bound=Hashable)
# (session, since, before) -> sums over the days in [since, before); None: unbounded on that side
DayRangeRead = Callable[[AsyncSession, date | None, date | None], Awaitable[dict[K, int]]]

RECENT_DAYS = 7


class AllTimeSums(Generic[K]):
    def __init__(self, read: DayRangeRead[K], *, recent_days: int = RECENT_DAYS, history_seconds: float = 3600) -> None:
        self.read = read
        self.recent_days = recent_days
        self.history_seconds = history_seconds
        self._history: dict[K, int] = {}
        self._cutoff: date | None = None  # the first recent day of the history read
        self._history_read_at = float("-inf")

    async def sums(self, session: AsyncSession, today: date, now: float) -> tuple[dict[K, int], dict[K, int]]:
        """(all time, recent days) as of ``today``; ``now`` is a monotonic clock in seconds."""
        cutoff = today - timedelta(days=self.recent_days - 1)
        if cutoff != self._cutoff or now - self._history_read_at >= self.history_seconds:
            self._history = await self.read(session, None, cutoff)
            self._cutoff, self._history_read_at = cutoff, now
        recent = await self.read(session, cutoff, None)
        total = dict(self._history)
        for key, n in recent.items():
            total[key] = total.get(key, 0) + n
        return total, recent
