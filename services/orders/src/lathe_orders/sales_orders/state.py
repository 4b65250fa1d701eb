"""A sales order as GET answers it (and as every change announces it): its lines with their
amounts, and fulfilment beside the status, from the lines' movements and the work orders linked
to them (read, never written: work orders are their own domain)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from lathe_contracts.orders import SalesOrderChangedEvent
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.announcements import changes_since_announced
from lathe_orders.fulfilment import LineMovements
from lathe_orders.lifecycles import SalesOrderStatus, WorkOrderStatus
from lathe_orders.money import round_to
from lathe_orders.outbox import outbox
from lathe_orders.sales_orders.models import SalesOrder, SalesOrderLine
from lathe_orders.sales_orders.rules import Fulfilment, LineFacts, line_overdue, order_fulfilment
from lathe_orders.sales_orders.schemas import (
    SalesOrderFulfilment,
    SalesOrderLineRead,
    SalesOrderRead,
    SalesOrderSummary,
    plain,
)
from lathe_orders.settings import settings
from lathe_orders.work_orders.models import WorkOrder

PRODUCING = (WorkOrderStatus.RELEASED.value, WorkOrderStatus.IN_PROGRESS.value)


@dataclass(frozen=True)
class Production:
    good: Decimal
    producing: bool


def plant_today() -> date:
    return datetime.now(ZoneInfo(settings.plant_timezone)).date()


def _exact(value: Decimal) -> Decimal:
    """The value without the column's trailing zeros (``2``, not ``2.000000``, in refusals)."""
    return Decimal(plain(value))


def movements(line: SalesOrderLine) -> LineMovements:
    return LineMovements(
        ordered=_exact(line.quantity),
        moved=_exact(line.shipped_quantity),
        returned=_exact(line.returned_quantity),
        closed_short=line.closed_short,
    )


async def production_of(session: AsyncSession, line_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Production]:
    """Per line: the good units of its work orders, and whether one of them is being made."""
    if not line_ids:
        return {}
    rows = await session.execute(
        select(
            WorkOrder.sales_order_line_id,
            func.coalesce(func.sum(WorkOrder.quantity_good), 0),
            func.bool_or(WorkOrder.status.in_(PRODUCING)),
        )
        .where(WorkOrder.sales_order_line_id.in_(line_ids))
        .group_by(WorkOrder.sales_order_line_id)
    )
    return {line_id: Production(Decimal(good), bool(producing)) for line_id, good, producing in rows}


def _facts(line: SalesOrderLine, production: dict[uuid.UUID, Production]) -> LineFacts:
    made = production.get(line.id)
    return LineFacts(
        movements=movements(line),
        produced=made.good if made else Decimal(0),
        in_production=made.producing if made else False,
        promised_date=line.promised_date,
    )


def _fulfilment(value: Fulfilment) -> SalesOrderFulfilment:
    return SalesOrderFulfilment(
        ordered=value.ordered,
        shipped=value.shipped,
        returned=value.returned,
        closed_short=value.closed_short,
        open_balance=value.open_balance,
        produced=value.produced,
        shipment_state=value.shipment_state,
    )


def _read(order: SalesOrder, production: dict[uuid.UUID, Production], today: date) -> SalesOrderRead:
    status = SalesOrderStatus(order.status)
    facts = [_facts(line, production) for line in order.lines]
    lines = [
        SalesOrderLineRead(
            id=line.id,
            line_no=line.line_no,
            model_code=line.model_code,
            quantity=line.quantity,
            unit=line.unit,
            conversion_factor=line.conversion_factor,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            discount_percent=line.discount_percent,
            requested_date=line.requested_date,
            promised_date=line.promised_date,
            amount=round_to(line.amount, order.currency),
            tax=round_to(line.tax, order.currency),
            closed_short=line.closed_short,
            close_reason=line.close_reason,
            overdue=line_overdue(fact, status, today),
            fulfilment=_fulfilment(order_fulfilment([fact], status)),
        )
        for line, fact in zip(order.lines, facts, strict=True)
    ]
    return SalesOrderRead(
        id=order.id,
        number=order.number,
        status=status,
        version=order.version,
        customer_code=order.customer.code,
        customer_name=order.customer.name,
        currency=order.currency,
        customer_po_number=order.customer_po_number,
        ship_to=order.ship_to,
        notes=order.notes,
        subtotal=round_to(order.subtotal, order.currency),
        tax_total=round_to(order.tax_total, order.currency),
        total=round_to(order.total, order.currency),
        fulfilment=_fulfilment(order_fulfilment(facts, status)),
        overdue=any(line.overdue for line in lines),
        created_by=order.created_by,
        created_at=order.created_at,
        updated_at=order.updated_at,
        confirmed_at=order.confirmed_at,
        cancelled_at=order.cancelled_at,
        closed_at=order.closed_at,
        close_reason=order.close_reason,
        external_source=order.external_source,
        external_id=order.external_id,
        external_revision=order.external_revision,
        lines=lines,
    )


async def read_orders(session: AsyncSession, orders: Sequence[SalesOrder]) -> list[SalesOrderRead]:
    """Several orders with one query for their work orders."""
    production = await production_of(session, [line.id for order in orders for line in order.lines])
    today = plant_today()
    return [_read(order, production, today) for order in orders]


async def read_order(session: AsyncSession, order: SalesOrder) -> SalesOrderRead:
    return (await read_orders(session, [order]))[0]


async def summaries(session: AsyncSession, orders: Sequence[SalesOrder]) -> list[SalesOrderSummary]:
    return [
        SalesOrderSummary.model_validate(read.model_dump(exclude={"lines"}))
        for read in await read_orders(session, orders)
    ]


async def announce(
    session: AsyncSession, order: SalesOrder, change: str, document: SalesOrderRead | None = None
) -> SalesOrderRead:
    """``SalesOrderChangedEvent`` with the order as GET now answers it, in the change's transaction."""
    document = document or await read_order(session, order)
    body = document.model_dump(mode="json")
    changed, previous = await changes_since_announced(session, "SO", order.id, body)
    await outbox.add(
        session,
        SalesOrderChangedEvent(
            id=order.id, number=order.number, change=change, document=body, changed=changed, previous=previous
        ),
    )
    return document
