"""The sales-order list: filters as one statement, read newest first by cursor, or all of it as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lathe_common.keyset import CursorParams, Keyset, KeysetPage, keyset_page
from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import noload

from lathe_orders.lifecycles import SalesOrderStatus
from lathe_orders.money import round_to
from lathe_orders.partners.models import Partner, PartnerKind
from lathe_orders.sales_orders.models import SalesOrder, SalesOrderLine
from lathe_orders.sales_orders.state import plant_today
from lathe_orders.settings import settings

NEWEST_FIRST = Keyset("sales-orders", (SalesOrder.created_at, SalesOrder.id))
CSV_COLUMNS = (
    "number",
    "status",
    "customer_code",
    "customer_name",
    "currency",
    "subtotal",
    "tax_total",
    "total",
    "customer_po_number",
    "created_by",
    "created_at",
    "confirmed_at",
    "closed_at",
    "cancelled_at",
    "external_source",
    "external_id",
)


@dataclass(frozen=True)
class SalesOrderFilters:
    status: SalesOrderStatus | None = None
    customer: str | None = None  # customer code
    created_from: date | None = None  # days in the plant's time zone, both ends included
    created_to: date | None = None
    requested_from: date | None = None  # some line requested within
    requested_to: date | None = None
    promised_from: date | None = None  # some line promised within
    promised_to: date | None = None
    model: str | None = None  # some line sells it
    overdue: bool | None = None
    q: str | None = None  # part of the number, customer PO number, notes or external id


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(settings.plant_timezone))


def _lines_where(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(SalesOrderLine.sales_order_id == SalesOrder.id, *conditions)


def _between(column: Any, start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    return [c for c in (column >= start if start else None, column <= end if end else None) if c is not None]


def overdue_condition(today: date) -> ColumnElement[bool]:
    """Confirmed, with a line promised before today that still expects something."""
    return and_(
        SalesOrder.status == SalesOrderStatus.CONFIRMED.value,
        _lines_where(
            SalesOrderLine.promised_date < today,
            SalesOrderLine.closed_short.is_(False),
            SalesOrderLine.shipped_quantity - SalesOrderLine.returned_quantity < SalesOrderLine.quantity,
        ),
    )


def listed(filters: SalesOrderFilters) -> Select[Any]:
    statement = select(SalesOrder)
    f = filters
    if f.status is not None:
        statement = statement.where(SalesOrder.status == f.status.value)
    if f.customer is not None:
        statement = statement.where(
            SalesOrder.customer_id.in_(
                select(Partner.id).where(Partner.kind == PartnerKind.CUSTOMER.value, Partner.code == f.customer)
            )
        )
    if f.created_from is not None:
        statement = statement.where(SalesOrder.created_at >= _day_start(f.created_from))
    if f.created_to is not None:
        statement = statement.where(SalesOrder.created_at < _day_start(f.created_to + timedelta(days=1)))
    for column, start, end in (
        (SalesOrderLine.requested_date, f.requested_from, f.requested_to),
        (SalesOrderLine.promised_date, f.promised_from, f.promised_to),
    ):
        if start or end:
            statement = statement.where(_lines_where(*_between(column, start, end)))
    if f.model is not None:
        statement = statement.where(_lines_where(SalesOrderLine.model_code == f.model))
    if f.overdue is not None:
        condition = overdue_condition(plant_today())
        statement = statement.where(condition if f.overdue else ~condition)
    if f.q:
        pattern = f"%{f.q.lower()}%"
        statement = statement.where(
            or_(
                *(
                    func.lower(column).like(pattern)
                    for column in (
                        SalesOrder.number,
                        SalesOrder.customer_po_number,
                        SalesOrder.notes,
                        SalesOrder.external_id,
                    )
                )
            )
        )
    return statement


async def search(session: AsyncSession, page: CursorParams, filters: SalesOrderFilters) -> KeysetPage:
    return await keyset_page(session, listed(filters), NEWEST_FIRST, page)


def exported(filters: SalesOrderFilters) -> Select[Any]:
    """Every matching order for CSV, newest first: headers only (lines are not read)."""
    return NEWEST_FIRST.order(listed(filters)).options(noload(SalesOrder.lines))


def csv_cell(order: SalesOrder, column: str) -> Any:
    if column in ("customer_code", "customer_name"):
        return getattr(order.customer, column.removeprefix("customer_"))
    if column in ("subtotal", "tax_total", "total"):
        return round_to(getattr(order, column), order.currency)
    return getattr(order, column)
