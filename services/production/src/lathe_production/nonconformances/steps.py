"""What a batch of recorded steps does to nonconformance records, set-based (two statements a batch
at most): a unit's first step in the batch closes its NCR dispositioned for REWORK (the rework was
done), and every FAIL of a unit opens the unit's NCR. Called by ``process_data.bulk_writes`` in the
steps' transaction, after the steps are written; returns the events to announce after each step."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lathe_common.db import copy_rows, time_ordered_id
from lathe_common.events import DomainEvent
from lathe_contracts.production import NonconformanceClosedEvent, NonconformanceOpenedEvent
from pydantic_core import to_json
from sqlalchemy import Uuid, bindparam, column, func, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.nonconformances.models import Nonconformance
from lathe_production.nonconformances.rules import NcrStatus
from lathe_production.process_data.judging import StepResult
from lathe_production.process_data.state import PlannedStep

_ncrs = Nonconformance.__table__
_FIRST_STEPS = (
    func.unnest(bindparam("closing_serials", type_=ARRAY(Uuid)), bindparam("closing_steps", type_=ARRAY(Uuid)))
    .table_valued(column("serial_id", Uuid), column("step_id", Uuid))
    .render_derived(name="first_steps")
)
# Constant text for any batch; "<> 'CLOSED'" lets it use the partial unique index of open NCRs.
_CLOSE_REWORKED = (
    update(_ncrs)
    .where(
        _ncrs.c.serial_id == _FIRST_STEPS.c.serial_id,
        _ncrs.c.status != NcrStatus.CLOSED.value,
        _ncrs.c.status == NcrStatus.DISPOSITIONED.value,
    )
    .values(status=NcrStatus.CLOSED.value, closed_at=bindparam("closed_at"), closed_by_step_id=_FIRST_STEPS.c.step_id)
    .returning(*_ncrs.c, _FIRST_STEPS.c.step_id.label("closing_step_id"))
)
_OPEN_COLUMNS = (
    "id",
    "serial_id",
    "serial_number",
    "lot_id",
    "lot_number",
    "model_code",
    "work_order_number",
    "process_data_id",
    "process_code",
    "step_no",
    "routing_length",
    "defect_codes",
    "measurements",
    "violations",
    "rework_count",
    "status",
    "opened_at",
)


async def note_steps(
    session: AsyncSession, steps: list[PlannedStep], recorded_at: datetime
) -> dict[uuid.UUID, list[DomainEvent]]:
    """The NCR events of each step (by step id), after closing and opening what the steps do."""
    announced: dict[uuid.UUID, list[DomainEvent]] = {}
    first: dict[uuid.UUID, PlannedStep] = {}
    for s in steps:
        if s.serial is not None:
            first.setdefault(s.serial.id, s)
    if first:
        ordered = sorted(first.items())  # units in id order, as every writer of them locks them
        closed = await session.execute(
            _CLOSE_REWORKED,
            {
                "closing_serials": [unit for unit, _ in ordered],
                "closing_steps": [s.data.id for _, s in ordered],
                "closed_at": recorded_at,
            },
        )
        for row in closed.mappings():
            step = first[row["serial_id"]]
            announced.setdefault(step.data.id, []).append(_closed(row, step))
    failed = [s for s in steps if s.serial is not None and s.data.result == StepResult.FAIL.value]
    if failed:
        rows = [_opened_row(s, recorded_at) for s in failed]
        await copy_rows(session, _ncrs, _OPEN_COLUMNS, (tuple(_json(k, r[k]) for k in _OPEN_COLUMNS) for r in rows))
        for s, row in zip(failed, rows, strict=True):
            announced.setdefault(s.data.id, []).append(_opened(row))
    return announced


def _opened_row(step: PlannedStep, recorded_at: datetime) -> dict[str, Any]:
    serial, lot, data = step.serial, step.lot, step.data
    assert serial is not None and data.step_no is not None and step.routing_length is not None  # noqa: S101
    return {
        "id": time_ordered_id(),
        "serial_id": serial.id,
        "serial_number": serial.serial_number,
        "lot_id": lot.id,
        "lot_number": lot.lot_number,
        "model_code": lot.model_code,
        "work_order_number": lot.work_order_number,
        "process_data_id": data.id,
        "process_code": data.process_code,
        "step_no": data.step_no,
        "routing_length": step.routing_length,
        "defect_codes": [d["code"] for d in data.defects],
        "measurements": data.measurements,
        "violations": data.violations,
        "rework_count": serial.rework_count,
        "status": NcrStatus.OPEN.value,
        "opened_at": recorded_at,
    }


_JSON_COLUMNS = frozenset({"defect_codes", "measurements", "violations"})


def _json(key: str, value: Any) -> Any:
    return to_json(value).decode() if key in _JSON_COLUMNS else value


def _opened(row: dict[str, Any]) -> NonconformanceOpenedEvent:
    return NonconformanceOpenedEvent(**{k: row[k] for k in NonconformanceOpenedEvent.model_fields if k in row})


def _closed(row: Any, step: PlannedStep) -> NonconformanceClosedEvent:
    return NonconformanceClosedEvent(
        id=row["id"],
        serial_id=row["serial_id"],
        serial_number=row["serial_number"],
        lot_id=row["lot_id"],
        lot_number=row["lot_number"],
        model_code=row["model_code"],
        work_order_number=row["work_order_number"],
        process_code=row["process_code"],
        step_no=row["step_no"],
        closed_at=row["closed_at"],
        closed_by_step_id=row["closing_step_id"],
        step_result=step.data.result,
    )
