"""Judging a step: spec limits, the judged result, the unit's next state, routing order, cycle times.

Pure rules, no database: every boundary from both sides, with the exact values the rules produce.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from lathe_common.errors import Conflict, InvalidInput
from lathe_production.lots.rules import SerialStatus
from lathe_production.process_data.judging import (
    MAX_CYCLE_SECONDS,
    Outcome,
    StepResult,
    Violation,
    check_can_execute,
    cycle_time,
    judged_result,
    outcome,
    violations,
)

VOLTAGE = {"voltage": {"lower_limit": 3.2, "upper_limit": 3.4, "unit": "V"}}


# --- spec limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [3.2, 3.3, 3.4])
def test_a_value_on_or_between_the_limits_passes(value):
    assert violations(VOLTAGE, {"voltage": value}) == []


def test_a_value_below_the_lower_limit_is_reported_against_it():
    assert violations(VOLTAGE, {"voltage": 3.1999}) == [Violation("voltage", 3.1999, "lower_limit", 3.2, "V")]


def test_a_value_above_the_upper_limit_is_reported_against_it():
    assert violations(VOLTAGE, {"voltage": 3.4001}) == [Violation("voltage", 3.4001, "upper_limit", 3.4, "V")]


def test_integers_are_judged_and_reported_as_numbers():
    found = violations({"count": {"lower_limit": 2, "upper_limit": 2}}, {"count": 3})
    assert found == [Violation("count", 3.0, "upper_limit", 2, None)]
    assert isinstance(found[0].value, float)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5.0, []),
        (5, []),
        (4.999, [Violation("gap", 4.999, "lower_limit", 5.0, "mm")]),
        (5.001, [Violation("gap", 5.001, "upper_limit", 5.0, "mm")]),
    ],
)
def test_equal_lower_and_upper_limits_accept_exactly_that_value(value, expected):
    assert violations({"gap": {"lower_limit": 5.0, "upper_limit": 5.0, "unit": "mm"}}, {"gap": value}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-1e300, [Violation("t", -1e300, "lower_limit", -40, None)]), (-40, []), (1e300, [])],
)
def test_a_lower_limit_alone_bounds_only_below(value, expected):
    assert violations({"t": {"lower_limit": -40}}, {"t": value}) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1e300, [Violation("t", 1e300, "upper_limit", 85, None)]), (85, []), (-1e300, [])],
)
def test_an_upper_limit_alone_bounds_only_above(value, expected):
    assert violations({"t": {"upper_limit": 85, "lower_limit": None}}, {"t": value}) == expected


def test_limits_of_zero_are_limits():
    assert violations({"offset": {"lower_limit": 0, "upper_limit": 0}}, {"offset": -0.001}) == [
        Violation("offset", -0.001, "lower_limit", 0, None)
    ]
    assert violations({"offset": {"lower_limit": 0, "upper_limit": 0}}, {"offset": 0.001}) == [
        Violation("offset", 0.001, "upper_limit", 0, None)
    ]


def test_a_criterion_without_limits_accepts_any_number():
    assert violations({"note": {"unit": "mV"}}, {"note": -1e308}) == []


def test_every_measurement_is_judged_in_the_order_of_the_criteria():
    criteria = {"a": {"upper_limit": 1}, "b": {"lower_limit": 0}, "c": {"upper_limit": 10}}
    found = violations(criteria, {"c": 11, "b": -1, "a": 2, "unlimited": "any text"})
    assert [(v.measurement, v.limit) for v in found] == [
        ("a", "upper_limit"),
        ("b", "lower_limit"),
        ("c", "upper_limit"),
    ]


def test_a_limited_measurement_that_was_not_reported_is_not_judged():
    assert violations(VOLTAGE, {}) == []
    assert violations(VOLTAGE, {"current": 99}) == []
    assert violations({}, {"voltage": 99}) == []
    # One limited measurement missing does not end the judging of the others.
    criteria = {"current": {"upper_limit": 1}, **VOLTAGE}
    assert violations(criteria, {"voltage": 9}) == [Violation("voltage", 9.0, "upper_limit", 3.4, "V")]


@pytest.mark.parametrize(
    "raw", [math.nan, math.inf, -math.inf, True, False, "3.3", None, Decimal("3.3"), [3.3], {"v": 3.3}]
)
def test_a_limited_measurement_must_be_a_finite_number(raw):
    with pytest.raises(InvalidInput) as refused:
        violations(VOLTAGE, {"voltage": raw})
    assert refused.value.code == "invalid_measurement"
    assert refused.value.status == 422
    assert refused.value.extra == {"measurement": "voltage"}
    assert refused.value.detail == f"Measurement voltage has spec limits, so it must be a number, not {raw!r}."


def test_an_unlimited_measurement_may_be_anything():
    assert violations({"voltage": {"unit": "V"}}, {"voltage": 3.3, "operator_note": "NaN", "flag": True}) == []


def test_a_violation_as_a_dict():
    assert Violation("voltage", 3.5, "upper_limit", 3.4, "V").as_dict() == {
        "measurement": "voltage",
        "value": 3.5,
        "limit": "upper_limit",
        "limit_value": 3.4,
        "unit": "V",
    }


# --- the judged result ---------------------------------------------------------------------------

OUT_OF_LIMIT = [Violation("voltage", 3.5, "upper_limit", 3.4, "V")]


@pytest.mark.parametrize(
    ("reported", "found", "judged"),
    [
        (None, [], StepResult.PASS),
        (StepResult.PASS, [], StepResult.PASS),
        (StepResult.FAIL, [], StepResult.FAIL),
        (StepResult.REWORK, [], StepResult.REWORK),
        (None, OUT_OF_LIMIT, StepResult.FAIL),
        (StepResult.PASS, OUT_OF_LIMIT, StepResult.FAIL),
        (StepResult.FAIL, OUT_OF_LIMIT, StepResult.FAIL),
        (StepResult.REWORK, OUT_OF_LIMIT, StepResult.FAIL),
    ],
)
def test_an_out_of_limit_value_fails_the_step_whatever_was_reported(reported, found, judged):
    assert judged_result(reported, found) is judged


# --- the unit's next state -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "step_no", "rework_count", "max_reworks", "expected"),
    [
        # PASS: the next step, or PASSED after the last one; the rework count is kept.
        (StepResult.PASS, 1, 0, 2, Outcome(SerialStatus.IN_PROGRESS, 1, 0)),
        (StepResult.PASS, 2, 1, 2, Outcome(SerialStatus.IN_PROGRESS, 2, 1)),
        (StepResult.PASS, 3, 2, 2, Outcome(SerialStatus.PASSED, 3, 2)),
        # FAIL: the unit stops, the step does not count as done.
        (StepResult.FAIL, 1, 0, 2, Outcome(SerialStatus.FAILED, 0, 0)),
        (StepResult.FAIL, 3, 1, 2, Outcome(SerialStatus.FAILED, 2, 1)),
        # REWORK below the limit: the same step again, one more rework used.
        (StepResult.REWORK, 2, 0, 2, Outcome(SerialStatus.IN_PROGRESS, 1, 1)),
        (StepResult.REWORK, 2, 1, 2, Outcome(SerialStatus.IN_PROGRESS, 1, 2)),
        (StepResult.REWORK, 3, 0, 1, Outcome(SerialStatus.IN_PROGRESS, 2, 1)),
        # REWORK at or past the limit: scrapped, the count unchanged.
        (StepResult.REWORK, 2, 2, 2, Outcome(SerialStatus.SCRAPPED, 1, 2)),
        (StepResult.REWORK, 2, 3, 2, Outcome(SerialStatus.SCRAPPED, 1, 3)),
        (StepResult.REWORK, 1, 0, 0, Outcome(SerialStatus.SCRAPPED, 0, 0)),
        (StepResult.REWORK, 3, 1, 1, Outcome(SerialStatus.SCRAPPED, 2, 1)),
    ],
)
def test_the_outcome_of_a_step(result, step_no, rework_count, max_reworks, expected):
    assert (
        outcome(result, step_no=step_no, routing_length=3, rework_count=rework_count, max_reworks=max_reworks)
        == expected
    )


def test_a_single_step_routing_passes_on_its_first_pass():
    assert outcome(StepResult.PASS, step_no=1, routing_length=1, rework_count=0, max_reworks=3) == Outcome(
        SerialStatus.PASSED, 1, 0
    )


# --- which step may run ---------------------------------------------------------------------------

ROUTING = ["P01_CUT", "P02_BEND", "P03_TEST"]


@pytest.mark.parametrize(
    ("current_step", "process_code", "position"), [(0, "P01_CUT", 1), (1, "P02_BEND", 2), (2, "P03_TEST", 3)]
)
def test_the_next_step_of_the_routing_runs_at_its_position(current_step, process_code, position):
    for status in (SerialStatus.CREATED, SerialStatus.IN_PROGRESS):
        assert check_can_execute(status, ROUTING, current_step, process_code) == position


@pytest.mark.parametrize(
    ("current_step", "process_code", "expected"),
    [(0, "P02_BEND", "P01_CUT"), (0, "P03_TEST", "P01_CUT"), (1, "P01_CUT", "P02_BEND"), (2, "P02_BEND", "P03_TEST")],
)
def test_a_step_out_of_order_is_refused_naming_the_expected_one(current_step, process_code, expected):
    with pytest.raises(Conflict) as refused:
        check_can_execute(SerialStatus.IN_PROGRESS, ROUTING, current_step, process_code)
    assert (refused.value.status, refused.value.code) == (409, "step_out_of_order")
    assert refused.value.extra == {"expected_process": expected, "routing": ROUTING}
    assert refused.value.detail == f"The unit's next step is {expected}, not {process_code}."


def test_a_process_outside_the_routing_is_invalid_input():
    with pytest.raises(InvalidInput) as refused:
        check_can_execute(SerialStatus.IN_PROGRESS, ROUTING, 1, "P99_PAINT")
    assert (refused.value.status, refused.value.code) == (422, "process_not_in_routing")
    assert refused.value.extra == {"routing": ROUTING}
    assert refused.value.detail == "P99_PAINT is not in this product's routing."


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (SerialStatus.PASSED, "serial_finished"),
        (SerialStatus.FAILED, "awaiting_disposition"),
        (SerialStatus.SCRAPPED, "rework_exhausted"),
    ],
)
def test_a_finished_unit_is_refused_before_its_routing_is_looked_at(status, code):
    for process_code in ("P99_PAINT", "P01_CUT"):
        with pytest.raises(Conflict) as refused:
            check_can_execute(status, ROUTING, 0, process_code)
        assert refused.value.code == code


# --- cycle times ----------------------------------------------------------------------------------

DONE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_no_start_no_cycle_time():
    assert cycle_time(None, DONE) is None


@pytest.mark.parametrize(
    ("took", "seconds"),
    [
        (timedelta(0), "0.0"),
        (timedelta(seconds=90, microseconds=123_400), "90.123"),
        (timedelta(seconds=90, microseconds=123_600), "90.124"),
        (timedelta(milliseconds=1), "0.001"),
        (timedelta(microseconds=400), "0.0"),
        (timedelta(seconds=-5), "-5.0"),
        (timedelta(seconds=999_999_999, milliseconds=999), "999999999.999"),
        (-timedelta(seconds=999_999_999, milliseconds=999), "-999999999.999"),
    ],
)
def test_the_cycle_time_is_seconds_to_the_millisecond(took, seconds):
    measured = cycle_time(DONE - took, DONE)
    assert isinstance(measured, Decimal) and str(measured) == seconds


@pytest.mark.parametrize(
    "took",
    [timedelta(seconds=1_000_000_000), -timedelta(seconds=1_000_000_000), DONE - datetime(1900, 1, 1, tzinfo=UTC)],
)
def test_a_cycle_time_the_column_cannot_hold_is_refused(took):
    with pytest.raises(InvalidInput) as refused:
        cycle_time(DONE - took, DONE)
    assert (refused.value.status, refused.value.code) == (422, "invalid_value")
    seconds = Decimal(str(round(took.total_seconds(), 3)))
    assert refused.value.detail == (
        f"started_at {(DONE - took).isoformat()} is {seconds} s before completed_at; a cycle time is at most "
        f"{MAX_CYCLE_SECONDS} s."
    )


def test_the_largest_cycle_time_is_what_numeric_12_3_holds():
    assert MAX_CYCLE_SECONDS == Decimal("999999999.999")
