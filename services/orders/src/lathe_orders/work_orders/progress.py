"""Production drives work orders: each work order's progress, kept from orders' projection of
production's events (units and LOTs; counted as ``rules`` explains).

The projection consumer calls ``units_changed`` once per batch, in the batch's transaction, with
the work orders whose units or LOTs changed. It counts them all with one grouped query, locks those
work orders (in id order: the API locks one at a time, so nobody waits in a cycle), and for each
whose numbers or status move: raises its version, moves it (first step: IN_PROGRESS; good >=
quantity: COMPLETED, announcing ``WorkOrderCompletedEvent``), asks production to make scrapped
units again when the work order wants it (``WorkOrderReplacementRequestedEvent``, numbered), and
announces one ``WorkOrderChangedEvent``: one per work order per batch, however many of its units
the batch moved.
"""

from __future__ import annotations

from datetime import datetime

from lathe_common.events import DomainEvent
from lathe_contracts.orders import WorkOrderCompletedEvent, WorkOrderReplacementRequestedEvent
from sqlalchemy import String, any_, bindparam, case, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.fulfilment import WorkOrderProgress
from lathe_orders.lifecycles import WorkOrderStatus
from lathe_orders.projections.consumer import on_units_changed
from lathe_orders.projections.models import LotView, UnitView
from lathe_orders.settings import settings
from lathe_orders.work_orders.announce import announce, database_now
from lathe_orders.work_orders.models import WorkOrder
from lathe_orders.work_orders.rules import Measured, Settled, plant_today, progress_change, replacement_quantity, settle

_units = UnitView.__table__
_lots = LotView.__table__
# Unit and LOT statuses as production names them (lathe_production.lots.rules).
GOOD_UNITS = ("PASSED",)
SCRAPPED_UNITS = ("FAILED", "SCRAPPED")
STARTED_LOTS = ("IN_PROGRESS", "COMPLETED", "CLOSED")
FINISHED_LOTS = ("COMPLETED", "CLOSED")


def _measure_statement(numbers: list[str]):  # noqa: ANN202 - a Select
    wanted = bindparam("work_orders", numbers, type_=ARRAY(String))
    units = (
        select(
            _units.c.work_order_number.label("wo"),
            _units.c.lot_id,
            func.count().filter(_units.c.status.in_(GOOD_UNITS)).label("good"),
            func.count().filter(_units.c.status.in_(SCRAPPED_UNITS)).label("scrapped"),
            func.count().filter(_units.c.status == "IN_PROGRESS").label("in_progress"),
            func.count().filter(_units.c.status != "CREATED").label("started"),
        )
        .where(_units.c.work_order_number == any_(wanted))
        .group_by(_units.c.work_order_number, _units.c.lot_id)
        .cte("units")
    )
    lots = (
        select(_lots.c.work_order_number.label("wo"), _lots.c.lot_id, _lots.c.status, _lots.c.target_quantity)
        .where(_lots.c.work_order_number == any_(wanted))
        .cte("lots")
    )
    lot_level = units.c.lot_id.is_(None)  # a LOT with no unit in the projection: LOT-level work

    def lot_counts(statuses: tuple[str, ...], per_unit):  # noqa: ANN001, ANN202
        return func.sum(
            case(
                (lot_level & lots.c.status.in_(statuses), func.coalesce(lots.c.target_quantity, 0)),
                else_=func.coalesce(per_unit, 0),
            )
        )

    return (
        select(
            func.coalesce(units.c.wo, lots.c.wo).label("wo"),
            lot_counts(FINISHED_LOTS, units.c.good).label("good"),
            func.sum(func.coalesce(units.c.scrapped, 0)).label("scrapped"),
            lot_counts(("IN_PROGRESS",), units.c.in_progress).label("in_progress"),
            func.bool_or(or_(func.coalesce(units.c.started, 0) > 0, lots.c.status.in_(STARTED_LOTS))).label("started"),
        )
        .select_from(units.join(lots, units.c.lot_id == lots.c.lot_id, full=True))
        .group_by(func.coalesce(units.c.wo, lots.c.wo))
    )


async def measure(session: AsyncSession, numbers: list[str]) -> dict[str, Measured]:
    """Each work order's units as the projection has them, in one grouped query."""
    rows = await session.execute(_measure_statement(numbers))
    return {
        r.wo: Measured(int(r.good or 0), int(r.scrapped or 0), int(r.in_progress or 0), bool(r.started)) for r in rows
    }


def advance(wo: WorkOrder, now: datetime, *, started: bool) -> tuple[Settled, list[DomainEvent]]:
    """Move ``wo`` where its progress takes it (``rules.settle``) and ask for scrap to be made
    again; returns the move and the facts to announce with it."""
    if started and wo.started_at is None:
        wo.started_at = now  # also while stopped: it resumes IN_PROGRESS (lifecycles.resumed_status)
    progress = WorkOrderProgress(wo.quantity, wo.quantity_good, wo.quantity_scrapped, wo.quantity_in_progress)
    settled = settle(WorkOrderStatus(wo.status), progress, started=wo.started_at is not None)
    facts: list[DomainEvent] = []
    wo.status = settled.status.value
    if settled.completed:
        wo.completed_at = now
        facts.append(
            WorkOrderCompletedEvent(
                id=wo.id,
                number=wo.number,
                quantity=wo.quantity,
                quantity_good=wo.quantity_good,
                quantity_scrapped=wo.quantity_scrapped,
            )
        )
    again = replacement_quantity(
        replace_scrap=wo.replace_scrap,
        status=settled.status,
        scrapped=wo.quantity_scrapped,
        replaced=wo.quantity_replaced,
    )
    if again:
        wo.plan_requests += 1
        wo.quantity_replaced += again
        facts.append(
            WorkOrderReplacementRequestedEvent(
                id=wo.id,
                number=wo.number,
                model_code=wo.model_code,
                quantity=again,
                create_serials=wo.create_serials,
                request_no=wo.plan_requests,
            )
        )
    return settled, facts


@on_units_changed
async def units_changed(session: AsyncSession, numbers: set[str]) -> None:
    ordered = sorted(numbers)
    work_orders = list(
        await session.scalars(
            select(WorkOrder)
            .where(WorkOrder.number == any_(bindparam("numbers", ordered, type_=ARRAY(String))))
            .where(WorkOrder.status != WorkOrderStatus.DRAFT.value)  # a draft has no LOTs
            .order_by(WorkOrder.id)
            .with_for_update()
        )
    )
    if not work_orders:
        return  # LOTs made by hand for work orders orders does not know
    counted = await measure(session, [wo.number for wo in work_orders])
    now = await database_now(session)
    today = plant_today(settings.plant_timezone, now)
    for wo in work_orders:
        measured = counted.get(wo.number, Measured())
        before = (wo.status, wo.quantity_good, wo.quantity_scrapped, wo.quantity_in_progress, wo.started_at)
        wo.quantity_good, wo.quantity_scrapped, wo.quantity_in_progress = (
            measured.good,
            measured.scrapped,
            measured.in_progress,
        )
        settled, facts = advance(wo, now, started=measured.started)
        after = (wo.status, wo.quantity_good, wo.quantity_scrapped, wo.quantity_in_progress, wo.started_at)
        if after != before or facts:
            await announce(session, wo, progress_change(settled), *facts, today=today)
