"""The kinds of order an ERP may send, each applied through its own service (the REST API's rules).

A later revision is the whole document again, in the create shape: it is turned into the change
that makes the order look like it, with lines matched by position (the ERP's first line is the
order's first line, ...), further lines added and missing ones removed. The service then applies
that change as it would a PATCH, so what the API refuses after approval or confirmation (removing a
line, a quantity below what was received or shipped) is refused here with the same code."""

from __future__ import annotations

from typing import Any

from lathe_contracts import erp
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.erp.inbound import ErpKind, ErpOrigin
from lathe_orders.purchase_orders.models import PurchaseOrder
from lathe_orders.purchase_orders.schemas import PurchaseOrderCreate, PurchaseOrderUpdate
from lathe_orders.purchase_orders.service import PurchaseOrders
from lathe_orders.sales_orders.models import SalesOrder
from lathe_orders.sales_orders.schemas import SalesOrderCreate, SalesOrderUpdate
from lathe_orders.sales_orders.service import ExternalRef as SalesExternalRef
from lathe_orders.sales_orders.service import SalesOrders
from lathe_orders.work_orders.models import WorkOrder
from lathe_orders.work_orders.schemas import WorkOrderCreate, WorkOrderUpdate
from lathe_orders.work_orders.service import ExternalRef as WorkExternalRef
from lathe_orders.work_orders.service import WorkOrders


async def create_purchase_order(session: AsyncSession, document: PurchaseOrderCreate, origin: ErpOrigin) -> Any:
    external = (origin.source, origin.external_id, origin.revision)
    return await PurchaseOrders(session).create(document, actor=origin.actor, external=external)


async def change_purchase_order(
    session: AsyncSession, order: PurchaseOrder, document: PurchaseOrderCreate, origin: ErpOrigin
) -> Any:
    change = PurchaseOrderUpdate.from_document(document, [line.line_no for line in order.lines])
    return await PurchaseOrders(session).change(
        str(order.id), change, actor=origin.actor, unconditional=True, external_revision=origin.revision
    )


async def create_sales_order(session: AsyncSession, document: SalesOrderCreate, origin: ErpOrigin) -> Any:
    external = SalesExternalRef(origin.source, origin.external_id, origin.revision)
    return await SalesOrders(session).create(document, actor=origin.actor, external=external)


async def change_sales_order(
    session: AsyncSession, order: SalesOrder, document: SalesOrderCreate, origin: ErpOrigin
) -> Any:
    external = SalesExternalRef(origin.source, origin.external_id, origin.revision)
    change = SalesOrderUpdate.from_create(document, [line.line_no for line in order.lines])
    return await SalesOrders(session).change(str(order.id), change, actor=origin.actor, external=external)


async def create_work_order(session: AsyncSession, document: WorkOrderCreate, origin: ErpOrigin) -> Any:
    external = WorkExternalRef(origin.source, origin.external_id, origin.revision)
    return await WorkOrders(session).create(document, actor=origin.actor, external=external)


async def change_work_order(
    session: AsyncSession, order: WorkOrder, document: WorkOrderCreate, origin: ErpOrigin
) -> Any:
    external = WorkExternalRef(origin.source, origin.external_id, origin.revision)
    changed = await WorkOrders(session).update(
        str(order.id), WorkOrderUpdate(**document.model_dump()), actor=origin.actor, external=external
    )
    changed.external_revision = origin.revision  # also when the revision changed nothing
    return changed


ERP_KINDS: dict[str, ErpKind] = {
    kind.topic: kind
    for kind in (
        ErpKind(
            erp.PURCHASE_ORDERS_TOPIC,
            "purchase order",
            PurchaseOrder,
            PurchaseOrderCreate,
            create_purchase_order,
            change_purchase_order,
        ),
        ErpKind(
            erp.SALES_ORDERS_TOPIC, "sales order", SalesOrder, SalesOrderCreate, create_sales_order, change_sales_order
        ),
        ErpKind(erp.WORK_ORDERS_TOPIC, "work order", WorkOrder, WorkOrderCreate, create_work_order, change_work_order),
    )
}
