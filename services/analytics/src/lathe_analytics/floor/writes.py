"""Writing a batch's ``FloorFacts``: one set-based statement per table, each only adding to rows.

Aggregates are ``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`` (``add_up``), so a row
ends with the same sums whatever the batches were. Projections follow the rule of every consumer
of production's topics: a LOT's or a unit's creation never overwrites what a step already wrote
(the creation may arrive later, from another topic), a step or a status change (a disposition)
always updates the unit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Text, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.facts import (
    MEASURES,
    MINUTE_FIELDS,
    OUTPUT_FIELDS,
    RECENT_STEPS,
    FloorFacts,
    Measures,
    StepInput,
    Transition,
    transitions,
)
from lathe_analytics.floor.models import (
    FloorCycleBinDay,
    FloorCycleBinTotal,
    FloorDefectDay,
    FloorLot,
    FloorOutputDay,
    FloorRecentStep,
    FloorStatusCount,
    FloorStepDay,
    FloorStepMinute,
    FloorStepTotal,
    FloorUnit,
    FloorWip,
)
from lathe_analytics.read_models.bulk import add_up, unnested

MINUTES_KEPT = timedelta(hours=48)
_lots = FloorLot.__table__
_units = FloorUnit.__table__
_recent = FloorRecentStep.__table__
_LOT_DESCRIPTION = ("lot_number", "model_code", "work_order_number", "target_quantity", "created_at")
_LOT_COUNTERS = ("units", "units_finished", "units_passed")
_UNIT_COLUMNS = (
    "serial_id",
    "serial_number",
    "lot_id",
    "model_code",
    "status",
    "rework_count",
    "furthest_step",
    "waiting_step",
)


def _measures(m: Measures) -> tuple:
    return tuple(getattr(m, name) for name in MEASURES)


async def write_facts(session: AsyncSession, facts: FloorFacts) -> None:
    statuses, wip = transitions([*await _write_lots(session, facts), *await _write_units(session, facts)])
    codes = facts.process_codes
    await add_up(
        session,
        FloorStepDay.__table__,
        keys=("day", "process_id", "model_code", "operator"),
        added=MEASURES,
        replaced=("process_code",),
        rows=[(*key, *_measures(m), codes[key[1]]) for key, m in facts.step_days.items()],
    )
    await add_up(
        session,
        FloorStepTotal.__table__,
        keys=("process_id", "model_code"),
        added=MEASURES,
        replaced=("process_code",),
        rows=[(*key, *_measures(m), codes[key[0]]) for key, m in facts.step_totals.items()],
    )
    await add_up(
        session,
        FloorStepMinute.__table__,
        keys=("minute", "process_id"),
        added=MINUTE_FIELDS,
        rows=[(*key, *(c[name] for name in MINUTE_FIELDS)) for key, c in facts.minutes.items()],
    )
    if facts.minutes:  # minutes serve the last hour: two days of them are kept
        await session.execute(delete(FloorStepMinute).where(FloorStepMinute.minute < func.now() - MINUTES_KEPT))
    await add_up(
        session,
        FloorCycleBinDay.__table__,
        keys=("day", "process_id", "bin"),
        added=("n",),
        rows=[(*key, n) for key, n in facts.bins_by_day.items()],
    )
    await add_up(
        session,
        FloorCycleBinTotal.__table__,
        keys=("process_id", "bin"),
        added=("n",),
        rows=[(*key, n) for key, n in facts.bins_total.items()],
    )
    await add_up(
        session,
        FloorDefectDay.__table__,
        keys=("day", "process_id", "model_code", "defect_code"),
        added=("occurrences",),
        rows=[(*key, n) for key, n in facts.defects.items()],
    )
    await add_up(
        session,
        FloorOutputDay.__table__,
        keys=("day", "shift", "model_code"),
        added=OUTPUT_FIELDS,
        rows=[(*key, *(c[name] for name in OUTPUT_FIELDS)) for key, c in facts.output.items()],
    )
    await add_up(
        session,
        FloorStatusCount.__table__,
        keys=("subject", "status"),
        added=("n",),
        rows=[(*key, n) for key, n in statuses.items() if n],
    )
    await add_up(
        session,
        FloorWip.__table__,
        keys=("model_code", "step_no"),
        added=("units",),
        rows=[(*key, n) for key, n in wip.items() if n],
    )
    await _write_recent(session, facts.recent_steps())


async def _write_lots(session: AsyncSession, facts: FloorFacts) -> list[Transition]:
    moves: list[Transition] = []
    rows = sorted(facts.lots.values(), key=lambda lot: str(lot.lot_id))
    if rows:
        columns = ("lot_id", "status", *_LOT_DESCRIPTION, *_LOT_COUNTERS)
        statement = insert(_lots).from_select(
            columns, unnested(_lots, columns, [tuple(getattr(r, c) for c in columns) for r in rows])
        )
        ex = statement.excluded
        updates = {c: func.coalesce(ex[c], _lots.c[c]) for c in _LOT_DESCRIPTION}
        updates |= {c: _lots.c[c] + ex[c] for c in _LOT_COUNTERS}
        # Only the LOT's own events set its status (creation first, then its moves, in order): a row
        # that steps or units made before has none, and what they add leaves it as it is.
        updates["status"] = func.coalesce(ex.status, _lots.c.status)
        updates["previous_status"] = _lots.c.status
        written = await session.execute(
            statement.on_conflict_do_update(index_elements=["lot_id"], set_=updates).returning(
                _lots.c.previous_status, _lots.c.status
            )
        )
        moves += [Transition("lot", before, after) for before, after in written]
    return moves


def _unit_moves(written) -> list[Transition]:  # noqa: ANN001 - rows of previous and current state
    return [
        Transition("unit", status_was, status, model_was, model, waiting_was, waiting)
        for status_was, model_was, waiting_was, status, model, waiting in written
    ]


_UNIT_STATE = (
    _units.c.previous_status,
    _units.c.previous_model_code,
    _units.c.previous_waiting_step,
    _units.c.status,
    _units.c.model_code,
    _units.c.waiting_step,
)


async def _write_units(session: AsyncSession, facts: FloorFacts) -> list[Transition]:
    """Creations insert (never overwrite a row a step made), steps and status changes upsert (the
    unit as the batch's last of them left it); each returns the row's state before (NULL: a new
    row) and after."""
    moves: list[Transition] = []
    created = sorted(facts.created_units.values(), key=lambda u: str(u.serial_id))
    for start in range(0, len(created), 5000):
        chunk = [tuple(getattr(u, c) for c in _UNIT_COLUMNS) for u in created[start : start + 5000]]
        written = await session.execute(
            insert(_units)
            .from_select(_UNIT_COLUMNS, unnested(_units, _UNIT_COLUMNS, chunk))
            .on_conflict_do_nothing()
            .returning(*_UNIT_STATE)
        )
        moves += _unit_moves(written)
    stepped = sorted(facts.stepped_units.values(), key=lambda u: str(u.serial_id))
    if stepped:
        rows = [tuple(getattr(u, c) for c in _UNIT_COLUMNS) for u in stepped]
        statement = insert(_units).from_select(_UNIT_COLUMNS, unnested(_units, _UNIT_COLUMNS, rows))
        ex = statement.excluded
        written = await session.execute(
            statement.on_conflict_do_update(
                index_elements=["serial_id"],
                set_={
                    "previous_status": _units.c.status,
                    "previous_model_code": _units.c.model_code,
                    "previous_waiting_step": _units.c.waiting_step,
                    "status": ex.status,
                    "rework_count": ex.rework_count,
                    "furthest_step": func.greatest(_units.c.furthest_step, ex.furthest_step),
                    "waiting_step": ex.waiting_step,
                    "model_code": ex.model_code,
                    "serial_number": func.coalesce(_units.c.serial_number, ex.serial_number),
                },
            ).returning(*_UNIT_STATE)
        )
        moves += _unit_moves(written)
    return moves


_RECENT_COLUMNS = (
    "step_id",
    "completed_at",
    "process_id",
    "process_code",
    "level",
    "model_code",
    "lot_number",
    "serial_number",
    "result",
    "serial_status",
    "operator",
    "equipment_id",
    "cycle_time_seconds",
)
_CODES_SEPARATOR = "\x1f"  # a list of codes travels as one string (unnest would flatten arrays of arrays)


async def _write_recent(session: AsyncSession, steps: list[StepInput]) -> None:
    """Keep the newest executions only: add the batch's newest, then drop all but the newest."""
    if not steps:
        return
    rows = [
        (
            s.step_id,
            s.completed_at,
            s.process_id,
            s.process_code,
            s.level,
            s.model_code,
            s.lot_number,
            s.serial_number,
            s.result,
            s.serial_status,
            s.operator,
            s.equipment_id,
            s.cycle_seconds,
            _CODES_SEPARATOR.join(s.defect_codes),
        )
        for s in steps
    ]
    values = unnested(_recent, (*_RECENT_COLUMNS, "codes"), rows, {"codes": Text()}).subquery("v")
    await session.execute(
        insert(_recent)
        .from_select(
            [*_RECENT_COLUMNS, "defect_codes"],
            select(
                *(values.c[name] for name in _RECENT_COLUMNS),
                func.string_to_array(values.c.codes, _CODES_SEPARATOR),
            ),
        )
        .on_conflict_do_nothing()
    )
    # Rows another batch is dropping at the same time are left to it (SKIP LOCKED): two consumers
    # pruning at once never wait on each other, and the next prune takes what one left.
    stale = (
        select(_recent.c.step_id)
        .order_by(_recent.c.completed_at.desc(), _recent.c.step_id.desc())
        .offset(RECENT_STEPS)
        .with_for_update(skip_locked=True)
    )
    await session.execute(_recent.delete().where(_recent.c.step_id.in_(stale.scalar_subquery())))
