"""SPC from production's events: spec limits from process events, points from steps, alerts.

Batched and set-based (``batched_by_event_type``): a batch's steps are one INSERT of their numeric
measurements (``ON CONFLICT DO NOTHING`` on step and measurement, so a redelivered step adds no
point), one count per chart, one read of every touched chart's latest points, one check of what
was announced before. Only the points that are really new are judged for alerts (see ``alerts``).

A chart keeps its latest ``spc_points_per_chart`` points: older ones are deleted once a chart has a
tenth more (at least 100 more) than that, so the cost is paid now and then, not per batch.
Processes arrive on their own topic, unordered with steps: points are kept whether or not the
process is known yet, and its spec limits apply from when they are.

A read model (``spc_read_model``): ``python -m lathe_analytics rebuild analytics.spc`` replays the
topics into fresh processes, points and charts and switches them in. A replay announces nothing
and leaves the alerts and what they remember alone (they are history, not derived from the topics
alone: each was judged on what was known when its points arrived). Which old points a chart still
holds may differ with the batching (it is pruned once it has a tenth more than it keeps); the
latest ``spc_points_per_chart``, all any answer reads, do not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from lathe_common.consumers import batched_by_event_type
from lathe_contracts.production import (
    PROCESS_DATA_TOPIC,
    PROCESSES_TOPIC,
    ProcessChangedEvent,
    ProcessDefinedEvent,
    StepRecordedEvent,
)
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.read_models.declaration import ReadModel, replaying
from lathe_analytics.settings import settings
from lathe_analytics.spc import repository
from lathe_analytics.spc.alerts import Judged, announce_new_violations
from lathe_analytics.spc.analysis import analyse
from lathe_analytics.spc.measurements import points_of
from lathe_analytics.spc.models import SpcChart, SpcPoint, SpcProcess
from lathe_analytics.spc.schemas import DEFAULT_WINDOW
from lathe_analytics.spc.statistics import SpecLimits


def _last_per(events: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    """The last event of each key (a row may be written once per statement)."""
    return list({key(event): event for event in events}.values())


def _prune_above(keep: int) -> int:
    return keep + max(100, keep // 10)


async def _judge(
    session: AsyncSession, charts: Iterable[repository.Chart], new: dict[repository.Chart, set[uuid.UUID]]
) -> list[Judged]:
    """Each chart's latest points analysed (and its summary for the list of charts saved)."""
    tails = await repository.tails(session, charts, DEFAULT_WINDOW)
    known = await repository.processes(session, {code for code, _ in tails})
    judged, summaries = [], []
    for chart, points in tails.items():
        spec = repository.spec_of(known.get(chart[0]), chart[1])
        analysis = analyse([p.value for p in points], spec[0] if spec else SpecLimits())
        judged.append(Judged(chart, points, analysis, new.get(chart, set())))
        summaries.append(
            {
                "process_code": chart[0],
                "measurement": chart[1],
                "window_n": analysis.summary.n,
                "mean": analysis.summary.mean,
                "cpk": analysis.capability.cpk,
                "ppk": analysis.capability.ppk,
            }
        )
    await repository.save_summaries(session, summaries)
    return judged


async def steps_recorded(session: AsyncSession, events: list[StepRecordedEvent]) -> None:
    points = [point for event in events for point in points_of(event)]
    if not points:
        return
    new = await repository.insert_points(session, points)
    if not new:
        return  # every point was stored before: a redelivery
    latest: dict[repository.Chart, Any] = {}
    for point in points:
        if point.step_id in new.get(point.chart, ()):
            latest[point.chart] = max(latest.get(point.chart, point.completed_at), point.completed_at)
    kept = await repository.count_new_points(session, {chart: len(ids) for chart, ids in new.items()}, latest)
    keep = settings.spc_points_per_chart
    for chart, count in sorted(kept.items()):
        if count > _prune_above(keep):
            await repository.keep_latest(session, chart, keep, forget_alert_points=not replaying())
    judged = await _judge(session, new, new)
    if not replaying():
        await announce_new_violations(session, judged)


def _process_rows(events: list[ProcessDefinedEvent]) -> list[dict[str, Any]]:
    return [
        {
            "process_code": e.process_code,
            "process_id": e.id,
            "name": e.name,
            "quality_criteria": e.quality_criteria,
            "is_active": e.is_active,
        }
        for e in _last_per(events, lambda e: e.process_code)
    ]


async def processes_defined(session: AsyncSession, events: list[ProcessDefinedEvent]) -> None:
    # A definition never overwrites: one delivered again after changes must not undo them.
    await session.execute(insert(SpcProcess).values(_process_rows(events)).on_conflict_do_nothing())
    await _judge(session, await repository.charts_of(session, {e.process_code for e in events}), {})


async def processes_changed(session: AsyncSession, events: list[ProcessChangedEvent]) -> None:
    statement = insert(SpcProcess).values(_process_rows(events))
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[SpcProcess.process_code],
            set_={
                "process_id": statement.excluded.process_id,
                "name": statement.excluded.name,
                "quality_criteria": statement.excluded.quality_criteria,
                "is_active": statement.excluded.is_active,
                "updated_at": func.now(),
            },
        )
    )
    # New spec limits change the charts' indices (never their rules: those do not read spec limits).
    await _judge(session, await repository.charts_of(session, {e.process_code for e in events}), {})


_apply = batched_by_event_type(
    {
        ProcessDefinedEvent: processes_defined,
        ProcessChangedEvent: processes_changed,
        StepRecordedEvent: steps_recorded,
    }
)


spc_read_model = ReadModel(
    name="analytics.spc",
    topics=(PROCESSES_TOPIC, PROCESS_DATA_TOPIC),
    tables=(SpcProcess.__table__, SpcPoint.__table__, SpcChart.__table__),
    apply=_apply,
    batch_size=2000,
    description="Spec limits from process events and numeric measurements from steps, into SPC charts; "
    "new Nelson-rule violations announced on lathe.analytics.spc-alerts.v1.",
)
