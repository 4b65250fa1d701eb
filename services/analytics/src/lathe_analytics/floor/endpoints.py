"""GET /api/v1/analytics/*: the floor's dashboard, statistics, performance, quality and realtime status.

Every answer is read from the floor read model's pre-aggregated rows (see ``reads_summary`` and
``reads_quality``); every list also comes as CSV (``?format=csv``; for answers holding several
lists, ``&list=`` picks one).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, get_args

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from lathe_common.auth import requires
from lathe_common.csv_export import FormatParam, ListFormat
from lathe_common.db import SessionDep
from lathe_common.problem_docs import problems
from lathe_common.schema_rules import IsoDate
from pydantic import BaseModel

from lathe_analytics.floor import reads_quality, reads_summary
from lathe_analytics.floor.plant import CLOCK
from lathe_analytics.floor.schemas import (
    DATE_RANGE_TOO_LONG,
    INVALID_DATE_RANGE,
    Dashboard,
    GroupBy,
    OperatorPerformance,
    OperatorRow,
    OutputBucket,
    ProcessPerformance,
    ProcessPerformanceRow,
    ProductionStats,
    QualityMetrics,
    RealtimeStatus,
)
from lathe_analytics.list_answers import Days, rows_as_csv
from lathe_analytics.spc.alerts import latest_alerts

router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[requires("analytics:read")])

LATEST_ALERTS = 20


class QualityList(StrEnum):
    DEFECTS = "defects_pareto"
    PROCESSES = "by_process"
    TREND = "daily_trend"
    MODELS = "by_model"


class RealtimeList(StrEnum):
    ACTIVE_LOTS = "active_lots"
    WIP = "wip_by_process"
    LATEST = "latest_executions"


def _row_type(answer: type[BaseModel], field: str) -> type[BaseModel]:
    return get_args(answer.model_fields[field].annotation)[0]


@router.get("/dashboard", response_model=Dashboard, summary="LOTs, units, quality and executions at a glance")
async def get_dashboard(session: SessionDep) -> Dashboard:
    return await reads_summary.dashboard(session, CLOCK, datetime.now(UTC))


@router.get(
    "/production-stats",
    response_model=ProductionStats,
    summary="LOTs and units started, completed, passed, failed and scrapped per day, shift or model",
    responses=problems(INVALID_DATE_RANGE, DATE_RANGE_TOO_LONG),
)
async def get_production_stats(
    session: SessionDep,
    date_from: Annotated[
        IsoDate | None, Query(description="first production day (default: 6 days before date_to)")
    ] = None,
    date_to: Annotated[IsoDate | None, Query(description="last production day (default: today)")] = None,
    group_by: GroupBy = GroupBy.DAY,
    format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
) -> ProductionStats | StreamingResponse:
    first, last = reads_summary.checked_range(date_from, date_to, CLOCK, datetime.now(UTC))
    stats = await reads_summary.production_stats(session, first, last, group_by)
    if format is ListFormat.CSV:
        return rows_as_csv(stats.buckets, OutputBucket, "production-stats.csv")
    return stats


@router.get(
    "/process-performance",
    response_model=ProcessPerformance,
    summary="Per process: executions, results, cycle time (mean, p50, p95) and first-pass yield",
)
async def get_process_performance(
    session: SessionDep,
    days: Annotated[
        int | None, Query(ge=1, le=366, description="the last N production days; all time if left out")
    ] = None,
    format: FormatParam = ListFormat.JSON,  # noqa: A002
) -> ProcessPerformance | StreamingResponse:
    window = CLOCK.window(days) if days else None
    answer = await reads_quality.process_performance(session, window)
    if format is ListFormat.CSV:
        return rows_as_csv(answer.processes, ProcessPerformanceRow, "process-performance.csv")
    return answer


@router.get(
    "/quality-metrics",
    response_model=QualityMetrics,
    summary="Pass, defect and rework rates, defects Pareto, per process, daily trend, FPY and RTY per model",
)
async def get_quality_metrics(
    session: SessionDep,
    days: Days = 7,
    format: FormatParam = ListFormat.JSON,  # noqa: A002
    list: Annotated[QualityList, Query(description="with format=csv: which list")] = QualityList.DEFECTS,  # noqa: A002
) -> QualityMetrics | StreamingResponse:
    first, last = CLOCK.window(days)
    answer = await reads_quality.quality_metrics(session, first, last)
    if format is ListFormat.CSV:
        return rows_as_csv(
            getattr(answer, list.value), _row_type(QualityMetrics, list.value), f"quality-{list.value}.csv"
        )
    return answer


@router.get(
    "/operator-performance",
    response_model=OperatorPerformance,
    summary="Per operator: executions, units, pass rate and average cycle time",
)
async def get_operator_performance(
    session: SessionDep,
    days: Days = 7,
    format: FormatParam = ListFormat.JSON,  # noqa: A002
) -> OperatorPerformance | StreamingResponse:
    first, last = CLOCK.window(days)
    answer = await reads_quality.operator_performance(session, first, last)
    if format is ListFormat.CSV:
        return rows_as_csv(answer.operators, OperatorRow, "operator-performance.csv")
    return answer


@router.get(
    "/realtime-status",
    response_model=RealtimeStatus,
    summary="Active LOTs with progress, work in progress per process, the last hour, the latest steps, alerts",
)
async def get_realtime_status(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="active LOTs listed, newest first")] = 50,
    executions: Annotated[int, Query(ge=1, le=100, description="latest step executions listed")] = 20,
    format: FormatParam = ListFormat.JSON,  # noqa: A002
    list: Annotated[RealtimeList, Query(description="with format=csv: which list")] = RealtimeList.ACTIVE_LOTS,  # noqa: A002
) -> RealtimeStatus | StreamingResponse:
    now = datetime.now(UTC)
    answer = RealtimeStatus(
        as_of=now,
        active_lot_count=await reads_summary.active_lot_count(session),
        active_lots=await reads_summary.active_lots(session, limit),
        wip_by_process=await reads_summary.wip_by_process(session),
        throughput_last_hour=await reads_summary.throughput(session, now),
        latest_executions=await reads_summary.latest_executions(session, executions),
        alerts=await latest_alerts(session, LATEST_ALERTS),
    )
    if format is ListFormat.CSV:
        return rows_as_csv(
            getattr(answer, list.value), _row_type(RealtimeStatus, list.value), f"realtime-{list.value}.csv"
        )
    return answer
