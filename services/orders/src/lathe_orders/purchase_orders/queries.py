"""The purchase-order list: filters, the orders it can be read in (each backed by an index), and
the CSV exports (one row per order, or one per line).

Newest first is ``(created_at, id)``; with a status, supplier or receipt-state filter the
matching composite index ``(<filter>, created_at, id)`` serves filter and order at once
(migration 0004). A range of expected dates up to three months is looked up on their own index
and sorted; ``q`` looks into the number, the notes and the ERP's id (a scan of the orders in the
list's order until a page is found: it costs what the orders before the matches cost to read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from sqlalchemy import ColumnElement, Select, literal_column, select
from sqlalchemy.orm import contains_eager, raiseload

from lathe_orders.fulfilment import ReceiptState
from lathe_orders.lifecycles import PurchaseOrderStatus
from lathe_orders.money import round_to
from lathe_orders.partners.models import Partner, PartnerKind
from lathe_orders.purchase_orders.models import PurchaseOrder, PurchaseOrderLine
from lathe_orders.purchase_orders.views import movements, plain

PO, L = PurchaseOrder, PurchaseOrderLine
# Up to this many days of expected dates are looked up through their index (see search).
NARROW_RANGE = timedelta(days=92)


class Sort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    NUMBER = "number"
    NUMBER_DESC = "-number"


KEYSETS = {
    Sort.NEWEST: Keyset("purchase-orders", (PO.created_at, PO.id)),
    Sort.OLDEST: Keyset("purchase-orders-oldest", (PO.created_at, PO.id), descending=False),
    Sort.NUMBER: Keyset("purchase-orders-by-number", (PO.number,), descending=False),
    Sort.NUMBER_DESC: Keyset("purchase-orders-by-number-desc", (PO.number,)),
}

ORDER_COLUMNS = (
    "number",
    "status",
    "supplier_code",
    "currency",
    "expected_date",
    "subtotal",
    "tax_total",
    "total",
    "receipt_state",
    "created_by",
    "created_at",
    "approved_by",
    "approved_at",
    "external_source",
    "external_id",
    "notes",
)
LINE_COLUMNS = (
    "number",
    "status",
    "supplier_code",
    "currency",
    "line_no",
    "item_code",
    "description",
    "quantity",
    "unit",
    "conversion_factor",
    "unit_price",
    "tax_rate",
    "discount_percent",
    "amount",
    "tax",
    "required_date",
    "promised_date",
    "received",
    "accepted",
    "rejected",
    "returned",
    "closed_short",
    "open_balance",
)


@dataclass(frozen=True)
class Filters:
    status: PurchaseOrderStatus | None = None
    supplier: str | None = None  # a supplier's code
    receipt_state: ReceiptState | None = None
    created_from: date | None = None  # plant dates, both ends included
    created_to: date | None = None
    expected_from: date | None = None
    expected_to: date | None = None
    q: str | None = None

    @property
    def narrow_expected_range(self) -> bool:
        if self.expected_from is None or self.expected_to is None:
            return False
        return self.expected_to - self.expected_from <= NARROW_RANGE


def _plant_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone))


def conditions(filters: Filters, plant_timezone: str) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.status is not None:
        found.append(PO.status == filters.status.value)
    if filters.receipt_state is not None:
        found.append(PO.receipt_state == filters.receipt_state.value)
    if filters.supplier is not None:
        supplier = select(Partner.id).where(
            Partner.kind == PartnerKind.SUPPLIER.value, Partner.code == filters.supplier
        )
        found.append(PO.supplier_id == supplier.scalar_subquery())
    if filters.created_from is not None:
        found.append(PO.created_at >= _plant_midnight(filters.created_from, plant_timezone))
    if filters.created_to is not None:
        found.append(PO.created_at < _plant_midnight(filters.created_to + timedelta(days=1), plant_timezone))
    if filters.expected_from is not None:
        found.append(PO.expected_date >= filters.expected_from)
    if filters.expected_to is not None:
        found.append(PO.expected_date <= filters.expected_to)
    return found


def orders_listed(filters: Filters, plant_timezone: str) -> Select[Any]:
    """Orders matching ``filters`` (their supplier joined, lines left out), unordered."""
    statement = select(PO).options(raiseload(PO.lines)).where(*conditions(filters, plant_timezone))
    return Repository.containing(statement, filters.q, PO.number, PO.notes, PO.external_id)


async def search(
    repository: Repository[Any], params: CursorParams, filters: Filters, sort: Sort, zone: str
) -> KeysetPage:
    statement = orders_listed(filters, zone)
    if filters.narrow_expected_range and sort in (Sort.NEWEST, Sort.OLDEST):
        # A few weeks of expected dates are few orders, but those of an old range lie deep in the
        # newest-first order: find them through the expected dates' index and sort them (ordering
        # by an expression first keeps the planner off the created_at index). A wide range is
        # read in the list's order, where its orders are dense.
        key = PO.created_at + literal_column("interval '0 seconds'")
        statement = statement.order_by(key.desc() if sort is Sort.NEWEST else key.asc())
    return await repository.keyset_page(params, KEYSETS[sort], statement=statement)


def orders_export(filters: Filters, sort: Sort, plant_timezone: str) -> Select[Any]:
    return KEYSETS[sort].order(orders_listed(filters, plant_timezone))


def lines_export(filters: Filters, sort: Sort, plant_timezone: str) -> Select[Any]:
    """Lines of the matching orders, each with its order and supplier, in the orders' sort then by line."""
    statement = (
        select(L)
        .join(L.order)
        .join(PO.supplier)
        .options(contains_eager(L.order).contains_eager(PO.supplier), contains_eager(L.order).raiseload(PO.lines))
        .where(*conditions(filters, plant_timezone))
    )
    statement = Repository.containing(statement, filters.q, PO.number, PO.notes, PO.external_id)
    return KEYSETS[sort].order(statement).order_by(L.line_no)


def order_cell(order: PurchaseOrder, column: str) -> Any:
    match column:
        case "supplier_code":
            return order.supplier.code
        case "subtotal" | "tax_total" | "total":
            return round_to(getattr(order, column), order.currency)
        case _:
            return getattr(order, column)


def line_cell(line: PurchaseOrderLine, column: str) -> Any:
    order = line.order
    match column:
        case "number" | "status" | "currency":
            return getattr(order, column)
        case "supplier_code":
            return order.supplier.code
        case "amount" | "tax":
            return round_to(getattr(line, column), order.currency)
        case "quantity" | "conversion_factor" | "unit_price" | "tax_rate" | "discount_percent":
            return plain(getattr(line, column))
        case "received":
            return plain(line.received_quantity)
        case "accepted":
            return plain(line.received_quantity - line.rejected_quantity)
        case "rejected":
            return plain(line.rejected_quantity)
        case "returned":
            return plain(line.returned_quantity)
        case "open_balance":
            return plain(movements(line).open_balance)
        case _:
            return getattr(line, column)
