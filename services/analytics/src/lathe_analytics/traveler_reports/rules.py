"""Labor efficiency arithmetic and a LOT's coating status from its processes' latest logs. Pure.

Efficiency of a group (an operator, a process or a LOT): standard time earned / time spent, where
standard time earned = units done at each process x that process's standard time per unit. Units
done are SERIAL-level step executions that PASSED. Two times spent are compared: the labor entries'
(``efficiency_percent``) and the steps' own cycle times (``step_efficiency_percent``). A group none
of whose processes has a standard time has no standard (null); a ratio with nothing to divide by is
null, not zero or infinite. Minutes are rounded to 0.01, percentages to 0.1 (half up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HUNDREDTH = Decimal("0.01")
TENTH = Decimal("0.1")


@dataclass
class ProcessWork:
    """What one group did at one process in the window."""

    process_code: str
    units: int = 0
    labor_seconds: Decimal = Decimal(0)
    step_seconds: Decimal = Decimal(0)


@dataclass(frozen=True)
class Efficiency:
    units: int
    units_without_standard: int
    standard_minutes: Decimal | None
    actual_minutes: Decimal
    step_minutes: Decimal
    efficiency_percent: Decimal | None
    step_efficiency_percent: Decimal | None
    processes: list[str] = field(default_factory=list)


def minutes(seconds: Decimal) -> Decimal:
    return (seconds / 60).quantize(HUNDREDTH, ROUND_HALF_UP)


def percent(part: Decimal | None, whole: Decimal) -> Decimal | None:
    if part is None or whole <= 0:
        return None
    return (part * 100 / whole).quantize(TENTH, ROUND_HALF_UP)


def efficiency(work: Iterable[ProcessWork], standards: Mapping[str, Decimal | None]) -> Efficiency:
    work = list(work)
    standard: Decimal | None = None
    units = without = 0
    labor = steps = Decimal(0)
    for done in work:
        units += done.units
        labor += done.labor_seconds
        steps += done.step_seconds
        per_unit = standards.get(done.process_code)
        if per_unit is None:
            without += done.units
        else:
            standard = (standard or Decimal(0)) + per_unit * done.units
    return Efficiency(
        units=units,
        units_without_standard=without,
        standard_minutes=minutes(standard) if standard is not None else None,
        actual_minutes=minutes(labor),
        step_minutes=minutes(steps),
        efficiency_percent=percent(standard, labor),
        step_efficiency_percent=percent(standard, steps),
        processes=sorted({done.process_code for done in work}),
    )


COATED, FAILED = "COATED", "FAILED"


def lot_coating_status(latest_results: Iterable[str]) -> str:
    """FAILED when the latest log of one of the LOT's processes failed, else COATED (a LOT listed
    has logs; production's own status answers NOT_COATED for one without)."""
    return FAILED if any(result == "FAIL" for result in latest_results) else COATED
