"""Where a moment falls on the plant's clock: its production day, its shift, its minute. Pure.

A production day starts when the day shift starts (``day_shift_starts_hour``, plant-local wall
time) and lasts until the next day shift starts; the night shift runs from
``night_shift_starts_hour`` to the next morning and belongs to the production day it *started*
on. So 02:00 on 6 January is the NIGHT shift of production day 5 January, and a day's two shifts
are consecutive, which is what a shift report means. Wall time decides, so a day of a daylight
saving change is 23 or 25 hours long and an hour repeated in autumn stays in its night shift.

Production's own rule for a LOT's shift (``shift_at``) is the same hour test; its LOT numbers use
the calendar date, which differs from the production day only between midnight and the morning.
Minutes are UTC minutes: every zone in use is offset by whole minutes, so they are also the plant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Shift(StrEnum):
    DAY = "DAY"
    NIGHT = "NIGHT"


@dataclass(frozen=True)
class Bucket:
    day: date  # the production day
    shift: Shift


@dataclass(frozen=True)
class PlantClock:
    zone: str
    day_starts: int = 6
    night_starts: int = 18

    def __post_init__(self) -> None:
        if not 0 <= self.day_starts < self.night_starts <= 23:
            raise ValueError("the day shift must start before the night shift, both within 0-23")
        object.__setattr__(self, "_tz", ZoneInfo(self.zone))

    def bucket(self, moment: datetime) -> Bucket:
        if moment.tzinfo is None:
            raise ValueError("a moment without a time zone cannot be placed on the plant's clock")
        local = moment.astimezone(self._tz)  # type: ignore[attr-defined]
        if local.hour < self.day_starts:  # the small hours: the night shift of the day before
            return Bucket(local.date() - timedelta(days=1), Shift.NIGHT)
        shift = Shift.DAY if local.hour < self.night_starts else Shift.NIGHT
        return Bucket(local.date(), shift)

    def today(self, now: datetime | None = None) -> date:
        """The production day running now."""
        return self.bucket(now or datetime.now(UTC)).day

    def window(self, days: int, now: datetime | None = None) -> tuple[date, date]:
        """The last ``days`` production days, today included (first, last)."""
        if days < 1:
            raise ValueError("a window holds at least one day")
        today = self.today(now)
        return today - timedelta(days=days - 1), today

    def week_start(self, now: datetime | None = None) -> date:
        """Monday of the production week running now (ISO weeks)."""
        today = self.today(now)
        return today - timedelta(days=today.weekday())


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
