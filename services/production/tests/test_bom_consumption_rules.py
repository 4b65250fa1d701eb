"""Consumption against a unit's pinned BOM: pure rules."""

from decimal import Decimal

import pytest
from lathe_common.errors import Conflict, InvalidInput
from lathe_production.genealogy.bom_rules import BomCheck, Draw, bom_deviations, bom_line_for, judge


def line(code: str, quantity: str, step: str | None = None) -> dict:
    return {
        "component_code": code,
        "description": code,
        "quantity_per_unit": quantity,
        "unit": "pcs",
        "reference_designators": [],
        "process_code": step,
    }


BOM = [line("SCREW", "4", "P2"), line("SCREW", "2"), line("BOARD", "1", "P1"), line("GLUE", "0.5")]


def draw(code: str, quantity: str = "1", step: str | None = None) -> Draw:
    return Draw(code, step, Decimal(quantity))


def test_a_component_s_line_is_the_one_of_its_step_else_the_one_of_any_step():
    assert bom_line_for(BOM, "SCREW", "P2") == BOM[0]
    assert bom_line_for(BOM, "SCREW", "P1") == BOM[1]
    assert bom_line_for(BOM, "SCREW", None) == BOM[1]
    assert bom_line_for(BOM, "BOARD", "P1") == BOM[2]
    assert bom_line_for(BOM, "BOARD", "P2") is None
    assert bom_line_for(BOM, "BOARD", None) is None  # a line of a step needs the step named
    assert bom_line_for(BOM, "NUT", "P1") is None


def codes(consumed=(), wanted=()) -> list[str]:
    return [d.code for d in bom_deviations(BOM, consumed=consumed, wanted=wanted)]


def test_what_is_on_the_bom_within_its_quantity_passes():
    assert codes(wanted=[draw("SCREW", "4", "P2"), draw("BOARD", "1", "P1"), draw("GLUE", "0.5")]) == []
    assert codes(consumed=[draw("SCREW", "3", "P2")], wanted=[draw("SCREW", "1", "P2")]) == []


def test_a_component_not_on_the_bom_for_the_step_is_a_deviation():
    assert codes(wanted=[draw("NUT")]) == ["component_not_on_bom"]
    found = bom_deviations(BOM, consumed=[], wanted=[draw("BOARD", "1", "P2")])
    assert found[0].code == "component_not_on_bom" and found[0].extra["bom_processes"] == ["P1"]


def test_more_than_a_line_allows_per_unit_is_a_deviation_counting_what_the_unit_has():
    assert codes(wanted=[draw("SCREW", "5", "P2")]) == ["bom_quantity_exceeded"]
    assert codes(consumed=[draw("SCREW", "3", "P2")], wanted=[draw("SCREW", "2", "P2")]) == ["bom_quantity_exceeded"]
    # the same line asked twice in one request adds up
    assert codes(wanted=[draw("GLUE", "0.3"), draw("GLUE", "0.3")]) == ["bom_quantity_exceeded"]
    # what the unit consumed at another step counts against that step's line only
    assert codes(consumed=[draw("SCREW", "4", "P2")], wanted=[draw("SCREW", "2", "P1")]) == []
    exceeded = bom_deviations(BOM, consumed=[draw("GLUE", "0.5")], wanted=[draw("GLUE", "0.1")])[0]
    assert exceeded.extra["consumed_quantity"] == "0.5" and exceeded.extra["quantity_per_unit"] == "0.5"


def test_components_not_on_the_bom_are_reported_before_quantities():
    assert codes(wanted=[draw("SCREW", "9", "P2"), draw("NUT")]) == ["component_not_on_bom", "bom_quantity_exceeded"]


def test_consumptions_before_that_match_no_line_count_for_nothing():
    assert codes(consumed=[draw("NUT", "100")], wanted=[draw("GLUE", "0.5")]) == []


def test_a_unit_without_a_bom_is_not_checked():
    assert bom_deviations([], consumed=[], wanted=[draw("ANYTHING", "1000")]) == []


def test_enforce_refuses_warn_records_off_ignores():
    found = bom_deviations(BOM, consumed=[], wanted=[draw("NUT")])
    with pytest.raises(InvalidInput) as refused:
        judge(BomCheck.ENFORCE, found)
    assert refused.value.code == "component_not_on_bom"
    exceeded = bom_deviations(BOM, consumed=[], wanted=[draw("SCREW", "9", "P2")])
    with pytest.raises(Conflict) as refused:
        judge(BomCheck.ENFORCE, exceeded)
    assert refused.value.code == "bom_quantity_exceeded"
    assert judge(BomCheck.WARN, found) == found
    assert judge(BomCheck.OFF, found) == []
    assert judge(BomCheck.ENFORCE, []) == []
