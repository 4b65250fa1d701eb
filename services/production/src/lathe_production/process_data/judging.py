"""Judging a step: spec limits, rework limit, and what the unit's state becomes. Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from lathe_common.errors import Conflict, InvalidInput

from lathe_production.lots.rules import SerialStatus, check_unit_open


class StepResult(StrEnum):
    PASS = "PASS"  # noqa: S105 - a step result, not a password
    FAIL = "FAIL"
    REWORK = "REWORK"


@dataclass(frozen=True)
class Violation:
    measurement: str
    value: float
    limit: str  # "lower_limit" | "upper_limit"
    limit_value: float
    unit: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "measurement": self.measurement,
            "value": self.value,
            "limit": self.limit,
            "limit_value": self.limit_value,
            "unit": self.unit,
        }


def violations(criteria: dict[str, dict[str, Any]], measurements: dict[str, Any]) -> list[Violation]:
    """Measurements outside the process's limits. A limited measurement must be a finite number."""
    found = []
    for name, criterion in criteria.items():
        if name not in measurements:
            continue
        raw = measurements[name]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise InvalidInput(
                f"Measurement {name} has spec limits, so it must be a number, not {raw!r}.",
                code="invalid_measurement",
                measurement=name,
            )
        value = float(raw)
        low, high, unit = criterion.get("lower_limit"), criterion.get("upper_limit"), criterion.get("unit")
        if low is not None and value < low:
            found.append(Violation(name, value, "lower_limit", low, unit))
        elif high is not None and value > high:
            found.append(Violation(name, value, "upper_limit", high, unit))
    return found


# process_data.cycle_time_seconds is NUMERIC(12, 3): at most 999,999,999.999 s (about 31 years).
MAX_CYCLE_SECONDS = Decimal("999999999.999")


def cycle_time(started_at: datetime | None, completed_at: datetime) -> Decimal | None:
    """Seconds from start to completion, to the millisecond; refused when the column cannot hold it
    (a clock that started in 1900 is a machine's error, not a cycle)."""
    if started_at is None:
        return None
    seconds = Decimal(str(round((completed_at - started_at).total_seconds(), 3)))
    if not -MAX_CYCLE_SECONDS <= seconds <= MAX_CYCLE_SECONDS:
        raise InvalidInput(
            f"started_at {started_at.isoformat()} is {seconds} s before completed_at; a cycle time is at most "
            f"{MAX_CYCLE_SECONDS} s.",
            code="invalid_value",
        )
    return seconds


def judged_result(reported: StepResult | None, found: list[Violation]) -> StepResult:
    """An out-of-limit value fails the step whatever was reported; otherwise the report stands."""
    if found:
        return StepResult.FAIL
    return reported or StepResult.PASS


@dataclass(frozen=True)
class Outcome:
    status: SerialStatus
    current_step: int  # routing steps completed
    rework_count: int


def check_can_execute(status: SerialStatus, routing: list[str], current_step: int, process_code: str) -> int:
    """The routing position (1-based) this execution is at, or the rule it breaks."""
    check_unit_open(status)
    if process_code not in routing:
        raise InvalidInput(
            f"{process_code} is not in this product's routing.", code="process_not_in_routing", routing=routing
        )
    expected = routing[current_step]
    if process_code != expected:
        raise Conflict(
            f"The unit's next step is {expected}, not {process_code}.",
            code="step_out_of_order",
            expected_process=expected,
            routing=routing,
        )
    return current_step + 1


def outcome(result: StepResult, *, step_no: int, routing_length: int, rework_count: int, max_reworks: int) -> Outcome:
    if result is StepResult.PASS:
        done = step_no == routing_length
        return Outcome(SerialStatus.PASSED if done else SerialStatus.IN_PROGRESS, step_no, rework_count)
    if result is StepResult.FAIL:
        return Outcome(SerialStatus.FAILED, step_no - 1, rework_count)
    # REWORK: the same step runs again, unless the unit has used up its reworks.
    if rework_count >= max_reworks:
        return Outcome(SerialStatus.SCRAPPED, step_no - 1, rework_count)
    return Outcome(SerialStatus.IN_PROGRESS, step_no - 1, rework_count + 1)
