"""Consuming components, and tracing genealogy with one recursive query per direction."""

from __future__ import annotations

import uuid

from lathe_common.db import time_ordered_id
from lathe_common.errors import Conflict, NotFound
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.events import ComponentsConsumedEvent
from lathe_production.genealogy.models import Component
from lathe_production.genealogy.schemas import ComponentsConsumed, Direction, Genealogy, GenealogyLink
from lathe_production.lots.models import Lot, Serial
from lathe_production.outbox import outbox
from lathe_production.process_data.judging import SerialStatus, check_unit_open

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


class Genealogies:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def consume(self, parent_number: str, body: ComponentsConsumed) -> list[GenealogyLink]:
        parent = await self._serial(parent_number, for_update=True)
        check_unit_open(SerialStatus(parent.status))
        rows = []
        for ref in body.components:
            row = Component(
                id=time_ordered_id(),
                parent_serial_id=parent.id,
                quantity=ref.quantity,
                process_code=body.process_code,
                operator=body.operator,
            )
            if ref.serial_number is not None:
                child = await self._serial(ref.serial_number, for_update=True)
                await self._check_usable(parent, child)
                row.child_serial_id = child.id
            else:
                lot = await self.session.scalar(select(Lot).where(Lot.lot_number == ref.lot_number))
                if lot is None:
                    raise NotFound(f"No LOT {ref.lot_number}.", code="unknown_lot")
                row.child_lot_id = lot.id
            self.session.add(row)
            rows.append(row)
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
            ),
        )
        return [link for link in (await self.trace(parent.serial_number, Direction.BACKWARD)).links if link.depth == 1]

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
            raise NotFound(f"No serial {number}.", code="unknown_serial")
        return serial
