"""What events add to the floor read model, in memory: first attempts, statuses, work in progress,
and the same sums however the events are batched or interleaved."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.floor.decoding import StepView
from lathe_analytics.floor.facts import MEASURES, FactsBuilder, StepInput, Transition, transitions
from lathe_contracts.production import (
    LotCreatedEvent,
    LotStatusChangedEvent,
    ProcessDefinedEvent,
    ProductModelDefinedEvent,
    SerialsCreatedEvent,
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
        for e in by_kind.get(StepRecordedEvent.event_type, []):
            builder.step_recorded(StepInput.of(StepView.model_validate(e.data)))
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
    assert builder.facts.lots[str(uuid.UUID(int=99))].units_finished == 1
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
