"""SPC's queries: points in, windows and charts out. Set-based: one statement per batch and kind."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, Uuid, any_, bindparam, delete, func, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from lathe_analytics.spc.measurements import Point
from lathe_analytics.spc.models import SpcAlert, SpcAlertPoint, SpcChart, SpcPoint, SpcProcess
from lathe_analytics.spc.rules import Rule
from lathe_analytics.spc.statistics import SpecLimits

Chart = tuple[str, str]  # (process code, measurement)
ROWS_PER_STATEMENT = 1000  # 9 parameters a row: well below PostgreSQL's 32,767 per statement


def _chunks(rows: Sequence[Any], size: int = ROWS_PER_STATEMENT) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _newest_first() -> tuple[Any, Any]:
    return SpcPoint.completed_at.desc(), SpcPoint.step_id.desc()


def _of_chart(process_code: str, measurement: str) -> Any:
    return (SpcPoint.process_code == process_code) & (SpcPoint.measurement == measurement)


async def insert_points(session: AsyncSession, points: Sequence[Point]) -> dict[Chart, set[uuid.UUID]]:
    """Stores the points not stored before; returns the steps of the new ones, per chart."""
    new: dict[Chart, set[uuid.UUID]] = defaultdict(set)
    rows = [
        {
            "process_code": p.process_code,
            "measurement": p.measurement,
            "step_id": p.step_id,
            "value": p.value,
            "completed_at": p.completed_at,
            "serial_number": p.serial_number,
            "lot_number": p.lot_number,
            "model_code": p.model_code,
        }
        for p in points
    ]
    for chunk in _chunks(rows):
        statement = (
            insert(SpcPoint)
            .values(list(chunk))
            .on_conflict_do_nothing(index_elements=[SpcPoint.step_id, SpcPoint.measurement])
            .returning(SpcPoint.process_code, SpcPoint.measurement, SpcPoint.step_id)
        )
        for process_code, measurement, step_id in await session.execute(statement):
            new[(process_code, measurement)].add(step_id)
    return dict(new)


async def count_new_points(
    session: AsyncSession, added: dict[Chart, int], latest: dict[Chart, Any]
) -> dict[Chart, int]:
    """Adds to each chart's count of kept points; returns the counts. Locks the charts' rows until
    commit, in one order, so two transactions judging one chart take turns (and never deadlock)."""
    rows = [
        {"process_code": c[0], "measurement": c[1], "points_kept": added[c], "last_point_at": latest[c]}
        for c in sorted(added)
    ]
    statement = insert(SpcChart).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[SpcChart.process_code, SpcChart.measurement],
        set_={
            "points_kept": SpcChart.points_kept + statement.excluded.points_kept,
            "last_point_at": func.greatest(SpcChart.last_point_at, statement.excluded.last_point_at),
            "updated_at": func.now(),
        },
    ).returning(SpcChart.process_code, SpcChart.measurement, SpcChart.points_kept)
    return {(pc, m): kept for pc, m, kept in await session.execute(statement)}


async def keep_latest(session: AsyncSession, chart: Chart, keep: int, *, forget_alert_points: bool = True) -> None:
    """Deletes a chart's points older than its latest ``keep``, and (``forget_alert_points``) what
    announced alerts remember of points the chart no longer has."""
    process_code, measurement = chart
    cut = (
        await session.execute(
            select(SpcPoint.completed_at, SpcPoint.step_id)
            .where(_of_chart(process_code, measurement))
            .order_by(*_newest_first())
            .offset(keep)
            .limit(1)
        )
    ).first()
    if cut is not None:
        await session.execute(
            delete(SpcPoint).where(
                _of_chart(process_code, measurement),
                tuple_(SpcPoint.completed_at, SpcPoint.step_id) <= tuple_(cut.completed_at, cut.step_id),
            )
        )
    if forget_alert_points:
        # Every point gone, also those pruned while a rebuild replayed (which leaves alerts alone).
        kept = select(SpcPoint.step_id).where(
            SpcPoint.step_id == SpcAlertPoint.step_id, SpcPoint.measurement == SpcAlertPoint.measurement
        )
        await session.execute(
            delete(SpcAlertPoint).where(
                SpcAlertPoint.process_code == process_code,
                SpcAlertPoint.measurement == measurement,
                ~kept.exists(),
            )
        )
    await session.execute(
        update(SpcChart)
        .where(SpcChart.process_code == process_code, SpcChart.measurement == measurement)
        .values(points_kept=func.least(SpcChart.points_kept, keep))
    )


async def tails(session: AsyncSession, charts: Iterable[Chart], size: int) -> dict[Chart, list[SpcPoint]]:
    """The latest ``size`` points of each chart, oldest first: one statement for every chart."""
    keys = sorted(charts)
    if not keys:
        return {}
    wanted = (
        func.unnest(
            bindparam("codes", [k[0] for k in keys], type_=ARRAY(Text)),
            bindparam("names", [k[1] for k in keys], type_=ARRAY(Text)),
        )
        .table_valued("process_code", "measurement")
        .render_derived(name="wanted")
    )
    tail = (
        select(SpcPoint)
        .where(SpcPoint.process_code == wanted.c.process_code, SpcPoint.measurement == wanted.c.measurement)
        .order_by(*_newest_first())
        .limit(size)
        .lateral("tail")
    )
    point = aliased(SpcPoint, tail)
    statement = select(point).select_from(wanted).join(tail, true())
    found: dict[Chart, list[SpcPoint]] = {k: [] for k in keys}
    for point in await session.scalars(statement):
        found[(point.process_code, point.measurement)].append(point)
    for points in found.values():
        points.sort(key=lambda p: (p.completed_at, p.step_id))
    return found


async def window(session: AsyncSession, chart: Chart, size: int) -> list[SpcPoint]:
    """A chart's latest ``size`` points, oldest first."""
    newest = await session.scalars(select(SpcPoint).where(_of_chart(*chart)).order_by(*_newest_first()).limit(size))
    return list(reversed(newest.all()))


