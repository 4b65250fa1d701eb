"""A traveler assembled from rows (step states, sign-off, BOM planned against consumed) and the
printed traveler drawn from one, with no database."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from lathe_production.coating.schemas import LotCoatingStatus, ProcessCoating
from lathe_production.genealogy.bom_rules import Draw
from lathe_production.labor.schemas import LaborOfLot, LaborTotal
from lathe_production.travelers.document import render_traveler
from lathe_production.travelers.rules import (
    MAX_UNIT_QR_CODES,
    StepState,
    StepTally,
    UnitPosition,
    attachment,
    planned_against_consumed,
    step_progress,
)
from lathe_production.travelers.schemas import (
    HoldsOfLot,
    NonconformancesOfLot,
    StepRead,
    TravelerHeader,
    TravelerRead,
)

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ROUTING = ["MARK", "TEST", "PACK"]
NAMES = {"MARK": "Marking", "TEST": "Inspection", "PACK": "Packing"}


def test_each_step_counts_units_past_it_and_its_executions():
    tallies = [
        StepTally("MARK", passed=3, last_operator="ana", last_at=T0),
        StepTally("TEST", passed=2, failed=1, reworked=1, last_operator="dan", last_at=T0 + timedelta(hours=1)),
    ]
    # One unit passed TEST (at 2), one failed TEST (stays at 1), one reworked and passed (at 2), one new.
    positions = [UnitPosition(2, "IN_PROGRESS", 2), UnitPosition(1, "FAILED", 1), UnitPosition(0, "CREATED", 1)]

    steps = step_progress(ROUTING, NAMES, tallies, positions)

    assert [(s.step_no, s.process_name, s.state, s.units_done) for s in steps] == [
        (1, "Marking", StepState.IN_PROGRESS, 3),
        (2, "Inspection", StepState.IN_PROGRESS, 2),
        (3, "Packing", StepState.NOT_STARTED, 0),
    ]
    assert (steps[1].passed, steps[1].failed, steps[1].reworked) == (2, 1, 1)
    assert steps[1].sign_off is not None and (steps[1].sign_off.operator, steps[1].sign_off.at) == (
        "dan",
        tallies[1].last_at,
    )
    assert steps[2].sign_off is None


def test_a_step_is_complete_when_every_unit_is_past_it_or_scrapped_before_it():
    tallies = [StepTally("MARK", passed=3, last_at=T0), StepTally("TEST", passed=2, reworked=4, last_at=T0)]
    positions = [UnitPosition(2, "IN_PROGRESS", 2), UnitPosition(1, "SCRAPPED", 1)]

    steps = step_progress(ROUTING, NAMES, tallies, positions)

    assert [s.state for s in steps] == [StepState.COMPLETE, StepState.COMPLETE, StepState.NOT_STARTED]


def test_a_lot_without_units_or_executions_has_every_step_not_started():
    steps = step_progress(ROUTING, {}, [], [])
    assert [(s.state, s.process_name, s.units_done) for s in steps] == [
        (StepState.NOT_STARTED, code, 0) for code in ROUTING
    ]


def test_executions_at_a_process_no_longer_in_the_routing_are_not_shown():
    steps = step_progress(["MARK"], NAMES, [StepTally("OLD", passed=5, last_at=T0)], [UnitPosition(0, "CREATED", 1)])
    assert [(s.process_code, s.passed) for s in steps] == [("MARK", 0)]


BOM = [
    {"component_code": "SCREW", "description": "M3 screw", "quantity_per_unit": "2", "unit": "pcs",
     "reference_designators": [], "process_code": "MARK"},
    {"component_code": "SCREW", "description": "M3 screw", "quantity_per_unit": "1", "unit": "pcs",
     "reference_designators": [], "process_code": None},
    {"component_code": "PASTE", "description": "Solder paste", "quantity_per_unit": "0.0125", "unit": "g",
     "reference_designators": ["R1", "R2"], "process_code": None},
]  # fmt: skip


def test_planned_is_per_unit_times_the_lot_and_consumption_matches_lines_as_the_bom_check_does():
    consumed = [
        Draw("SCREW", "MARK", Decimal("6.0000")),  # its own line
        Draw("SCREW", "TEST", Decimal("1.0000")),  # no line at TEST: the line of any step
        Draw("SCREW", None, Decimal("2.0000")),
        Draw("PASTE", "MARK", Decimal("0.0375")),
        Draw("GLUE", "MARK", Decimal("1.5000")),  # let through while the check warned
        Draw("GLUE", None, Decimal("1")),
    ]

    planned, unplanned = planned_against_consumed(BOM, units=4, consumed=consumed)

    assert [(p.component_code, p.process_code, p.planned_quantity, p.consumed_quantity) for p in planned] == [
        ("SCREW", "MARK", Decimal("8"), Decimal("6")),
        ("SCREW", None, Decimal("4"), Decimal("3")),
        ("PASTE", None, Decimal("0.05"), Decimal("0.0375")),
    ]
    assert [str(p.planned_quantity) for p in planned] == ["8", "4", "0.05"]  # answers read as BOMs do
    assert planned[2].reference_designators == ["R1", "R2"] and planned[2].unit == "g"
    assert [(u.component_code, u.process_code, str(u.consumed_quantity)) for u in unplanned] == [
        ("GLUE", None, "1"),
        ("GLUE", "MARK", "1.5"),
    ]


def test_nothing_consumed_reads_zero_and_no_bom_plans_nothing():
    planned, unplanned = planned_against_consumed(BOM[:1], units=100_000, consumed=[])
    assert [(str(p.planned_quantity), str(p.consumed_quantity)) for p in planned] == [("200000", "0")]
    assert planned_against_consumed([], units=5, consumed=[Draw("X", None, Decimal(1))]) == (
        [],
        [planned_against_consumed([], units=5, consumed=[Draw("X", None, Decimal(1))])[1][0]],
    )


def test_downloads_are_named_safely_after_the_lot_or_unit():
    assert attachment("WF-KR-261130D-001", "pdf") == (
        "attachment; filename=\"WF-KR-261130D-001.pdf\"; filename*=UTF-8''WF-KR-261130D-001.pdf"
    )
    hostile = attachment('A"; filename=evil.exe\r\n é/..', "zpl")
    assert hostile.startswith('attachment; filename="A___filename_evil.exe_____...zpl"; ')
    assert "\r" not in hostile and "\n" not in hostile and hostile.count('"') == 2
    assert hostile.endswith("filename*=UTF-8''A%22%3B%20filename%3Devil.exe%0D%0A%20%C3%A9%2F...zpl")


def traveler(model_name: str = "Board <b>&amp;", steps: int = 3) -> TravelerRead:
    lot_number = "WF-KR-261130D-001"
    return TravelerRead(
        lot=TravelerHeader(
            lot_id=uuid.uuid4(),
            lot_number=lot_number,
            model_code="PCB-1",
            model_name=model_name,
            revision="B",
            traveler_type="PCB",
            work_order_number=None,
            target_quantity=100_000,
            serial_count=100_000,
            status="IN_PROGRESS",
            on_hold=False,
            shift="DAY",
            production_date=date(2026, 11, 30),
            created_at=T0,
            started_at=T0,
            completed_at=None,
            closed_at=None,
        ),
        unit_counts={"IN_PROGRESS": 100_000},
        steps=[
            StepRead.model_validate(s)
            for s in step_progress(
                [f"P{n}" for n in range(steps)], {}, [StepTally("P0", passed=9, last_operator="ana", last_at=T0)], []
            )
        ],
        bom=[],
        unplanned_consumption=[],
        nonconformances=NonconformancesOfLot(open=0, closed=0, items=[]),
        holds=HoldsOfLot(active=0, released=0, items=[]),
        labor=LaborOfLot(
            entries=3,
            minutes=Decimal("95.5"),
            totals=[LaborTotal(process_code="P0", activity="SETUP", entries=3, minutes=Decimal("95.5"))],
            items=[],
        ),
        coating=LotCoatingStatus(
            lot_id=uuid.uuid4(),
            lot_number=lot_number,
            status="COATED",
            processes=[ProcessCoating(process_code="P1", result="PASS", applied_at=T0, log_id=uuid.uuid4())],
            logs_total=1,
            logs=[],
        ),
        generated_at=T0,
    )


def test_the_printed_traveler_is_a_pdf_whatever_the_names_hold():
    document = render_traveler(traveler("Board <b>&amp; </para> ^XZ 中"))
    assert document.startswith(b"%PDF-") and document.rstrip().endswith(b"%%EOF")


def test_unit_codes_of_a_huge_lot_are_capped_and_say_how_many_are_left_out():
    numbers = [f"WF-KR-261130D-001-{n:06d}" for n in range(1, MAX_UNIT_QR_CODES + 1)]
    with_codes = render_traveler(traveler(steps=40), unit_numbers=numbers, more_units=100_000 - MAX_UNIT_QR_CODES)
    # 96 codes at 48 a page: two pages more than the traveler alone.
    assert with_codes.count(b"/Type /Page\n") - render_traveler(traveler(steps=40)).count(b"/Type /Page\n") == 2
