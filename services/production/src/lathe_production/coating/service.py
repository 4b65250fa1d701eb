"""Coating logs against storage: limits chosen and readings judged (rules.py), the log and its
event written in one transaction (key: the LOT), and a LOT's coating status read from its logs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from lathe_common.auth import Principal
from lathe_common.errors import InvalidInput
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from lathe_contracts.production import CoatingLogRecordedEvent
from sqlalchemy import select

from lathe_production.coating.models import CoatingLog
from lathe_production.coating.rules import (
    CoatingResult,
    LoggedCoating,
    coating_status,
    judge,
    latest_per_process,
    thickness_limits,
)
from lathe_production.coating.schemas import (
    MAX_LOGS_SHOWN,
    CoatingLogCreate,
    CoatingLogRead,
    LotCoatingStatus,
    ProcessCoating,
)
from lathe_production.labor.rules import CLOCK_SKEW
from lathe_production.labor.service import active_process
from lathe_production.lots.models import Lot
from lathe_production.lots.service import Lots
from lathe_production.outbox import outbox
from lathe_production.settings import ProductionSettings

HUNDREDTH = Decimal("0.01")
NEWEST_FIRST = Keyset("coating-logs", (CoatingLog.applied_at, CoatingLog.id))


class CoatingLogs(Repository[CoatingLog]):
    model = CoatingLog
    noun = "coating log"

    def __init__(self, session, settings: ProductionSettings) -> None:  # noqa: ANN001
        super().__init__(session)
        self.settings = settings

    async def record(self, data: CoatingLogCreate, principal: Principal) -> CoatingLog:
        now = datetime.now(UTC)
        if data.applied_at > now + CLOCK_SKEW:
            raise InvalidInput(
                f"applied_at {data.applied_at.isoformat()} is in the future (now {now.isoformat()}).",
                code="applied_in_future",
            )
        lot = await Lots(self.session, self.settings).find(data.lot)
        process = await active_process(self.session, data.process_code)
        limits = thickness_limits(process.quality_criteria, data.thickness_lower_um, data.thickness_upper_um)
        result, found = judge(data.thickness_readings_um, limits)
        log = CoatingLog(
            lot_id=lot.id,
            lot_number=lot.lot_number,
            process_id=process.id,
            process_code=process.process_code,
            coating_type=data.coating_type,
            material_lot=data.material_lot,
            thickness_readings_um=list(data.thickness_readings_um),
            thickness_lower_um=limits.lower,
            thickness_upper_um=limits.upper,
            limits_source=limits.source.value,
            violations=[v.as_dict() for v in found],
            result=result.value,
            # As the NUMERIC(_, 2) columns will read back: the answer now equals every later one.
            cure_temperature_c=data.cure_temperature_c.quantize(HUNDREDTH),
            cure_minutes=data.cure_minutes.quantize(HUNDREDTH),
            inspector=data.inspector,
            applied_at=data.applied_at,
            recorded_by=principal.username,
        )
        self.session.add(log)
        await self.session.flush()
        await outbox.add(
            self.session,
            CoatingLogRecordedEvent(
                id=log.id,
                lot_id=lot.id,
                lot_number=lot.lot_number,
                model_code=lot.model_code,
                process_id=process.id,
                process_code=process.process_code,
                coating_type=log.coating_type,
                material_lot=log.material_lot,
                thickness_readings_um=log.thickness_readings_um,
                thickness_lower_um=log.thickness_lower_um,
                thickness_upper_um=log.thickness_upper_um,
                limits_source=log.limits_source,
                violations=log.violations,
                result=log.result,
                cure_temperature_c=log.cure_temperature_c,
                cure_minutes=log.cure_minutes,
                inspector=log.inspector,
                applied_at=log.applied_at,
                recorded_by=log.recorded_by,
            ),
        )
        return log

    async def search(self, params: CursorParams, *, lot_id: uuid.UUID | None) -> KeysetPage:
        return await self.keyset_page(params, NEWEST_FIRST, equal={CoatingLog.lot_id: lot_id})

    async def status_of(self, key: str) -> LotCoatingStatus:
        return await self.status_of_lot(await Lots(self.session, self.settings).find(key))

    async def status_of_lot(self, lot: Lot) -> LotCoatingStatus:
        # Every log's deciding columns (a few per LOT), and the newest logs in full.
        deciding = await self.session.execute(
            select(CoatingLog.process_code, CoatingLog.applied_at, CoatingLog.id, CoatingLog.result).where(
                CoatingLog.lot_id == lot.id
            )
        )
        logged = [LoggedCoating(code, at, id_, CoatingResult(result)) for code, at, id_, result in deciding]
        newest = await self.session.scalars(
            NEWEST_FIRST.order(select(CoatingLog).where(CoatingLog.lot_id == lot.id)).limit(MAX_LOGS_SHOWN)
        )
        latest = latest_per_process(logged)
        return LotCoatingStatus(
            lot_id=lot.id,
            lot_number=lot.lot_number,
            status=coating_status(logged),
            processes=[
                ProcessCoating(process_code=code, result=log.result, applied_at=log.applied_at, log_id=log.order)
                for code, log in sorted(latest.items())
            ],
            logs_total=len(logged),
            logs=[CoatingLogRead.model_validate(row) for row in newest],
        )
