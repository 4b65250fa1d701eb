"""Shipments (DN-) against confirmed sales orders, and the units they take to customers.

Two limits hold whatever the concurrency, in the database: a line never ships beyond its ordered
quantity plus the tolerance (a guarded ``UPDATE`` of the line: it changes the line only if the
result stays within it), and a unit is out at one customer at most (``shipped_units`` has the serial
number as its primary key, so a second shipment of the unit finds it there, from any order). The
order's row is locked first, as every change of it does: its shipments and changes take turns, so
each announces a state that includes the ones before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from lathe_common.errors import Conflict, NotFound
from lathe_contracts.orders import UnitsShippedEvent
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from lathe_orders.fulfilment import check_within_tolerance
from lathe_orders.lifecycles import SalesOrderStatus
from lathe_orders.numbering import DocumentKind, next_number
from lathe_orders.outbox import outbox
from lathe_orders.projections.models import LotView, UnitView
from lathe_orders.sales_orders.models import SalesOrder, SalesOrderLine, Shipment, ShipmentLine, ShippedUnit
from lathe_orders.sales_orders.recall import ShippedUnits
from lathe_orders.sales_orders.rules import UnitFacts, check_distinct, check_serial_count, check_units_shippable
from lathe_orders.sales_orders.schemas import SalesMovementLine, SalesMovementLineRead, ShipmentCreate, ShipmentRead
from lathe_orders.sales_orders.service import SalesOrders
from lathe_orders.sales_orders.state import announce, movements
from lathe_orders.settings import OrdersSettings, settings

HUNDRED = Decimal(100)
CHUNK = 1000  # rows per INSERT (four parameters each, far below the protocol's 32,767)


def order_lines(
    order: SalesOrder, requested: Sequence[SalesMovementLine]
) -> list[tuple[SalesMovementLine, SalesOrderLine]]:
    """Each requested line with the order's line it names (each named once, each existing), and the
    serial numbers of the whole request distinct."""
    check_distinct([r.line_no for r in requested], code="duplicate_line", what="line number")
    check_distinct(
        [s for r in requested for s in r.serial_numbers or ()], code="duplicate_serial_numbers", what="serial number"
    )
    by_no = {line.line_no: line for line in order.lines}
    pairs = []
    for r in requested:
        if r.line_no not in by_no:
            raise NotFound(f"{order.number} has no line {r.line_no}.", code="line_not_found", line_no=r.line_no)
        line = by_no[r.line_no]
        if r.serial_numbers is not None:
            check_serial_count(r.line_no, r.quantity, line.conversion_factor, len(r.serial_numbers))
        pairs.append((r, line))
    return pairs


def movement_lines(
    order: SalesOrder, lines: Sequence[tuple[object, Decimal, list[str]]]
) -> list[SalesMovementLineRead]:
    """(order line id, quantity, serials) as the API shows them, by line number."""
    by_id = {line.id: line for line in order.lines}
    shown = [
        SalesMovementLineRead(
            line_no=by_id[line_id].line_no,
            model_code=by_id[line_id].model_code,
            quantity=quantity,
            serial_numbers=list(serials),
        )
        for line_id, quantity, serials in lines
        if line_id in by_id
    ]
    return sorted(shown, key=lambda m: m.line_no)


def shipment_read(order: SalesOrder, shipment: Shipment) -> ShipmentRead:
    return ShipmentRead(
        id=shipment.id,
        number=shipment.number,
        sales_order_id=order.id,
        sales_order_number=order.number,
        customer_code=order.customer.code,
        shipped_by=shipment.shipped_by,
        shipped_at=shipment.shipped_at,
        lines=movement_lines(order, [(s.sales_order_line_id, s.quantity, s.serial_numbers) for s in shipment.lines]),
    )


class Shipments:
    def __init__(self, session: AsyncSession, config: OrdersSettings = settings) -> None:
        self.session = session
        self.config = config
        self.orders = SalesOrders(session, config)

    async def of(self, key: str) -> tuple[SalesOrder, list[Shipment]]:
        order = await self.orders.find(key)
        shipments = await self.session.scalars(
            select(Shipment).where(Shipment.sales_order_id == order.id).order_by(Shipment.shipped_at, Shipment.number)
        )
        return order, list(shipments)

    async def ship(self, key: str, data: ShipmentCreate, *, actor: str | None) -> tuple[SalesOrder, Shipment]:
        order = await self.orders.find(key, for_update=True)
        if order.status != SalesOrderStatus.CONFIRMED:
            raise Conflict(
                f"{order.number} is {order.status}: only a CONFIRMED order ships.",
                code="sales_order_not_confirmed",
                current_status=order.status,
            )
        pairs = order_lines(order, data.lines)
        tolerance = self.config.over_delivery_tolerance_percent
        for requested, line in pairs:
            if line.closed_short:
                raise Conflict(f"Line {line.line_no} is closed short.", code="line_closed", line_no=line.line_no)
            check_within_tolerance(movements(line), requested.quantity, tolerance, what="delivery")
        await self._check_units(pairs)
        await ShippedUnits(self.session).refuse_out([s for r, _ in pairs for s in r.serial_numbers or ()])

        number = await next_number(
            self.session, DocumentKind.SHIPMENT, self.config.shipment_prefix, self.config.number_width
        )
        shipment = Shipment(
            number=number,
            sales_order_id=order.id,
            customer_id=order.customer_id,
            shipped_by=actor,
            shipped_at=await self.orders.now(),
        )
        for requested, line in pairs:
            await self._add_to_line(line, requested.quantity, tolerance)
            shipment.lines.append(
                ShipmentLine(
                    sales_order_line_id=line.id,
                    quantity=requested.quantity,
                    serial_numbers=list(requested.serial_numbers or ()),
                )
            )
        self.session.add(shipment)
        await self.session.flush()
        serials = await self._take_out(order, shipment)
        order.version += 1
        await self.session.flush()
        await announce(self.session, order, "shipped")
        if serials:
            await outbox.add(
                self.session,
                UnitsShippedEvent(
                    shipment_id=shipment.id,
                    shipment_number=shipment.number,
                    sales_order_id=order.id,
                    sales_order_number=order.number,
                    customer_code=order.customer.code,
                    customer_name=order.customer.name,
                    shipped_at=shipment.shipped_at.isoformat(),
                    serial_numbers=serials,
                ),
            )
        return order, shipment

    async def _check_units(self, pairs: Sequence[tuple[SalesMovementLine, SalesOrderLine]]) -> None:
        """Each serial a PASSED unit of its line's model, as production announced it."""
        wanted = [s for r, _ in pairs for s in r.serial_numbers or ()]
        if not wanted:
            return
        rows = await self.session.execute(
            select(UnitView.serial_number, UnitView.status, func.coalesce(UnitView.model_code, LotView.model_code))
            .outerjoin(LotView, LotView.lot_id == UnitView.lot_id)
            .where(UnitView.serial_number.in_(wanted))
        )
        units = {serial: UnitFacts(serial, status, model) for serial, status, model in rows}
        for requested, line in pairs:
            if requested.serial_numbers:
                check_units_shippable(line.model_code, requested.serial_numbers, units)

    async def _add_to_line(self, line: SalesOrderLine, quantity: Decimal, tolerance: Decimal) -> None:
        """The line's shipped quantity grows only while the net stays within ordered + tolerance and
        the line is open: the database decides, so no interleaving can over-deliver."""
        shipped = await self.session.scalar(
            update(SalesOrderLine)
            .where(
                SalesOrderLine.id == line.id,
                SalesOrderLine.closed_short.is_(False),
                (SalesOrderLine.shipped_quantity - SalesOrderLine.returned_quantity + quantity) * HUNDRED
                <= SalesOrderLine.quantity * (HUNDRED + tolerance),
            )
            .values(shipped_quantity=SalesOrderLine.shipped_quantity + quantity)
            .returning(SalesOrderLine.shipped_quantity)
            .execution_options(synchronize_session=False)
        )
        if shipped is None:
            await self.session.refresh(line)
            check_within_tolerance(movements(line), quantity, tolerance, what="delivery")
            raise Conflict(f"Line {line.line_no} cannot take {quantity} more.", code="over_delivery")
        set_committed_value(line, "shipped_quantity", shipped)

    async def _take_out(self, order: SalesOrder, shipment: Shipment) -> list[str]:
        """Records each unit as out at the customer. The primary key decides between two shipments
        of one unit (a concurrent one waits for ours, or ours for it): the loser inserts nothing.
        Units are inserted in serial-number order, so two shipments of the same units always
        meet on the same first one and never wait for each other in a cycle."""
        rows = sorted(
            (
                {
                    "serial_number": serial,
                    "shipment_line_id": shipment_line.id,
                    "customer_id": order.customer_id,
                    "shipped_at": shipment.shipped_at,
                }
                for shipment_line in shipment.lines
                for serial in shipment_line.serial_numbers
            ),
            key=lambda row: row["serial_number"],
        )
        inserted: set[str] = set()
        for start in range(0, len(rows), CHUNK):
            inserted.update(
                await self.session.scalars(
                    insert(ShippedUnit)
                    .values(rows[start : start + CHUNK])
                    .on_conflict_do_nothing(index_elements=[ShippedUnit.serial_number])
                    .returning(ShippedUnit.serial_number)
                )
            )
        lost = [r["serial_number"] for r in rows if r["serial_number"] not in inserted]
        await ShippedUnits(self.session).refuse_out(lost, known_out=True)
        return [serial for shipment_line in shipment.lines for serial in shipment_line.serial_numbers]
