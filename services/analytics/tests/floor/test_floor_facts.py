"""What events add to the floor read model, in memory: first attempts, statuses, work in progress,
and the same sums however the events are batched or interleaved."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.floor.decoding import StepView
from lathe_analytics.floor.facts import MEASURES, FactsBuilder, StatusChange, StepInput, Transition, transitions
from lathe_contracts.production import (
    LotCreatedEvent,
    LotStatusChangedEvent,
    ProcessDefinedEvent,
    ProductModelDefinedEvent,
    SerialsCreatedEvent,
    SerialStatusChangedEvent,
    StepRecordedEvent,
)

from .conftest import batches, interleave, simulate


def _view(event: StepRecordedEvent) -> StepInput:
    return StepInput.of(StepView.model_validate(event.model_dump(mode="json")))


CLOCK = PlantClock("Europe/Berlin", 6, 18)


class Totals:
    """What the tables would hold after several batches: the sums, the units' last state."""

    def __init__(self) -> None:
        self.furthest: dict[uuid.UUID, int] = {}
        self.lot_models: dict[uuid.UUID, str] = {}
        self.sums: Counter = Counter()

    def apply(self, envelopes) -> None:
        builder = FactsBuilder(CLOCK, self.furthest, self.lot_models)
        by_kind: dict[type, list] = {}
        for e in envelopes:
            by_kind.setdefault(e.type, []).append(e)
        for e in by_kind.get(LotCreatedEvent.event_type, []):
            builder.lot_created(LotCreatedEvent.model_validate(e.data), e.time)
        for e in by_kind.get(LotStatusChangedEvent.event_type, []):
            builder.lot_moved(LotStatusChangedEvent.model_validate(e.data), e.time)
        for e in by_kind.get(SerialsCreatedEvent.event_type, []):
            builder.serials_created(SerialsCreatedEvent.model_validate(e.data), e.time)
        for e in envelopes:  # a unit's steps and status changes together, in arrival order (as the projector)
            if e.type == StepRecordedEvent.event_type:
                builder.step_recorded(StepInput.of(StepView.model_validate(e.data)))
            elif e.type == SerialStatusChangedEvent.event_type:
                builder.status_changed(StatusChange.of(SerialStatusChangedEvent.model_validate(e.data), e.time))
        facts = builder.facts
        for key, m in facts.step_days.items():
            for name in MEASURES:
                self.sums["day", key, name] += getattr(m, name)
        for key, m in facts.step_totals.items():
            for name in MEASURES:
                self.sums["total", key, name] += getattr(m, name)
        for table in ("bins_by_day", "bins_total", "defects"):
            for key, n in getattr(facts, table).items():
                self.sums[table, key] += n
        for table in ("minutes", "output"):
            for key, counter in getattr(facts, table).items():
                for name, n in counter.items():
                    self.sums[table, key, name] += n
        for lot in facts.lots.values():
            for name in ("units", "units_finished", "units_passed"):
                self.sums["lot", lot.lot_id, name] += getattr(lot, name)
        for unit in facts.stepped_units.values():
            self.furthest[unit.serial_id] = unit.furthest_step
        self.lot_models.update(builder.lot_models)

    def nonzero(self) -> Counter:
        return Counter({k: v for k, v in self.sums.items() if v})


@pytest.mark.parametrize("seed", range(12))
def test_the_sums_do_not_depend_on_batching_or_interleaving(seed):
    plant = simulate(seed)
    rng = random.Random(seed)
    whole = Totals()
    whole.apply(interleave(plant.streams, rng))
    for largest in (1, 7, 50):
        pieces = Totals()
        for batch in batches(interleave(plant.streams, rng), rng, largest):
            pieces.apply(batch)
        assert pieces.nonzero() == whole.nonzero()


