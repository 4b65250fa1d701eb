"""Alerts: new rule violations recorded and announced in the consumer's transaction.

How rules are judged on new points: each batch that brings a chart new points judges the chart's
latest ``ALERT_WINDOW`` points (the API's default window) against control limits from those same
points (the chart as ``GET .../spc/{process}/{measurement}`` shows it by default), and announces the
violations that ``novelty.judge`` finds new. Limits move with the window, so a violation is judged by
what was known when its points arrived: a batch that brings many points at once judges them
together, and may announce fewer passing signals than the same points one by one would have.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lathe_common.db import time_ordered_id
from lathe_common.outbox import Outbox
from lathe_contracts.analytics import SpcAlertEvent, SpcAlertPoint
from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.settings import settings
from lathe_analytics.spc import repository
from lathe_analytics.spc.analysis import ChartAnalysis
from lathe_analytics.spc.models import SpcAlert, SpcPoint
from lathe_analytics.spc.novelty import judge
from lathe_analytics.spc.rules import Rule, Violation
from lathe_analytics.spc.schemas import SpcAlertRead
from lathe_analytics.tables import plumbing

SPC_ALERTS = Counter(
    "lathe_spc_alerts_total",
    "SPC rule violations announced on lathe.analytics.spc-alerts.v1",
    ["process", "measurement", "rule"],
)

outbox = Outbox(plumbing, source="lathe/analytics", max_event_bytes=settings.outbox_max_event_bytes)
# A violation whose newest point is older than this is history nobody can act on any more.
ALERT_MAX_AGE = timedelta(hours=settings.spc_alert_max_age_hours)


@dataclass
class Judged:
    """One chart judged in a batch: its latest points, what the rules found, and which points are new."""

    chart: repository.Chart
    points: list[SpcPoint]
    analysis: ChartAnalysis
    new: set[uuid.UUID] = field(default_factory=set)


def _alert_points(points: Sequence[SpcPoint], violation: Violation) -> list[SpcAlertPoint]:
    return [
        SpcAlertPoint(
            step_id=points[i].step_id,
            value=points[i].value,
            completed_at=points[i].completed_at.astimezone(UTC).isoformat(),
            serial_number=points[i].serial_number,
            lot_number=points[i].lot_number,
        )
        for i in violation.indices
    ]


def _count_once_committed(session: AsyncSession, labels: list[tuple[str, str, str]]) -> None:
    """The metric counts alerts that exist: incremented when the transaction commits, not before
    (a batch rolled back and redelivered would count its alerts twice)."""

    def count(_session: object) -> None:
        for process, measurement, rule in labels:
            SPC_ALERTS.labels(process, measurement, rule).inc()

    event.listen(session.sync_session, "after_commit", count, once=True)


async def announce_new_violations(session: AsyncSession, judged: Sequence[Judged]) -> list[SpcAlertEvent]:
    """Records and announces the violations of ``judged`` charts that are new (see ``novelty``)."""
    candidates = [j for j in judged if j.new and j.analysis.violations]
    if not candidates:
        return []
    in_violations = {j.points[i].step_id for j in candidates for v in j.analysis.violations for i in v.indices}
    announced = await repository.announced_points(session, [j.chart for j in candidates], in_violations)
    detected_at = datetime.now(UTC)
    recent = detected_at - ALERT_MAX_AGE
    events: list[SpcAlertEvent] = []
    remembered: list[dict] = []
    for j in candidates:
        process_code, measurement = j.chart
        # History (a first start over old data, a machine sending old records) is neither announced
        # nor remembered: a run that goes on with new points is announced then.
        current = [v for v in j.analysis.violations if max(j.points[i].completed_at for i in v.indices) >= recent]
        verdict = judge(current, [p.step_id for p in j.points], j.new, announced[j.chart])
        remembered += [
            {"process_code": process_code, "measurement": measurement, "rule": int(rule), "step_id": step_id}
            for rule, step_id in verdict.remembered
        ]
        limits = j.analysis.limits
        for violation in verdict.fresh:
            events.append(
                SpcAlertEvent(
                    id=time_ordered_id(),
                    process_code=process_code,
                    measurement=measurement,
                    rule=int(violation.rule),
                    rule_code=violation.rule.code,
                    description=violation.rule.description,
                    centre_line=limits.centre_line,
                    upper_control_limit=limits.upper,
                    lower_control_limit=limits.lower,
                    points=_alert_points(j.points, violation),
                    detected_at=detected_at.isoformat(),
                )
            )
    await repository.remember_announced(session, remembered)
    if events:
        await repository.add_alerts(
            session,
            [
                {
                    "id": e.id,
                    "process_code": e.process_code,
                    "measurement": e.measurement,
                    "rule": e.rule,
                    "centre_line": e.centre_line,
                    "upper_control_limit": e.upper_control_limit,
                    "lower_control_limit": e.lower_control_limit,
                    "points": [p.model_dump(mode="json") for p in e.points],
                    "detected_at": detected_at,
                }
                for e in events
            ],
        )
        await outbox.add(session, *events)
        _count_once_committed(session, [(e.process_code, e.measurement, str(e.rule)) for e in events])
    return events


def alert_read(alert: SpcAlert) -> SpcAlertRead:
    rule = Rule(alert.rule)
    return SpcAlertRead(
        id=alert.id,
        process_code=alert.process_code,
        measurement=alert.measurement,
        rule=int(rule),
        rule_code=rule.code,
        description=rule.description,
        centre_line=alert.centre_line,
        upper_control_limit=alert.upper_control_limit,
        lower_control_limit=alert.lower_control_limit,
        points=alert.points,
        detected_at=alert.detected_at,
    )


async def latest_alerts(session: AsyncSession, limit: int) -> list[SpcAlertRead]:
    """The latest SPC alerts of every chart, newest first (for the realtime status)."""
    return [alert_read(a) for a in await repository.latest_alerts(session, limit)]
