"""The reports' queries: rows of the traveler reports' tables (and the floor's, for completion)
read for a window, combined by the pure rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.models import FloorLot, FloorProductModel, FloorUnit
from lathe_analytics.traveler_reports.models import CoatingLotProcess, LaborOutputDay, LaborProcess, LaborTimeDay
from lathe_analytics.traveler_reports.rules import ProcessWork, efficiency, lot_coating_status, percent
from lathe_analytics.traveler_reports.schemas import (
    CoatedProcess,
    CoatingStatusRow,
    LaborEfficiencyRow,
    LaborGroupBy,
    TravelerRow,
)

OPEN = ("CREATED", "IN_PROGRESS")


def _key_and_label(table: Any, group_by: LaborGroupBy) -> tuple[Any, Any]:
    if group_by is LaborGroupBy.OPERATOR:
        return table.operator, table.operator
    if group_by is LaborGroupBy.PROCESS:
        return table.process_code, table.process_code
    return table.lot_id, func.max(table.lot_number)


async def labor_efficiency(
    session: AsyncSession, first: date, last: date, group_by: LaborGroupBy
) -> list[LaborEfficiencyRow]:
    """A row per operator, process or LOT that did work or spent labor in the window."""
    work: dict[Any, dict[str, ProcessWork]] = defaultdict(dict)
    labels: dict[Any, str] = {}

    async def sums(table: Any, *added: Any) -> list[Any]:
        key, label = _key_and_label(table, group_by)
        statement = (
            select(key, label, table.process_code, *added)
            .where(table.day >= first, table.day <= last)
            .group_by(key, table.process_code)
        )
        return list(await session.execute(statement))

    def at(key: Any, label: str, code: str) -> ProcessWork:
        labels[key] = label
        return work[key].setdefault(code, ProcessWork(code))

    for key, label, code, units, seconds in await sums(
        LaborOutputDay, func.sum(LaborOutputDay.units), func.sum(LaborOutputDay.cycle_seconds)
    ):
        done = at(key, label, code)
        done.units, done.step_seconds = int(units), Decimal(seconds)
    for key, label, code, seconds in await sums(LaborTimeDay, func.sum(LaborTimeDay.seconds)):
        at(key, label, code).labor_seconds = Decimal(seconds)
    standards = await _standard_times(session, {code for by_process in work.values() for code in by_process})
    rows = []
    for key, by_process in work.items():
        result = efficiency(by_process.values(), standards)
        rows.append(
            LaborEfficiencyRow(
                key=labels[key],
                lot_id=key if group_by is LaborGroupBy.LOT else None,
                units=result.units,
                units_without_standard=result.units_without_standard,
                standard_minutes=result.standard_minutes,
                actual_minutes=result.actual_minutes,
                step_minutes=result.step_minutes,
                efficiency_percent=result.efficiency_percent,
                step_efficiency_percent=result.step_efficiency_percent,
                processes=result.processes,
            )
        )
    return sorted(rows, key=lambda row: row.key)


async def _standard_times(session: AsyncSession, codes: set[str]) -> dict[str, Decimal | None]:
    if not codes:
        return {}
    rows = await session.execute(
        select(LaborProcess.process_code, LaborProcess.standard_time_seconds).where(
            LaborProcess.process_code.in_(sorted(codes))
        )
    )
    return {code: seconds for code, seconds in rows}


async def coating_status(session: AsyncSession, first: date, limit: int) -> list[CoatingStatusRow]:
    coated = (
        select(CoatingLotProcess.lot_id, func.max(CoatingLotProcess.applied_at).label("last"))
        .group_by(CoatingLotProcess.lot_id)
        .having(func.max(CoatingLotProcess.day) >= first)
        .order_by(func.max(CoatingLotProcess.applied_at).desc(), CoatingLotProcess.lot_id.desc())
        .limit(limit)
    ).subquery()
    found = await session.scalars(select(CoatingLotProcess).join(coated, coated.c.lot_id == CoatingLotProcess.lot_id))
    by_lot: dict[Any, list[CoatingLotProcess]] = defaultdict(list)
    for row in found:
        by_lot[row.lot_id].append(row)
    answer = []
    for processes in by_lot.values():
        newest = max(processes, key=lambda p: (p.applied_at, p.log_id))
        answer.append(
            CoatingStatusRow(
                lot_id=newest.lot_id,
                lot_number=newest.lot_number,
                model_code=newest.model_code,
                status=lot_coating_status(p.result for p in processes),
                logs=sum(p.logs for p in processes),
                last_process_code=newest.process_code,
                last_applied_at=newest.applied_at,
                last_result=newest.result,
                last_coating_type=newest.coating_type,
                last_material_lot=newest.material_lot,
                last_thickness_readings_um=newest.thickness_readings_um,
                last_thickness_lower_um=newest.thickness_lower_um,
                last_thickness_upper_um=newest.thickness_upper_um,
                processes=[
                    CoatedProcess(process_code=p.process_code, logs=p.logs, result=p.result, applied_at=p.applied_at)
                    for p in sorted(processes, key=lambda p: p.process_code)
                ],
            )
        )
    return sorted(answer, key=lambda row: (row.last_applied_at, str(row.lot_id)), reverse=True)


async def traveler_completion(session: AsyncSession, limit: int) -> list[TravelerRow]:
    """Open LOTs from the floor read model, each with the routing steps its units reached."""
    routing_steps = func.cardinality(FloorProductModel.routing)
    reached = (
        select(func.coalesce(func.sum(func.least(FloorUnit.furthest_step, routing_steps)), 0))
        .where(FloorUnit.lot_id == FloorLot.lot_id)
        .scalar_subquery()
    )
    statement = (
        select(FloorLot, routing_steps, cast(reached, Integer))
        .outerjoin(FloorProductModel, FloorProductModel.model_code == FloorLot.model_code)
        .where(FloorLot.status.in_(OPEN))
        .order_by(FloorLot.created_at.desc(), FloorLot.lot_id.desc())
        .limit(limit)
    )
    rows = []
    for lot, steps, done in await session.execute(statement):
        total = lot.target_quantity * steps if steps is not None and lot.target_quantity is not None else None
        rows.append(
            TravelerRow(
                lot_id=lot.lot_id,
                lot_number=lot.lot_number or "",
                model_code=lot.model_code or "",
                status=lot.status,
                target_quantity=lot.target_quantity or 0,
                units=lot.units,
                units_finished=lot.units_finished,
                routing_steps=steps,
                steps_done=done,
                steps_total=total,
                completion_percent=percent(Decimal(done), Decimal(total)) if total else None,
            )
        )
    return rows