@pytest.mark.parametrize("seed", range(12))
def test_the_sums_are_what_the_plant_did(seed):
    plant = simulate(seed)
    totals = Totals()
    totals.apply(interleave(plant.streams, random.Random(seed)))
    s, expected = totals.nonzero(), plant.expected
    by_code: Counter = Counter()
    for (_kind, key, name), n in ((k, v) for k, v in s.items() if k[0] == "total"):
        code = plant.process_codes[[str(p) for p in _process_ids(plant)].index(str(key[0]))]
        by_code[code, name] += n
    for code in plant.process_codes:
        assert by_code[code, "executions"] == expected.executions[code]
        assert by_code[code, "passes"] == expected.results[code, "PASS"]
        assert by_code[code, "failures"] == expected.results[code, "FAIL"]
        assert by_code[code, "reworks"] == expected.results[code, "REWORK"]
        assert by_code[code, "first_attempts"] == expected.first_attempts[code]
        assert by_code[code, "first_passes"] == expected.first_passes[code]
        assert by_code[code, "cycle_count"] == len(expected.cycle_seconds[code])
        assert by_code[code, "cycle_seconds"] == sum(Decimal(str(c)) for c in expected.cycle_seconds[code])
    defects: Counter = Counter()
    for key, n in s.items():
        if key[0] == "defects":
            defects[key[1][3]] += n
    assert defects == expected.defects
    outcomes: Counter = Counter()
    for status, name in (("PASSED", "units_passed"), ("FAILED", "units_failed"), ("SCRAPPED", "units_scrapped")):
        outcomes[status] = sum(n for key, n in s.items() if key[0] == "output" and key[2] == name)
    assert +outcomes == +expected.outcomes
    finished = sum(n for key, n in s.items() if key[0] == "lot" and key[2] == "units_finished")
    assert finished == expected.unit_status["PASSED"] + expected.unit_status["SCRAPPED"]


def _process_ids(plant) -> list[uuid.UUID]:
    return [
        uuid.UUID(e.data["id"])
        for key, events in plant.streams.items()
        if key.startswith("process:")
        for e in events
        if e.type == ProcessDefinedEvent.event_type
    ]


def _step(serial_id, step_no, result, status, *, rework_count=0, at="2026-01-05T08:00:00+00:00", cycle=30.0):
    return _view(
        StepRecordedEvent(
            id=uuid.uuid4(),
            subject_id=serial_id,
            message_id=None,
            process_id=uuid.UUID(int=step_no),
            process_code=f"P{step_no}",
            level="SERIAL",
            step_no=step_no,
            lot_id=uuid.UUID(int=99),
            lot_number="L-1",
            model_code="M",
            work_order_number=None,
            serial_id=serial_id,
            serial_number="L-1-0001",
            result=result,
            reported_result=result,
            measurements={},
            violations=[],
            defect_codes=["SCRATCH"] if result != "PASS" else [],
            operator="kim",
            equipment_id=None,
            started_at=None,
            completed_at=at,
            cycle_time_seconds=cycle,
            serial_status=status,
            rework_count=rework_count,
        )
    )


def test_a_reworked_step_is_one_first_attempt_and_not_a_first_pass():
    unit = uuid.uuid4()
    builder = FactsBuilder(CLOCK, {}, {})
    builder.step_recorded(_step(unit, 1, "REWORK", "IN_PROGRESS", rework_count=1))
    builder.step_recorded(_step(unit, 1, "PASS", "IN_PROGRESS", rework_count=1))
    builder.step_recorded(_step(unit, 2, "PASS", "IN_PROGRESS", rework_count=1))
    builder.step_recorded(_step(unit, 3, "FAIL", "FAILED", rework_count=1))
    totals = {key[0]: m for key, m in builder.facts.step_totals.items()}
    first, second, third = (totals[str(uuid.UUID(int=n))] for n in (1, 2, 3))
    assert (first.executions, first.first_attempts, first.first_passes, first.reworks) == (2, 1, 0, 1)
    assert (second.first_attempts, second.first_passes) == (1, 1)
    assert (third.first_attempts, third.first_passes, third.failures) == (1, 0, 1)
    final = builder.facts.stepped_units[str(unit)]
    assert (final.status, final.waiting_step, final.rework_count) == ("FAILED", None, 1)
    output = builder.facts.output[date(2026, 1, 5), "DAY", "M"]
    assert (output["units_started"], output["units_failed"]) == (1, 1)
    # FAILED awaits its nonconformance's disposition: not finished (production's LOT does not count it)
    assert str(uuid.UUID(int=99)) not in builder.facts.lots  # nothing to add to its LOT
    assert builder.facts.stepped_units[str(unit)].furthest_step == 3


