"""Production's answers to released work orders (``lathe.production.work-orders.v1``): the LOTs it
planned, or why it could not plan them.

- ``WorkOrderPlannedEvent``: the LOTs and units production created are counted on the work order
  (``lots_planned``, ``quantity_planned``). Production plans each request once (its own guard), and
  the inbox keeps a redelivered event from counting twice.
- ``WorkOrderRejectedEvent``: the code and reason are kept on the work order for the planner; a
  refused release (request 0) moves a RELEASED work order back to DRAFT, to be corrected and
  released again. A refused replacement or increase, or a work order that moved on meanwhile
  (stopped, cancelled), keeps its status and shows the reason.
Work orders orders does not know (another installation's, or gone) are skipped.
"""

from __future__ import annotations

from lathe_common.consumers import ConsumerSpec, by_event_type
from lathe_contracts.production import WORK_ORDERS_TOPIC, WorkOrderPlannedEvent, WorkOrderRejectedEvent
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.lifecycles import WORK_ORDER, WorkOrderStatus
from lathe_orders.work_orders.announce import announce
from lathe_orders.work_orders.models import WorkOrder

W = WorkOrderStatus


async def _locked(session: AsyncSession, number: str) -> WorkOrder | None:
    return await session.scalar(select(WorkOrder).where(WorkOrder.number == number).with_for_update())


async def planned(session: AsyncSession, event: WorkOrderPlannedEvent) -> None:
    wo = await _locked(session, event.work_order_number)
    if wo is None:
        return
    wo.lots_planned += len(event.lots)
    wo.quantity_planned += sum(int(lot["target_quantity"]) for lot in event.lots)
    await announce(session, wo, "planned")


async def rejected(session: AsyncSession, event: WorkOrderRejectedEvent) -> None:
    wo = await _locked(session, event.work_order_number)
    if wo is None:
        return
    wo.rejection_code, wo.rejection_reason = event.code, event.reason
    if event.request_no == 0 and WorkOrderStatus(wo.status) is W.RELEASED:
        WORK_ORDER.check(W.RELEASED, W.DRAFT)
        wo.status = W.DRAFT.value
        wo.released_at = None
    await announce(session, wo, "rejected")


production_answers = ConsumerSpec(
    name="orders.production-work-orders",
    topics=(WORK_ORDERS_TOPIC,),
    handler=by_event_type({WorkOrderPlannedEvent: planned, WorkOrderRejectedEvent: rejected}),
    description="Production's answers to released work orders: the LOTs it planned, or why it refused.",
)
