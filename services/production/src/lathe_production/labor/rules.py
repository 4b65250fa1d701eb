"""What a labor entry may say about time. Pure functions.

An entry is a span of someone's work: it ends after it starts, lasts at most ``MAX_DURATION`` (a
longer span is a forgotten clock-out, not a shift), and does not end in the future beyond
``CLOCK_SKEW`` (a terminal's clock may run a little ahead of the server's).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from lathe_common.errors import InvalidInput

MAX_DURATION = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)
MILLISECOND = Decimal("0.001")


class Activity(StrEnum):
    SETUP = "SETUP"
    RUN = "RUN"
    REWORK = "REWORK"
    INSPECTION = "INSPECTION"


def checked_duration(started_at: datetime, ended_at: datetime, now: datetime) -> Decimal:
    """The entry's length in seconds, to the millisecond, or the rule its times break."""
    if ended_at <= started_at:
        raise InvalidInput(
            f"ended_at {ended_at.isoformat()} is not after started_at {started_at.isoformat()}.",
            code="ended_before_started",
        )
    if ended_at - started_at > MAX_DURATION:
        raise InvalidInput(
            f"A labor entry lasts at most {MAX_DURATION}; this one lasts {ended_at - started_at}.",
            code="labor_entry_too_long",
            max_seconds=int(MAX_DURATION.total_seconds()),
        )
    if ended_at > now + CLOCK_SKEW:
        raise InvalidInput(
            f"ended_at {ended_at.isoformat()} is in the future (now {now.isoformat()}).", code="labor_in_future"
        )
    microseconds = (ended_at - started_at) // timedelta(microseconds=1)
    return (Decimal(microseconds) / 1_000_000).quantize(MILLISECOND)
