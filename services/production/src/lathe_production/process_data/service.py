"""Recording step executions: the one code path behind POST /process-data and the machine topic.

``record_many`` records a batch with a constant number of statements: it reads everything the
batch needs (already-recorded message ids, processes, the units under row lock, their LOTs,
routings), applies the pure rules of ``judging`` in memory in input order (a unit may appear
several times in one batch), and then writes the results in bulk. An execution that breaks a rule
is decided before anything is written, so it leaves no trace and does not affect the others.
``record`` is ``record_many`` of one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from lathe_common.db import time_ordered_id
from lathe_common.errors import Conflict, InvalidInput, LatheError, NotFound
from sqlalchemy import Uuid, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.rules import (
    DONE,
    OPEN_LOT_STATUSES,
    LotStatus,
    SerialStatus,
    check_not_on_hold,
    check_unit_open,
)
from lathe_production.process_data.bulk_writes import write_steps
from lathe_production.process_data.judging import (
    check_can_execute,
    cycle_time,
    judged_result,
    outcome,
    violations,
)
from lathe_production.process_data.models import ProcessData
from lathe_production.process_data.schemas import StepExecution
from lathe_production.process_data.state import (
    BatchState,
    LotState,
    PlannedStep,
    Recorded,
    SerialState,
    StepData,
    lot_state,
    serial_state,
)
from lathe_production.processes.models import Process
from lathe_production.product_models.revisions import pinned_routings
from lathe_production.settings import ProductionSettings

_data = ProcessData.__table__
_lots = Lot.__table__
_serials = Serial.__table__
_processes = Process.__table__

_OPEN = frozenset(s.value for s in OPEN_LOT_STATUSES)


class StepRecorder:
    def __init__(self, session: AsyncSession, settings: ProductionSettings) -> None:
        self.session = session
        self.settings = settings

    async def record(self, ex: StepExecution) -> Recorded:
        done = (await self.record_many([ex]))[0]
        if isinstance(done, LatheError):
            raise done
        return done

    async def record_many(self, executions: list[StepExecution]) -> list[Recorded | LatheError]:
        """One outcome per execution, in input order: what was recorded, or the rule it broke."""
        if not executions:
            return []
        batch = await self._load(executions)
        processes = await self._processes()
        outcomes: list[Recorded | LatheError] = []
        steps: list[PlannedStep] = []
        by_message: dict[str, Recorded] = {}
        for ex in executions:
            if ex.message_id and (done := batch.replays.get(ex.message_id) or by_message.get(ex.message_id)):
                outcomes.append(Recorded(done.data, done.lot, done.serial, replayed=True))
                continue
            try:
                step = self._judge(ex, batch, processes)
            except LatheError as exc:
                outcomes.append(exc)
                continue
            steps.append(step)
            recorded = Recorded(step.data, step.lot, step.serial)
            outcomes.append(recorded)
            if ex.message_id:
                by_message[ex.message_id] = recorded
        if steps:
            await write_steps(self.session, steps, batch)
        return outcomes

    # -- reading ---------------------------------------------------------------------------

    async def _load(self, executions: list[StepExecution]) -> BatchState:
        batch = BatchState()
        message_ids = [ex.message_id for ex in executions if ex.message_id]
        if message_ids:
            rows = (
                await self.session.execute(
                    select(_data, _lots, _serials)
                    .join(_lots, _lots.c.id == _data.c.lot_id)
                    .outerjoin(_serials, _serials.c.id == _data.c.serial_id)
                    .where(_data.c.message_id == any_(bindparam("ids", message_ids, type_=ARRAY(String))))
                )
            ).all()
            width_data, width_lot = len(_data.c), len(_lots.c)
            for row in rows:
                d = dict(zip(_data.c.keys(), row[:width_data], strict=True))
                lot = lot_state(dict(zip(_lots.c.keys(), row[width_data : width_data + width_lot], strict=True)))
                s = dict(zip(_serials.c.keys(), row[width_data + width_lot :], strict=True))
                serial = serial_state(s) if s["id"] is not None else None
                data = StepData(**{k: d[k] for k in StepData.__dataclass_fields__})
                batch.replays[d["message_id"]] = Recorded(data, lot, serial, replayed=True)

        numbers = sorted({ex.serial_number for ex in executions if ex.serial_number is not None})
        if numbers:
            # The units' row locks make concurrent reports about the same unit take turns; taken in id
            # order, NO KEY UPDATE (see write_steps).
            rows = (
                (
                    await self.session.execute(
                        select(
                            _serials.c.id,
                            _serials.c.serial_number,
                            _serials.c.lot_id,
                            _serials.c.status,
                            _serials.c.current_step,
                            _serials.c.rework_count,
                            _serials.c.hold_id,
                        )
                        .where(_serials.c.serial_number == any_(bindparam("numbers", numbers, type_=ARRAY(String))))
                        .order_by(_serials.c.id)
                        .with_for_update(key_share=True)
                    )
                )
                .mappings()
                .all()
            )
            batch.serials = {r["serial_number"]: serial_state(r) for r in rows}
        lot_ids = sorted({s.lot_id for s in batch.serials.values()})
        lot_numbers = sorted({ex.lot_number for ex in executions if ex.serial_number is None and ex.lot_number})
        if lot_ids or lot_numbers:
            rows = (
                (
                    await self.session.execute(
                        select(*[_lots.c[k] for k in LotState.__dataclass_fields__])
                        .where(
                            (_lots.c.id == any_(bindparam("lot_ids", lot_ids, type_=ARRAY(Uuid))))
                            | (_lots.c.lot_number == any_(bindparam("lot_numbers", lot_numbers, type_=ARRAY(String))))
                        )
                        # KEY SHARE (after the units, in id order): waits only for a hold being
                        # placed on one of these LOTs (its FOR UPDATE), so a step never slips past
                        # a hold, and blocks no other batch (their NO KEY UPDATE is compatible).
                        .order_by(_lots.c.id)
                        .with_for_update(read=True, key_share=True)
                    )
                )
                .mappings()
                .all()
            )
            for r in rows:
                lot = lot_state(r)
                batch.lots_by_id[lot.id] = lot
                batch.lots_by_number[lot.lot_number] = lot
        await self._load_routings({(lot.product_model_id, lot.revision) for lot in batch.lots_by_id.values()})
        return batch

    # Processes and routings are looked up once per transaction: a batch of machine messages
    # shares them. Changes made by another transaction meanwhile are seen by the next batch. A LOT's
    # units follow the routing of the revision it pinned (revision rows never change).
    async def _processes(self) -> dict[str, Any]:
        cache = self.session.info.get("lathe_processes_by_code")
        if cache is None:
            rows = await self.session.execute(
                select(
                    _processes.c.id, _processes.c.process_code, _processes.c.is_active, _processes.c.quality_criteria
                )
            )
            cache = self.session.info["lathe_processes_by_code"] = {r.process_code: r for r in rows}
        return cache

    async def _load_routings(self, pins: set[tuple[uuid.UUID, str]]) -> None:
        cache = self.session.info.setdefault("lathe_routings", {})
        missing = pins - cache.keys()
        if missing:
            cache.update(await pinned_routings(self.session, missing))

    # -- judging, in memory ----------------------------------------------------------------

    def _judge(self, ex: StepExecution, batch: BatchState, processes: dict[str, Any]) -> PlannedStep:
        process = processes.get(ex.process_code)
        if process is None:
            raise NotFound(f"No process {ex.process_code}.", code="process_not_found")
        if not process.is_active:
            raise InvalidInput(f"Process {ex.process_code} is inactive.", code="inactive_process")
        serial: SerialState | None = None
        if ex.serial_number is None:
            lot = batch.lots_by_number.get(ex.lot_number)  # type: ignore[arg-type]
            if lot is None:
                raise NotFound(f"No LOT {ex.lot_number}.", code="lot_not_found")
            check_not_on_hold(unit_held=False, lot_held=lot.hold_id is not None, subject=f"LOT {lot.lot_number}")
        else:
            serial = batch.serials.get(ex.serial_number)
            if serial is None:
                raise NotFound(f"No serial {ex.serial_number}.", code="serial_not_found")
            lot = batch.lots_by_id[serial.lot_id]
            if ex.lot_number is not None and lot.lot_number != ex.lot_number:
                raise InvalidInput(
                    f"Serial {ex.serial_number} belongs to LOT {lot.lot_number}, not {ex.lot_number}.",
                    code="serial_not_in_lot",
                )
            check_not_on_hold(
                unit_held=serial.hold_id is not None,
                lot_held=lot.hold_id is not None,
                subject=f"Unit {serial.serial_number}",
            )
            check_unit_open(SerialStatus(serial.status))  # the unit's own state is the more precise reason
        if lot.status not in _OPEN:
            raise Conflict(f"LOT {lot.lot_number} is {lot.status}; it runs no more steps.", code="lot_not_open")
        routing: list[str] = self.session.info["lathe_routings"][(lot.product_model_id, lot.revision)]
        found = violations(process.quality_criteria, ex.measurements)
        result = judged_result(ex.result, found)
        completed_at = ex.completed_at or datetime.now(UTC)
        cycle = cycle_time(ex.started_at, completed_at)

        step_no = routing.index(process.process_code) + 1 if process.process_code in routing else None
        if serial is not None:
            step_no = check_can_execute(SerialStatus(serial.status), routing, serial.current_step, process.process_code)
        # Every rule has passed: from here on the execution is recorded.
        data = StepData(
            id=time_ordered_id(),
            message_id=ex.message_id,
            process_id=process.id,
            process_code=process.process_code,
            lot_id=lot.id,
            serial_id=serial.id if serial else None,
            level="SERIAL" if serial else "LOT",
            step_no=step_no,
            result=result.value,
            reported_result=ex.result.value if ex.result else None,
            measurements=ex.measurements,
            violations=[v.as_dict() for v in found],
            defects=[d.model_dump() for d in ex.defects],
            operator=ex.operator,
            equipment_id=ex.equipment_id,
            started_at=ex.started_at,
            completed_at=completed_at,
            cycle_time_seconds=cycle,
        )
        step = PlannedStep(data, lot, None, routing_length=len(routing))
        if lot.status == LotStatus.CREATED.value:
            lot.status = LotStatus.IN_PROGRESS.value  # the batch's later executions see it started
            step.starts_lot = True
        if serial is not None:
            moved = outcome(
                result,
                step_no=step_no,  # type: ignore[arg-type]
                routing_length=len(routing),
                rework_count=serial.rework_count,
                max_reworks=self.settings.max_reworks,
            )
            after = SerialState(
                serial.id,
                serial.serial_number,
                serial.lot_id,
                moved.status.value,
                moved.current_step,
                moved.rework_count,
                serial.hold_id,
            )
            batch.serials[serial.serial_number] = after
            step.serial = after
            # A FAIL does not finish the unit: it opens a nonconformance (nonconformances/steps.py).
            if moved.status in DONE:
                step.finishes_unit = True
                lot.finished_count += 1
                if lot.finished_count >= lot.serial_count:
                    lot.status = LotStatus.COMPLETED.value
        return step
