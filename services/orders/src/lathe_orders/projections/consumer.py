"""Keeping the projections of production current, from production's events only.

Batched and set-based: a batch's events of each type are applied with one statement, so the
projection keeps up while machines report at full speed. Ordering: a unit's step events share its
partition (key: the unit), a LOT's events share the LOT's; across topics there is no order, so a
unit's step may arrive before the event that created it: creations never overwrite what a step
already wrote (``ON CONFLICT DO NOTHING``), steps always win (``DO UPDATE``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lathe_common.consumers import ConsumerSpec, batched_by_event_type
from lathe_contracts.production import (
    LOTS_TOPIC,
    PROCESS_DATA_TOPIC,
    PRODUCT_MODELS_TOPIC,
    SERIALS_TOPIC,
    LotCreatedEvent,
    LotStatusChangedEvent,
    ProductModelChangedEvent,
    ProductModelDefinedEvent,
    SerialsCreatedEvent,
    StepRecordedEvent,
)
from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.projections.models import LotView, ProductModelView, UnitView

# Called with the work orders whose units changed (after the units are written), in the same
# transaction: the work-order progress is derived from the projection (see work_orders).
UnitsChanged = Callable[[AsyncSession, set[str]], Awaitable[None]]
_listeners: list[UnitsChanged] = []


def on_units_changed(listener: UnitsChanged) -> UnitsChanged:
    _listeners.append(listener)
    return listener


def _last_per(events: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    """The last event of each key, in the order of those last events (one row may be written
    once per statement)."""
    return list({key(event): event for event in events}.values())


async def product_models(session: AsyncSession, events: list[ProductModelDefinedEvent]) -> None:
    rows = [
        {"model_code": e.model_code, "model_id": e.id, "model_name": e.model_name, "is_active": e.is_active}
        for e in _last_per(events, lambda e: e.model_code)
    ]
    statement = insert(ProductModelView).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ProductModelView.model_code],
            set_={
                "model_name": statement.excluded.model_name,
                "is_active": statement.excluded.is_active,
                "updated_at": func.now(),
            },
        )
    )


async def lots_created(session: AsyncSession, events: list[LotCreatedEvent]) -> None:
    rows = [
        {
            "lot_id": e.id,
            "lot_number": e.lot_number,
            "model_code": e.model_code,
            "work_order_number": e.work_order_number,
            "status": e.status,
            "target_quantity": e.target_quantity,
        }
        for e in _last_per(events, lambda e: e.id)
    ]
    await session.execute(insert(LotView).values(rows).on_conflict_do_nothing())


async def lots_moved(session: AsyncSession, events: list[LotStatusChangedEvent]) -> None:
    for event in events:  # a LOT's moves are few and in order
        await session.execute(
            update(LotView).where(LotView.lot_id == event.id).values(status=event.status, updated_at=func.now())
        )


async def serials_created(session: AsyncSession, events: list[SerialsCreatedEvent]) -> None:
    rows = [
        {
            "serial_id": unit["id"],
            "serial_number": unit["serial_number"],
            "lot_id": e.lot_id,
            "lot_number": e.lot_number,
            "work_order_number": e.work_order_number,
            "status": "CREATED",
        }
        for e in events
        for unit in e.serials
    ]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(UnitView).values(rows[start : start + 1000]).on_conflict_do_nothing())
    await _changed(session, {e.work_order_number for e in events if e.work_order_number})


async def steps_recorded(session: AsyncSession, events: list[StepRecordedEvent]) -> None:
    unit_steps = [e for e in events if e.serial_id is not None and e.serial_status is not None]
    rows = [
        {
            "serial_id": e.serial_id,
            "serial_number": e.serial_number,
            "lot_id": e.lot_id,
            "lot_number": e.lot_number,
            "model_code": e.model_code,
            "work_order_number": e.work_order_number,
            "status": e.serial_status,
            "rework_count": e.rework_count or 0,
        }
        for e in _last_per(unit_steps, lambda e: e.serial_id)
    ]
    for start in range(0, len(rows), 1000):
        statement = insert(UnitView).values(rows[start : start + 1000])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[UnitView.serial_id],
                set_={
                    "status": statement.excluded.status,
                    "rework_count": statement.excluded.rework_count,
                    "model_code": statement.excluded.model_code,
                    "work_order_number": statement.excluded.work_order_number,
                    "updated_at": func.now(),
                },
            )
        )
    await _changed(session, {e.work_order_number for e in events if e.work_order_number})


async def _changed(session: AsyncSession, work_orders: set[str]) -> None:
    if work_orders:
        for listener in _listeners:
            await listener(session, work_orders)


async def _one(session: AsyncSession, envelope: Any) -> None:
    """One record alone (the runtime's fallback when a batch keeps failing): the batch path of one."""
    outcome = (await _apply(session, [envelope]))[0]
    if outcome is not None:
        raise outcome


_apply = batched_by_event_type(
    {
        ProductModelDefinedEvent: product_models,
        ProductModelChangedEvent: product_models,
        LotCreatedEvent: lots_created,
        LotStatusChangedEvent: lots_moved,
        SerialsCreatedEvent: serials_created,
        StepRecordedEvent: steps_recorded,
    }
)

production_projections = ConsumerSpec(
    name="orders.production-projections",
    topics=(PRODUCT_MODELS_TOPIC, LOTS_TOPIC, SERIALS_TOPIC, PROCESS_DATA_TOPIC),
    handler=_one,
    batch_handler=_apply,
    batch_size=2000,
    description="Product models, LOTs and units as production announces them (what orders knows of production).",
)
