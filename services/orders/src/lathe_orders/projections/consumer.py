"""Keeping the projections of production current, from production's events only.

Batched and set-based: a batch's events of each type are applied with one statement, so the
projection keeps up while machines report at full speed. Ordering: a unit's step events share its
partition (key: the unit), a LOT's events share the LOT's; across topics there is no order, so a
unit's step may arrive before the event that created it: creations never overwrite what a step
already wrote (``ON CONFLICT DO NOTHING``), steps always win (``DO UPDATE``). A unit's status also
changes without a step, by a disposition of its nonconformance (``serial.status-changed``, on the
process-data topic with the unit's key): it is applied with the steps, in the order they arrived.
"""

from __future__ import annotations

import uuid
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
    SerialStatusChangedEvent,
    StepRecordedEvent,
)
from sqlalchemy import Integer, String, Uuid, bindparam, column, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.projections.models import LotView, ProductModelView, UnitView

# Called once per batch, after the batch is written and in its transaction, with the work orders
# whose units or LOTs changed: the work-order progress is derived from the projection (see
# work_orders.progress), so a batch that moves many of a work order's units moves it once.
UnitsChanged = Callable[[AsyncSession, set[str]], Awaitable[None]]
_listeners: list[UnitsChanged] = []
_CHANGED = "lathe_orders.work_orders_changed"  # session.info: the work orders the batch changed so far


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
    # A LOT's status counts for LOT-level work (no units) and starts its work order.
    await _changed(session, {e.work_order_number for e in events if e.work_order_number})


async def serials_created(session: AsyncSession, events: list[SerialsCreatedEvent]) -> None:
    rows = [
        {
            "serial_id": uuid.UUID(str(unit["id"])),
            "serial_number": unit["serial_number"],
            "lot_id": e.lot_id,
            "lot_number": e.lot_number,
            "model_code": None,
            "work_order_number": e.work_order_number,
            "status": "CREATED",
            "rework_count": 0,
        }
        for e in events
        for unit in e.serials
    ]
    await session.execute(_UNITS_CREATED, _unit_arrays(rows))
    await _changed(session, {e.work_order_number for e in events if e.work_order_number})


async def steps_recorded(session: AsyncSession, events: list[StepRecordedEvent | SerialStatusChangedEvent]) -> None:
    """Each unit's status after the batch's last step or status change of it (both carry it)."""
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
    if rows:
        await session.execute(_UNITS_STEPPED, _unit_arrays(rows))
    await _changed(session, {e.work_order_number for e in events if e.work_order_number})


# Units are written as one array per column: one statement of constant text, compiled and planned
# once whatever the batch size (a multi-row VALUES is compiled again for every batch, which cost
# more than the rest of a batch together). Rows go in serial-id order: concurrent batches lock
# units in one order.
_UNIT_COLUMNS = {
    "serial_id": Uuid,
    "serial_number": String,
    "lot_id": Uuid,
    "lot_number": String,
    "model_code": String,
    "work_order_number": String,
    "status": String,
    "rework_count": Integer,
}
_UNIT_ROWS = (
    func.unnest(*(bindparam(f"unit_{name}", type_=ARRAY(kind)) for name, kind in _UNIT_COLUMNS.items()))
    .table_valued(*(column(name, kind) for name, kind in _UNIT_COLUMNS.items()))
    .render_derived(name="units")
)
_INSERT_UNITS = insert(UnitView.__table__).from_select(list(_UNIT_COLUMNS), select(*_UNIT_ROWS.c))
_UNITS_CREATED = _INSERT_UNITS.on_conflict_do_nothing()
_UNITS_STEPPED = _INSERT_UNITS.on_conflict_do_update(
    index_elements=[UnitView.__table__.c.serial_id],
    set_={
        "status": _INSERT_UNITS.excluded.status,
        "rework_count": _INSERT_UNITS.excluded.rework_count,
        "model_code": _INSERT_UNITS.excluded.model_code,
        "work_order_number": _INSERT_UNITS.excluded.work_order_number,
        "updated_at": func.now(),
    },
)


def _unit_arrays(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    rows = sorted(rows, key=lambda row: row["serial_id"])
    return {f"unit_{name}": [row[name] for row in rows] for name in _UNIT_COLUMNS}


async def _changed(session: AsyncSession, work_orders: set[str]) -> None:
    if work_orders:
        session.info.setdefault(_CHANGED, set()).update(work_orders)


async def _tell_listeners(session: AsyncSession) -> None:
    work_orders = session.info.pop(_CHANGED, None)
    if work_orders:
        for listener in _listeners:
            await listener(session, work_orders)


async def _one(session: AsyncSession, envelope: Any) -> None:
    """One record alone (the runtime's fallback when a batch keeps failing): the batch path of one."""
    outcome = (await _apply(session, [envelope]))[0]
    if outcome is not None:
        raise outcome


_dispatch = batched_by_event_type(
    {
        ProductModelDefinedEvent: product_models,
        ProductModelChangedEvent: product_models,
        LotCreatedEvent: lots_created,
        LotStatusChangedEvent: lots_moved,
        SerialsCreatedEvent: serials_created,
        # Interleaved: a REWORK disposition between two steps of a unit must land between them.
        (StepRecordedEvent, SerialStatusChangedEvent): steps_recorded,
    }
)


async def _apply(session: AsyncSession, envelopes: list[Any]) -> list[Any]:
    outcomes = await _dispatch(session, envelopes)
    await _tell_listeners(session)
    return outcomes


production_projections = ConsumerSpec(
    name="orders.production-projections",
    topics=(PRODUCT_MODELS_TOPIC, LOTS_TOPIC, SERIALS_TOPIC, PROCESS_DATA_TOPIC),
    handler=_one,
    batch_handler=_apply,
    batch_size=2000,
    description="Product models, LOTs and units as production announces them (what orders knows of production).",
)
