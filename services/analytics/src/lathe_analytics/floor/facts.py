"""What a batch of production's events adds to the floor read model, computed in memory. Pure.

Sums (executions, results, cycle times, defects, output per bucket) are what each event adds on
its own, so they come out the same whether events arrive in one batch or one at a time, and in
whatever order the topics interleave. Two orders are assumed, and the partitioning guarantees
them: a unit's steps arrive in order (key: the unit), and a LOT's creation precedes its status
changes (key: the LOT). A step is the unit's first attempt at its routing step when that step
number is beyond the furthest the unit had reached (a rework repeats the same number), which is
what first-pass yield counts; the unit's first step ever starts it. A unit's status also changes
without a step, by a disposition of its nonconformance (``serial.status-changed``, on the unit's
partition too): it is applied with the unit's steps, in the order they arrived.

Unit outcomes per day, shift and model: a unit is finished for good (``DONE``) when a step or a
disposition makes it PASSED or SCRAPPED, counted then and once (``units_passed``,
``units_scrapped``; a LOT's ``units_finished`` likewise). FAILED is not finished: it waits for its
disposition, which sends it back, scraps it or lets it go on. ``units_failed`` counts failures as
they happen (each step that left a unit FAILED, on its day), never taken back, so every sum is only
ever added to; a failed unit later scrapped or passed by its disposition counts there as well.

Counts by status and work in progress are not sums of events but counts of the LOT and unit rows
in each state: the rows are written first, each write returns the state it replaced, and the
counts move by those transitions (``transitions``). So a unit whose creation was never announced
(written into production's tables by hand) is still counted once, never as -1.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from lathe_contracts.production import (
    LotCreatedEvent,
    LotStatusChangedEvent,
    SerialsCreatedEvent,
    SerialStatusChangedEvent,
)

from lathe_analytics.floor.buckets import Bucket, PlantClock, minute_of
from lathe_analytics.floor.cycle_bins import bin_of
from lathe_analytics.floor.decoding import StepView, canonical_uuid

V = TypeVar("V")
DONE = frozenset({"PASSED", "SCRAPPED"})  # final: what a LOT's finished units and units completed count
OPEN_UNIT_STATUSES = frozenset({"CREATED", "IN_PROGRESS"})  # waiting at a routing step
OPEN_LOT_STATUSES = ("CREATED", "IN_PROGRESS")
NO_OPERATOR = ""  # key columns cannot be null: a step without an operator is counted under ""
UNKNOWN_MODEL = ""  # a unit created by an event that predates model_code, its LOT not seen yet
RECENT_STEPS = 100  # the latest executions kept for realtime status
_MILLI = Decimal("0.001")


@dataclass
class Measures:
    """What step executions add up to; every field is a sum."""

    executions: int = 0
    passes: int = 0
    failures: int = 0
    reworks: int = 0
    cycle_count: int = 0
    cycle_seconds: Decimal = Decimal(0)
    first_attempts: int = 0
    first_passes: int = 0

    def add(self, step: StepInput, first_attempt: bool) -> None:
        self.executions += 1
        self.passes += step.result == "PASS"
        self.failures += step.result == "FAIL"
        self.reworks += step.result == "REWORK"
        if step.cycle_seconds is not None:
            self.cycle_count += 1
            self.cycle_seconds += step.cycle_seconds
        if first_attempt:
            self.first_attempts += 1
            self.first_passes += step.result == "PASS"

    def merge(self, other: Measures) -> None:
        for name in MEASURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


MEASURES = tuple(f.name for f in fields(Measures))


@dataclass(frozen=True, slots=True)
class StepInput:
    """A recorded step as the read model uses it (ids as text, see ``decoding``)."""

    step_id: str
    process_id: str
    process_code: str
    level: str
    model_code: str
    lot_id: str
    lot_number: str
    serial_id: str | None
    serial_number: str | None
    step_no: int | None
    result: str
    serial_status: str | None
    rework_count: int
    operator: str | None
    equipment_id: str | None
    completed_at: datetime
    cycle_seconds: Decimal | None
    defect_codes: tuple[str, ...]

    @classmethod
    def of(cls, e: StepView) -> StepInput:
        cycle = None
        if e.cycle_time_seconds is not None:
            # Production keeps milliseconds (NUMERIC(12, 3)); the event carries them as a float.
            cycle = Decimal(str(e.cycle_time_seconds)).quantize(_MILLI)
        return cls(
            step_id=e.id,
            process_id=e.process_id,
            process_code=e.process_code,
            level=e.level,
            model_code=e.model_code,
            lot_id=e.lot_id,
            lot_number=e.lot_number,
            serial_id=e.serial_id,
            serial_number=e.serial_number,
            step_no=e.step_no,
            result=e.result,
            serial_status=e.serial_status,
            rework_count=e.rework_count or 0,
            operator=e.operator,
            equipment_id=e.equipment_id,
            completed_at=e.completed(),
            cycle_seconds=cycle,
            defect_codes=tuple(e.defect_codes),
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A unit's status changed without a step (``serial.status-changed``: a disposition)."""

    serial_id: str
    serial_number: str
    lot_id: str
    lot_number: str
    model_code: str
    previous_status: str
    serial_status: str
    rework_count: int
    current_step: int  # routing steps the unit has completed
    at: datetime  # when it changed: the event's time

    @classmethod
    def of(cls, e: SerialStatusChangedEvent, at: datetime) -> StatusChange:
        return cls(
            serial_id=str(e.serial_id),
            serial_number=e.serial_number,
            lot_id=str(e.lot_id),
            lot_number=e.lot_number,
            model_code=e.model_code,
            previous_status=e.previous_status,
            serial_status=e.serial_status,
            rework_count=e.rework_count,
            current_step=e.current_step,
            at=at,
        )


