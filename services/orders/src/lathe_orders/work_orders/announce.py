"""How a work-order change is recorded and announced: the version raised and, in the same
transaction, ``WorkOrderChangedEvent`` with the document as GET answers it (plus any fact
production acts on), so an ERP can mirror Lathe without calling back."""

from __future__ import annotations

from datetime import date, datetime

from lathe_common.events import DomainEvent
from lathe_common.outbox import Outbox
from lathe_contracts.orders import WorkOrderChangedEvent
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.announcements import changes_since_announced
from lathe_orders.settings import settings
from lathe_orders.tables import plumbing
from lathe_orders.work_orders.models import WorkOrder
from lathe_orders.work_orders.rules import plant_today
from lathe_orders.work_orders.schemas import WorkOrderRead

outbox = Outbox(plumbing, source="lathe/orders", max_event_bytes=settings.outbox_max_event_bytes)


async def database_now(session: AsyncSession) -> datetime:
    """The database's clock (timezone-aware): every timestamp of a work order from one clock."""
    return (await session.execute(select(func.now()))).scalar_one()


async def today_at_plant(session: AsyncSession) -> date:
    return plant_today(settings.plant_timezone, await database_now(session))


async def announce(
    session: AsyncSession,
    wo: WorkOrder,
    change: str,
    *facts: DomainEvent,
    today: date | None = None,
    created: bool = False,
) -> None:
    """Raise the version (every change does; a new document starts at 1) and write the change event
    and ``facts`` to the outbox. ``today`` (at the plant) saves a query when many are announced."""
    if not created:
        wo.version += 1
    await session.flush()
    today = today or await today_at_plant(session)
    document = WorkOrderRead.of(wo, today).model_dump(mode="json")
    changed, previous = await changes_since_announced(session, "WO", wo.id, document)
    event = WorkOrderChangedEvent(
        id=wo.id, number=wo.number, change=change, document=document, changed=changed, previous=previous
    )
    await outbox.add(session, event, *facts)
