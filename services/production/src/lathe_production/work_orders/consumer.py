"""``lathe.orders.work-orders.v1``: what orders asks of production (released work orders,
replacements of scrap, quantity increases, cancellations). Orders' other events on the topic
(every change of the document) are not production's business and are skipped.

Redelivery has no second effect: the inbox skips a message handled before, and the plan's own
key (work order, request number) skips a request planned before, whatever message carries it.
"""

from __future__ import annotations

from lathe_common.consumers import ConsumerSpec, by_event_type
from lathe_contracts.orders import (
    WORK_ORDERS_TOPIC,
    WorkOrderCancelledEvent,
    WorkOrderQuantityIncreasedEvent,
    WorkOrderReleasedEvent,
    WorkOrderReplacementRequestedEvent,
)
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.settings import settings
from lathe_production.work_orders.service import PlanRequest, WorkOrderPlanner


async def released(session: AsyncSession, event: WorkOrderReleasedEvent) -> None:
    await WorkOrderPlanner(session, settings).plan(
        PlanRequest(event.number, 0, event.model_code, event.quantity, event.create_serials)
    )


async def more_requested(
    session: AsyncSession, event: WorkOrderReplacementRequestedEvent | WorkOrderQuantityIncreasedEvent
) -> None:
    await WorkOrderPlanner(session, settings).plan(
        PlanRequest(event.number, event.request_no, event.model_code, event.quantity, event.create_serials)
    )


async def cancelled(session: AsyncSession, event: WorkOrderCancelledEvent) -> None:
    await WorkOrderPlanner(session, settings).cancel(event.number)


work_orders_consumer = ConsumerSpec(
    name="production.work-orders",
    topics=(WORK_ORDERS_TOPIC,),
    handler=by_event_type(
        {
            WorkOrderReleasedEvent: released,
            WorkOrderReplacementRequestedEvent: more_requested,
            WorkOrderQuantityIncreasedEvent: more_requested,
            WorkOrderCancelledEvent: cancelled,
        }
    ),
    description="Work orders drive production: released ones are planned as LOTs, cancelled ones "
    "lose their LOTs that have not started.",
)
