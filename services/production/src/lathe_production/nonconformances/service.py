"""Nonconformance records against storage: the list, and dispositions under row locks (the unit, then
the NCR, then its LOT: the order the step recorder locks units and LOTs in), signed, announced."""

from __future__ import annotations

import uuid
from datetime import datetime

from lathe_common.auth import Principal
from lathe_common.errors import Forbidden
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from lathe_common.signatures import record_of
from lathe_contracts.production import (
    LotStatusChangedEvent,
    NonconformanceDispositionedEvent,
    SerialStatusChangedEvent,
)
from sqlalchemy import func, select, update

from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.rules import LotStatus, SerialStatus
from lathe_production.nonconformances.models import Nonconformance
from lathe_production.nonconformances.rules import Decided, NcrStatus, decide, required_scope
from lathe_production.nonconformances.schemas import DispositionRequest, NonconformanceRead
from lathe_production.outbox import outbox
from lathe_production.settings import ProductionSettings
from lathe_production.signatures.models import Signature
from lathe_production.signatures.schemas import SignatureRead
from lathe_production.signatures.service import Signatures, signature_facts

NEWEST_FIRST = Keyset("nonconformances", (Nonconformance.opened_at, Nonconformance.id))


def disposition_record(ncr_id: uuid.UUID, disposition: str) -> str:
    """What a disposition's signature must name."""
    return record_of("nonconformance", ncr_id, "disposition", disposition)


class Nonconformances(Repository[Nonconformance]):
    model = Nonconformance
    noun = "nonconformance"

    async def search(
        self, params: CursorParams, *, serial_number: str | None, lot_id: uuid.UUID | None, status: NcrStatus | None
    ) -> KeysetPage:
        equal = {
            Nonconformance.serial_number: serial_number,
            Nonconformance.lot_id: lot_id,
            Nonconformance.status: status.value if status else None,
        }
        return await self.keyset_page(params, NEWEST_FIRST, equal=equal)

    async def read(self, ncrs: list[Nonconformance]) -> list[NonconformanceRead]:
        """The API's view of NCRs, with their signatures (one query for all)."""
        ids = [n.signature_id for n in ncrs if n.signature_id is not None]
        signatures = {}
        if ids:
            signatures = {s.id: s for s in await self.session.scalars(select(Signature).where(Signature.id.in_(ids)))}
        return [
            NonconformanceRead.model_validate(n).model_copy(
                update={
                    "signature": SignatureRead.model_validate(signatures[n.signature_id]) if n.signature_id else None
                }
            )
            for n in ncrs
        ]

    async def dispose(
        self,
        ncr_id: uuid.UUID,
        body: DispositionRequest,
        *,
        principal: Principal,
        signatures: Signatures,
        settings: ProductionSettings,
    ) -> Nonconformance:
        scope = required_scope(body.disposition)
        if scope is not None and scope not in principal.scopes:
            raise Forbidden(
                f"A {body.disposition} disposition needs the '{scope}' permission.",
                code="insufficient_scope",
                required=scope,
            )
        ncr = await self.get(ncr_id)
        unit = await self.session.get(Serial, ncr.serial_id, with_for_update={"key_share": True})
        await self.session.refresh(ncr, with_for_update=True)  # decided under its lock, on its latest state
        # KEY SHARE: a LOT's status change (FOR UPDATE) waits for the disposition, and the other way round.
        lot = await self.session.get(Lot, ncr.lot_id, with_for_update={"read": True, "key_share": True})
        assert unit is not None and lot is not None  # noqa: S101 - foreign keys
        decided = decide(
            body.disposition,
            ncr_status=NcrStatus(ncr.status),
            unit_status=SerialStatus(unit.status),
            failed_step=ncr.step_no,
            routing_length=ncr.routing_length,
            rework_count=unit.rework_count,
            max_reworks=settings.max_reworks,
            meaning=body.meaning,
            lot_status=LotStatus(lot.status),
        )
        record = disposition_record(ncr.id, body.disposition.value)
        signature = await signatures.apply(body, record=record, principal=principal)
        now: datetime = await self.session.scalar(select(func.now()))
        previous_status = unit.status
        unit.status, unit.current_step, unit.rework_count = (
            decided.unit_status.value,
            decided.current_step,
            decided.rework_count,
        )
        ncr.status = decided.ncr_status.value
        ncr.disposition, ncr.disposition_reason = body.disposition.value, body.reason
        ncr.dispositioned_by, ncr.dispositioned_at = principal.username, now
        ncr.signature_id, ncr.unit_status, ncr.code = signature.id, decided.unit_status.value, decided.code
        if decided.ncr_status is NcrStatus.CLOSED:
            ncr.closed_at = now
        await self.session.flush()
        events = [
            NonconformanceDispositionedEvent(
                id=ncr.id,
                serial_id=ncr.serial_id,
                serial_number=ncr.serial_number,
                lot_id=ncr.lot_id,
                lot_number=ncr.lot_number,
                model_code=ncr.model_code,
                work_order_number=ncr.work_order_number,
                process_code=ncr.process_code,
                step_no=ncr.step_no,
                disposition=body.disposition.value,
                reason=body.reason,
                status=ncr.status,
                unit_status=unit.status,
                rework_count=unit.rework_count,
                code=decided.code,
                dispositioned_at=now,
                signature=signature_facts(signature),
            ),
            SerialStatusChangedEvent(
                serial_id=unit.id,
                serial_number=unit.serial_number,
                lot_id=lot.id,
                lot_number=lot.lot_number,
                model_code=lot.model_code,
                work_order_number=lot.work_order_number,
                previous_status=previous_status,
                serial_status=unit.status,
                rework_count=unit.rework_count,
                current_step=unit.current_step,
                cause="disposition",
                nonconformance_id=ncr.id,
                disposition=body.disposition.value,
                code=decided.code,
            ),
        ]
        if decided.finishes_unit and (completed := await self._count_finished(lot, decided, now)):
            events.append(completed)
        await outbox.add(self.session, *events)
        return ncr

    async def _count_finished(self, lot: Lot, decided: Decided, now: datetime) -> LotStatusChangedEvent | None:
        """Counts the unit in its LOT's finished units; the last one completes an IN_PROGRESS LOT
        (guarded: it moves once, whoever races)."""
        assert decided.finishes_unit  # noqa: S101
        finished, serial_count = (
            await self.session.execute(
                update(Lot)
                .where(Lot.id == lot.id)
                .values(finished_count=Lot.finished_count + 1)
                .returning(Lot.finished_count, Lot.serial_count)
            )
        ).one()
        if finished < serial_count:
            return None
        moved = await self.session.scalar(
            update(Lot)
            .where(Lot.id == lot.id, Lot.status == LotStatus.IN_PROGRESS.value)
            .values(status=LotStatus.COMPLETED.value, completed_at=now)
            .returning(Lot.id)
        )
        if moved is None:
            return None
        return LotStatusChangedEvent(
            id=lot.id,
            lot_number=lot.lot_number,
            work_order_number=lot.work_order_number,
            previous_status=LotStatus.IN_PROGRESS.value,
            status=LotStatus.COMPLETED.value,
        )
