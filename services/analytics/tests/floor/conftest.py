"""A small plant that follows production's rules, as the events it would publish, for the floor tests.

``simulate`` makes processes, a product model, LOTs and their units, runs each unit along the
routing (PASS, FAIL or REWORK at random, with production's rework limit; some units stop half way
or never start), decides most failures' nonconformances (REWORK, SCRAP or USE_AS_IS: a
``serial.status-changed`` on the unit's stream, between its steps) and records what a correct read
model must show (``Expected``). ``interleave``
merges the streams the way Kafka may deliver them: each partition's order kept (a unit's steps, a
LOT's own events), any order across them.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lathe_common.events import DomainEvent, Envelope
from lathe_contracts.production import (
    LotCreatedEvent,
    LotStatusChangedEvent,
    ProcessDefinedEvent,
    ProductModelDefinedEvent,
    SerialsCreatedEvent,
    SerialStatusChangedEvent,
    StepRecordedEvent,
)

MAX_REWORKS = 3
DEFECTS = ("SCRATCH", "SOLDER_BRIDGE", "MISALIGNED", "DUST")


@dataclass
class Expected:
    executions: Counter = field(default_factory=Counter)  # process code -> n
    results: Counter = field(default_factory=Counter)  # (process code, result) -> n
    first_attempts: Counter = field(default_factory=Counter)  # process code -> units
    first_passes: Counter = field(default_factory=Counter)
    unit_status: Counter = field(default_factory=Counter)  # status -> units
    # What production-stats counts: PASSED and SCRAPPED once per unit, FAILED per failure.
    outcomes: Counter = field(default_factory=Counter)
    dispositions: Counter = field(default_factory=Counter)  # disposition -> how many were decided
    lot_status: Counter = field(default_factory=Counter)
    wip: Counter = field(default_factory=Counter)  # routing position -> units waiting there
    defects: Counter = field(default_factory=Counter)  # defect code -> occurrences
    cycle_seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lot_level_steps: int = 0


@dataclass
class Plant:
    model_code: str
    process_codes: list[str]
    streams: dict[str, list[Envelope]]
    expected: Expected
    lot_ids: list[uuid.UUID]


def envelope(event: DomainEvent, at: datetime) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        source="lathe/production",
        type=event.event_type,
        time=at,
        subject=event.aggregate_id,
        data=event.model_dump(mode="json"),
    )


def _next(result: str, step_no: int, steps: int, reworks: int) -> tuple[str, int]:
    """production's judging.outcome: the unit's status and rework count after a step."""
    if result == "PASS":
        return ("PASSED" if step_no == steps else "IN_PROGRESS"), reworks
    if result == "FAIL":
        return "FAILED", reworks
    if reworks >= MAX_REWORKS:
        return "SCRAPPED", reworks
    return "IN_PROGRESS", reworks + 1


def _disposed(disposition: str, failed_step: int, steps: int, reworks: int) -> tuple[str, int, int]:
    """production's nonconformances.rules.decide: the unit's status, routing steps completed and
    rework count after the disposition of a FAIL at ``failed_step``."""
    if disposition == "SCRAP" or (disposition == "REWORK" and reworks >= MAX_REWORKS):
        return "SCRAPPED", failed_step - 1, reworks
    if disposition == "REWORK":
        return "IN_PROGRESS", failed_step - 1, reworks + 1
    return ("PASSED" if failed_step >= steps else "IN_PROGRESS"), failed_step, reworks


def simulate(
    seed: int, *, lots: int = 3, units_per_lot: int = 6, steps: int = 3, start: datetime | None = None
) -> Plant:
    rng = random.Random(seed)
    tag = uuid.UUID(int=rng.getrandbits(128)).hex[:8].upper()
    start = start or datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
    processes = [(uuid.UUID(int=rng.getrandbits(128)), f"SIM_{tag}_P{n + 1}") for n in range(steps)]
    codes = [code for _, code in processes]
    model_code = f"SIM-{tag}"
    streams: dict[str, list[Envelope]] = defaultdict(list)
    expected = Expected()
    for n, (pid, code) in enumerate(processes):
        defined = ProcessDefinedEvent(
            id=pid, process_code=code, process_number=n + 1, name=f"Step {n + 1}", quality_criteria={}, is_active=True
        )
        streams[f"process:{pid}"].append(envelope(defined, start))
    model = ProductModelDefinedEvent(
        id=uuid.UUID(int=rng.getrandbits(128)),
        model_code=model_code,
        model_name="Simulated",
        category=None,
        routing=codes,
        is_active=True,
    )
    streams["model"].append(envelope(model, start))
    lot_ids = []
    for lot_no in range(lots):
        lot_id = uuid.UUID(int=rng.getrandbits(128))
        lot_ids.append(lot_id)
        lot_number = f"{model_code}-L{lot_no}"
        created_at = start + timedelta(minutes=lot_no)
        lot_stream = streams[f"lot:{lot_id}"]
        lot_stream.append(
            envelope(
                LotCreatedEvent(
                    id=lot_id,
                    lot_number=lot_number,
                    product_model_id=model.id,
                    model_code=model_code,
                    work_order_number=None,
                    target_quantity=units_per_lot,
                    shift="NIGHT",
                    production_date="2026-03-28",
                    status="CREATED",
                ),
                created_at,
            )
        )
        lot_status = "CREATED"
        units = [(uuid.UUID(int=rng.getrandbits(128)), f"{lot_number}-{u:04d}") for u in range(units_per_lot)]
        streams[f"serials:{lot_id}"].append(
            envelope(
                SerialsCreatedEvent(
                    lot_id=lot_id,
                    lot_number=lot_number,
                    work_order_number=None,
                    model_code=model_code,
                    serials=[
                        {"id": str(i), "serial_number": s, "sequence_in_lot": k + 1} for k, (i, s) in enumerate(units)
                    ],
                ),
                created_at,
            )
        )
        finished = 0
        for serial_id, serial_number in units:
            stop_after = rng.choice([0, 1, 2, 99, 99, 99, 99])  # some never start, some stop half way
            status, reworks, position, clock = "CREATED", 0, 1, created_at + timedelta(seconds=rng.randint(1, 600))
            done = 0
            attempted: set[int] = set()
            while status in ("CREATED", "IN_PROGRESS") and done < stop_after:
                result = rng.choices(["PASS", "FAIL", "REWORK"], weights=[75, 8, 17])[0]
                cycle = round(rng.lognormvariate(3.3, 0.5), 3)
                code = codes[position - 1]
                defects = rng.sample(DEFECTS, rng.randint(1, 2)) if result != "PASS" else []
                clock += timedelta(seconds=cycle + rng.randint(5, 120))
                if status == "CREATED" and lot_status == "CREATED":
                    lot_status = "IN_PROGRESS"
                    moved = LotStatusChangedEvent(
                        id=lot_id,
                        lot_number=lot_number,
                        work_order_number=None,
                        previous_status="CREATED",
                        status="IN_PROGRESS",
                    )
                    lot_stream.append(envelope(moved, clock))
                status, reworks = _next(result, position, steps, reworks)
                streams[f"unit:{serial_id}"].append(
                    envelope(
                        StepRecordedEvent(
                            id=uuid.UUID(int=rng.getrandbits(128)),
                            subject_id=serial_id,
                            message_id=None,
                            process_id=processes[position - 1][0],
                            process_code=code,
                            level="SERIAL",
                            step_no=position,
                            lot_id=lot_id,
                            lot_number=lot_number,
                            model_code=model_code,
                            work_order_number=None,
                            serial_id=serial_id,
                            serial_number=serial_number,
                            result=result,
                            reported_result=result,
                            measurements={},
                            violations=[],
                            defect_codes=defects,
                            operator=rng.choice(["kim", "lee", None]),
                            equipment_id="EQ-1",
                            started_at=(clock - timedelta(seconds=cycle)).isoformat(),
                            completed_at=clock.isoformat(),
                            cycle_time_seconds=cycle,
                            serial_status=status,
                            rework_count=reworks,
                        ),
                        clock,
                    )
                )
                expected.executions[code] += 1
                expected.results[code, result] += 1
                expected.cycle_seconds[code].append(cycle)
                expected.defects.update(defects)
                if position not in attempted:
                    attempted.add(position)
                    expected.first_attempts[code] += 1
                    expected.first_passes[code] += result == "PASS"
                if status in ("FAILED", "PASSED", "SCRAPPED"):
                    expected.outcomes[status] += 1
                if result == "PASS" and status == "IN_PROGRESS":
                    position += 1
                if status == "FAILED":
                    disposition = rng.choice(["REWORK", "REWORK", "SCRAP", "USE_AS_IS", "USE_AS_IS", None])
                    if disposition is not None:  # None: still awaiting its disposition
                        clock += timedelta(minutes=rng.randint(1, 90))
                        before = status
                        status, completed, reworks = _disposed(disposition, position, steps, reworks)
                        changed = SerialStatusChangedEvent(
                            serial_id=serial_id,
                            serial_number=serial_number,
                            lot_id=lot_id,
                            lot_number=lot_number,
                            model_code=model_code,
                            work_order_number=None,
                            previous_status=before,
                            serial_status=status,
                            rework_count=reworks,
                            current_step=completed,
                            cause="disposition",
                            nonconformance_id=uuid.UUID(int=rng.getrandbits(128)),
                            disposition=disposition,
                            code="rework_exhausted" if disposition == "REWORK" and status == "SCRAPPED" else None,
                        )
                        streams[f"unit:{serial_id}"].append(envelope(changed, clock))
                        expected.dispositions[disposition] += 1
                        if status in ("PASSED", "SCRAPPED"):
                            expected.outcomes[status] += 1
                        position = completed + 1
                done += 1
            expected.unit_status[status] += 1
            if status in ("CREATED", "IN_PROGRESS"):
                expected.wip[position] += 1
            elif status in ("PASSED", "SCRAPPED"):  # a FAILED unit awaits its disposition: not finished
                finished += 1
        if finished == units_per_lot:
            moved = LotStatusChangedEvent(
                id=lot_id, lot_number=lot_number, work_order_number=None, previous_status=lot_status, status="COMPLETED"
            )
            lot_stream.append(envelope(moved, start + timedelta(hours=2)))
            lot_status = "COMPLETED"
        expected.lot_status[lot_status] += 1
        lot_step = StepRecordedEvent(
            id=uuid.UUID(int=rng.getrandbits(128)),
            subject_id=lot_id,
            message_id=None,
            process_id=processes[0][0],
            process_code=codes[0],
            level="LOT",
            step_no=1,
            lot_id=lot_id,
            lot_number=lot_number,
            model_code=model_code,
            work_order_number=None,
            serial_id=None,
            serial_number=None,
            result="PASS",
            reported_result=None,
            measurements={},
            violations=[],
            defect_codes=[],
            operator="kim",
            equipment_id=None,
            started_at=None,
            completed_at=(created_at + timedelta(seconds=30)).isoformat(),
            cycle_time_seconds=None,
            serial_status=None,
            rework_count=None,
        )
        streams[f"lotstep:{lot_id}"].append(envelope(lot_step, created_at + timedelta(seconds=30)))
        expected.executions[codes[0]] += 1
        expected.results[codes[0], "PASS"] += 1
        expected.lot_level_steps += 1
    return Plant(model_code, codes, dict(streams), expected, lot_ids)


def interleave(streams: dict[str, list[Envelope]], rng: random.Random) -> list[Envelope]:
    """One delivery order: a random merge that keeps each stream's own order."""
    queues = {key: list(events) for key, events in streams.items() if events}
    merged = []
    while queues:
        key = rng.choice(sorted(queues))
        merged.append(queues[key].pop(0))
        if not queues[key]:
            del queues[key]
    return merged


def batches(events: list[Envelope], rng: random.Random, largest: int) -> list[list[Envelope]]:
    """The same events cut into batches of random sizes (1 to ``largest``)."""
    cut, start = [], 0
    while start < len(events):
        size = rng.randint(1, largest)
        cut.append(events[start : start + size])
        start += size
    return cut
