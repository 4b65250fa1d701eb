"""Holds against storage. A hold is placed under the row locks that step batches wait for: a unit's
under its row lock (FOR NO KEY UPDATE, as the step recorder locks units), a LOT's under the LOT's
FOR UPDATE, which waits for every step batch holding KEY SHARE on it and makes later ones wait, so
no step is recorded on a held unit after its hold took effect (``placed_at``, read after the locks).
Locks are taken units first in id order, then LOTs, as the step recorder does."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lathe_common.auth import Principal
from lathe_common.db import time_ordered_id
from lathe_common.errors import NotFound
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from lathe_common.signatures import record_of
from lathe_contracts.production import HoldReleasedEvent, HoldsPlacedEvent
from sqlalchemy import func, select, text

from lathe_production.genealogy.forward import UNITS_CONTAINING
from lathe_production.holds.models import Hold
from lathe_production.holds.rules import HoldState, HoldSubject, check_can_hold, check_can_release, chunks
from lathe_production.holds.schemas import ComponentHoldsPlaced, HoldRead, ReleaseRequest
from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.service import Lots
from lathe_production.outbox import outbox
from lathe_production.settings import ProductionSettings
from lathe_production.signatures.models import Signature
from lathe_production.signatures.schemas import SignatureRead
from lathe_production.signatures.service import Signatures, signature_facts

NEWEST_FIRST = Keyset("holds", (Hold.placed_at, Hold.id))
# Every unit containing the component (and the component itself when it is a unit), locked in id
# order, then a hold for each not held yet, marked on the unit: one statement, however many.
_HOLD_UNITS = text(
    UNITS_CONTAINING
    + """,
    targets AS (
        SELECT id FROM units_containing
        UNION SELECT CAST(:root_serial AS uuid) WHERE CAST(:root_serial AS uuid) IS NOT NULL
    ),
    locked AS (
        SELECT s.id, s.serial_number, s.lot_id, s.hold_id FROM production.serials s
        WHERE s.id IN (SELECT id FROM targets) ORDER BY s.id FOR NO KEY UPDATE OF s
    ),
    placed AS (
        INSERT INTO production.holds (id, placement_id, subject, lot_id, lot_number, serial_id, serial_number,
                                      reason, component, placed_by, placed_at)
        SELECT gen_random_uuid(), :placement, 'SERIAL', l.lot_id, lots.lot_number, l.id, l.serial_number,
               :reason, :component, :placed_by, clock_timestamp()
        FROM locked l JOIN production.lots lots ON lots.id = l.lot_id
        WHERE l.hold_id IS NULL
        RETURNING id, subject, serial_id, serial_number, lot_id, lot_number, placed_at
    ),
    marked AS (
        UPDATE production.serials s SET hold_id = p.id, updated_at = now() FROM placed p WHERE s.id = p.serial_id
        RETURNING s.id
    )
    SELECT p.*, (SELECT count(*) FROM units_containing) AS containing,
           (SELECT count(*) FROM locked WHERE hold_id IS NOT NULL) AS already_held,
           (SELECT count(*) FROM marked) AS marked
    FROM placed p RIGHT JOIN (SELECT 1) AS always ON true
    """
)


def _facts(hold: Any) -> dict[str, Any]:
    """A hold (a row or a ``Hold``) as ``HoldsPlacedEvent`` lists it."""
    return {
        "id": str(hold.id),
        "subject": hold.subject,
        "lot_id": str(hold.lot_id),
        "lot_number": hold.lot_number,
        "serial_id": str(hold.serial_id) if hold.serial_id else None,
        "serial_number": hold.serial_number,
    }


class Holds(Repository[Hold]):
    model = Hold
    noun = "hold"

    def __init__(self, session, settings: ProductionSettings) -> None:  # noqa: ANN001
        super().__init__(session)
        self.settings = settings

    async def _effective_at(self) -> datetime:
        """When a hold takes effect: now, after its locks (not the transaction's start)."""
        return await self.session.scalar(select(func.clock_timestamp()))

    async def hold_lot(self, key: str, reason: str, principal: Principal) -> Hold:
        lot = await Lots(self.session, self.settings).find(key, for_update=True)
        check_can_hold(f"LOT {lot.lot_number}", lot.hold_id)
        hold = await self._place(HoldSubject.LOT, lot, None, reason, principal, component=None)
        await self._announce([hold], hold, component=None)
        return hold

    async def hold_serial(self, number: str, reason: str, principal: Principal) -> Hold:
        unit = await self._lock_unit(number)
        check_can_hold(f"Unit {number}", unit.hold_id)
        lot = await self.session.get(Lot, unit.lot_id)
        assert lot is not None  # noqa: S101 - a foreign key
        hold = await self._place(HoldSubject.SERIAL, lot, unit, reason, principal, component=None)
        await self._announce([hold], hold, component=None)
        return hold

    async def _place(
        self,
        subject: HoldSubject,
        lot: Lot,
        unit: Serial | None,
        reason: str,
        principal: Principal,
        *,
        component: str | None,
        placement_id: uuid.UUID | None = None,
    ) -> Hold:
        hold = Hold(
            id=time_ordered_id(),
            placement_id=placement_id or time_ordered_id(),
            subject=subject.value,
            lot_id=lot.id,
            lot_number=lot.lot_number,
            serial_id=unit.id if unit else None,
            serial_number=unit.serial_number if unit else None,
            reason=reason,
            component=component,
            placed_by=principal.username,
            placed_at=await self._effective_at(),
        )
        self.session.add(hold)
        await self.session.flush()
        (unit or lot).hold_id = hold.id
        await self.session.flush()
        return hold

    async def _lock_unit(self, number: str) -> Serial:
        unit = await self.session.scalar(
            select(Serial).where(Serial.serial_number == number).with_for_update(key_share=True)
        )
        if unit is None:
            raise NotFound(f"No serial {number}.", code="serial_not_found")
        return unit

    async def hold_by_component(self, component: str, reason: str, principal: Principal) -> ComponentHoldsPlaced:
        """Holds the component and every unit containing it, set-based (the recall case)."""
        root_unit = await self.session.scalar(select(Serial.id).where(Serial.serial_number == component))
        root_lot = None
        if root_unit is None:
            root_lot = await self.session.scalar(select(Lot.id).where(Lot.lot_number == component))
            if root_lot is None:
                raise NotFound(f"No unit or LOT {component}.", code="component_not_found")
        placement_id = time_ordered_id()
        rows = (
            await self.session.execute(
                _HOLD_UNITS,
                {
                    "root": root_unit or root_lot,
                    "root_serial": root_unit,
                    "placement": placement_id,
                    "reason": reason,
                    "component": component,
                    "placed_by": principal.username,
                },
            )
        ).all()
        placed = [r for r in rows if r.id is not None]
        holds: list[Any] = list(placed)
        held, already = len(placed), int(rows[0].already_held)
        if root_lot is not None:  # the component LOT itself, after the units (the lock order)
            lot = await Lots(self.session, self.settings).find(str(root_lot), for_update=True)
            if lot.hold_id is None:
                holds.append(
                    await self._place(
                        HoldSubject.LOT, lot, None, reason, principal, component=component, placement_id=placement_id
                    )
                )
                held += 1
            else:
                already += 1
        placed_at = max((h.placed_at for h in holds), default=None) or await self._effective_at()
        for part in chunks(holds):
            await outbox.add(
                self.session,
                HoldsPlacedEvent(
                    placement_id=placement_id,
                    reason=reason,
                    component=component,
                    holds=[_facts(h) for h in part],
                    placed_at=placed_at,
                ),
            )
        return ComponentHoldsPlaced(
            placement_id=placement_id,
            component=component,
            component_subject=HoldSubject.SERIAL if root_unit else HoldSubject.LOT,
            reason=reason,
            units_containing=int(rows[0].containing),
            held=held,
            already_on_hold=already,
            placed_at=placed_at,
        )

    async def _announce(self, holds: list[Hold], first: Hold, *, component: str | None) -> None:
        await outbox.add(
            self.session,
            HoldsPlacedEvent(
                placement_id=first.placement_id,
                reason=first.reason,
                component=component,
                holds=[_facts(h) for h in holds],
                placed_at=first.placed_at,
            ),
        )

    async def release_lot(self, key: str, body: ReleaseRequest, principal: Principal, signatures: Signatures) -> Hold:
        lot = await Lots(self.session, self.settings).find(key, for_update=True)
        hold_id = check_can_release(f"LOT {lot.lot_number}", lot.hold_id)
        hold = await self._release(hold_id, body, principal, signatures)
        lot.hold_id = None
        await self.session.flush()
        return hold

    async def release_serial(
        self, number: str, body: ReleaseRequest, principal: Principal, signatures: Signatures
    ) -> Hold:
        unit = await self._lock_unit(number)
        hold_id = check_can_release(f"Unit {number}", unit.hold_id)
        hold = await self._release(hold_id, body, principal, signatures)
        unit.hold_id = None
        await self.session.flush()
        return hold

    async def _release(
        self, hold_id: uuid.UUID, body: ReleaseRequest, principal: Principal, signatures: Signatures
    ) -> Hold:
        hold = await self.session.get(Hold, hold_id, with_for_update=True)
        assert hold is not None and hold.released_at is None  # noqa: S101 - the row's pointer is its active hold
        signature = await signatures.apply(body, record=record_of("hold", hold.id, "release"), principal=principal)
        hold.released_at = await self.session.scalar(select(func.now()))
        hold.released_by, hold.release_reason, hold.release_signature_id = principal.username, body.reason, signature.id
        await self.session.flush()
        await outbox.add(
            self.session,
            HoldReleasedEvent(
                id=hold.id,
                placement_id=hold.placement_id,
                subject=hold.subject,
                lot_id=hold.lot_id,
                lot_number=hold.lot_number,
                serial_id=hold.serial_id,
                serial_number=hold.serial_number,
                hold_reason=hold.reason,
                reason=body.reason,
                released_at=hold.released_at,
                signature=signature_facts(signature),
            ),
        )
        return hold

    # -- reading ---------------------------------------------------------------------------

    async def search(
        self,
        params: CursorParams,
        *,
        state: HoldState | None,
        lot_id: uuid.UUID | None,
        serial_number: str | None,
        component: str | None,
        placement_id: uuid.UUID | None,
    ) -> KeysetPage:
        statement = select(Hold)
        if state is HoldState.ACTIVE:
            statement = statement.where(Hold.released_at.is_(None))
        elif state is HoldState.RELEASED:
            statement = statement.where(Hold.released_at.is_not(None))
        equal = {
            Hold.lot_id: lot_id,
            Hold.serial_number: serial_number,
            Hold.component: component,
            Hold.placement_id: placement_id,
        }
        return await self.keyset_page(params, NEWEST_FIRST, equal=equal, statement=statement)

    async def read(self, holds: list[Hold]) -> list[HoldRead]:
        ids = [h.release_signature_id for h in holds if h.release_signature_id is not None]
        signatures = {}
        if ids:
            signatures = {s.id: s for s in await self.session.scalars(select(Signature).where(Signature.id.in_(ids)))}
        return [
            HoldRead.model_validate(h).model_copy(
                update={
                    "release_signature": SignatureRead.model_validate(signatures[h.release_signature_id])
                    if h.release_signature_id
                    else None
                }
            )
            for h in holds
        ]
