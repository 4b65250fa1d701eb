"""Recording a step execution: the one code path behind POST /process-data and the machine topic."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from lathe_common.errors import Conflict, InvalidInput, NotFound
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.events import LotStatusChanged, SerialStatusChanged, StepRecorded
from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.rules import OPEN_LOT_STATUSES, LotStatus
from lathe_production.outbox import outbox
from lathe_production.process_data.judging import (
    FINISHED,
    SerialStatus,
    check_can_execute,
    check_unit_open,
    judged_result,
    outcome,
    violations,
)
from lathe_production.process_data.models import ProcessData
from lathe_production.process_data.schemas import StepExecution
from lathe_production.processes.models import Process
from lathe_production.product_models.models import RoutingStep
from lathe_production.settings import ProductionSettings


@dataclass
class Recorded:
    data: ProcessData
    lot: Lot
    serial: Serial | None
    replayed: bool = False


class StepRecorder:
    def __init__(self, session: AsyncSession, settings: ProductionSettings) -> None:
        self.session = session
        self.settings = settings

    async def record(self, ex: StepExecution) -> Recorded:
        if ex.message_id and (done := await self._already_recorded(ex.message_id)):
            return done
        process = await self._process(ex.process_code)
        if process is None:
            raise NotFound(f"No process {ex.process_code}.", code="unknown_process")
        if not process.is_active:
            raise InvalidInput(f"Process {ex.process_code} is inactive.", code="inactive_process")
        serial, lot = await self._subject(ex)
        if serial is not None:
            check_unit_open(SerialStatus(serial.status))  # the unit's own state is the more precise reason
        if LotStatus(lot.status) not in OPEN_LOT_STATUSES:
            raise Conflict(f"LOT {lot.lot_number} is {lot.status}; it runs no more steps.", code="lot_not_open")
        routing = await self._routing(lot.product_model_id)
        found = violations(process.quality_criteria, ex.measurements)
        result = judged_result(ex.result, found)
        completed_at = ex.completed_at or datetime.now(UTC)
        cycle = Decimal(str(round((completed_at - ex.started_at).total_seconds(), 3))) if ex.started_at else None

        step_no = routing.index(process.process_code) + 1 if process.process_code in routing else None
        if serial is not None:
            step_no = check_can_execute(SerialStatus(serial.status), routing, serial.current_step, process.process_code)
        data = ProcessData(
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
        self.session.add(data)
        await self._start_lot(lot)
        if serial is not None:
            await self._advance(serial, lot, result, step_no, len(routing))  # type: ignore[arg-type]
        await self.session.flush()
        await outbox.add(self.session, _step_recorded(data, lot, serial))
        return Recorded(data, lot, serial)

    # Processes and routings are looked up once per transaction: a batch of machine messages
    # shares them. Changes made by another transaction meanwhile are seen by the next batch.
    async def _process(self, code: str) -> Process | None:
        cache = self.session.info.setdefault("lathe_processes", {})
        if code not in cache:
            cache[code] = await self.session.scalar(select(Process).where(Process.process_code == code))
        return cache[code]

    async def _routing(self, product_model_id: uuid.UUID) -> list[str]:
        cache = self.session.info.setdefault("lathe_routings", {})
        if product_model_id not in cache:
            cache[product_model_id] = list(
                await self.session.scalars(
                    select(Process.process_code)
                    .join(RoutingStep, RoutingStep.process_id == Process.id)
                    .where(RoutingStep.product_model_id == product_model_id)
                    .order_by(RoutingStep.step_no)
                )
            )
        return cache[product_model_id]

    async def _already_recorded(self, message_id: str) -> Recorded | None:
        data = await self.session.scalar(select(ProcessData).where(ProcessData.message_id == message_id))
        if data is None:
            return None
        lot = await self.session.get(Lot, data.lot_id)
        serial = await self.session.get(Serial, data.serial_id) if data.serial_id else None
        return Recorded(data, lot, serial, replayed=True)  # type: ignore[arg-type]

    async def _subject(self, ex: StepExecution) -> tuple[Serial | None, Lot]:
        if ex.serial_number is None:
            lot = await self.session.scalar(select(Lot).where(Lot.lot_number == ex.lot_number))
            if lot is None:
                raise NotFound(f"No LOT {ex.lot_number}.", code="unknown_lot")
            return None, lot
        # The unit's row lock makes concurrent reports about the same unit take turns.
        serial = await self.session.scalar(
            select(Serial).where(Serial.serial_number == ex.serial_number).with_for_update()
        )
        if serial is None:
            raise NotFound(f"No serial {ex.serial_number}.", code="unknown_serial")
        lot = await self.session.get(Lot, serial.lot_id)
        if ex.lot_number is not None and lot.lot_number != ex.lot_number:  # type: ignore[union-attr]
            raise InvalidInput(
                f"Serial {ex.serial_number} belongs to LOT {lot.lot_number}, not {ex.lot_number}.",  # type: ignore[union-attr]
                code="serial_not_in_lot",
            )
        return serial, lot  # type: ignore[return-value]

    async def _start_lot(self, lot: Lot) -> None:
        if lot.status != LotStatus.CREATED.value:
            return
        started = await self.session.scalar(
            update(Lot)
            .where(Lot.id == lot.id, Lot.status == LotStatus.CREATED.value)
            .values(status=LotStatus.IN_PROGRESS.value, started_at=datetime.now(UTC))
            .returning(Lot.id)
        )
        if started is not None:
            await self.session.refresh(lot)
            await outbox.add(self.session, _lot_moved(lot, LotStatus.CREATED))

    async def _advance(self, serial: Serial, lot: Lot, result, step_no: int, routing_length: int) -> None:  # noqa: ANN001
        previous = SerialStatus(serial.status)
        moved = outcome(
            result,
            step_no=step_no,
            routing_length=routing_length,
            rework_count=serial.rework_count,
            max_reworks=self.settings.max_reworks,
        )
        serial.status, serial.current_step, serial.rework_count = (
            moved.status.value,
            moved.current_step,
            moved.rework_count,
        )
        if moved.status is not previous:
            await outbox.add(
                self.session,
                SerialStatusChanged(
                    id=serial.id,
                    serial_number=serial.serial_number,
                    lot_id=lot.id,
                    lot_number=lot.lot_number,
                    work_order_number=lot.work_order_number,
                    previous_status=previous.value,
                    status=moved.status.value,
                    current_step=moved.current_step,
                    rework_count=moved.rework_count,
                ),
            )
        if moved.status in FINISHED:
            await self._finish_unit(lot)

    async def _finish_unit(self, lot: Lot) -> None:
        # Counted under the LOT's row lock: the last unit to finish completes the LOT, exactly once.
        finished, total = (
            await self.session.execute(
                update(Lot)
                .where(Lot.id == lot.id)
                .values(finished_count=Lot.finished_count + 1)
                .returning(Lot.finished_count, Lot.serial_count)
            )
        ).one()
        if finished == total:
            await self.session.execute(
                update(Lot)
                .where(Lot.id == lot.id, Lot.status == LotStatus.IN_PROGRESS.value)
                .values(status=LotStatus.COMPLETED.value, completed_at=datetime.now(UTC))
            )
            await self.session.refresh(lot)
            await outbox.add(self.session, _lot_moved(lot, LotStatus.IN_PROGRESS))
        else:
            await self.session.refresh(lot)


def _lot_moved(lot: Lot, previous: LotStatus) -> LotStatusChanged:
    return LotStatusChanged(
        id=lot.id,
        lot_number=lot.lot_number,
        work_order_number=lot.work_order_number,
        previous_status=previous.value,
        status=lot.status,
    )


def _step_recorded(data: ProcessData, lot: Lot, serial: Serial | None) -> StepRecorded:
    return StepRecorded(
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
