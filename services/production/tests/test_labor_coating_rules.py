"""Labor entries' times and coating judgement: pure rules, every boundary from both sides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from lathe_common.errors import InvalidInput
from lathe_production.coating.rules import (
    CoatingResult,
    CoatingStatus,
    LimitsSource,
    LoggedCoating,
    ThicknessLimits,
    coating_status,
    judge,
    thickness_limits,
)
from lathe_production.labor.rules import CLOCK_SKEW, MAX_DURATION, checked_duration
from lathe_production.labor.schemas import LaborEntryCreate
from lathe_production.processes.schemas import ProcessCreate
from pydantic import ValidationError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _refused(code: str, *args) -> None:  # noqa: ANN002
    with pytest.raises(InvalidInput) as refused:
        checked_duration(*args)
    assert refused.value.code == code


class TestLaborDuration:
    def test_seconds_to_the_millisecond(self) -> None:
        assert checked_duration(START, START + timedelta(minutes=90, milliseconds=1500), NOW) == Decimal("5401.500")
        assert checked_duration(START, START + timedelta(microseconds=1), NOW) == Decimal("0.000")

    def test_must_end_after_it_starts(self) -> None:
        _refused("ended_before_started", START, START, NOW)
        _refused("ended_before_started", START, START - timedelta(seconds=1), NOW)

    def test_at_most_a_day(self) -> None:
        early = NOW - timedelta(days=2)
        assert checked_duration(early, early + MAX_DURATION, NOW) == Decimal("86400.000")
        _refused("labor_entry_too_long", early, early + MAX_DURATION + timedelta(milliseconds=1), NOW)

    def test_not_in_the_future_beyond_the_skew(self) -> None:
        assert checked_duration(START, NOW + CLOCK_SKEW, NOW) > 0
        _refused("labor_in_future", START, NOW + CLOCK_SKEW + timedelta(seconds=1), NOW)

    def test_exactly_one_subject(self) -> None:
        body = {
            "operator": "kim",
            "process_code": "COAT",
            "activity": "RUN",
            "started_at": START.isoformat(),
            "ended_at": NOW.isoformat(),
        }
        assert LaborEntryCreate.model_validate({**body, "lot": "L1"}).lot == "L1"
        assert LaborEntryCreate.model_validate({**body, "serial_number": "S1"}).serial_number == "S1"
        for subjects in ({}, {"lot": "L1", "serial_number": "S1"}):
            with pytest.raises(ValidationError):
                LaborEntryCreate.model_validate({**body, **subjects})
        with pytest.raises(ValidationError):  # a time without its zone
            LaborEntryCreate.model_validate({**body, "lot": "L1", "started_at": "2026-03-02T08:00:00"})
        with pytest.raises(ValidationError):
            LaborEntryCreate.model_validate({**body, "lot": "L1", "activity": "LUNCH"})


class TestStandardTime:
    BASE = {"process_code": "COAT", "process_number": 9, "name": "Coating"}

    @pytest.mark.parametrize("value", ["0.001", 1, "604800"])
    def test_within_bounds(self, value) -> None:  # noqa: ANN001
        assert ProcessCreate.model_validate({**self.BASE, "standard_time_seconds": value}).standard_time_seconds

    @pytest.mark.parametrize("value", [0, -1, "604800.001", "NaN", "Infinity", "1e400", "0.0001"])
    def test_refused(self, value) -> None:  # noqa: ANN001
        with pytest.raises(ValidationError):
            ProcessCreate.model_validate({**self.BASE, "standard_time_seconds": value})


PROCESS_LIMITS = {"thickness_um": {"lower_limit": 25.0, "upper_limit": 75.0, "unit": "um"}}


class TestThicknessLimits:
    def test_the_process_limits_apply(self) -> None:
        assert thickness_limits(PROCESS_LIMITS, None, None) == ThicknessLimits(25.0, 75.0, "um", LimitsSource.PROCESS)

    def test_a_log_gives_none_when_the_process_has_them(self) -> None:
        for lower, upper in ((20.0, None), (None, 80.0), (25.0, 75.0)):
            with pytest.raises(InvalidInput) as refused:
                thickness_limits(PROCESS_LIMITS, lower, upper)
            assert refused.value.code == "thickness_limits_from_process"

    def test_else_the_log_limits(self) -> None:
        only_target = {"thickness_um": {"target": 50.0}, "other": {"lower_limit": 1.0}}
        assert thickness_limits(only_target, 10.0, None) == ThicknessLimits(10.0, None, "um", LimitsSource.LOG)
        assert thickness_limits({}, None, 30.0).upper == 30.0
        with pytest.raises(InvalidInput) as refused:
            thickness_limits({}, None, None)
        assert refused.value.code == "thickness_limits_missing"


class TestJudgement:
    LIMITS = ThicknessLimits(25.0, 75.0, "um", LimitsSource.PROCESS)

    def test_on_the_limits_passes(self) -> None:
        assert judge([25.0, 50.0, 75.0], self.LIMITS) == (CoatingResult.PASS, [])

    def test_below_the_lower_limit_fails(self) -> None:
        result, found = judge([24.99, 50.0], self.LIMITS)
        assert result is CoatingResult.FAIL
        assert [v.as_dict() for v in found] == [
            {"measurement": "thickness_um", "value": 24.99, "limit": "lower_limit", "limit_value": 25.0, "unit": "um"}
        ]

    def test_above_the_upper_limit_fails(self) -> None:
        result, found = judge([75.01, 80.0, 50.0], self.LIMITS)
        assert result is CoatingResult.FAIL
        assert [(v.value, v.limit) for v in found] == [(75.01, "upper_limit"), (80.0, "upper_limit")]

    def test_one_sided_limits(self) -> None:
        lower_only = ThicknessLimits(25.0, None, "um", LimitsSource.LOG)
        assert judge([25.0, 9999.0], lower_only)[0] is CoatingResult.PASS
        assert judge([24.0], lower_only)[0] is CoatingResult.FAIL
        upper_only = ThicknessLimits(None, 75.0, "um", LimitsSource.LOG)
        assert judge([0.0, 75.0], upper_only)[0] is CoatingResult.PASS
        assert judge([75.5], upper_only)[0] is CoatingResult.FAIL


def _log(process: str, minute: int, result: CoatingResult, order: int = 0) -> LoggedCoating:
    return LoggedCoating(process, START + timedelta(minutes=minute), order, result)


class TestCoatingStatus:
    def test_no_log_is_not_coated(self) -> None:
        assert coating_status([]) is CoatingStatus.NOT_COATED

    def test_the_latest_log_of_each_process_decides(self) -> None:
        passed, failed = CoatingResult.PASS, CoatingResult.FAIL
        assert coating_status([_log("TOP", 0, passed)]) is CoatingStatus.COATED
        assert coating_status([_log("TOP", 0, failed)]) is CoatingStatus.FAILED
        # Redone and passed: coated again, in whatever order the logs are read.
        assert coating_status([_log("TOP", 5, passed), _log("TOP", 0, failed)]) is CoatingStatus.COATED
        assert coating_status([_log("TOP", 0, passed), _log("TOP", 5, failed)]) is CoatingStatus.FAILED
        # Another process's failure fails the LOT.
        assert coating_status([_log("TOP", 0, passed), _log("BOTTOM", 0, failed)]) is CoatingStatus.FAILED
        # The same instant: the later id decides.
        assert coating_status([_log("TOP", 0, passed, 2), _log("TOP", 0, failed, 1)]) is CoatingStatus.COATED
