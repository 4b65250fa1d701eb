"""Revision labels, what makes a BOM sound and what a revision changed: pure rules."""

from decimal import Decimal

import pytest
from lathe_common.errors import InvalidInput
from lathe_production.product_models.rules import (
    MAX_DESIGNATORS_PER_BOM,
    bom_diff,
    check_bom,
    revision_changes,
    revision_label,
    revision_number,
    routing_diff,
)
from lathe_production.product_models.schemas import BomLine, ProductModelCreate
from pydantic import ValidationError


def line(code: str = "RES-10K", quantity: str = "2", step: str | None = None, **more) -> dict:
    return BomLine(
        component_code=code,
        description="10k resistor",
        quantity_per_unit=quantity,
        unit="pcs",
        process_code=step,
        **more,
    ).model_dump(mode="json")


def test_revisions_are_lettered_like_spreadsheet_columns():
    assert [revision_label(n) for n in (1, 2, 26, 27, 28, 52, 53, 702, 703)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip
    for number in range(1, 20_000):
        assert revision_number(revision_label(number)) == number
    with pytest.raises(ValueError):
        revision_label(0)


def test_only_labels_have_numbers():
    assert revision_number("AA") == 27
    for not_a_label in ("", "a", "A1", "Ä", "ABCDEFGHI", "-", "A B"):
        assert revision_number(not_a_label) is None


def test_a_routing_diff_names_what_came_and_went():
    assert routing_diff(["P1", "P2"], ["P1", "P2"]) is None
    assert routing_diff(["P1", "P2"], ["P1", "P3", "P2"]) == {
        "before": ["P1", "P2"],
        "after": ["P1", "P3", "P2"],
        "added": ["P3"],
        "removed": [],
    }
    reordered = routing_diff(["P1", "P2"], ["P2", "P1"])
    assert reordered["added"] == reordered["removed"] == [] and reordered["after"] == ["P2", "P1"]


def test_a_bom_diff_matches_lines_by_component_and_step():
    before = [line("RES-10K", "2", "P1"), line("CAP-1U", "1"), line("PCB-1", "1")]
    after = [line("PCB-1", "1"), line("RES-10K", "3", "P1"), line("IC-7", "1", "P1")]
    diff = bom_diff(before, after)
    assert diff["added"] == [line("IC-7", "1", "P1")]
    assert diff["removed"] == [line("CAP-1U", "1")]
    assert diff["changed"] == [
        {
            "component_code": "RES-10K",
            "process_code": "P1",
            "before": {"quantity_per_unit": "2"},
            "after": {"quantity_per_unit": "3"},
        }
    ]
    # The same lines in another order are the same BOM; the same component at another step is not.
    assert bom_diff(before, list(reversed(before))) is None
    moved = bom_diff([line("RES-10K", "2", "P1")], [line("RES-10K", "2", "P2")])
    assert len(moved["added"]) == len(moved["removed"]) == 1 and moved["changed"] == []


def test_quantities_have_one_spelling_so_equal_lines_compare_equal():
    assert line(quantity="2.000")["quantity_per_unit"] == "2"
    assert line(quantity="100")["quantity_per_unit"] == "100"
    assert line(quantity=Decimal("0.0500"))["quantity_per_unit"] == "0.05"
    assert bom_diff([line(quantity="2")], [line(quantity="2.0")]) is None


def test_the_first_revision_changes_everything_from_nothing():
    first = revision_changes(([], ["P1"]), ([], [line()]))
    assert first["routing"]["added"] == ["P1"] and first["bom"]["added"] == [line()]
    assert revision_changes((["P1"], ["P1"]), ([], [])) == {"routing": None, "bom": None}


def codes_of(lines: list[dict], routing=("P1", "P2"), model="PCB-MAIN") -> str | None:
    try:
        check_bom(lines, routing=list(routing), model_code=model)
    except InvalidInput as refused:
        return refused.code
    return None


def test_a_sound_bom_passes():
    assert codes_of([line("RES-10K", "2", "P1", reference_designators=["R1", "R2"]), line("SOLDER", "0.5")]) is None
    assert codes_of([]) is None


def test_each_component_once_per_step():
    assert codes_of([line("RES-10K", "1", "P1"), line("RES-10K", "1", "P1")]) == "duplicate_bom_line"
    assert codes_of([line("RES-10K", "1"), line("RES-10K", "1")]) == "duplicate_bom_line"
    assert codes_of([line("RES-10K", "1", "P1"), line("RES-10K", "1", "P2"), line("RES-10K", "1")]) is None


def test_designators_are_each_once_ignoring_case_and_count_the_quantity():
    twice_in_line = line(quantity="2", reference_designators=["R1", "R1"])
    assert codes_of([twice_in_line]) == "duplicate_reference_designator"
    across = [line("A", "1", reference_designators=["R1"]), line("B", "1", reference_designators=["r1"])]
    assert codes_of(across) == "duplicate_reference_designator"
    assert codes_of([line(quantity="3", reference_designators=["R1", "R2"])]) == "designator_count_mismatch"


def test_steps_are_the_routing_s_and_a_model_is_not_its_own_component():
    assert codes_of([line(step="P9")]) == "bom_process_not_in_routing"
    assert codes_of([line("PCB-MAIN")]) == "bom_contains_itself"


def test_a_bom_is_bounded():
    many = [line(f"C{n}", "1000", reference_designators=[f"X{n}-{i}" for i in range(1000)]) for n in range(6)]
    assert sum(len(x["reference_designators"]) for x in many) > MAX_DESIGNATORS_PER_BOM
    assert codes_of(many) == "bom_too_large"
    with pytest.raises(ValidationError):
        ProductModelCreate(model_code="M", model_name="M", routing=["P1"], bom=[line(f"C{n}") for n in range(501)])


@pytest.mark.parametrize(
    "bad",
    [
        {"quantity_per_unit": "0"},
        {"quantity_per_unit": "-1"},
        {"quantity_per_unit": "NaN"},
        {"quantity_per_unit": "0.00001"},
        {"unit": " pcs"},
        {"component_code": ""},
        {"component_code": "A" * 65},
        {"reference_designators": ["R 1"]},
        {"reference_designators": ["R" * 17]},
        {"process_code": "lower"},
        {"qty": "1"},  # a misspelt field would silently be lost
    ],
)
def test_a_bom_line_s_fields_are_checked(bad):
    fields = {"component_code": "RES-10K", "description": "r", "quantity_per_unit": "1", "unit": "pcs"} | bad
    with pytest.raises(ValidationError):
        BomLine(**fields)
