"""Where units are: out at which customer, taken there by which shipment, for which sales order.

Recall impact reaches the customer through it: production's forward genealogy names the units a
component went into; ``shipped_units`` says which of them are out, and where.
"""

from __future__ import annotations

from collections.abc import Sequence

from lathe_common.errors import Conflict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.partners.models import Partner
from lathe_orders.sales_orders.models import SalesOrder, SalesOrderLine, Shipment, ShipmentLine, ShippedUnit
from lathe_orders.sales_orders.schemas import (
    CustomerRef,
    RecallImpact,
    SalesOrderRef,
    ShipmentRef,
    ShippedUnitRead,
)

CHUNK = 5000  # serial numbers per query


class ShippedUnits:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def out(self, serials: Sequence[str]) -> list[ShippedUnitRead]:
        """The units of ``serials`` that are out at a customer, by serial number."""
        found: list[ShippedUnitRead] = []
        unique = sorted(set(serials))
        for start in range(0, len(unique), CHUNK):
            rows = await self.session.execute(
                select(
                    ShippedUnit.serial_number,
                    ShippedUnit.shipped_at,
                    Shipment.id,
                    Shipment.number,
                    SalesOrder.id,
                    SalesOrder.number,
                    SalesOrder.customer_po_number,
                    SalesOrderLine.line_no,
                    SalesOrderLine.model_code,
                    Partner.id,
                    Partner.code,
                    Partner.name,
                )
                .join(ShipmentLine, ShipmentLine.id == ShippedUnit.shipment_line_id)
                .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
                .join(SalesOrderLine, SalesOrderLine.id == ShipmentLine.sales_order_line_id)
                .join(SalesOrder, SalesOrder.id == Shipment.sales_order_id)
                .join(Partner, Partner.id == ShippedUnit.customer_id)
                .where(ShippedUnit.serial_number.in_(unique[start : start + CHUNK]))
                .order_by(ShippedUnit.serial_number)
            )
            found += [
                ShippedUnitRead(
                    serial_number=serial,
                    model_code=model_code,
                    customer=CustomerRef(id=customer_id, code=customer_code, name=customer_name),
                    shipment=ShipmentRef(id=shipment_id, number=shipment_number, shipped_at=shipped_at),
                    sales_order=SalesOrderRef(id=order_id, number=order_number, customer_po_number=po, line_no=line_no),
                )
                for (
                    serial,
                    shipped_at,
                    shipment_id,
                    shipment_number,
                    order_id,
                    order_number,
                    po,
                    line_no,
                    model_code,
                    customer_id,
                    customer_code,
                    customer_name,
                ) in rows
            ]
        return found

    async def impact(self, serials: Sequence[str]) -> RecallImpact:
        items = await self.out(serials)
        out = {item.serial_number for item in items}
        return RecallImpact(items=items, not_shipped=sorted(set(serials) - out))

    async def refuse_out(self, serials: Sequence[str], *, known_out: bool = False) -> None:
        """409 ``unit_already_shipped`` if any of ``serials`` is out at a customer, with where the
        first one is (``known_out``: the database already said they are, refuse even if the row is
        gone again by now)."""
        if not serials:
            return
        out = await self.out(serials)
        if not out and not known_out:
            return
        where = (
            {
                "serial_number": out[0].serial_number,
                "customer_code": out[0].customer.code,
                "shipment_number": out[0].shipment.number,
                "sales_order_number": out[0].sales_order.number,
                "shipped_at": out[0].shipment.shipped_at.isoformat(),
            }
            if out
            else {"serial_number": serials[0]}
        )
        raise Conflict(
            f"The unit {where['serial_number']} is out at a customer"
            + (f" ({where['customer_code']}, {where['shipment_number']})." if out else "."),
            code="unit_already_shipped",
            **where,
            serial_numbers=[item.serial_number for item in out] or list(serials),
        )
