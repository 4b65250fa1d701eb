"""A LOT's traveler from the rows storage gives, free of storage: each routing step's state, the
BOM's planned against consumed quantities, and the bounds that keep a document of a LOT of any
size finite.

A step's figures for the LOT:

- ``units_done``: units past the step (their ``current_step`` is at or beyond it): passed it, or
  let go on by a USE_AS_IS disposition. A reworked or failed unit is not past it until it passes.
- ``passed`` / ``failed`` / ``reworked``: executions recorded at the step with that result (a unit
  that failed, was reworked and passed counts once in each).
- ``sign_off``: who recorded the step's latest execution for the LOT, and when. Lathe keeps no
  separate sign-off record: an execution is recorded by the operator who did it, and the printed
  traveler leaves signature boxes for the paper one.
- ``state``: NOT_STARTED (nothing recorded), COMPLETE (every unit of the LOT is past the step or
  was scrapped before it), else IN_PROGRESS.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from lathe_production.genealogy.bom_rules import Draw, bom_line_for
from lathe_production.lots.rules import SerialStatus
from lathe_production.product_models.rules import BomKey, bom_key

# What a traveler lists of a LOT's nonconformances and holds: the newest, beside the counts of all.
MAX_LISTED_RECORDS = 50
# Per-unit QR codes a printed traveler carries (?unit_qr=true): the first units by sequence; the
# document says how many more there are and where their labels are printed from.
MAX_UNIT_QR_CODES = 96  # two pages; drawing a code costs some 6 ms
UNIT_QR_PER_PAGE = 48  # 6 columns × 8 rows on A4


class StepState(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETE = "COMPLETE"


@dataclass(frozen=True)
class StepTally:
    """The executions recorded at one process for a LOT (one row of an aggregate)."""

    process_code: str
    passed: int = 0
    failed: int = 0
    reworked: int = 0
    last_operator: str | None = None
    last_at: datetime | None = None

    @property
    def executions(self) -> int:
        return self.passed + self.failed + self.reworked


@dataclass(frozen=True)
class UnitPosition:
    """How many of the LOT's units have ``current_step`` steps done and a status (one aggregate row)."""

    current_step: int
    status: str
    count: int


@dataclass(frozen=True)
class SignOff:
    operator: str | None
    at: datetime


@dataclass(frozen=True)
class StepProgress:
    step_no: int
    process_code: str
    process_name: str
    state: StepState
    units_done: int
    passed: int
    failed: int
    reworked: int
    sign_off: SignOff | None


def step_progress(
    routing: list[str],
    names: Mapping[str, str],
    tallies: Iterable[StepTally],
    positions: Iterable[UnitPosition],
) -> list[StepProgress]:
    """Each step of the pinned ``routing`` (process codes in order) as the LOT stands."""
    by_code = {t.process_code: t for t in tallies}
    positions = list(positions)
    units = sum(p.count for p in positions)
    steps = []
    for step_no, code in enumerate(routing, 1):
        tally = by_code.get(code, StepTally(code))
        done = sum(p.count for p in positions if p.current_step >= step_no)
        scrapped_before = sum(
            p.count for p in positions if p.current_step < step_no and p.status == SerialStatus.SCRAPPED
        )
        if tally.executions == 0 and done == 0:
            state = StepState.NOT_STARTED
        elif units > 0 and done + scrapped_before == units:
            state = StepState.COMPLETE
        else:
            state = StepState.IN_PROGRESS
        steps.append(
            StepProgress(
                step_no=step_no,
                process_code=code,
                process_name=names.get(code, code),
                state=state,
                units_done=done,
                passed=tally.passed,
                failed=tally.failed,
                reworked=tally.reworked,
                sign_off=SignOff(tally.last_operator, tally.last_at) if tally.last_at is not None else None,
            )
        )
    return steps


@dataclass(frozen=True)
class PlannedLine:
    """One line of the pinned BOM for the whole LOT."""

    component_code: str
    description: str
    unit: str
    process_code: str | None
    reference_designators: list[str]
    quantity_per_unit: Decimal
    planned_quantity: Decimal  # quantity_per_unit × the LOT's target quantity
    consumed_quantity: Decimal  # what the LOT's units consumed against the line (genealogy)


@dataclass(frozen=True)
class Unplanned:
    """Consumption no line of the BOM covers (let through while the BOM check only warned or was off)."""

    component_code: str
    process_code: str | None
    consumed_quantity: Decimal


def planned_against_consumed(
    lines: list[dict[str, Any]], *, units: int, consumed: Iterable[Draw]
) -> tuple[list[PlannedLine], list[Unplanned]]:
    """The BOM's lines with what the LOT's ``units`` need and what was consumed, matched to lines as
    the BOM check matches them (``bom_line_for``); and what matched no line."""
    used: dict[BomKey, Decimal] = defaultdict(Decimal)
    unplanned: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for draw in consumed:
        line = bom_line_for(lines, draw.component_code, draw.process_code)
        if line is None:
            unplanned[(draw.component_code, draw.process_code)] += draw.quantity
        else:
            used[bom_key(line)] += draw.quantity
    planned = []
    for line in lines:
        per_unit = Decimal(line["quantity_per_unit"])
        planned.append(
            PlannedLine(
                component_code=line["component_code"],
                description=line["description"],
                unit=line["unit"],
                process_code=line.get("process_code"),
                reference_designators=list(line.get("reference_designators") or []),
                quantity_per_unit=normal(per_unit),
                planned_quantity=normal(per_unit * units),
                consumed_quantity=normal(used[bom_key(line)]),
            )
        )
    extra = [
        Unplanned(code, step, normal(quantity))
        for (code, step), quantity in sorted(unplanned.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    return planned, extra


def plain(quantity: Decimal) -> str:
    """A quantity as people write it: 2, 0.5, 1200 (not 2.0000 or 1.2E+3)."""
    return format(quantity.normalize(), "f")


def normal(quantity: Decimal) -> Decimal:
    """``quantity`` without the stored scale's trailing zeros, so answers read 2 and 0.5 as BOMs do."""
    return Decimal(plain(quantity))


def attachment(name: str, extension: str) -> str:
    """A Content-Disposition naming the download after a LOT or serial number: an ASCII filename
    (other characters as ``_``) and the exact name in ``filename*`` (RFC 6266)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-._") else "_" for c in name) or "download"
    return f"attachment; filename=\"{safe}.{extension}\"; filename*=UTF-8''{quote(name, safe='')}.{extension}"
