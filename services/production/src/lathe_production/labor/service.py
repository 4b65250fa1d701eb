"""Labor entries against storage: the subject and process resolved, times checked, each entry
announced in its transaction (key: the LOT, so a LOT's records stay in order)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from lathe_common.auth import Principal
from lathe_common.errors import InvalidInput
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from lathe_contracts.production import LaborEntryRecordedEvent
from sqlalchemy import func, select

from lathe_production.labor.models import LaborEntry
from lathe_production.labor.rules import checked_duration
from lathe_production.labor.schemas import LaborEntryCreate, LaborEntryRead, LaborOfLot, LaborTotal
from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.service import Lots, Serials
from lathe_production.outbox import outbox
from lathe_production.processes.models import Process
from lathe_production.processes.service import Processes
from lathe_production.settings import ProductionSettings

NEWEST_FIRST = Keyset("labor-entries", (LaborEntry.started_at, LaborEntry.id))


async def active_process(session, code: str) -> Process:  # noqa: ANN001 - an AsyncSession
    """The process records are kept against: 404 ``process_not_found``, 422 ``inactive_process``."""
    process = await Processes(session).find(code)
    if not process.is_active:
        raise InvalidInput(f"Process {process.process_code} is inactive.", code="inactive_process")
    return process


class LaborEntries(Repository[LaborEntry]):
    model = LaborEntry
    noun = "labor entry"

    def __init__(self, session, settings: ProductionSettings) -> None:  # noqa: ANN001
        super().__init__(session)
        self.settings = settings

    async def _subject(self, data: LaborEntryCreate) -> tuple[Lot, Serial | None]:
        if data.serial_number is not None:
            unit = await Serials(self.session).by_number(data.serial_number)
            lot = await self.session.get(Lot, unit.lot_id)
            assert lot is not None  # noqa: S101 - a foreign key
            return lot, unit
        assert data.lot is not None  # noqa: S101 - the schema requires one of them
        return await Lots(self.session, self.settings).find(data.lot), None

    async def record(self, data: LaborEntryCreate, principal: Principal) -> LaborEntry:
        duration = checked_duration(data.started_at, data.ended_at, datetime.now(UTC))
        lot, unit = await self._subject(data)
        process = await active_process(self.session, data.process_code)
        entry = LaborEntry(
            operator=data.operator,
            lot_id=lot.id,
            lot_number=lot.lot_number,
            serial_id=unit.id if unit else None,
            serial_number=unit.serial_number if unit else None,
            process_id=process.id,
            process_code=process.process_code,
            activity=data.activity.value,
            started_at=data.started_at,
            ended_at=data.ended_at,
            duration_seconds=duration,
            recorded_by=principal.username,
        )
        self.session.add(entry)
        await self.session.flush()
        await outbox.add(
            self.session,
            LaborEntryRecordedEvent(
                id=entry.id,
                lot_id=lot.id,
                lot_number=lot.lot_number,
                model_code=lot.model_code,
                serial_id=entry.serial_id,
                serial_number=entry.serial_number,
                operator=entry.operator,
                process_id=process.id,
                process_code=process.process_code,
                activity=entry.activity,
                started_at=entry.started_at,
                ended_at=entry.ended_at,
                duration_seconds=duration,
                recorded_by=entry.recorded_by,
            ),
        )
        return entry

    async def search(
        self,
        params: CursorParams,
        *,
        lot_id: uuid.UUID | None,
        serial_number: str | None,
        operator: str | None,
        process_code: str | None,
        started_from: datetime | None,
        started_before: datetime | None,
    ) -> KeysetPage:
        statement = select(LaborEntry)
        if started_from is not None:
            statement = statement.where(LaborEntry.started_at >= started_from)
        if started_before is not None:
            statement = statement.where(LaborEntry.started_at < started_before)
        equal = {
            LaborEntry.lot_id: lot_id,
            LaborEntry.serial_number: serial_number,
            LaborEntry.operator: operator,
            LaborEntry.process_code: process_code,
        }
        return await self.keyset_page(params, NEWEST_FIRST, equal=equal, statement=statement)

    async def of_lot(self, lot_id: uuid.UUID, routing: list[str], *, newest: int) -> LaborOfLot:
        """Labor on a LOT and its units, added up by process and activity (in ``routing``'s order,
        then any process off it), and its ``newest`` entries."""
        seconds = func.sum(LaborEntry.duration_seconds)
        sums = (
            await self.session.execute(
                select(LaborEntry.process_code, LaborEntry.activity, func.count(), seconds)
                .where(LaborEntry.lot_id == lot_id)
                .group_by(LaborEntry.process_code, LaborEntry.activity)
            )
        ).all()
        order = {code: n for n, code in enumerate(routing)}
        totals = [
            LaborTotal(process_code=code, activity=activity, entries=n, minutes=round(total / 60, 2))
            for code, activity, n, total in sorted(sums, key=lambda r: (order.get(r[0], len(order)), r[0], r[1]))
        ]
        entries = await self.session.scalars(
            NEWEST_FIRST.order(select(LaborEntry).where(LaborEntry.lot_id == lot_id)).limit(newest)
        )
        return LaborOfLot(
            entries=sum(t.entries for t in totals),
            minutes=round(sum((row[3] for row in sums), Decimal(0)) / 60, 2),
            totals=totals,
            items=[LaborEntryRead.model_validate(entry) for entry in entries],
        )