@dataclass
class LotRow:
    """A LOT's row: what its creation describes (None: not known yet), the status its own events
    left it in (None: none of them in the batch), and counters to add."""

    lot_id: str
    lot_number: str | None = None
    model_code: str | None = None
    work_order_number: str | None = None
    status: str | None = None
    target_quantity: int | None = None
    created_at: datetime | None = None
    units: int = 0
    units_finished: int = 0
    units_passed: int = 0


@dataclass
class UnitRow:
    serial_id: str
    serial_number: str | None
    lot_id: str
    model_code: str
    status: str
    rework_count: int = 0
    furthest_step: int = 0
    waiting_step: int | None = 1  # the routing step it waits at (or is reworked at); None once finished


@dataclass(frozen=True)
class Transition:
    """A LOT's or unit's row before and after a write (``None`` before: the row is new)."""

    subject: str  # "lot" or "unit"
    before: str | None
    after: str | None
    model_before: str | None = None
    model_after: str | None = None
    waiting_before: int | None = None
    waiting_after: int | None = None


def transitions(moves: list[Transition]) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, int]]]:
    """How the counts per status and the units waiting per (model, routing step) move."""
    statuses: Counter[tuple[str, str]] = Counter()
    wip: Counter[tuple[str, int]] = Counter()
    for move in moves:
        if move.before != move.after:
            if move.before is not None:
                statuses[move.subject, move.before] -= 1
            if move.after is not None:
                statuses[move.subject, move.after] += 1
        waited = (move.model_before, move.waiting_before) if move.waiting_before is not None else None
        waits = (move.model_after, move.waiting_after) if move.waiting_after is not None else None
        if waited != waits:
            if waited is not None:
                wip[waited] -= 1  # type: ignore[index]
            if waits is not None:
                wip[waits] += 1  # type: ignore[index]
    return statuses, wip


OUTPUT_FIELDS = (
    "lots_created",
    "lots_started",
    "lots_completed",
    "units_created",
    "units_started",
    "units_passed",
    "units_failed",
    "units_scrapped",
)
MINUTE_FIELDS = ("executions", "passes", "failures", "reworks", "units_finished")
_RESULT_FIELD = {"PASS": "passes", "FAIL": "failures", "REWORK": "reworks"}
_UNIT_OUTCOME = {"PASSED": "units_passed", "FAILED": "units_failed", "SCRAPPED": "units_scrapped"}