def test_a_unit_seen_in_an_earlier_batch_is_not_started_again():
    unit = uuid.uuid4()
    builder = FactsBuilder(CLOCK, {str(unit): 1}, {})
    builder.step_recorded(_step(unit, 1, "PASS", "IN_PROGRESS", rework_count=1))  # after a rework at 1
    builder.step_recorded(_step(unit, 2, "PASS", "PASSED", rework_count=1))
    totals = {key[0]: m for key, m in builder.facts.step_totals.items()}
    assert totals[str(uuid.UUID(int=1))].first_attempts == 0
    assert totals[str(uuid.UUID(int=2))].first_passes == 1
    assert builder.facts.stepped_units[str(unit)].status == "PASSED"
    assert builder.facts.output[date(2026, 1, 5), "DAY", "M"]["units_started"] == 0


def test_lot_events_count_statuses_and_output_by_the_events_time():
    lot_id = uuid.uuid4()
    builder = FactsBuilder(CLOCK, {}, {})
    night = datetime(2026, 1, 6, 1, 0, tzinfo=UTC)  # 02:00 in Berlin: the night shift of the 5th
    builder.lot_created(
        LotCreatedEvent(
            id=lot_id,
            lot_number="L",
            product_model_id=uuid.uuid4(),
            model_code="M",
            work_order_number="WO-1",
            target_quantity=2,
            shift="NIGHT",
            production_date="2026-01-06",
            status="CREATED",
        ),
        night,
    )
    builder.lot_moved(
        LotStatusChangedEvent(
            id=lot_id, lot_number="L", work_order_number="WO-1", previous_status="CREATED", status="IN_PROGRESS"
        ),
        night,
    )
    builder.serials_created(
        SerialsCreatedEvent(
            lot_id=lot_id,
            lot_number="L",
            work_order_number="WO-1",
            serials=[
                {"id": str(uuid.uuid4()), "serial_number": "L-1"},
                {"id": str(uuid.uuid4()), "serial_number": "L-2"},
            ],
        ),
        night,
    )
    output = builder.facts.output[date(2026, 1, 5), "NIGHT", "M"]  # model from the LOT's creation
    assert (output["lots_created"], output["lots_started"], output["units_created"]) == (1, 1, 2)
    assert {(u.status, u.model_code, u.waiting_step) for u in builder.facts.created_units.values()} == {
        ("CREATED", "M", 1)
    }
    assert builder.facts.lots[str(lot_id)].status == "IN_PROGRESS"  # created, then moved, in one batch
    assert builder.facts.lots[str(lot_id)].units == 2


def test_where_a_unit_waits_after_each_result():
    unit = uuid.uuid4()
    cases = [
        ("PASS", "IN_PROGRESS", 3),  # on to the next step
        ("REWORK", "IN_PROGRESS", 2),  # this step again
        ("REWORK", "SCRAPPED", None),
        ("FAIL", "FAILED", None),
        ("PASS", "PASSED", None),
    ]
    for result, status, waiting in cases:
        builder = FactsBuilder(CLOCK, {str(unit): 1}, {})
        builder.step_recorded(_step(unit, 2, result, status))
        assert builder.facts.stepped_units[str(unit)].waiting_step == waiting, (result, status)


def test_status_and_wip_counts_move_by_each_rows_transition():
    moves = [
        Transition("unit", None, "CREATED", None, "M", None, 1),  # created
        Transition("unit", "CREATED", "IN_PROGRESS", "M", "M", 1, 2),  # passed step 1
        Transition("unit", "IN_PROGRESS", "IN_PROGRESS", "M", "M", 2, 2),  # reworked at 2: no move
        Transition("unit", None, "IN_PROGRESS", None, "M", None, 3),  # first seen by a step, no creation
        Transition("unit", "IN_PROGRESS", "PASSED", "M", "M", 3, None),
        Transition("unit", "CREATED", "CREATED", "", "M", 1, 1),  # its model learnt from a step
        Transition("lot", None, None),  # a LOT row a step made before its creation
        Transition("lot", None, "CREATED"),
        Transition("lot", "CREATED", "IN_PROGRESS"),
    ]
    statuses, wip = transitions(moves)
    assert {k: v for k, v in statuses.items() if v} == {
        ("unit", "IN_PROGRESS"): 1,
        ("unit", "PASSED"): 1,
        ("lot", "IN_PROGRESS"): 1,
    }
    assert {k: v for k, v in wip.items() if v} == {("M", 2): 1, ("", 1): -1, ("M", 1): 1}


