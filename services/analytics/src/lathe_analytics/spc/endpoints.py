from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from lathe_common.auth import requires
from lathe_common.csv_export import FormatParam, ListFormat, csv_response
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep
from lathe_common.problem_docs import problems

from lathe_analytics.spc.charts import chart_rows, list_charts, read_chart
from lathe_analytics.spc.schemas import (
    BASELINE_EXCEEDS_WINDOW,
    DEFAULT_WINDOW,
    MAX_WINDOW,
    MEASUREMENT_NOT_FOUND,
    PROCESS_NOT_FOUND,
    SpcChartRead,
    SpcChartSummary,
)

router = APIRouter(prefix="/analytics/spc", tags=["analytics: SPC"])

READ = [requires("analytics:read")]
CSV_COLUMNS = tuple(SpcChartSummary.model_fields)


@router.get(
    "",
    response_model=Page[SpcChartSummary],
    dependencies=READ,
    summary="The SPC charts that have points: each process measurement with its latest Cpk",
)
async def list_spc_charts(
    request: Request,
    session: SessionDep,
    page: PageDep,
    process_code: Annotated[str | None, Query(max_length=64)] = None,
    format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
) -> Page[SpcChartSummary] | StreamingResponse:
    if format is ListFormat.CSV:
        rows = chart_rows(request.app.state.session_factory, process_code, CSV_COLUMNS)
        return csv_response(CSV_COLUMNS, rows, filename="spc-charts.csv")
    items, total = await list_charts(session, process_code, page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{process_code}/{measurement}",
    response_model=SpcChartRead,
    dependencies=READ,
    summary="An individuals / moving-range chart: points, spec and control limits, Cp/Cpk/Pp/Ppk, Nelson rules 1-4",
    responses=problems(PROCESS_NOT_FOUND, MEASUREMENT_NOT_FOUND, BASELINE_EXCEEDS_WINDOW),
)
async def get_spc_chart(
    session: SessionDep,
    process_code: Annotated[str, Path(max_length=64)],
    measurement: Annotated[str, Path(max_length=200)],
    window: Annotated[
        int, Query(ge=2, le=MAX_WINDOW, description="how many of the latest points the chart shows and judges")
    ] = DEFAULT_WINDOW,
    baseline: Annotated[
        int | None,
        Query(
            ge=2,
            le=MAX_WINDOW,
            description="how many of the window's oldest points set the control limits (default: all of them)",
        ),
    ] = None,
) -> SpcChartRead:
    return await read_chart(session, process_code, measurement, window, baseline)
