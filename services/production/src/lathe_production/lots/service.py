"""LOT rules against storage: numbering that never repeats, capacity the database enforces,
status changes under a row lock."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from lathe_common.db import time_ordered_id
from lathe_common.errors import Conflict, InvalidInput, NotFound
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from lathe_contracts.production import LotCreatedEvent, LotStatusChangedEvent, SerialsCreatedEvent
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from lathe_production.lots.models import Lot, LotSequence, Serial
from lathe_production.lots.rules import (
    OPEN_LOT_STATUSES,
    LotStatus,
    can_move,
    lot_number,
    plant_date,
    serial_number,
    shift_at,
)
from lathe_production.lots.schemas import LotCreate, SerialsCreate
from lathe_production.outbox import outbox
from lathe_production.product_models.service import ProductModels
from lathe_production.settings import ProductionSettings

SERIALS_PER_EVENT = 1000
# Lists that grow without bound are read by cursor, each order backed by an index.
NEWEST_LOTS_FIRST = Keyset("lots", (Lot.created_at, Lot.id))
BY_SERIAL_NUMBER = Keyset("serials", (Serial.serial_number,), descending=False)
_STATUS_TIMESTAMP = {
    LotStatus.IN_PROGRESS: "started_at",
    LotStatus.COMPLETED: "completed_at",
    LotStatus.CLOSED: "closed_at",
}


class Lots(Repository[Lot]):
    model = Lot
    noun = "lot"

    def __init__(self, session, settings: ProductionSettings) -> None:  # noqa: ANN001
        super().__init__(session)
        self.settings = settings

    async def find(self, key: str, *, for_update: bool = False) -> Lot:  # type: ignore[override]
        return await super().find(key, Lot.lot_number, for_update=for_update)

    async def search(
        self,
        params: CursorParams,
        *,
        status: LotStatus | None,
        model_code: str | None,
        work_order_number: str | None,
        shift: str | None,
        date_from: date | None,
        date_to: date | None,
    ) -> KeysetPage:
        statement = select(Lot)
        if date_from is not None:
            statement = statement.where(Lot.production_date >= date_from)
        if date_to is not None:
            statement = statement.where(Lot.production_date <= date_to)
        equal = {
            Lot.status: status.value if status else None,
            Lot.model_code: model_code,
            Lot.work_order_number: work_order_number,
            Lot.shift: shift,
        }
        return await self.keyset_page(params, NEWEST_LOTS_FIRST, equal=equal, statement=statement)

    async def create(self, data: LotCreate) -> Lot:
        cfg = self.settings
        if data.target_quantity > cfg.max_lot_quantity:
            raise InvalidInput(
                f"A LOT holds at most {cfg.max_lot_quantity} units.",
                code="target_quantity_too_large",
                max_lot_quantity=cfg.max_lot_quantity,
            )
        model = await ProductModels(self.session).find_to_pin(data.model_code or str(data.product_model_id))
        if not model.is_active:
            raise InvalidInput(f"Product model {model.model_code} is inactive.", code="inactive_product_model")
        now = datetime.now(UTC)
        shift = data.shift or shift_at(
            now, cfg.plant_timezone, day_starts=cfg.day_shift_starts_hour, night_starts=cfg.night_shift_starts_hour
        )
        day = plant_date(now, cfg.plant_timezone)
        number = data.lot_number or await self._next_number(day, shift)
        if await self.session.scalar(select(Lot.id).where(Lot.lot_number == number)):
            raise Conflict(f"LOT {number} already exists.", code="lot_exists")
        lot = Lot(
            lot_number=number,
            product_model_id=model.id,
            model_code=model.model_code,
            revision=model.revision,
            work_order_number=data.work_order_number,
            target_quantity=data.target_quantity,
            shift=shift.value,
            production_date=day,
            status=LotStatus.CREATED.value,
        )
        self.session.add(lot)
        await self.session.flush()
        await outbox.add(
            self.session,
            LotCreatedEvent(
                id=lot.id,
                lot_number=lot.lot_number,
                product_model_id=lot.product_model_id,
                model_code=lot.model_code,
                work_order_number=lot.work_order_number,
                target_quantity=lot.target_quantity,
                shift=lot.shift,
                production_date=day.isoformat(),
                status=lot.status,
                revision=lot.revision,
            ),
        )
        return lot

    async def _next_number(self, day: date, shift) -> str:  # noqa: ANN001
        # The upsert takes the day's row lock: concurrent creations queue here and each gets its own
        # number. Numbers given by hand that happen to match a generated one are skipped.
        prefix = self.settings.lot_number_prefix
        while True:
            claimed = await self.session.scalar(
                pg_insert(LotSequence)
                .values(prefix=prefix, day=day, last_value=1)
                .on_conflict_do_update(
                    index_elements=[LotSequence.prefix, LotSequence.day],
                    set_={"last_value": LotSequence.last_value + 1},
                )
                .returning(LotSequence.last_value)
            )
            number = lot_number(prefix, day, shift, claimed)
            if not await self.session.scalar(select(Lot.id).where(Lot.lot_number == number)):
                return number

    async def change_status(self, key: str, new: LotStatus) -> Lot:
        lot = await self.find(key, for_update=True)
        current = LotStatus(lot.status)
        if current == new:
            return lot
        if not can_move(current, new):
            raise Conflict(
                f"A LOT cannot go from {current} to {new}.",
                code="invalid_status_transition",
                current_status=current.value,
                requested_status=new.value,
            )
        lot.status = new.value
        if field := _STATUS_TIMESTAMP.get(new):
            # The database's clock, as for LOTs started and completed by steps (bulk_writes).
            setattr(lot, field, await self.session.scalar(select(func.now())))
        await self.session.flush()
        await outbox.add(
            self.session,
            LotStatusChangedEvent(
                id=lot.id,
                lot_number=lot.lot_number,
                work_order_number=lot.work_order_number,
                previous_status=current.value,
                status=new.value,
            ),
        )
        return lot

    async def add_serials(self, key: str, data: SerialsCreate) -> tuple[Lot, list[Serial]]:
        lot = await self.find(key)
        wanted = data.count if data.count is not None else len(data.serial_numbers or [])
        # One atomic statement checks status and capacity and reserves the units; it also locks the
        # LOT row until commit, so the sequence numbers below cannot be taken by a concurrent request.
        reserved = await self.session.scalar(
            update(Lot)
            .where(
                Lot.id == lot.id,
                Lot.status.in_([s.value for s in OPEN_LOT_STATUSES]),
                Lot.serial_count + wanted <= Lot.target_quantity,
            )
            .values(serial_count=Lot.serial_count + wanted)
            .returning(Lot.serial_count)
        )
        if reserved is None:
            await self.session.refresh(lot)
            if LotStatus(lot.status) not in OPEN_LOT_STATUSES:
                raise Conflict(f"LOT {lot.lot_number} is {lot.status}; it takes no more units.", code="lot_not_open")
            remaining = lot.target_quantity - lot.serial_count
            raise Conflict(
                f"LOT {lot.lot_number} has room for {remaining} more units, not {wanted}.",
                code="lot_full",
                remaining=remaining,
                target_quantity=lot.target_quantity,
            )
        first = reserved - wanted + 1
        numbers = data.serial_numbers or [serial_number(lot.lot_number, n) for n in range(first, reserved + 1)]
        taken = (
            await self.session.scalars(select(Serial.serial_number).where(Serial.serial_number.in_(numbers)))
        ).all()
        if taken:
            raise Conflict(
                "Some serial numbers already exist.", code="serial_exists", serial_numbers=sorted(taken)[:50]
            )
        rows = [
            {"id": time_ordered_id(), "serial_number": s, "lot_id": lot.id, "sequence_in_lot": first + i}
            for i, s in enumerate(numbers)
        ]
        serials = list((await self.session.scalars(insert(Serial).returning(Serial), rows)).all())
        await outbox.add(
            self.session,
            *(
                SerialsCreatedEvent(
                    lot_id=lot.id,
                    lot_number=lot.lot_number,
                    work_order_number=lot.work_order_number,
                    model_code=lot.model_code,
                    serials=[
                        {
                            "id": str(r["id"]),
                            "serial_number": r["serial_number"],
                            "sequence_in_lot": r["sequence_in_lot"],
                        }
                        for r in rows[i : i + SERIALS_PER_EVENT]
                    ],
                )
                for i in range(0, len(rows), SERIALS_PER_EVENT)
            ),
        )
        await self.session.refresh(lot)
        return lot, serials


class Serials(Repository[Serial]):
    model = Serial
    noun = "serial"

    async def by_number(self, number: str) -> Serial:
        serial = await self.session.scalar(select(Serial).where(Serial.serial_number == number))
        if serial is None:
            raise NotFound(f"No serial {number}.", code="serial_not_found")
        return serial

    async def search(
        self, params: CursorParams, *, lot_id: uuid.UUID | None, status: str | None, q: str | None
    ) -> KeysetPage:
        statement = self.containing(select(Serial), q, Serial.serial_number)
        equal = {Serial.lot_id: lot_id, Serial.status: status}
        return await self.keyset_page(params, BY_SERIAL_NUMBER, equal=equal, statement=statement)
