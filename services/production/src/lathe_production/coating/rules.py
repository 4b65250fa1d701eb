"""Coating: which thickness limits apply, how readings are judged, what a LOT's status is. Pure.

Limits: a process that defines spec limits for the measurement ``thickness_um`` (its
``quality_criteria``) judges every coating log recorded against it, and such a log gives no limits
of its own (``thickness_limits_from_process``); a process without them takes the limits the log
gives (``thickness_lower_um`` / ``thickness_upper_um``, at least one: ``thickness_limits_missing``).
Readings are judged as a step's measurements are (``process_data.judging.violations``): a reading
below the lower or above the upper limit fails the log; one on a limit passes.

A LOT's coating status: NOT_COATED without any log; else the latest log of each process it was
coated at (by ``applied_at``) decides: FAILED when one of them failed, COATED when all passed. A
failed coating redone and passed at the same process makes the LOT COATED again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lathe_common.errors import InvalidInput

from lathe_production.process_data.judging import Violation, violations

THICKNESS = "thickness_um"


class CoatingResult(StrEnum):
    PASS = "PASS"  # noqa: S105 - a result, not a password
    FAIL = "FAIL"


class CoatingStatus(StrEnum):
    NOT_COATED = "NOT_COATED"
    COATED = "COATED"
    FAILED = "FAILED"


class LimitsSource(StrEnum):
    PROCESS = "process"
    LOG = "log"


@dataclass(frozen=True)
class ThicknessLimits:
    lower: float | None
    upper: float | None
    unit: str | None
    source: LimitsSource

    def as_criteria(self) -> dict[str, dict[str, Any]]:
        return {THICKNESS: {"lower_limit": self.lower, "upper_limit": self.upper, "unit": self.unit}}


def thickness_limits(
    criteria: dict[str, dict[str, Any]], given_lower: float | None, given_upper: float | None
) -> ThicknessLimits:
    """The limits a log is judged against (see the module's docstring), or why there are none."""
    criterion = criteria.get(THICKNESS) or {}
    lower, upper = criterion.get("lower_limit"), criterion.get("upper_limit")
    if lower is not None or upper is not None:
        if given_lower is not None or given_upper is not None:
            raise InvalidInput(
                f"The process defines the {THICKNESS} limits ({lower} to {upper}); a log gives none of its own.",
                code="thickness_limits_from_process",
                lower_limit=lower,
                upper_limit=upper,
            )
        return ThicknessLimits(lower, upper, criterion.get("unit") or "um", LimitsSource.PROCESS)
    if given_lower is None and given_upper is None:
        raise InvalidInput(
            f"The process defines no {THICKNESS} limits: give thickness_lower_um and/or thickness_upper_um.",
            code="thickness_limits_missing",
        )
    return ThicknessLimits(given_lower, given_upper, "um", LimitsSource.LOG)


def judge(readings: Sequence[float], limits: ThicknessLimits) -> tuple[CoatingResult, list[Violation]]:
    """Each reading against the limits; any one outside fails the log."""
    criteria = limits.as_criteria()
    found = [v for reading in readings for v in violations(criteria, {THICKNESS: reading})]
    return (CoatingResult.FAIL if found else CoatingResult.PASS), found


@dataclass(frozen=True)
class LoggedCoating:
    process_code: str
    applied_at: datetime
    order: Any  # breaks ties of applied_at: the log's time-ordered id
    result: CoatingResult


def latest_per_process(logs: Iterable[LoggedCoating]) -> dict[str, LoggedCoating]:
    latest: dict[str, LoggedCoating] = {}
    for log in logs:
        known = latest.get(log.process_code)
        if known is None or (log.applied_at, log.order) > (known.applied_at, known.order):
            latest[log.process_code] = log
    return latest


def coating_status(logs: Iterable[LoggedCoating]) -> CoatingStatus:
    latest = latest_per_process(logs)
    if not latest:
        return CoatingStatus.NOT_COATED
    if any(log.result is CoatingResult.FAIL for log in latest.values()):
        return CoatingStatus.FAILED
    return CoatingStatus.COATED
