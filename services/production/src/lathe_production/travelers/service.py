"""A LOT's traveler and its units' labels from storage: a fixed number of queries whatever the
LOT's size (aggregates by step, by unit position, by consumed component), each through an index on
the LOT; the lists of NCRs and holds through their own packages' reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from lathe_common.keyset import CursorParams
from sqlalchemy import String, func, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from lathe_production.coating.service import CoatingLogs
from lathe_production.genealogy.bom_rules import Draw
from lathe_production.genealogy.models import Component
from lathe_production.holds.models import Hold
from lathe_production.holds.service import Holds
from lathe_production.labor.service import LaborEntries
from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.service import Lots, Serials
from lathe_production.nonconformances.models import Nonconformance
from lathe_production.nonconformances.rules import NcrStatus
from lathe_production.nonconformances.service import Nonconformances
from lathe_production.process_data.models import ProcessData
from lathe_production.processes.models import Process
from lathe_production.product_models.models import ProductModel
from lathe_production.product_models.revisions import pinned_bom, pinned_routings
from lathe_production.settings import ProductionSettings
from lathe_production.travelers.labels import LabelUnit
from lathe_production.travelers.rules import (
    MAX_LISTED_RECORDS,
    MAX_UNIT_QR_CODES,
    StepTally,
    UnitPosition,
    planned_against_consumed,
    step_progress,
)
from lathe_production.travelers.schemas import (
    BomLineRead,
    HoldsOfLot,
    NonconformancesOfLot,
    StepRead,
    TravelerHeader,
    TravelerRead,
    UnplannedRead,
)


class Travelers:
    def __init__(self, session: AsyncSession, settings: ProductionSettings) -> None:
        self.session = session
        self.settings = settings

    async def traveler(self, key: str) -> TravelerRead:
        lot = await Lots(self.session, self.settings).find(key)
        model_name, traveler_type = (
            await self.session.execute(
                select(ProductModel.model_name, ProductModel.traveler_type).where(
                    ProductModel.id == lot.product_model_id
                )
            )
        ).one()
        pin = (lot.product_model_id, lot.revision)
        routing = (await pinned_routings(self.session, {pin}))[pin]
        positions = await self._positions(lot)
        steps = step_progress(routing, await self._process_names(routing), await self._tallies(lot), positions)
        planned, unplanned = planned_against_consumed(
            await pinned_bom(self.session, lot.id), units=lot.target_quantity, consumed=await self._consumed(lot)
        )
        counts: dict[str, int] = {}
        for position in positions:
            counts[position.status] = counts.get(position.status, 0) + position.count
        header = TravelerHeader(
            lot_id=lot.id,
            lot_number=lot.lot_number,
            model_code=lot.model_code,
            model_name=model_name,
            revision=lot.revision,
            traveler_type=traveler_type,
            work_order_number=lot.work_order_number,
            target_quantity=lot.target_quantity,
            serial_count=lot.serial_count,
            status=lot.status,
            on_hold=lot.hold_id is not None,
            shift=lot.shift,
            production_date=lot.production_date,
            created_at=lot.created_at,
            started_at=lot.started_at,
            completed_at=lot.completed_at,
            closed_at=lot.closed_at,
        )
        return TravelerRead(
            lot=header,
            unit_counts=dict(sorted(counts.items())),
            steps=[StepRead.model_validate(step) for step in steps],
            bom=[BomLineRead.model_validate(line) for line in planned],
            unplanned_consumption=[UnplannedRead.model_validate(u) for u in unplanned],
            nonconformances=await self._nonconformances(lot),
            holds=await self._holds(lot),
            labor=await LaborEntries(self.session, self.settings).of_lot(lot.id, routing, newest=MAX_LISTED_RECORDS),
            coating=await CoatingLogs(self.session, self.settings).status_of_lot(lot),
            generated_at=datetime.now(UTC),
        )

    async def _process_names(self, routing: list[str]) -> dict[str, str]:
        if not routing:
            return {}
        rows = await self.session.execute(
            select(Process.process_code, Process.name).where(Process.process_code.in_(routing))
        )
        return dict(rows.tuples().all())

    async def _tallies(self, lot: Lot) -> list[StepTally]:
        def results(result: str):  # noqa: ANN202 - a SQL expression
            return func.count().filter(ProcessData.result == result)

        rows = await self.session.execute(
            select(
                ProcessData.process_code,
                results("PASS"),
                results("FAIL"),
                results("REWORK"),
                # The latest execution's operator: one sort per step's rows, inside the LOT's.
                func.array_agg(
                    aggregate_order_by(ProcessData.operator, ProcessData.completed_at.desc()), type_=ARRAY(String)
                )[1],
                func.max(ProcessData.completed_at),
            )
            .where(ProcessData.lot_id == lot.id)
            .group_by(ProcessData.process_code)
        )
        return [StepTally(*row) for row in rows.tuples()]

    async def _positions(self, lot: Lot) -> list[UnitPosition]:
        rows = await self.session.execute(
            select(Serial.current_step, Serial.status, func.count())
            .where(Serial.lot_id == lot.id)
            .group_by(Serial.current_step, Serial.status)
        )
        return [UnitPosition(*row) for row in rows.tuples()]

    async def _consumed(self, lot: Lot) -> list[Draw]:
        """What the LOT's units consumed, by component model code and step."""
        parent, child_serial, child_serial_lot, child_lot = aliased(Serial), aliased(Serial), aliased(Lot), aliased(Lot)
        code = func.coalesce(child_lot.model_code, child_serial_lot.model_code)
        rows = await self.session.execute(
            select(code, Component.process_code, func.sum(Component.quantity))
            .join(parent, parent.id == Component.parent_serial_id)
            .outerjoin(child_lot, child_lot.id == Component.child_lot_id)
            .outerjoin(child_serial, child_serial.id == Component.child_serial_id)
            .outerjoin(child_serial_lot, child_serial_lot.id == child_serial.lot_id)
            .where(parent.lot_id == lot.id)
            .group_by(code, Component.process_code)
        )
        return [Draw(component, step, quantity) for component, step, quantity in rows.tuples()]

    async def _nonconformances(self, lot: Lot) -> NonconformancesOfLot:
        open_, closed = (
            await self.session.execute(
                select(
                    func.count().filter(Nonconformance.status == NcrStatus.OPEN.value),
                    func.count().filter(Nonconformance.status != NcrStatus.OPEN.value),
                ).where(Nonconformance.lot_id == lot.id)
            )
        ).one()
        ncrs = Nonconformances(self.session)
        newest = await ncrs.search(
            CursorParams(limit=MAX_LISTED_RECORDS), serial_number=None, lot_id=lot.id, status=None
        )
        return NonconformancesOfLot(open=open_, closed=closed, items=await ncrs.read(newest.rows))

    async def _holds(self, lot: Lot) -> HoldsOfLot:
        active, released = (
            await self.session.execute(
                select(
                    func.count().filter(Hold.released_at.is_(None)),
                    func.count().filter(Hold.released_at.is_not(None)),
                ).where(Hold.lot_id == lot.id)
            )
        ).one()
        holds = Holds(self.session, self.settings)
        newest = await holds.search(
            CursorParams(limit=MAX_LISTED_RECORDS),
            state=None,
            lot_id=lot.id,
            serial_number=None,
            component=None,
            placement_id=None,
        )
        return HoldsOfLot(active=active, released=released, items=await holds.read(newest.rows))

    # -- labels ----------------------------------------------------------------------------

    async def serial_label(self, number: str) -> LabelUnit:
        serial = await Serials(self.session).by_number(number)
        lot = await self.session.get_one(Lot, serial.lot_id)
        return LabelUnit(
            serial.serial_number, lot.model_code, await self._model_name(lot), lot.lot_number, lot.production_date
        )

    async def lot_labels(self, key: str, *, from_sequence: int, limit: int) -> tuple[Lot, list[LabelUnit], int | None]:
        """Labels of the LOT's units from ``from_sequence`` on (by sequence in the LOT), at most
        ``limit``, and the sequence the next page starts at (None: no more units)."""
        lot = await Lots(self.session, self.settings).find(key)
        numbers = await self.unit_numbers(lot.id, from_sequence=from_sequence, limit=limit + 1)
        name = await self._model_name(lot)
        units = [
            LabelUnit(number, lot.model_code, name, lot.lot_number, lot.production_date)
            for _, number in numbers[:limit]
        ]
        following = numbers[limit][0] if len(numbers) > limit else None
        return lot, units, following

    async def unit_numbers(self, lot_id: uuid.UUID, *, from_sequence: int = 1, limit: int) -> list[tuple[int, str]]:
        """(sequence in LOT, serial number) of the LOT's units, in order (uq_serials_lot_sequence)."""
        rows = await self.session.execute(
            select(Serial.sequence_in_lot, Serial.serial_number)
            .where(Serial.lot_id == lot_id, Serial.sequence_in_lot >= from_sequence)
            .order_by(Serial.sequence_in_lot)
            .limit(limit)
        )
        return list(rows.tuples().all())

    async def _model_name(self, lot: Lot) -> str:
        return await self.session.scalar(select(ProductModel.model_name).where(ProductModel.id == lot.product_model_id))

    async def qr_units(self, lot_id: uuid.UUID, serial_count: int) -> tuple[list[str], int]:
        """The serial numbers a printed traveler shows as QR codes, and how many units it leaves out."""
        numbers = [number for _, number in await self.unit_numbers(lot_id, limit=MAX_UNIT_QR_CODES)]
        return numbers, max(serial_count - len(numbers), 0)
