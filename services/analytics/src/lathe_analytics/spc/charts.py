"""Reading charts: one chart's window analysed, and the list of charts with their latest summary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from lathe_common.errors import InvalidInput, NotFound
from lathe_common.pagination import PageParams
from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lathe_analytics.spc import repository
from lathe_analytics.spc.alerts import alert_read
from lathe_analytics.spc.analysis import analyse
from lathe_analytics.spc.models import SpcChart, SpcProcess
from lathe_analytics.spc.schemas import (
    BASELINE_EXCEEDS_WINDOW,
    MEASUREMENT_NOT_FOUND,
    PROCESS_NOT_FOUND,
    CapabilityRead,
    ControlLimitsRead,
    LimitsRead,
    NoteRead,
    PointRead,
    SpcChartRead,
    SpcChartSummary,
    SpecLimitsRead,
    StatisticsRead,
    ViolationRead,
)
from lathe_analytics.spc.statistics import NOTE_TEXT, SpecLimits, moving_ranges

ALERTS_PER_CHART = 20


async def _refuse_unknown(
    session: AsyncSession, process: SpcProcess | None, process_code: str, measurement: str
) -> None:
    """404 for a chart that has no points and no spec limits: which of the two is unknown."""
    has_charts = await session.scalar(select(exists().where(SpcChart.process_code == process_code)))
    if process is None and not has_charts:
        raise NotFound(
            f"No process {process_code!r} is known to analytics.",
            code=PROCESS_NOT_FOUND.code,
            process_code=process_code,
        )
    raise NotFound(
        f"Process {process_code!r} has no spec limits and no numeric points for {measurement!r}.",
        code=MEASUREMENT_NOT_FOUND.code,
        process_code=process_code,
        measurement=measurement,
    )


async def read_chart(
    session: AsyncSession, process_code: str, measurement: str, window: int, baseline: int | None
) -> SpcChartRead:
    if baseline is not None and baseline > window:
        raise InvalidInput(
            f"baseline ({baseline}) must not exceed window ({window}): the limits come from the window's oldest "
            "points.",
            code=BASELINE_EXCEEDS_WINDOW.code,
        )
    chart = (process_code, measurement)
    process = (await repository.processes(session, [process_code])).get(process_code)
    points = await repository.window(session, chart, window)
    spec = repository.spec_of(process, measurement)
    if not points and spec is None:
        await _refuse_unknown(session, process, process_code, measurement)
    values = [p.value for p in points]
    analysis = analyse(values, spec[0] if spec else SpecLimits(), baseline)
    summary, found, limits = analysis.summary, analysis.capability, analysis.limits
    notes = dict.fromkeys([*found.notes, *analysis.notes])  # in order, once each
    alerts = await repository.alerts_of(session, chart, ALERTS_PER_CHART)
    return SpcChartRead(
        process_code=process_code,
        process_name=process.name if process else None,
        measurement=measurement,
        window=window,
        spec_limits=(
            SpecLimitsRead(lower_limit=spec[0].lower, upper_limit=spec[0].upper, target=spec[0].target, unit=spec[1])
            if spec
            else None
        ),
        statistics=StatisticsRead(**summary.__dict__),
        capability=CapabilityRead(
            cp=found.cp,
            cpk=found.cpk,
            cpu=found.cpu,
            cpl=found.cpl,
            pp=found.pp,
            ppk=found.ppk,
            ppu=found.ppu,
            ppl=found.ppl,
        ),
        control_limits=ControlLimitsRead(
            baseline_n=limits.n,
            sigma=limits.sigma,
            individuals=LimitsRead(centre_line=limits.centre_line, upper=limits.upper, lower=limits.lower),
            moving_range=LimitsRead(centre_line=limits.mr_centre_line, upper=limits.mr_upper, lower=limits.mr_lower),
        ),
        violations=[
            ViolationRead(
                rule=int(v.rule), rule_code=v.rule.code, description=v.rule.description, indices=list(v.indices)
            )
            for v in analysis.violations
        ],
        notes=[NoteRead(code=code, detail=NOTE_TEXT[code]) for code in notes],
        points=[
            PointRead(
                index=i,
                value=p.value,
                moving_range=mr,
                completed_at=p.completed_at,
                serial_number=p.serial_number,
                lot_number=p.lot_number,
                model_code=p.model_code,
                step_id=p.step_id,
            )
            for i, (p, mr) in enumerate(zip(points, moving_ranges(values), strict=True))
        ],
        alerts=[alert_read(a) for a in alerts],
    )


def listed_charts(process_code: str | None) -> Select[Any]:
    """Charts with their process (if known), by process code and measurement."""
    statement = (
        select(SpcChart, SpcProcess)
        .outerjoin(SpcProcess, SpcProcess.process_code == SpcChart.process_code)
        .order_by(SpcChart.process_code, SpcChart.measurement)
    )
    if process_code is not None:
        statement = statement.where(SpcChart.process_code == process_code)
    return statement


def chart_summary(chart: SpcChart, process: SpcProcess | None) -> SpcChartSummary:
    spec = repository.spec_of(process, chart.measurement)
    return SpcChartSummary(
        process_code=chart.process_code,
        process_name=process.name if process else None,
        measurement=chart.measurement,
        unit=spec[1] if spec else None,
        lower_limit=spec[0].lower if spec else None,
        upper_limit=spec[0].upper if spec else None,
        points_kept=chart.points_kept,
        n=chart.window_n,
        mean=chart.mean,
        cpk=chart.cpk,
        ppk=chart.ppk,
        last_point_at=chart.last_point_at,
    )


async def list_charts(
    session: AsyncSession, process_code: str | None, page: PageParams
) -> tuple[list[SpcChartSummary], int]:
    rows = (await session.execute(listed_charts(process_code).limit(page.limit).offset(page.offset))).all()
    counted = select(func.count()).select_from(SpcChart)
    if process_code is not None:
        counted = counted.where(SpcChart.process_code == process_code)
    return [chart_summary(chart, process) for chart, process in rows], int(await session.scalar(counted) or 0)


async def chart_rows(
    factory: async_sessionmaker[AsyncSession], process_code: str | None, columns: Sequence[str]
) -> AsyncIterator[list[Any]]:
    """Every listed chart as CSV cells, read in a transaction of its own (see csv_export)."""
    async with factory() as session, session.begin():
        result = await session.stream(listed_charts(process_code).execution_options(yield_per=500))
        async for chart, process in result:
            summary = chart_summary(chart, process)
            yield [getattr(summary, column) for column in columns]
