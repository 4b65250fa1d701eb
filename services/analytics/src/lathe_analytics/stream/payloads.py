"""What each event of the stream carries (its ``data:`` JSON), and how it is made from the events
analytics consumes. Pure: the consumer and the kpi tick store what these return.

The shapes are documented in the README's Analytics section; fields are only ever added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lathe_contracts.analytics import SpcAlertEvent
from lathe_contracts.production import LotCreatedEvent, LotStatusChangedEvent
from pydantic import BaseModel

from lathe_analytics.stream.wire import KPI, LOT, SPC, STEP


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A stream entry about to be stored (the table gives it its id)."""

    kind: str
    process_code: str | None
    model_code: str | None
    data: str  # the event's JSON


class StepEvent(BaseModel):
    """``event: step``: a process step was recorded (production's step.recorded)."""

    step_id: str
    process_code: str
    level: str  # SERIAL or LOT
    step_no: int | None
    result: str  # PASS, FAIL or REWORK
    serial_number: str | None
    lot_number: str
    model_code: str
    work_order_number: str | None
    operator: str | None
    equipment_id: str | None
    completed_at: str  # ISO 8601, as the step states it
    cycle_time_seconds: float | None
    serial_status: str | None  # the unit's status after the step
    defect_codes: list[str]
    recorded_at: datetime | None = None  # when production recorded it (the event's time)


class LotEvent(BaseModel):
    """``event: lot``: a LOT was created (``previous_status`` null) or changed status."""

    lot_id: str
    lot_number: str
    model_code: str | None  # null only for a LOT whose creation analytics has not seen
    work_order_number: str | None
    status: str
    previous_status: str | None
    target_quantity: int | None  # on creation
    at: datetime  # when production made the change


class SpcPointOut(BaseModel):
    step_id: str
    value: float
    completed_at: str
    serial_number: str | None
    lot_number: str | None


class SpcEvent(BaseModel):
    """``event: spc``: a new Nelson-rule violation (lathe.analytics.spc-alert.v1)."""

    alert_id: str
    process_code: str
    measurement: str
    rule: int
    rule_code: str
    description: str
    centre_line: float | None
    upper_control_limit: float | None
    lower_control_limit: float | None
    points: list[SpcPointOut]
    detected_at: str


class LastHour(BaseModel):
    minutes: int
    executions: int
    passes: int
    failures: int
    reworks: int
    units_finished: int
    pass_rate: float | None  # percent of executions, null without any


class KpiEvent(BaseModel):
    """``event: kpi``: every STREAM_KPI_SECONDS, the floor at a glance (the realtime status's figures)."""

    at: datetime
    active_lots: int
    wip_units: int
    last_hour: LastHour


class GapEvent(BaseModel):
    """``event: gap``: events after ``last_event_id`` are gone (older than the retention) or the id
    is unknown here; reload the state (dashboard, realtime status) and read on. Its ``id:`` is
    ``resumes_after``, so a reconnection after it does not ask for the lost ones again."""

    reason: Literal["expired", "unknown_id"]
    last_event_id: int
    resumes_after: int
    detail: str


class EndEvent(BaseModel):
    """``event: end``, then the server closes: reconnect (with a fresh token for ``token_expired``)
    sending ``Last-Event-ID`` to get what came meanwhile."""

    reason: Literal["token_expired", "token_revoked", "shutting_down"]
    detail: str


class _StepIn(BaseModel):
    """The fields of step.recorded the stream passes on (ids kept as text, as they arrive)."""

    id: str
    process_code: str
    level: str
    step_no: int | None = None
    result: str
    serial_number: str | None = None
    lot_number: str
    model_code: str
    work_order_number: str | None = None
    operator: str | None = None
    equipment_id: str | None = None
    completed_at: str
    cycle_time_seconds: float | None = None
    serial_status: str | None = None
    defect_codes: list[str] = []


def step_entry(body: bytes, recorded_at: datetime) -> NewEntry:
    """From a step.recorded body; raises pydantic's ValidationError when it does not fit."""
    step = _StepIn.model_validate_json(body)
    event = StepEvent(
        step_id=step.id,
        process_code=step.process_code,
        level=step.level,
        step_no=step.step_no,
        result=step.result,
        serial_number=step.serial_number,
        lot_number=step.lot_number,
        model_code=step.model_code,
        work_order_number=step.work_order_number,
        operator=step.operator,
        equipment_id=step.equipment_id,
        completed_at=step.completed_at,
        cycle_time_seconds=step.cycle_time_seconds,
        serial_status=step.serial_status,
        defect_codes=step.defect_codes,
        recorded_at=recorded_at,
    )
    return NewEntry(STEP, step.process_code, step.model_code, event.model_dump_json())


def lot_created_entry(event: LotCreatedEvent, at: datetime) -> NewEntry:
    lot = LotEvent(
        lot_id=str(event.id),
        lot_number=event.lot_number,
        model_code=event.model_code,
        work_order_number=event.work_order_number,
        status=event.status,
        previous_status=None,
        target_quantity=event.target_quantity,
        at=at,
    )
    return NewEntry(LOT, None, event.model_code, lot.model_dump_json())


def lot_moved_entry(event: LotStatusChangedEvent, at: datetime, model_code: str | None) -> NewEntry:
    lot = LotEvent(
        lot_id=str(event.id),
        lot_number=event.lot_number,
        model_code=model_code,
        work_order_number=event.work_order_number,
        status=event.status,
        previous_status=event.previous_status,
        target_quantity=None,
        at=at,
    )
    return NewEntry(LOT, None, model_code, lot.model_dump_json())


def spc_entry(event: SpcAlertEvent) -> NewEntry:
    alert = SpcEvent(
        alert_id=str(event.id),
        process_code=event.process_code,
        measurement=event.measurement,
        rule=event.rule,
        rule_code=event.rule_code,
        description=event.description,
        centre_line=event.centre_line,
        upper_control_limit=event.upper_control_limit,
        lower_control_limit=event.lower_control_limit,
        points=[
            SpcPointOut(
                step_id=str(p.step_id),
                value=p.value,
                completed_at=p.completed_at,
                serial_number=p.serial_number,
                lot_number=p.lot_number,
            )
            for p in event.points
        ],
        detected_at=event.detected_at,
    )
    return NewEntry(SPC, event.process_code, None, alert.model_dump_json())


def kpi_entry(kpi: KpiEvent) -> NewEntry:
    return NewEntry(KPI, None, None, kpi.model_dump_json())