def test_a_process_event_is_not_needed_for_a_step_to_count():
    builder = FactsBuilder(CLOCK, {}, {})
    unit = uuid.uuid4()
    builder.step_recorded(_step(unit, 1, "PASS", "IN_PROGRESS", cycle=41.5))
    assert builder.facts.process_codes == {str(uuid.UUID(int=1)): "P1"}
    assert list(builder.facts.step_days) == [(date(2026, 1, 5), str(uuid.UUID(int=1)), "M", "kim")]
    assert builder.facts.step_days[date(2026, 1, 5), str(uuid.UUID(int=1)), "M", "kim"].cycle_seconds == Decimal(
        "41.500"
    )


def test_recent_steps_are_the_newest_by_completion():
    builder = FactsBuilder(CLOCK, {}, {})
    for n in range(150):
        builder.step_recorded(
            _step(uuid.uuid4(), 1, "PASS", "IN_PROGRESS", at=f"2026-01-05T08:{n // 60:02d}:{n % 60:02d}+00:00")
        )
    recent = builder.facts.recent_steps()
    assert len(recent) == 100
    assert recent[0].completed_at == datetime(2026, 1, 5, 8, 2, 29, tzinfo=UTC)
    assert min(s.completed_at for s in recent) == datetime(2026, 1, 5, 8, 0, 50, tzinfo=UTC)


def test_events_the_model_needs_first_are_in_the_plant():
    plant = simulate(1)
    kinds = {e.type for events in plant.streams.values() for e in events}
    assert ProductModelDefinedEvent.event_type in kinds and ProcessDefinedEvent.event_type in kinds


def _changed(serial_id, status, current_step, *, rework_count=0, disposition="SCRAP", at=None):
    event = SerialStatusChangedEvent(
        serial_id=serial_id,
        serial_number="L-1-0001",
        lot_id=uuid.UUID(int=99),
        lot_number="L-1",
        model_code="M",
        work_order_number=None,
        previous_status="FAILED",
        serial_status=status,
        rework_count=rework_count,
        current_step=current_step,
        cause="disposition",
        nonconformance_id=uuid.uuid4(),
        disposition=disposition,
        code=None,
    )
    return StatusChange.of(event, at or datetime(2026, 1, 6, 9, 0, tzinfo=UTC))


def _outcomes(builder, day, shift="DAY"):
    output = builder.facts.output.get((day, shift, "M"), Counter())
    return output["units_passed"], output["units_failed"], output["units_scrapped"]


def test_a_scrap_disposition_finishes_the_failed_unit_once_on_the_day_it_was_decided():
    unit = uuid.uuid4()
    builder = FactsBuilder(CLOCK, {}, {})
    builder.step_recorded(_step(unit, 1, "PASS", "IN_PROGRESS"))
    builder.step_recorded(_step(unit, 2, "FAIL", "FAILED", at="2026-01-05T08:10:00+00:00"))
    builder.status_changed(_changed(unit, "SCRAPPED", 1))  # the next day, 10:00 in Berlin
    assert _outcomes(builder, date(2026, 1, 5)) == (0, 1, 0)  # the failure, on its day
    assert _outcomes(builder, date(2026, 1, 6)) == (0, 0, 1)  # the scrap, on its own
    lot = builder.facts.lots[str(uuid.UUID(int=99))]
    assert (lot.units_finished, lot.units_passed) == (1, 0)
    row = builder.facts.stepped_units[str(unit)]
    assert (row.status, row.waiting_step, row.furthest_step) == ("SCRAPPED", None, 2)
    # A disposition is no step: executions and the hour's finished units (steps only) are unchanged.
    assert sum(c["units_finished"] for c in builder.facts.minutes.values()) == 0
    assert sum(m.executions for m in builder.facts.step_days.values()) == 2


