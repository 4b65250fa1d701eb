"""Work-order rules free of storage: what may change after the release, where production's
progress takes a work order, and how much of its scrap is still to be made again.

Progress is counted from what production announced (orders' projection of it), per work order:
- a unit counts by its status: PASSED is good, FAILED or SCRAPPED is scrapped, IN_PROGRESS (started,
  not finished) is in progress, CREATED is not started;
- a LOT without units (LOT-level work, the work order did not ask for serials) counts its target
  quantity by the LOT's status: IN_PROGRESS is that many in progress, COMPLETED or CLOSED that many
  good (production has no scrap count at LOT level); CREATED and CANCELLED count nothing.
The first step (a unit or a LOT no longer CREATED) starts the work order; good >= quantity completes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from lathe_common.errors import Conflict, InvalidInput

from lathe_orders.fulfilment import WorkOrderProgress
from lathe_orders.lifecycles import EDITABLE_WORK_ORDER, WorkOrderStatus

W = WorkOrderStatus

# After the release production plans from the work order: what it makes stays as released, only
# the dates, the priority, the notes and the quantity (never below what is done) change.
EDITABLE_AFTER_RELEASE = frozenset({"planned_start", "due_date", "priority", "notes", "quantity"})
# Where production's progress moves a work order by itself; elsewhere only the numbers change.
ACTIVE = frozenset({W.RELEASED, W.IN_PROGRESS})


def check_editable(status: WorkOrderStatus, fields: Iterable[str]) -> None:
    """Drafts change freely; released ones only in ``EDITABLE_AFTER_RELEASE``; finished ones not at all."""
    if status not in EDITABLE_WORK_ORDER:
        raise Conflict(f"A {status} work order cannot be changed.", code="not_editable", status=status.value)
    if status is W.DRAFT:
        return
    locked = sorted(set(fields) - EDITABLE_AFTER_RELEASE)
    if locked:
        raise Conflict(
            f"After the release only {', '.join(sorted(EDITABLE_AFTER_RELEASE))} change; not {', '.join(locked)}.",
            code="locked_after_release",
            fields=locked,
        )


def check_dates(planned_start: date | None, due_date: date | None) -> None:
    if planned_start is not None and due_date is not None and planned_start > due_date:
        raise InvalidInput(
            f"The planned start {planned_start} is after the due date {due_date}.", code="planned_start_after_due_date"
        )


def plant_today(zone: str, now: datetime) -> date:
    """The date at the plant: what "overdue" is measured against."""
    return now.astimezone(ZoneInfo(zone)).date()


@dataclass(frozen=True)
class Measured:
    """A work order's units as the projection counts them (see the module's docstring)."""

    good: int = 0
    scrapped: int = 0
    in_progress: int = 0
    started: bool = False  # some unit or LOT of it ran a step


@dataclass(frozen=True)
class Settled:
    status: WorkOrderStatus
    started: bool  # RELEASED -> IN_PROGRESS now
    completed: bool  # -> COMPLETED now


def settle(status: WorkOrderStatus, progress: WorkOrderProgress, *, started: bool) -> Settled:
    """Where production's progress takes a work order: RELEASED -> IN_PROGRESS at its first step,
    IN_PROGRESS -> COMPLETED once good >= quantity (through IN_PROGRESS when both happen in one
    batch). Drafts, stopped and finished work orders keep their status (a stopped one settles
    when it resumes)."""
    new = status
    if new is W.RELEASED and (started or progress.done):
        new = W.IN_PROGRESS
    if new is W.IN_PROGRESS and progress.done:
        new = W.COMPLETED
    return Settled(
        new, started=status is W.RELEASED and new is not W.RELEASED, completed=new is not status and new is W.COMPLETED
    )


def replacement_quantity(*, replace_scrap: bool, status: WorkOrderStatus, scrapped: int, replaced: int) -> int:
    """How many scrapped units to ask production to make again now: each scrapped unit once, while
    the work order is active and asks for it (``replace_scrap``)."""
    if not replace_scrap or status not in ACTIVE:
        return 0
    return max(scrapped - replaced, 0)


def progress_change(settled: Settled) -> str:
    """The ``change`` of the WorkOrderChangedEvent that announces a settled batch."""
    if settled.completed:
        return "completed"
    if settled.started:
        return "started"
    return "progress"