@dataclass
class FloorFacts:
    """A batch's contribution, keyed as the tables are."""

    step_days: dict[tuple[date, str, str, str], Measures] = field(default_factory=dict)
    minutes: dict[tuple[datetime, str], Counter[str]] = field(default_factory=dict)
    bins_by_day: Counter[tuple[date, str, int]] = field(default_factory=Counter)
    defects: Counter[tuple[date, str, str, str]] = field(default_factory=Counter)
    output: dict[tuple[date, str, str], Counter[str]] = field(default_factory=dict)
    lots: dict[str, LotRow] = field(default_factory=dict)
    created_units: dict[str, UnitRow] = field(default_factory=dict)
    stepped_units: dict[str, UnitRow] = field(default_factory=dict)  # each unit as its last step left it
    process_codes: dict[str, str] = field(default_factory=dict)
    steps: list[StepInput] = field(default_factory=list)

    @property
    def step_totals(self) -> dict[tuple[str, str], Measures]:
        """All time per process and model: the batch's days added up (a few rows, not an add per step)."""
        totals: dict[tuple[str, str], Measures] = {}
        for (_, process_id, model_code, _), measures in self.step_days.items():
            totals.setdefault((process_id, model_code), Measures()).merge(measures)
        return totals

    @property
    def bins_total(self) -> Counter[tuple[str, int]]:
        totals: Counter[tuple[str, int]] = Counter()
        for (_, process_id, index), n in self.bins_by_day.items():
            totals[process_id, index] += n
        return totals

    def recent_steps(self) -> list[StepInput]:
        return heapq.nlargest(RECENT_STEPS, self.steps, key=lambda s: (s.completed_at, s.step_id))


def _entry(table: dict[Any, V], key: Any, make: Callable[[], V]) -> V:
    """``table[key]``, made first if missing (``setdefault`` would make one on every call)."""
    found = table.get(key)
    if found is None:
        found = table[key] = make()
    return found


