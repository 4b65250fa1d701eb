"""Consuming components (the rules in ``rules.py``; a LOT's quantity drawn by a guarded UPDATE;
the consuming unit's BOM in ``bom_rules.py``), and tracing genealogy with one recursive query per
direction."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import NoReturn

from lathe_common.db import time_ordered_id
from lathe_common.errors import Conflict, NotFound
from lathe_contracts.production import ComponentsConsumedEvent
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from lathe_production.genealogy.bom_rules import BomCheck, BomDeviation, Draw, bom_deviations, judge
from lathe_production.genealogy.models import Component
from lathe_production.genealogy.rules import (
    UNUSABLE_LOT_STATUSES,
    check_component_usable,
    check_lot_quantity,
    check_lot_usable,
    quantities_by_lot,
)
from lathe_production.genealogy.schemas import ComponentRef, ComponentsConsumed, Direction, Genealogy, GenealogyLink
from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.rules import LotStatus, SerialStatus, check_unit_open
from lathe_production.outbox import outbox
from lathe_production.product_models.revisions import pinned_bom
from lathe_production.settings import settings

_LINK_COLUMNS = """
    t.depth, p.serial_number AS parent_serial_number, cs.serial_number, cl.lot_number,
    t.quantity, t.process_code, t.consumed_at
"""
_JOIN_NAMES = """
    JOIN production.serials p ON p.id = t.parent_serial_id
    LEFT JOIN production.serials cs ON cs.id = t.child_serial_id
    LEFT JOIN production.lots cl ON cl.id = t.child_lot_id
"""
# Everything inside a unit: its components, their components, ... (depth-limited against bad data).
BACKWARD = text(f"""
    WITH RECURSIVE t AS (
        SELECT c.*, 1 AS depth FROM production.components c WHERE c.parent_serial_id = :root
        UNION ALL
        SELECT c.*, t.depth + 1 FROM production.components c
        JOIN t ON c.parent_serial_id = t.child_serial_id WHERE t.depth < 50
    )
    SELECT {_LINK_COLUMNS} FROM t {_JOIN_NAMES} ORDER BY t.depth, t.consumed_at
""")
# Every assembly a unit or a LOT ended up in, up to the finished products: the recall list.
FORWARD = text(f"""
    WITH RECURSIVE t AS (
        SELECT c.*, 1 AS depth FROM production.components c
        WHERE c.child_serial_id = :root OR c.child_lot_id = :root
        UNION ALL
        SELECT c.*, t.depth + 1 FROM production.components c
        JOIN t ON c.child_serial_id = t.parent_serial_id WHERE t.depth < 50
    )
    SELECT {_LINK_COLUMNS} FROM t {_JOIN_NAMES} ORDER BY t.depth, t.consumed_at
""")
CONTAINS = text("""
    WITH RECURSIVE t AS (
        SELECT child_serial_id, 1 AS depth FROM production.components WHERE parent_serial_id = :outer
        UNION ALL
        SELECT c.child_serial_id, t.depth + 1 FROM production.components c
        JOIN t ON c.parent_serial_id = t.child_serial_id WHERE t.depth < 50
    )
    SELECT EXISTS (SELECT 1 FROM t WHERE child_serial_id = :inner)