def spec_of(process: SpcProcess | None, measurement: str) -> tuple[SpecLimits, str | None] | None:
    """The measurement's spec limits and unit, if its process gives it any criterion."""
    criterion = (process.quality_criteria or {}).get(measurement) if process is not None else None
    if not isinstance(criterion, dict):
        return None
    limits = SpecLimits(criterion.get("lower_limit"), criterion.get("upper_limit"), criterion.get("target"))
    return limits, criterion.get("unit")


async def processes(session: AsyncSession, codes: Iterable[str]) -> dict[str, SpcProcess]:
    wanted = bindparam("codes", sorted(set(codes)), type_=ARRAY(Text))
    found = await session.scalars(select(SpcProcess).where(SpcProcess.process_code == any_(wanted)))
    return {p.process_code: p for p in found}


async def charts_of(session: AsyncSession, process_codes: Iterable[str]) -> list[Chart]:
    wanted = bindparam("codes", sorted(set(process_codes)), type_=ARRAY(Text))
    rows = await session.execute(
        select(SpcChart.process_code, SpcChart.measurement).where(SpcChart.process_code == any_(wanted))
    )
    return [(pc, m) for pc, m in rows]


async def save_summaries(session: AsyncSession, summaries: Sequence[dict[str, Any]]) -> None:
    """Each chart's latest summary over the default window (rows keyed by the chart)."""
    if summaries:
        now = datetime.now(UTC)
        await session.execute(update(SpcChart), [{**s, "updated_at": now} for s in summaries])


async def announced_points(
    session: AsyncSession, charts: Iterable[Chart], step_ids: Iterable[uuid.UUID]
) -> dict[Chart, set[tuple[Rule, uuid.UUID]]]:
    """Per chart, (rule, step id) of those of the given points already in announced violations."""
    keys = sorted(charts)
    found: dict[Chart, set[tuple[Rule, uuid.UUID]]] = {key: set() for key in keys}
    if not keys:
        return found
    ids = bindparam("ids", sorted(set(step_ids)), type_=ARRAY(Uuid))
    rows = await session.execute(
        select(SpcAlertPoint.process_code, SpcAlertPoint.measurement, SpcAlertPoint.rule, SpcAlertPoint.step_id).where(
            tuple_(SpcAlertPoint.process_code, SpcAlertPoint.measurement).in_(keys), SpcAlertPoint.step_id == any_(ids)
        )
    )
    for process_code, measurement, rule, step_id in rows:
        found[(process_code, measurement)].add((Rule(rule), step_id))
    return found


async def remember_announced(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        await session.execute(insert(SpcAlertPoint).values(list(chunk)).on_conflict_do_nothing())


async def add_alerts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        await session.execute(insert(SpcAlert).values(list(chunk)))


async def alerts_of(session: AsyncSession, chart: Chart, limit: int) -> list[SpcAlert]:
    found = await session.scalars(
        select(SpcAlert)
        .where(SpcAlert.process_code == chart[0], SpcAlert.measurement == chart[1])
        .order_by(SpcAlert.detected_at.desc(), SpcAlert.id.desc())
        .limit(limit)
    )
    return list(found)


async def latest_alerts(session: AsyncSession, limit: int) -> list[SpcAlert]:
    found = await session.scalars(
        select(SpcAlert).order_by(SpcAlert.detected_at.desc(), SpcAlert.id.desc()).limit(limit)
    )
    return list(found)