class FactsBuilder:
    """Adds events to a ``FloorFacts``. ``furthest`` is each unit's furthest routing step before
    the batch (0 when it never ran one); ``lot_models`` the model of LOTs created before it."""

    def __init__(self, clock: PlantClock, furthest: Mapping[str, int], lot_models: Mapping[str, str]) -> None:
        self.clock = clock
        self.furthest = dict(furthest)
        self.lot_models = dict(lot_models)
        self.facts = FloorFacts()

    def _output(self, at: datetime | Bucket, model_code: str) -> Counter[str]:
        bucket = at if isinstance(at, Bucket) else self.clock.bucket(at)
        return _entry(self.facts.output, (bucket.day, bucket.shift.value, model_code), Counter)

    def _lot(self, lot_id: str) -> LotRow:
        lot = self.facts.lots.get(lot_id)
        if lot is None:
            lot = self.facts.lots[lot_id] = LotRow(lot_id)
        return lot

    def lot_created(self, e: LotCreatedEvent, at: datetime) -> None:
        lot_id = str(e.id)
        lot = self._lot(lot_id)
        lot.lot_number, lot.model_code, lot.work_order_number = e.lot_number, e.model_code, e.work_order_number
        lot.status, lot.target_quantity, lot.created_at = e.status, e.target_quantity, at
        self.lot_models[lot_id] = e.model_code
        self._output(at, e.model_code)["lots_created"] += 1

    def lot_moved(self, e: LotStatusChangedEvent, at: datetime) -> None:
        lot_id = str(e.id)
        lot = self._lot(lot_id)  # its status is the last one it moved to (a LOT's events are in order)
        lot.status = e.status
        lot.lot_number = lot.lot_number or e.lot_number
        model = self.lot_models.get(lot_id, UNKNOWN_MODEL)
        if e.status == "IN_PROGRESS":
            self._output(at, model)["lots_started"] += 1
        elif e.status == "COMPLETED":
            self._output(at, model)["lots_completed"] += 1

    def serials_created(self, e: SerialsCreatedEvent, at: datetime) -> None:
        lot_id = str(e.lot_id)
        model = e.model_code or self.lot_models.get(lot_id, UNKNOWN_MODEL)
        for unit in e.serials:
            serial_id = canonical_uuid(str(unit["id"]))
            self.facts.created_units[serial_id] = UnitRow(
                serial_id, unit.get("serial_number"), lot_id, model, "CREATED"
            )
        count = len(e.serials)
        self._output(at, model)["units_created"] += count
        lot = self._lot(lot_id)
        lot.units += count
        lot.lot_number = lot.lot_number or e.lot_number

    def step_recorded(self, step: StepInput) -> None:
        facts = self.facts
        bucket = self.clock.bucket(step.completed_at)
        first_attempt = self._unit_step(step, bucket) if step.serial_id is not None else False
        operator = step.operator or NO_OPERATOR
        _entry(facts.step_days, (bucket.day, step.process_id, step.model_code, operator), Measures).add(
            step, first_attempt
        )
        facts.process_codes[step.process_id] = step.process_code
        minute = _entry(facts.minutes, (minute_of(step.completed_at), step.process_id), Counter)
        minute["executions"] += 1
        if outcome := _RESULT_FIELD.get(step.result):
            minute[outcome] += 1
        if step.serial_status in DONE:  # a disposition has no process: its finish counts per day only
            minute["units_finished"] += 1
        if step.cycle_seconds is not None:
            index = bin_of(float(step.cycle_seconds))
            facts.bins_by_day[bucket.day, step.process_id, index] += 1
        for code in step.defect_codes:
            facts.defects[bucket.day, step.process_id, step.model_code, code] += 1
        facts.steps.append(step)

    def _unit_step(self, step: StepInput, bucket: Bucket) -> bool:
        """The unit's side of a step: its new state, its LOT's progress and the output counts.
        Returns whether this was the unit's first attempt at the step."""
        facts = self.facts
        serial_id = step.serial_id
        assert serial_id is not None
        furthest = self.furthest.get(serial_id, 0)
        number = step.step_no or 0
        first_attempt = number > furthest
        status = step.serial_status or "IN_PROGRESS"
        waiting = None
        if status == "IN_PROGRESS" and number:  # passed: the next step; reworked: this one again
            waiting = number + 1 if step.result == "PASS" else number
        output = self._output(bucket, step.model_code)
        if furthest == 0:
            output["units_started"] += 1
        if status in _UNIT_OUTCOME:  # FAILED too: a failure as it happens
            output[_UNIT_OUTCOME[status]] += 1
        if status in DONE:
            self._finished(step.lot_id, step.lot_number, step.model_code, status)
        self.furthest[serial_id] = max(furthest, number)
        facts.stepped_units[serial_id] = UnitRow(
            serial_id,
            step.serial_number,
            step.lot_id,
            step.model_code,
            status,
            step.rework_count,
            self.furthest[serial_id],
            waiting,
        )
        return first_attempt

    def status_changed(self, change: StatusChange) -> None:
        """A unit's status changed without a step: its row (where it waits now), and, when the
        change finishes it, the output of the change's bucket and its LOT's progress."""
        status = change.serial_status
        if status in DONE and change.previous_status not in DONE:
            self._output(change.at, change.model_code)[_UNIT_OUTCOME[status]] += 1
            self._finished(change.lot_id, change.lot_number, change.model_code, status)
        furthest = self.furthest[change.serial_id] = max(self.furthest.get(change.serial_id, 0), change.current_step)
        # Sent back to the failed step or on to the next: either way the step after those completed.
        waiting = change.current_step + 1 if status in OPEN_UNIT_STATUSES else None
        self.facts.stepped_units[change.serial_id] = UnitRow(
            change.serial_id,
            change.serial_number,
            change.lot_id,
            change.model_code,
            status,
            change.rework_count,
            furthest,
            waiting,
        )

    def _finished(self, lot_id: str, lot_number: str, model_code: str, status: str) -> None:
        lot = self._lot(lot_id)
        lot.units_finished += 1
        lot.units_passed += status == "PASSED"
        lot.lot_number = lot.lot_number or lot_number
        lot.model_code = lot.model_code or model_code
