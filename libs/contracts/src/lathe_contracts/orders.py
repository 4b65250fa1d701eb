"""Facts the orders service announces: every change of a document with its full state (so an ERP
can mirror Lathe without calling back), and the work-order facts production acts on."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from lathe_common.events import DomainEvent
from pydantic import BaseModel, Field

PURCHASE_ORDERS_TOPIC = "lathe.orders.purchase-orders.v1"
SALES_ORDERS_TOPIC = "lathe.orders.sales-orders.v1"
WORK_ORDERS_TOPIC = "lathe.orders.work-orders.v1"


class _DocumentChanged(DomainEvent):
    id: uuid.UUID
    number: str
    change: str  # what happened: created, updated, submitted, approved, received, closed, ...
    document: dict[str, Any]  # the document as GET answers it, after the change
    # Added for the audit trail: the top-level fields of ``document`` that differ from the
    # document's previous event, and their old values (a value too large to travel is named in
    # ``changed`` only). Empty for a creation, and for the first change of a document announced
    # before this field existed.
    changed: list[str] = Field(default_factory=list)
    previous: dict[str, Any] = Field(default_factory=dict)


class PurchaseOrderChangedEvent(_DocumentChanged):
    event_type: ClassVar[str] = "lathe.orders.purchase-order.changed.v1"
    topic: ClassVar[str] = PURCHASE_ORDERS_TOPIC


class ReceivedGoods(BaseModel):
    """One line of a goods receipt: what came in of one item, and the supplier's LOT and serial
    numbers for it (production's genealogy can trace a unit's components back to them)."""

    line_no: int
    item_code: str
    unit: str
    quantity: str  # decimal strings, as in the REST API; rejected ones included
    rejected_quantity: str
    accepted_quantity: str
    lot_numbers: list[str]
    serial_numbers: list[str]


class GoodsReceivedEvent(DomainEvent):
    """A goods receipt (GR-) against a purchase order. Keyed by the purchase order, so it stays in
    order with the order's own changes."""

    event_type: ClassVar[str] = "lathe.orders.goods-received.v1"
    topic: ClassVar[str] = PURCHASE_ORDERS_TOPIC
    aggregate_field: ClassVar[str] = "purchase_order_id"

    id: uuid.UUID  # the receipt's
    number: str  # GR-000001
    purchase_order_id: uuid.UUID
    purchase_order_number: str
    supplier_code: str
    delivery_note: str | None
    received_by: str | None
    received_at: str  # ISO 8601, UTC
    lines: list[ReceivedGoods]


class SalesOrderChangedEvent(_DocumentChanged):
    event_type: ClassVar[str] = "lathe.orders.sales-order.changed.v1"
    topic: ClassVar[str] = SALES_ORDERS_TOPIC


class UnitsShippedEvent(DomainEvent):
    """Units went to a customer with a shipment (DN-): recall impact reaches the customer from a
    unit. Keyed by the sales order, so it stays in order with the order's own changes."""

    event_type: ClassVar[str] = "lathe.orders.units.shipped.v1"
    topic: ClassVar[str] = SALES_ORDERS_TOPIC
    aggregate_field: ClassVar[str] = "sales_order_id"

    shipment_id: uuid.UUID
    shipment_number: str  # DN-000001
    sales_order_id: uuid.UUID
    sales_order_number: str
    customer_code: str
    customer_name: str
    shipped_at: str  # ISO 8601, UTC
    serial_numbers: list[str]


class UnitsReturnedEvent(DomainEvent):
    """Units came back from a customer with a return (RT-): they are no longer out there (and may
    ship again). Keyed by the sales order."""

    event_type: ClassVar[str] = "lathe.orders.units.returned.v1"
    topic: ClassVar[str] = SALES_ORDERS_TOPIC
    aggregate_field: ClassVar[str] = "sales_order_id"

    return_id: uuid.UUID
    return_number: str  # RT-000001
    sales_order_id: uuid.UUID
    sales_order_number: str
    customer_code: str
    returned_at: str  # ISO 8601, UTC
    serial_numbers: list[str]


class WorkOrderChangedEvent(_DocumentChanged):
    event_type: ClassVar[str] = "lathe.orders.work-order.changed.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC


class WorkOrderReleasedEvent(DomainEvent):
    """Production is to make ``quantity`` units of ``model_code``: it plans the LOTs."""

    event_type: ClassVar[str] = "lathe.orders.work-order.released.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC

    id: uuid.UUID
    number: str
    model_code: str
    quantity: int
    priority: str
    due_date: str | None
    create_serials: bool


class WorkOrderCancelledEvent(DomainEvent):
    """Production cancels the work order's LOTs that have not started; started ones are left to the plant."""

    event_type: ClassVar[str] = "lathe.orders.work-order.cancelled.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC

    id: uuid.UUID
    number: str


class WorkOrderReplacementRequestedEvent(DomainEvent):
    """Units were scrapped and the work order asks for them to be made again: one more LOT."""

    event_type: ClassVar[str] = "lathe.orders.work-order.replacement-requested.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC

    id: uuid.UUID
    number: str
    model_code: str
    quantity: int
    create_serials: bool
    # 1, 2, ...: one plan per request, whatever the redeliveries. Replacements and quantity
    # increases (WorkOrderQuantityIncreasedEvent) share the numbering; the release is request 0.
    request_no: int


class WorkOrderQuantityIncreasedEvent(DomainEvent):
    """A released work order's quantity was raised: production plans LOTs for the difference."""

    event_type: ClassVar[str] = "lathe.orders.work-order.quantity-increased.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC

    id: uuid.UUID
    number: str
    model_code: str
    quantity: int  # the increase: what production is to plan now
    new_quantity: int  # the work order's quantity after the change
    create_serials: bool
    request_no: int  # numbered with the replacements (see WorkOrderReplacementRequestedEvent)


class WorkOrderCompletedEvent(DomainEvent):
    event_type: ClassVar[str] = "lathe.orders.work-order.completed.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC

    id: uuid.UUID
    number: str
    quantity: int
    quantity_good: int
    quantity_scrapped: int
