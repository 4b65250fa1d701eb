"""Labor efficiency arithmetic and a LOT's coating status: pure rules, hand-computed values."""

from __future__ import annotations

from decimal import Decimal

from lathe_analytics.traveler_reports.rules import ProcessWork, efficiency, lot_coating_status, minutes, percent

STANDARDS = {"P1": Decimal("60"), "P2": Decimal("90.5"), "P3": None}


def test_standard_over_actual_by_hand() -> None:
    # P1: 3 units x 60 s = 180 s; P2: 2 x 90.5 s = 181 s; standard 361 s = 6.0166.. min.
    work = [
        ProcessWork("P1", units=3, labor_seconds=Decimal(240), step_seconds=Decimal(150)),
        ProcessWork("P2", units=2, labor_seconds=Decimal(360), step_seconds=Decimal("200.5")),
    ]
    result = efficiency(work, STANDARDS)
    assert result.units == 5 and result.units_without_standard == 0
    assert result.standard_minutes == Decimal("6.02")
    assert result.actual_minutes == Decimal("10.00")
    assert result.step_minutes == Decimal("5.84")  # 350.5 s
    assert result.efficiency_percent == Decimal("60.2")  # 361 / 600
    assert result.step_efficiency_percent == Decimal("103.0")  # 361 / 350.5 = 102.996
    assert result.processes == ["P1", "P2"]


def test_nothing_to_divide_is_null() -> None:
    no_labor = efficiency([ProcessWork("P1", units=2, step_seconds=Decimal(0))], STANDARDS)
    assert (no_labor.standard_minutes, no_labor.efficiency_percent, no_labor.step_efficiency_percent) == (
        Decimal("2.00"),
        None,
        None,
    )
    no_standard = efficiency([ProcessWork("P3", units=4, labor_seconds=Decimal(60))], STANDARDS)
    assert no_standard.standard_minutes is None and no_standard.efficiency_percent is None
    assert no_standard.units_without_standard == 4
    unknown = efficiency([ProcessWork("NEW", units=1, labor_seconds=Decimal(60))], STANDARDS)
    assert unknown.standard_minutes is None and unknown.units_without_standard == 1


def test_labor_without_output_is_zero_percent() -> None:
    idle = efficiency([ProcessWork("P1", labor_seconds=Decimal(120))], STANDARDS)
    assert (idle.standard_minutes, idle.actual_minutes, idle.efficiency_percent) == (
        Decimal("0.00"),
        Decimal("2.00"),
        Decimal("0.0"),
    )


def test_rounding_half_up() -> None:
    assert minutes(Decimal("0.3")) == Decimal("0.01")  # 0.005 min
    assert minutes(Decimal("0.29")) == Decimal("0.00")
    assert percent(Decimal(1), Decimal(3)) == Decimal("33.3")
    assert percent(Decimal(2), Decimal(3)) == Decimal("66.7")
    assert percent(Decimal(1), Decimal(0)) is None and percent(None, Decimal(5)) is None


def test_a_lots_status_from_its_processes_latest_logs() -> None:
    assert lot_coating_status(["PASS", "PASS"]) == "COATED"
    assert lot_coating_status(["PASS", "FAIL"]) == "FAILED"
