"""The rules of LOTs and their units, free of storage: numbering, shifts, the LOT's status
transitions, and a unit's lifecycle (its statuses, which of them are finished, whether it may run
another step). Both the REST path and the machine path (``process_data``) use these."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from lathe_common.errors import Conflict


class Shift(StrEnum):
    DAY = "DAY"
    NIGHT = "NIGHT"


class LotStatus(StrEnum):
    CREATED = "CREATED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


LOT_TRANSITIONS: dict[LotStatus, frozenset[LotStatus]] = {
    LotStatus.CREATED: frozenset({LotStatus.IN_PROGRESS, LotStatus.CANCELLED}),
    LotStatus.IN_PROGRESS: frozenset({LotStatus.COMPLETED, LotStatus.CANCELLED}),
    LotStatus.COMPLETED: frozenset({LotStatus.CLOSED}),
    LotStatus.CLOSED: frozenset(),
    LotStatus.CANCELLED: frozenset(),
}

OPEN_LOT_STATUSES = frozenset({LotStatus.CREATED, LotStatus.IN_PROGRESS})


class SerialStatus(StrEnum):
    CREATED = "CREATED"
    IN_PROGRESS = "IN_PROGRESS"
    PASSED = "PASSED"
    FAILED = "FAILED"
    SCRAPPED = "SCRAPPED"


# Statuses in which a unit runs no step. FAILED is not final: the failure opened a nonconformance
# (nonconformances/rules.py) whose disposition sends the unit back, scraps it or lets it go on.
FINISHED = frozenset({SerialStatus.PASSED, SerialStatus.FAILED, SerialStatus.SCRAPPED})
# Final statuses: what a LOT's ``finished_count`` counts (the LOT completes when all its units are).
DONE = frozenset({SerialStatus.PASSED, SerialStatus.SCRAPPED})


def check_unit_open(status: SerialStatus) -> None:
    if status is SerialStatus.SCRAPPED:
        # The code says why units were first scrapped (a REWORK beyond the limit); a SCRAP disposition too now.
        raise Conflict("The unit was scrapped; it runs no more steps.", code="rework_exhausted")
    if status is SerialStatus.FAILED:
        raise Conflict(
            "The unit FAILED a step; it runs no step until quality decides its nonconformance's disposition.",
            code="awaiting_disposition",
        )
    if status in FINISHED:
        raise Conflict(f"The unit is {status}; it runs no more steps.", code="serial_finished")


def check_not_on_hold(*, unit_held: bool, lot_held: bool, subject: str) -> None:
    """Nothing is recorded on a unit on hold, or on one whose LOT is on hold (holds/)."""
    if unit_held or lot_held:
        held = "its LOT is" if lot_held and not unit_held else "it is"
        raise Conflict(f"{subject}: {held} on hold; release the hold first.", code="on_hold", lot_on_hold=lot_held)


def can_move(current: LotStatus, new: LotStatus) -> bool:
    return new in LOT_TRANSITIONS[current]


def shift_at(moment: datetime, zone: str, *, day_starts: int, night_starts: int) -> Shift:
    hour = moment.astimezone(ZoneInfo(zone)).hour
    return Shift.DAY if day_starts <= hour < night_starts else Shift.NIGHT


def plant_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def lot_number(prefix: str, day: date, shift: Shift, sequence: int) -> str:
    """``WF-KR-241118D-001``: prefix, plant date, D or N, the day's sequence (3 digits, more if needed)."""
    return f"{prefix}-{day:%y%m%d}{shift.value[0]}-{sequence:03d}"


def serial_number(lot: str, sequence_in_lot: int) -> str:
    return f"{lot}-{sequence_in_lot:04d}"