def test_a_rework_disposition_sends_the_unit_back_to_the_failed_step_unfinished():
    unit = uuid.uuid4()
    builder = FactsBuilder(CLOCK, {str(unit): 1}, {})  # passed step 1 in an earlier batch
    builder.step_recorded(_step(unit, 2, "FAIL", "FAILED"))
    builder.status_changed(_changed(unit, "IN_PROGRESS", 1, rework_count=1, disposition="REWORK"))
    row = builder.facts.stepped_units[str(unit)]
    assert (row.status, row.waiting_step, row.rework_count) == ("IN_PROGRESS", 2, 1)
    builder.step_recorded(_step(unit, 2, "PASS", "IN_PROGRESS", rework_count=1, at="2026-01-06T10:00:00+00:00"))
    second = builder.facts.step_totals[str(uuid.UUID(int=2)), "M"]
    assert (second.executions, second.first_attempts, second.first_passes) == (2, 1, 0)  # the repeat is no first
    assert builder.facts.stepped_units[str(unit)].waiting_step == 3
    assert _outcomes(builder, date(2026, 1, 5)) == (0, 1, 0) and _outcomes(builder, date(2026, 1, 6)) == (0, 0, 0)
    assert str(uuid.UUID(int=99)) not in builder.facts.lots  # nothing to add to its LOT


def test_use_as_is_passes_the_unit_at_its_last_step_and_moves_it_on_before():
    last, middle = uuid.uuid4(), uuid.uuid4()
    builder = FactsBuilder(CLOCK, {str(last): 2, str(middle): 1}, {})  # earlier batches: their steps
    builder.step_recorded(_step(last, 3, "FAIL", "FAILED"))
    builder.status_changed(_changed(last, "PASSED", 3, disposition="USE_AS_IS"))
    builder.step_recorded(_step(middle, 2, "FAIL", "FAILED"))
    builder.status_changed(_changed(middle, "IN_PROGRESS", 2, disposition="USE_AS_IS"))
    assert _outcomes(builder, date(2026, 1, 5)) == (0, 2, 0)
    assert _outcomes(builder, date(2026, 1, 6)) == (1, 0, 0)  # only the last step's deviation passes a unit
    lot = builder.facts.lots[str(uuid.UUID(int=99))]
    assert (lot.units_finished, lot.units_passed) == (1, 1)
    rows = builder.facts.stepped_units
    assert (rows[str(last)].status, rows[str(last)].waiting_step) == ("PASSED", None)
    assert (rows[str(middle)].status, rows[str(middle)].waiting_step) == ("IN_PROGRESS", 3)  # on past step 2


def test_a_status_change_alone_in_a_batch_keeps_the_units_furthest_step_and_buckets_by_its_time():
    unit = uuid.uuid4()
    builder = FactsBuilder(CLOCK, {str(unit): 2}, {})
    night = datetime(2026, 1, 6, 1, 0, tzinfo=UTC)  # 02:00 in Berlin: the night shift of the 5th
    builder.status_changed(_changed(unit, "SCRAPPED", 1, at=night))
    assert _outcomes(builder, date(2026, 1, 5), "NIGHT") == (0, 0, 1)
    assert builder.facts.stepped_units[str(unit)].furthest_step == 2
    assert builder.facts.output[date(2026, 1, 5), "NIGHT", "M"]["units_started"] == 0


def test_a_change_that_does_not_finish_the_unit_again_is_not_counted_again():
    """PASSED or SCRAPPED already (data written by hand, a replayed history): no second count."""
    unit = uuid.uuid4()
    builder = FactsBuilder(CLOCK, {str(unit): 2}, {})
    change = dataclasses.replace(_changed(unit, "SCRAPPED", 1), previous_status="PASSED")
    builder.status_changed(change)
    assert _outcomes(builder, date(2026, 1, 6)) == (0, 0, 0)
    assert str(uuid.UUID(int=99)) not in builder.facts.lots
    assert builder.facts.stepped_units[str(unit)].status == "SCRAPPED"


def test_status_counts_and_wip_move_by_a_dispositions_transition():
    moves = [
        Transition("unit", "IN_PROGRESS", "FAILED", "M", "M", 2, None),  # failed at step 2
        Transition("unit", "FAILED", "IN_PROGRESS", "M", "M", None, 2),  # REWORK: back at step 2
        Transition("unit", "FAILED", "SCRAPPED", "M", "M", None, None),  # SCRAP of another one
    ]
    statuses, wip = transitions(moves)
    assert {k: v for k, v in statuses.items() if v} == {("unit", "FAILED"): -1, ("unit", "SCRAPPED"): 1}
    assert {k: v for k, v in wip.items() if v} == {}


def test_the_plant_decides_dispositions_of_every_kind():
    plant = simulate(1, lots=4, units_per_lot=12)
    assert set(plant.expected.dispositions) == {"REWORK", "SCRAP", "USE_AS_IS"}
