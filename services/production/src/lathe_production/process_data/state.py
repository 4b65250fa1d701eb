"""What the recorder knows about LOTs, units and executions while it handles a batch, and the
events it announces from that state (plain data: no ORM objects, no lazy loading)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from lathe_contracts.production import LotStatusChangedEvent, StepRecordedEvent
from pydantic_core import to_json

from lathe_production.lots.rules import LotStatus
from lathe_production.process_data.judging import StepResult  # noqa: F401 - used in annotations


@dataclass
class LotState:
    id: uuid.UUID
    lot_number: str
    product_model_id: uuid.UUID
    model_code: str
    revision: str  # the pinned revision: its routing is the one the LOT's units follow
    work_order_number: str | None
    status: str
    serial_count: int
    finished_count: int
    hold_id: uuid.UUID | None = None  # on hold: nothing is recorded on the LOT or its units (holds/)


@dataclass(frozen=True)
class SerialState:
    """A unit as it is after one execution (a snapshot: a batch may move a unit several times)."""

    id: uuid.UUID
    serial_number: str
    lot_id: uuid.UUID
    status: str
    current_step: int
    rework_count: int
    hold_id: uuid.UUID | None = None  # on hold: nothing is recorded on the unit (holds/)


@dataclass
class StepData:
    """One recorded execution: the columns of a ``process_data`` row."""

    id: uuid.UUID
    message_id: str | None
    process_id: uuid.UUID
    process_code: str
    lot_id: uuid.UUID
    serial_id: uuid.UUID | None
    level: str
    step_no: int | None
    result: str
    reported_result: str | None
    measurements: dict[str, Any]
    violations: list[dict[str, Any]]
    defects: list[dict[str, Any]]
    operator: str | None
    equipment_id: str | None
    started_at: datetime | None
    completed_at: datetime
    cycle_time_seconds: Decimal | None
    recorded_at: datetime | None = None

    def row(self) -> tuple[Any, ...]:
        """The ``process_data`` row in ``ROW_KEYS`` order, JSON columns as JSON text (for COPY)."""
        return tuple(to_json(getattr(self, k)).decode() if k in _JSON_KEYS else getattr(self, k) for k in ROW_KEYS)


ROW_KEYS = tuple(k for k in StepData.__dataclass_fields__ if k != "recorded_at")
_JSON_KEYS = frozenset({"measurements", "violations", "defects"})


@dataclass
class Recorded:
    data: StepData
    lot: LotState
    serial: SerialState | None
    replayed: bool = False


@dataclass
class PlannedStep:
    """An execution that passed every rule, with what it does, before it is written."""

    data: StepData
    lot: LotState
    serial: SerialState | None
    starts_lot: bool = False
    finishes_unit: bool = False
    routing_length: int | None = None  # of the routing the unit was judged against (an NCR keeps it)


@dataclass
class BatchState:
    lots_by_id: dict[uuid.UUID, LotState] = field(default_factory=dict)
    lots_by_number: dict[str, LotState] = field(default_factory=dict)
    serials: dict[str, SerialState] = field(default_factory=dict)
    replays: dict[str, Recorded] = field(default_factory=dict)


def lot_state(row: Any) -> LotState:
    return LotState(**{k: row[k] for k in LotState.__dataclass_fields__})


def serial_state(row: Any) -> SerialState:
    return SerialState(**{k: row[k] for k in SerialState.__dataclass_fields__})


def lot_moved(lot: LotState, previous: LotStatus, status: LotStatus) -> LotStatusChangedEvent:
    return LotStatusChangedEvent(
        id=lot.id,
        lot_number=lot.lot_number,
        work_order_number=lot.work_order_number,
        previous_status=previous.value,
        status=status.value,
    )


def step_recorded(data: StepData, lot: LotState, serial: SerialState | None) -> StepRecordedEvent:
    return StepRecordedEvent(
        id=data.id,
        subject_id=serial.id if serial else lot.id,
        message_id=data.message_id,
        process_id=data.process_id,
        process_code=data.process_code,
        level=data.level,
        step_no=data.step_no,
        lot_id=lot.id,
        lot_number=lot.lot_number,
        model_code=lot.model_code,
        work_order_number=lot.work_order_number,
        serial_id=serial.id if serial else None,
        serial_number=serial.serial_number if serial else None,
        result=data.result,
        reported_result=data.reported_result,
        measurements=data.measurements,
        violations=data.violations,
        defect_codes=[d["code"] for d in data.defects],
        operator=data.operator,
        equipment_id=data.equipment_id,
        started_at=data.started_at.isoformat() if data.started_at else None,
        completed_at=data.completed_at.isoformat(),
        cycle_time_seconds=float(data.cycle_time_seconds) if data.cycle_time_seconds is not None else None,
        serial_status=serial.status if serial else None,
        rework_count=serial.rework_count if serial else None,
    )
