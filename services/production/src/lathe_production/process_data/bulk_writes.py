"""Bulk writes of a judged batch: process data, units, LOT starts and completions, nonconformances,
events."""

from __future__ import annotations

import uuid
from typing import Any

from lathe_common.db import copy_rows
from sqlalchemy import Integer, String, Uuid, any_, bindparam, column, func, select, update, values
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.lots.models import Lot, Serial
from lathe_production.lots.rules import LotStatus
from lathe_production.nonconformances.steps import note_steps
from lathe_production.outbox import outbox
from lathe_production.process_data.models import ProcessData
from lathe_production.process_data.state import ROW_KEYS, BatchState, PlannedStep, lot_moved, step_recorded

_data = ProcessData.__table__
_lots = Lot.__table__
_serials = Serial.__table__
# The units' new states, as one array per column: one UPDATE of constant text for any batch size.
_MOVES = (
    func.unnest(
        bindparam("move_ids", type_=ARRAY(Uuid)),
        bindparam("move_statuses", type_=ARRAY(String)),
        bindparam("move_steps", type_=ARRAY(Integer)),
        bindparam("move_reworks", type_=ARRAY(Integer)),
    )
    .table_valued(column("id", Uuid), column("status", String), column("step", Integer), column("reworks", Integer))
    .render_derived(name="moves")
)


async def _move_lots(
    session: AsyncSession, ids: list[uuid.UUID], from_status: LotStatus, to_status: LotStatus, **stamps: Any
) -> set[uuid.UUID]:
    """Move the LOTs still in ``from_status``; returns those that moved (each moves once, whoever races)."""
    moved = await session.scalars(
        update(_lots)
        .where(_lots.c.id == any_(bindparam("lot_ids", ids, type_=ARRAY(Uuid))), _lots.c.status == from_status.value)
        .values(status=to_status.value, **stamps)
        .returning(_lots.c.id)
    )
    return set(moved)


async def write_steps(session: AsyncSession, steps: list[PlannedStep], batch: BatchState) -> None:
    """Everything a batch of judged executions changes, in a fixed number of statements."""
    await copy_rows(session, _data, ROW_KEYS, (s.data.row() for s in steps))
    # The rows took the transaction's now() as recorded_at: the same instant, read back once. LOT
    # starts and completions are stamped with it too: one clock, the database's, for all of them.
    recorded_at = (await session.execute(select(func.now()))).scalar_one()
    for s in steps:
        s.data.recorded_at = recorded_at

    units = {s.serial.id: s.serial for s in steps if s.serial is not None}  # each unit's last state
    if units:
        moved = sorted(units.values(), key=lambda u: u.id)
        await session.execute(
            update(_serials)
            .where(_serials.c.id == _MOVES.c.id)
            .values(
                status=_MOVES.c.status,
                current_step=_MOVES.c.step,
                rework_count=_MOVES.c.reworks,
                updated_at=func.now(),
            ),
            {
                "move_ids": [u.id for u in moved],
                "move_statuses": [u.status for u in moved],
                "move_steps": [u.current_step for u in moved],
                "move_reworks": [u.rework_count for u in moved],
            },
        )

    to_start = sorted({s.lot.id for s in steps if s.starts_lot})
    # Every unit of the batch is locked already (in id order); the LOTs it changes are locked now,
    # also in id order, so concurrent batches always take locks in one global order. NO KEY UPDATE:
    # the foreign-key checks of other batches' rows (KEY SHARE on the same LOTs) neither wait for it
    # nor make it wait, so they cannot close a cycle with these locks.
    touched = sorted({s.lot.id for s in steps if s.starts_lot or s.finishes_unit})
    if touched:
        await session.execute(
            select(_lots.c.id)
            .where(_lots.c.id == any_(bindparam("touched_ids", touched, type_=ARRAY(Uuid))))
            .order_by(_lots.c.id)
            .with_for_update(key_share=True)
        )
    started: set[uuid.UUID] = set()
    if to_start:
        started = await _move_lots(session, to_start, LotStatus.CREATED, LotStatus.IN_PROGRESS, started_at=recorded_at)

    # Counted under the LOTs' row locks: the last unit to finish completes its LOT, exactly once.
    finishing: dict[uuid.UUID, int] = {}
    last_finisher: dict[uuid.UUID, PlannedStep] = {}
    for s in steps:
        if s.finishes_unit:
            finishing[s.lot.id] = finishing.get(s.lot.id, 0) + 1
            last_finisher[s.lot.id] = s
    completed: set[uuid.UUID] = set()
    if finishing:
        counts = values(column("lot_id", Uuid), column("n", Integer), name="finishing").data(sorted(finishing.items()))
        rows = (
            await session.execute(
                update(_lots)
                .where(_lots.c.id == counts.c.lot_id)
                .values(finished_count=_lots.c.finished_count + counts.c.n)
                .returning(_lots.c.id, _lots.c.finished_count, _lots.c.serial_count, _lots.c.status)
            )
        ).all()
        full = sorted(r.id for r in rows if r.finished_count == r.serial_count)
        for r in rows:
            lot = batch.lots_by_id[r.id]
            lot.finished_count, lot.status = r.finished_count, r.status
        if full:
            completed = await _move_lots(
                session, full, LotStatus.IN_PROGRESS, LotStatus.COMPLETED, completed_at=recorded_at
            )
    for lot_id in completed:
        batch.lots_by_id[lot_id].status = LotStatus.COMPLETED.value
    # A FAIL opens the unit's NCR; a reworked unit's next step closes the NCR that sent it back.
    nonconformance_events = await note_steps(session, steps, recorded_at)

    events: list[Any] = []
    correlations: list[str | None] = []
    for s in steps:
        first = len(events)
        lot = s.lot
        if s.starts_lot and lot.id in started:
            events.append(lot_moved(lot, LotStatus.CREATED, LotStatus.IN_PROGRESS))
        if lot.id in completed and last_finisher.get(lot.id) is s:
            events.append(lot_moved(lot, LotStatus.IN_PROGRESS, LotStatus.COMPLETED))
        events.append(step_recorded(s.data, lot, s.serial))
        events += nonconformance_events.get(s.data.id, ())
        # An execution's events are correlated with its message id (a machine's, or a REST
        # client's idempotency key); without one, with the current request.
        correlations += [s.data.message_id] * (len(events) - first)
    await outbox.add(session, *events, correlation_ids=correlations)
