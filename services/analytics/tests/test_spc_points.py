"""Which measurements of a step become chart points, and which violations are announced (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from lathe_analytics.audit.consumer import AUDITED_TOPICS
from lathe_analytics.spc.measurements import MAX_NAME_LENGTH, completion_time, numeric_value, points_of
from lathe_analytics.spc.novelty import judge
from lathe_analytics.spc.rules import Rule, Violation
from lathe_contracts import published_topics
from lathe_contracts.analytics import SPC_ALERTS_TOPIC
from lathe_contracts.production import StepRecordedEvent


def step(measurements: dict, completed_at: str = "2026-03-01T08:00:00+00:00") -> StepRecordedEvent:
    return StepRecordedEvent(
        id=uuid.uuid4(),
        subject_id=uuid.uuid4(),
        message_id=None,
        process_id=uuid.uuid4(),
        process_code="P03",
        level="SERIAL",
        step_no=3,
        lot_id=uuid.uuid4(),
        lot_number="WF-KR-260301D-001",
        model_code="M-1",
        work_order_number=None,
        serial_id=uuid.uuid4(),
        serial_number="SN-1",
        result="PASS",
        reported_result=None,
        measurements=measurements,
        violations=[],
        defect_codes=[],
        operator="kim",
        equipment_id=None,
        started_at=None,
        completed_at=completed_at,
        cycle_time_seconds=None,
        serial_status="IN_PROGRESS",
        rework_count=0,
    )


@pytest.mark.parametrize(
    "raw",
    ["12.5", True, False, None, [1.0], {"v": 1.0}, float("nan"), float("inf"), float("-inf"), 10**400],
)
def test_what_is_not_a_finite_number_is_no_point(raw):
    assert numeric_value(raw) is None


@pytest.mark.parametrize(("raw", "value"), [(0, 0.0), (-3, -3.0), (1.25, 1.25), (10**18, 1e18), (1e308, 1e308)])
def test_finite_numbers_are_points(raw, value):
    assert numeric_value(raw) == value


def test_a_step_gives_one_point_per_numeric_measurement():
    event = step(
        {
            "offset_mv": 1.2,
            "gain": 3,
            "label": "high",
            "ok": True,
            "nan": float("nan"),
            "x" * (MAX_NAME_LENGTH + 1): 1.0,
        }
    )
    points = points_of(event)
    assert [(p.measurement, p.value) for p in points] == [("offset_mv", 1.2), ("gain", 3.0)]
    first = points[0]
    assert first.chart == ("P03", "offset_mv") and first.step_id == event.id
    assert first.completed_at == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert (first.serial_number, first.lot_number, first.model_code) == ("SN-1", "WF-KR-260301D-001", "M-1")


def test_times_are_utc_whatever_offset_they_carry():
    assert completion_time("2026-03-01T10:00:00+02:00") == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert completion_time("2026-03-01T08:00:00Z") == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert completion_time("2026-03-01T08:00:00") == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert completion_time("yesterday") is None


def test_a_step_with_an_unreadable_time_gives_no_points():
    assert points_of(step({"offset_mv": 1.0}, completed_at="soon")) == []


# Announcing: only violations with a new point, and never twice for the same points.

IDS = [uuid.uuid4() for _ in range(12)]


def run(rule: Rule, start: int, end: int) -> Violation:
    return Violation(rule, tuple(range(start, end + 1)))


def test_a_violation_without_new_points_is_not_announced():
    verdict = judge([run(Rule.NINE_ON_ONE_SIDE, 0, 8)], IDS, new={IDS[9]}, announced=set())
    assert verdict.fresh == [] and verdict.remembered == []


def test_a_new_violation_is_announced_and_its_points_remembered():
    violation = run(Rule.NINE_ON_ONE_SIDE, 0, 8)
    verdict = judge([violation], IDS, new={IDS[8]}, announced=set())
    assert verdict.fresh == [violation]
    assert verdict.remembered == [(Rule.NINE_ON_ONE_SIDE, IDS[i]) for i in range(9)]


def test_a_run_that_goes_on_is_the_same_violation():
    announced = {(Rule.NINE_ON_ONE_SIDE, IDS[i]) for i in range(9)}
    verdict = judge([run(Rule.NINE_ON_ONE_SIDE, 0, 9)], IDS, new={IDS[9]}, announced=announced)
    assert verdict.fresh == []
    assert verdict.remembered == [(Rule.NINE_ON_ONE_SIDE, IDS[9])]  # the run's new point joins it


def test_the_same_points_under_another_rule_are_a_new_violation():
    announced = {(Rule.NINE_ON_ONE_SIDE, IDS[i]) for i in range(9)}
    trend = run(Rule.SIX_TRENDING, 4, 9)
    assert judge([trend], IDS, new={IDS[9]}, announced=announced).fresh == [trend]


def test_two_runs_meeting_in_one_point_are_two_violations():
    rise, fall = run(Rule.SIX_TRENDING, 0, 5), run(Rule.SIX_TRENDING, 5, 10)
    announced = {(Rule.SIX_TRENDING, IDS[i]) for i in range(6)}
    assert judge([rise, fall], IDS, new={IDS[10]}, announced=announced).fresh == [fall]
    assert judge([rise, fall], IDS, new=set(IDS), announced=set()).fresh == [rise, fall]  # in one batch too


def test_a_point_beyond_the_limits_is_announced_once():
    beyond = Violation(Rule.BEYOND_3_SIGMA, (3,))
    first = judge([beyond], IDS, new={IDS[3]}, announced=set())
    assert first.fresh == [beyond]
    again = judge([beyond], IDS, new={IDS[3]}, announced=set(first.remembered))
    assert again.fresh == []


def test_spc_alerts_are_published_and_so_audited():
    assert SPC_ALERTS_TOPIC in published_topics() and SPC_ALERTS_TOPIC in AUDITED_TOPICS
