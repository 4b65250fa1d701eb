"""Returns from customers (RT-, ``returns`` of kind FROM_CUSTOMER): only what shipped and has not
come back yet. A returned unit leaves ``shipped_units``, so it can ship again; units that shipped
by serial number come back by serial number, each from the line that shipped it."""

from __future__ import annotations

from decimal import Decimal

from lathe_common.errors import Conflict
from lathe_contracts.orders import UnitsReturnedEvent
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from lathe_orders.fulfilment import check_returnable
from lathe_orders.numbering import DocumentKind, next_number
from lathe_orders.outbox import outbox
from lathe_orders.returns import Return, ReturnKind, ReturnLine
from lathe_orders.sales_orders.models import SalesOrder, SalesOrderLine, ShipmentLine, ShippedUnit
from lathe_orders.sales_orders.rules import check_return_without_serials
from lathe_orders.sales_orders.schemas import CustomerReturnCreate, CustomerReturnRead
from lathe_orders.sales_orders.service import SalesOrders
from lathe_orders.sales_orders.shipments import movement_lines, order_lines
from lathe_orders.sales_orders.state import announce, movements
from lathe_orders.settings import OrdersSettings, settings


def return_read(order: SalesOrder, document: Return) -> CustomerReturnRead:
    return CustomerReturnRead(
        id=document.id,
        number=document.number,
        sales_order_id=order.id,
        sales_order_number=order.number,
        customer_code=order.customer.code,
        reason=document.reason,
        returned_by=document.returned_by,
        returned_at=document.returned_at,
        lines=movement_lines(order, [(r.sales_order_line_id, r.quantity, r.serial_numbers) for r in document.lines]),
    )


class CustomerReturns:
    def __init__(self, session: AsyncSession, config: OrdersSettings = settings) -> None:
        self.session = session
        self.config = config
        self.orders = SalesOrders(session, config)

    async def of(self, key: str) -> tuple[SalesOrder, list[Return]]:
        order = await self.orders.find(key)
        found = await self.session.scalars(
            select(Return).where(Return.sales_order_id == order.id).order_by(Return.returned_at, Return.number)
        )
        return order, list(found)

    async def _units_out(self, line: SalesOrderLine) -> set[str]:
        return set(
            await self.session.scalars(
                select(ShippedUnit.serial_number)
                .join(ShipmentLine, ShipmentLine.id == ShippedUnit.shipment_line_id)
                .where(ShipmentLine.sales_order_line_id == line.id)
            )
        )

    async def take_back(self, key: str, data: CustomerReturnCreate, *, actor: str | None) -> tuple[SalesOrder, Return]:
        order = await self.orders.find(key, for_update=True)
        pairs = order_lines(order, data.lines)
        for requested, line in pairs:
            check_returnable(movements(line), requested.quantity)
            out = await self._units_out(line)
            if requested.serial_numbers is None:
                check_return_without_serials(line.line_no, movements(line), len(out), requested.quantity)
                continue
            strangers = [s for s in requested.serial_numbers if s not in out]
            if strangers:
                raise Conflict(
                    f"The unit {strangers[0]} is not out at {order.customer.code} from line {line.line_no}.",
                    code="unit_not_out",
                    line_no=line.line_no,
                    serial_number=strangers[0],
                    serial_numbers=strangers,
                )

        number = await next_number(
            self.session, DocumentKind.RETURN, self.config.return_prefix, self.config.number_width
        )
        document = Return(
            number=number,
            kind=ReturnKind.FROM_CUSTOMER.value,
            sales_order_id=order.id,
            reason=data.reason,
            returned_by=actor,
            returned_at=await self.orders.now(),
        )
        serials: list[str] = []
        for requested, line in pairs:
            await self._take_back_on_line(line, requested.quantity)
            taken = list(requested.serial_numbers or ())
            if taken:
                await self._bring_in(line, taken)
                serials += taken
            document.lines.append(
                ReturnLine(sales_order_line_id=line.id, quantity=requested.quantity, serial_numbers=taken)
            )
        self.session.add(document)
        order.version += 1
        await self.session.flush()
        await announce(self.session, order, "returned")
        if serials:
            await outbox.add(
                self.session,
                UnitsReturnedEvent(
                    return_id=document.id,
                    return_number=document.number,
                    sales_order_id=order.id,
                    sales_order_number=order.number,
                    customer_code=order.customer.code,
                    returned_at=document.returned_at.isoformat(),
                    serial_numbers=serials,
                ),
            )
        return order, document

    async def _take_back_on_line(self, line: SalesOrderLine, quantity: Decimal) -> None:
        """The returned quantity grows only within what shipped (the same guard as the table's check)."""
        returned = await self.session.scalar(
            update(SalesOrderLine)
            .where(
                SalesOrderLine.id == line.id,
                SalesOrderLine.returned_quantity + quantity <= SalesOrderLine.shipped_quantity,
            )
            .values(returned_quantity=SalesOrderLine.returned_quantity + quantity)
            .returning(SalesOrderLine.returned_quantity)
            .execution_options(synchronize_session=False)
        )
        if returned is None:
            await self.session.refresh(line)
            check_returnable(movements(line), quantity)
            raise Conflict(f"Line {line.line_no} cannot take back {quantity}.", code="over_return")
        set_committed_value(line, "returned_quantity", returned)

    async def _bring_in(self, line: SalesOrderLine, serials: list[str]) -> None:
        """The units leave the customer: each must still be out from this line when we delete it."""
        shipment_lines = select(ShipmentLine.id).where(ShipmentLine.sales_order_line_id == line.id)
        removed = set(
            await self.session.scalars(
                delete(ShippedUnit)
                .where(ShippedUnit.serial_number.in_(serials), ShippedUnit.shipment_line_id.in_(shipment_lines))
                .returning(ShippedUnit.serial_number)
                .execution_options(synchronize_session=False)
            )
        )
        missing = [s for s in serials if s not in removed]
        if missing:
            raise Conflict(
                f"The unit {missing[0]} is no longer out from line {line.line_no}.",
                code="unit_not_out",
                line_no=line.line_no,
                serial_number=missing[0],
                serial_numbers=missing,
            )
