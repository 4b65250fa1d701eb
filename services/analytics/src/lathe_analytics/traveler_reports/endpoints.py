"""GET /api/v1/analytics/labor-efficiency, /coating-status and /traveler-completion (seed 000's
reports); each list also comes as CSV (``?format=csv``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from lathe_common.auth import requires
from lathe_common.csv_export import FormatParam, ListFormat
from lathe_common.db import SessionDep

from lathe_analytics.floor.plant import CLOCK
from lathe_analytics.list_answers import Days, rows_as_csv
from lathe_analytics.traveler_reports import reads
from lathe_analytics.traveler_reports.schemas import (
    CoatingStatusReport,
    CoatingStatusRow,
    LaborEfficiency,
    LaborEfficiencyRow,
    LaborGroupBy,
    TravelerCompletion,
    TravelerRow,
)

router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[requires("analytics:read")])


@router.get(
    "/labor-efficiency",
    response_model=LaborEfficiency,
    summary="Standard time earned (units x standard time) against labor time, per operator, process or LOT",
)
async def get_labor_efficiency(
    session: SessionDep,
    days: Days = 7,
    group_by: LaborGroupBy = LaborGroupBy.OPERATOR,
    format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
) -> LaborEfficiency | StreamingResponse:
    first, last = CLOCK.window(days)
    rows = await reads.labor_efficiency(session, first, last, group_by)
    if format is ListFormat.CSV:
        return rows_as_csv(rows, LaborEfficiencyRow, f"labor-efficiency-by-{group_by.value}.csv")
    return LaborEfficiency(date_from=first, date_to=last, group_by=group_by, rows=rows)


@router.get(
    "/coating-status",
    response_model=CoatingStatusReport,
    summary="LOTs coated in the window: their coating status and latest readings",
)
async def get_coating_status(
    session: SessionDep,
    days: Days = 7,
    limit: Annotated[int, Query(ge=1, le=1000, description="LOTs listed, latest coating first")] = 200,
    format: FormatParam = ListFormat.JSON,  # noqa: A002
) -> CoatingStatusReport | StreamingResponse:
    first, last = CLOCK.window(days)
    lots = await reads.coating_status(session, first, limit)
    if format is ListFormat.CSV:
        return rows_as_csv(lots, CoatingStatusRow, "coating-status.csv")
    return CoatingStatusReport(date_from=first, date_to=last, lots=lots)


@router.get(
    "/traveler-completion",
    response_model=TravelerCompletion,
    summary="Open LOTs: routing steps their units reached against target quantity x routing steps",
)
async def get_traveler_completion(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="open LOTs listed, newest first")] = 200,
    format: FormatParam = ListFormat.JSON,  # noqa: A002
) -> TravelerCompletion | StreamingResponse:
    lots = await reads.traveler_completion(session, limit)
    if format is ListFormat.CSV:
        return rows_as_csv(lots, TravelerRow, "traveler-completion.csv")
    return TravelerCompletion(lots=lots)
