"""Reading recorded step executions: the filtered list (newest first, by cursor) and a unit's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from sqlalchemy import select

from lathe_production.lots.service import Lots, Serials
from lathe_production.process_data.judging import StepResult
from lathe_production.process_data.models import ProcessData
from lathe_production.processes.service import Processes
from lathe_production.settings import settings

NEWEST_FIRST = Keyset("process-data", (ProcessData.completed_at, ProcessData.id))


@dataclass(frozen=True)
class StepFilter:
    process_code: str | None = None
    lot: str | None = None  # id or LOT number
    serial_number: str | None = None
    operator: str | None = None
    result: StepResult | None = None
    since: datetime | None = None  # completed at or after
    until: datetime | None = None  # completed before


class StepHistory(Repository[ProcessData]):
    model = ProcessData
    noun = "step execution"

    async def search(self, params: CursorParams, where: StepFilter) -> KeysetPage:
        """References are resolved first (a LOT number to its id, a process code to its id), so the
        list is read through an index on the id and the completion time whatever the filter."""
        statement = select(ProcessData)
        equal = {ProcessData.operator: where.operator, ProcessData.result: where.result.value if where.result else None}
        if where.lot:
            equal[ProcessData.lot_id] = (await Lots(self.session, settings).find(where.lot)).id
        if where.serial_number:
            equal[ProcessData.serial_id] = (await Serials(self.session).by_number(where.serial_number)).id
        if where.process_code:
            equal[ProcessData.process_id] = (await Processes(self.session).find(where.process_code)).id
        if where.since is not None:
            statement = statement.where(ProcessData.completed_at >= where.since)
        if where.until is not None:
            statement = statement.where(ProcessData.completed_at < where.until)
        return await self.keyset_page(params, NEWEST_FIRST, equal=equal, statement=statement)

    async def of_serial(self, serial_number: str) -> list[ProcessData]:
        """Every execution of a unit, in the order they happened."""
        serial = await Serials(self.session).by_number(serial_number)
        rows = await self.session.scalars(
            select(ProcessData)
            .where(ProcessData.serial_id == serial.id)
            .order_by(ProcessData.completed_at, ProcessData.recorded_at)
        )
        return list(rows)