""")


def _named(ref: ComponentRef) -> tuple[str, str]:
    return ("serial", ref.serial_number) if ref.serial_number is not None else ("lot", ref.lot_number or "")


class Genealogies:
    def __init__(self, session: AsyncSession, bom_check: BomCheck | None = None) -> None:
        self.session = session
        self.bom_check = bom_check or BomCheck(settings.bom_check)

    async def consume(
        self, parent_number: str, body: ComponentsConsumed
    ) -> tuple[list[GenealogyLink], list[BomDeviation]]:
        """What the unit directly contains now, and the BOM deviations let through (warn only)."""
        units = await self._lock_units(parent_number, [r.serial_number for r in body.components if r.serial_number])
        parent = units[parent_number]
        check_unit_open(SerialStatus(parent.status))
        codes = await self._component_codes(body) if self.bom_check is not BomCheck.OFF else {}
        # Under the unit's row lock: a concurrent consumption into the same unit waits for this one
        # and then counts what it consumed, so no interleaving can take more than a line allows.
        deviations = await self._check_bom(parent, body, codes)
        marks = {d.component_code: d.code for d in deviations}

        def component(ref: ComponentRef, **child: uuid.UUID) -> Component:
            return Component(
                id=time_ordered_id(),
                parent_serial_id=parent.id,
                quantity=ref.quantity,
                process_code=body.process_code,
                operator=body.operator,
                bom_deviation=marks.get(codes.get(_named(ref), "")),
                **child,
            )

        for ref in body.components:
            if ref.serial_number is not None:
                child = units[ref.serial_number]
                check_component_usable(child.serial_number, SerialStatus(child.status))
                await self._check_usable(parent, child)  # autoflushes the rows before: a repeat is caught
                self.session.add(component(ref, child_serial_id=child.id))
        lot_refs = [ref for ref in body.components if ref.lot_number is not None]
        lots = await self._draw_from_lots(quantities_by_lot((ref.lot_number, ref.quantity) for ref in lot_refs))
        self.session.add_all(component(ref, child_lot_id=lots[ref.lot_number]) for ref in lot_refs)
        await self.session.flush()
        await outbox.add(
            self.session,
            ComponentsConsumedEvent(
                parent_serial_id=parent.id,
                parent_serial_number=parent.serial_number,
                process_code=body.process_code,
                operator=body.operator,
                components=[
                    {"serial_number": r.serial_number, "lot_number": r.lot_number, "quantity": str(r.quantity)}
                    for r in body.components
                ],
                bom_deviations=[d.as_dict() for d in deviations],
            ),
        )
        links = (await self.trace(parent.serial_number, Direction.BACKWARD)).links
        return [link for link in links if link.depth == 1], deviations

    async def _component_codes(self, body: ComponentsConsumed) -> dict[tuple[str, str], str]:
        """The product model code of each named unit and LOT, by ``_named`` (a LOT that does not
        exist is left out: drawing from it answers lot_not_found)."""
        serials = [r.serial_number for r in body.components if r.serial_number is not None]
        lots = [r.lot_number for r in body.components if r.lot_number is not None]
        codes: dict[tuple[str, str], str] = {}
        if serials:
            rows = await self.session.execute(
                select(Serial.serial_number, Lot.model_code)
                .join(Lot, Lot.id == Serial.lot_id)
                .where(Serial.serial_number.in_(serials))
            )
            codes.update({("serial", number): code for number, code in rows})
        if lots:
            rows = await self.session.execute(select(Lot.lot_number, Lot.model_code).where(Lot.lot_number.in_(lots)))
            codes.update({("lot", number): code for number, code in rows})
        return codes

    async def _check_bom(
        self, parent: Serial, body: ComponentsConsumed, codes: dict[tuple[str, str], str]
    ) -> list[BomDeviation]:
        if self.bom_check is BomCheck.OFF:
            return []
        lines = await pinned_bom(self.session, parent.lot_id)
        if not lines:
            return []
        wanted = [Draw(codes[_named(r)], body.process_code, r.quantity) for r in body.components if _named(r) in codes]
        child_lot, child_serial, serial_lot = aliased(Lot), aliased(Serial), aliased(Lot)
        rows = await self.session.execute(
            select(
                func.coalesce(child_lot.model_code, serial_lot.model_code), Component.process_code, Component.quantity
            )
            .outerjoin(child_lot, child_lot.id == Component.child_lot_id)
            .outerjoin(child_serial, child_serial.id == Component.child_serial_id)
            .outerjoin(serial_lot, serial_lot.id == child_serial.lot_id)
            .where(Component.parent_serial_id == parent.id)
        )
        consumed = [Draw(code, step, quantity) for code, step, quantity in rows]
        return judge(self.bom_check, bom_deviations(lines, consumed=consumed, wanted=wanted))

    async def _lock_units(self, parent_number: str, child_numbers: list[str]) -> dict[str, Serial]:
        """The consuming unit and its unit components, locked in id order and ``FOR NO KEY UPDATE``
        as the step recorder locks units, so neither two requests naming the same units nor a
        request and a machine batch can deadlock."""
        wanted = {parent_number, *child_numbers}
        found = (
            await self.session.scalars(
                select(Serial)
                .where(Serial.serial_number.in_(sorted(wanted)))
                .order_by(Serial.id)
                .with_for_update(key_share=True)
            )
        ).all()
        units = {serial.serial_number: serial for serial in found}
        for number in [parent_number, *child_numbers]:
            if number not in units:
                raise NotFound(f"No serial {number}.", code="serial_not_found")
        return units

    async def _draw_from_lots(self, wanted: dict[str, Decimal]) -> dict[str, uuid.UUID]:
        """Take each LOT's quantity with one guarded UPDATE, LOTs in id order (after the units, as
        the step recorder does). The WHERE clause is re-checked on the latest row version after a
        concurrent consumer commits, so no interleaving can over-draw a LOT; the CHECK constraint
        on ``lots`` stands behind it. Returns the LOTs' ids by number."""
        if not wanted:
            return {}
        found = (
            await self.session.execute(select(Lot.lot_number, Lot.id).where(Lot.lot_number.in_(list(wanted))))
        ).all()
        ids = {number: lot_id for number, lot_id in found}
        for number in wanted:
            if number not in ids:
                raise NotFound(f"No LOT {number}.", code="lot_not_found")
        usable = [s.value for s in LotStatus if s not in UNUSABLE_LOT_STATUSES]
        for number in sorted(wanted, key=lambda n: ids[n]):
            quantity = wanted[number]
            drawn = await self.session.scalar(
                update(Lot)
                .where(
                    Lot.id == ids[number],
                    Lot.status.in_(usable),
                    Lot.consumed_quantity + quantity <= Lot.target_quantity,
                )
                .values(consumed_quantity=Lot.consumed_quantity + quantity)
                .returning(Lot.consumed_quantity)
            )
            if drawn is None:
                await self._refuse_draw(ids[number], number, quantity)
        return ids

    async def _refuse_draw(self, lot_id: uuid.UUID, number: str, quantity: Decimal) -> NoReturn:
        """Say which rule the refused draw broke, from the LOT as it is now (committed)."""
        lot = (
            await self.session.execute(
                select(Lot.status, Lot.target_quantity, Lot.consumed_quantity).where(Lot.id == lot_id)
            )
        ).one()
        check_lot_usable(number, LotStatus(lot.status))
        check_lot_quantity(number, holds=lot.target_quantity, consumed=lot.consumed_quantity, wanted=quantity)
        # Both hold now, so the LOT changed between the UPDATE and this read: the client may retry.
        raise Conflict(f"LOT {number} changed while it was being consumed; retry.", code="conflict")

    async def _check_usable(self, parent: Serial, child: Serial) -> None:
        if child.id == parent.id:
            raise Conflict("A unit cannot contain itself.", code="component_cycle")
        used_in = await self.session.scalar(
            select(Serial.serial_number)
            .join(Component, Component.parent_serial_id == Serial.id)
            .where(Component.child_serial_id == child.id)
        )
        if used_in is not None:
            raise Conflict(
                f"Unit {child.serial_number} is already built into {used_in}.",
                code="component_already_used",
                used_in=used_in,
            )
        if await self.session.scalar(CONTAINS, {"outer": child.id, "inner": parent.id}):
            raise Conflict(
                f"Unit {child.serial_number} already contains {parent.serial_number}.", code="component_cycle"
            )

    async def trace(self, serial_number: str, direction: Direction) -> Genealogy:
        root = await self._serial(serial_number)
        return await self._trace(root.id, serial_number, direction)

    async def trace_lot(self, lot: Lot) -> Genealogy:
        return await self._trace(lot.id, lot.lot_number, Direction.FORWARD)

    async def _trace(self, root_id: uuid.UUID, root_name: str, direction: Direction) -> Genealogy:
        query = BACKWARD if direction is Direction.BACKWARD else FORWARD
        links = [GenealogyLink(**row._mapping) for row in await self.session.execute(query, {"root": root_id})]
        if direction is Direction.BACKWARD:
            units = [link.serial_number for link in links if link.serial_number]
        else:
            units = [link.parent_serial_number for link in links]
        return Genealogy(root=root_name, direction=direction, links=links, units=sorted(set(units)))

    async def _serial(self, number: str, *, for_update: bool = False) -> Serial:
        statement = select(Serial).where(Serial.serial_number == number)
        serial = await self.session.scalar(statement.with_for_update() if for_update else statement)
        if serial is None:
            raise NotFound(f"No serial {number}.", code="serial_not_found")
        return serial
