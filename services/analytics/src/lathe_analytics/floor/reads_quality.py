"""Process performance, quality metrics and operator performance, from the daily and all-time rows.

A window of N production days reads the day rows of those days (summed in PostgreSQL with
GROUPING SETS: one statement for the totals, per day, per process and per model and process);
"all time" reads the all-time rows. Cycle-time percentiles come from the summed bin counts
(``cycle_bins``), first-pass and rolled throughput yields from the first-attempt counts (``rates``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, Uuid, any_, bindparam, cast, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.buckets import days_between
from lathe_analytics.floor.cycle_bins import ALPHA, percentile
from lathe_analytics.floor.facts import NO_OPERATOR
from lathe_analytics.floor.models import (
    FloorCycleBinDay,
    FloorCycleBinTotal,
    FloorDefectDay,
    FloorProcess,
    FloorProductModel,
    FloorStepDay,
    FloorStepTotal,
)
from lathe_analytics.floor.rates import average, first_pass_yield, percent, rolled_throughput_yield
from lathe_analytics.floor.schemas import (
    DailyQuality,
    DefectShare,
    ModelYield,
    OperatorPerformance,
    OperatorRow,
    ProcessPerformance,
    ProcessPerformanceRow,
    ProcessQuality,
    QualityMetrics,
    QualityRates,
    StepYield,
)


@dataclass
class Sums:
    executions: int = 0
    passes: int = 0
    failures: int = 0
    reworks: int = 0
    cycle_count: int = 0
    cycle_seconds: Decimal = Decimal(0)
    first_attempts: int = 0
    first_passes: int = 0

    def rates(self) -> dict[str, Any]:
        return {
            "total_executions": self.executions,
            "passes": self.passes,
            "failures": self.failures,
            "reworks": self.reworks,
            "pass_rate": percent(self.passes, self.executions),
            "defect_rate": percent(self.failures, self.executions),
            "rework_rate": percent(self.reworks, self.executions),
            "first_pass_yield": first_pass_yield(self.first_passes, self.first_attempts),
        }


_SUMMED = tuple(Sums.__dataclass_fields__)


def _sums(table: Any) -> list[Any]:
    return [func.coalesce(func.sum(table.c[name]), 0).label(name) for name in _SUMMED]


def _to_sums(row: Any) -> Sums:
    """PostgreSQL sums bigints as numeric: counts back to int, seconds stay Decimal."""
    values = {name: row._mapping[name] for name in _SUMMED}
    return Sums(**{name: v if name == "cycle_seconds" else int(v) for name, v in values.items()})


@dataclass(frozen=True)
class _Process:
    process_code: str
    process_number: int
    name: str


def _text_id(column: Any) -> Any:
    """Ids read as text: a uuid.UUID object per row costs more than the rest of the row."""
    return cast(column, Text).label(column.name)


async def _processes(session: AsyncSession, ids: Iterable[str]) -> dict[str, _Process]:
    """The named processes among ``ids`` (plain rows: a plant may define hundreds)."""
    p = FloorProcess
    wanted = bindparam("process_ids", list(ids), type_=ARRAY(Uuid(as_uuid=False)))
    rows = await session.execute(
        select(_text_id(p.process_id), p.process_code, p.process_number, p.name).where(p.process_id == any_(wanted))
    )
    return {pid: _Process(code, number, name) for pid, code, number, name in rows}


def _process_order(processes: dict[str, _Process], codes: dict[str, str]):  # noqa: ANN202
    def key(process_id: str) -> tuple[int, str]:
        known = processes.get(process_id)
        return (known.process_number if known else 2**31, codes.get(process_id, ""))

    return key


async def process_performance(session: AsyncSession, window: tuple[date, date] | None) -> ProcessPerformance:
    steps = FloorStepTotal.__table__ if window is None else FloorStepDay.__table__
    bins = FloorCycleBinTotal.__table__ if window is None else FloorCycleBinDay.__table__
    step_query = select(
        _text_id(steps.c.process_id), func.max(steps.c.process_code).label("code"), *_sums(steps)
    ).group_by(steps.c.process_id)
    bin_query = select(_text_id(bins.c.process_id), bins.c.bin, func.sum(bins.c.n)).group_by(
        bins.c.process_id, bins.c.bin
    )
    if window is not None:
        step_query = step_query.where(steps.c.day.between(*window))
        bin_query = bin_query.where(bins.c.day.between(*window))
    rows = {row.process_id: row for row in await session.execute(step_query)}
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for process_id, index, n in await session.execute(bin_query):
        counts[process_id][index] = int(n)
    processes = await _processes(session, rows)
    codes = {pid: row.code for pid, row in rows.items()}
    answer = []
    for process_id in sorted(rows, key=_process_order(processes, codes)):
        s, known = _to_sums(rows[process_id]), processes.get(process_id)
        answer.append(
            ProcessPerformanceRow(
                process_id=process_id,
                process_code=known.process_code if known else codes[process_id],
                process_name=known.name if known else None,
                total_executions=s.executions,
                success_count=s.passes,
                failure_count=s.failures,
                rework_count=s.reworks,
                avg_cycle_time_seconds=average(s.cycle_seconds, s.cycle_count),
                success_rate=percent(s.passes, s.executions),
                cycle_time_p50_seconds=_rounded(percentile(counts[process_id], 0.5)),
                cycle_time_p95_seconds=_rounded(percentile(counts[process_id], 0.95)),
                first_pass_yield=first_pass_yield(s.first_passes, s.first_attempts),
            )
        )
    days = None if window is None else (window[1] - window[0]).days + 1
    return ProcessPerformance(days=days, percentile_relative_error=ALPHA, processes=answer)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def quality_metrics(session: AsyncSession, first: date, last: date) -> QualityMetrics:
    d = FloorStepDay.__table__
    grouped = await session.execute(
        select(
            d.c.day,
            _text_id(d.c.process_id),
            d.c.model_code,
            func.max(d.c.process_code).label("code"),
            func.grouping(d.c.day, d.c.process_id, d.c.model_code).label("set"),
            *_sums(d),
        )
        .where(d.c.day.between(first, last))
        .group_by(
            func.grouping_sets(
                tuple_(), tuple_(d.c.day), tuple_(d.c.process_id), tuple_(d.c.model_code, d.c.process_id)
            )
        )
    )
    overall, by_day, by_process, by_model_step = Sums(), {}, {}, defaultdict(dict)
    codes: dict[str, str] = {}
    for row in grouped:
        # grouping(): a bit per column left out of the row's set (day 4, process 2, model 1)
        if row.set == 0b111:
            overall = _to_sums(row)
        elif row.set == 0b011:
            by_day[row.day] = _to_sums(row)
        elif row.set == 0b101:
            by_process[row.process_id] = _to_sums(row)
            codes[row.process_id] = row.code
        elif row.set == 0b100:
            by_model_step[row.model_code][row.process_id] = _to_sums(row)
            codes[row.process_id] = row.code
    defects = FloorDefectDay.__table__
    defect_rows = (
        await session.execute(
            select(
                defects.c.defect_code,
                _text_id(defects.c.process_id),
                func.grouping(defects.c.defect_code, defects.c.process_id).label("set"),
                func.sum(defects.c.occurrences).label("n"),
            )
            .where(defects.c.day.between(first, last))
            .group_by(func.grouping_sets(tuple_(defects.c.defect_code), tuple_(defects.c.process_id)))
        )
    ).all()
    processes = await _processes(session, set(by_process) | {p for steps in by_model_step.values() for p in steps})
    return QualityMetrics(
        days=(last - first).days + 1,
        date_from=first,
        date_to=last,
        rates=QualityRates(**overall.rates()),
        defects_pareto=_pareto({r.defect_code: int(r.n) for r in defect_rows if r.set == 0b01}),
        by_process=[
            ProcessQuality(
                process_id=pid,
                process_code=processes[pid].process_code if pid in processes else codes[pid],
                process_name=processes[pid].name if pid in processes else None,
                defects=sum(int(r.n) for r in defect_rows if r.set == 0b10 and r.process_id == pid),
                **by_process[pid].rates(),
            )
            for pid in sorted(by_process, key=_process_order(processes, codes))
        ],
        daily_trend=[DailyQuality(day=day, **by_day.get(day, Sums()).rates()) for day in days_between(first, last)],
        by_model=await _model_yields(session, by_model_step, processes, codes),
    )


def _pareto(occurrences: dict[str, int]) -> list[DefectShare]:
    total = sum(occurrences.values())
    ranked = sorted(occurrences.items(), key=lambda item: (-item[1], item[0]))
    answer, running = [], 0
    for code, n in ranked:
        running += n
        answer.append(
            DefectShare(
                defect_code=code, occurrences=n, share=percent(n, total), cumulative_share=percent(running, total)
            )
        )
    return answer


async def _model_yields(
    session: AsyncSession,
    by_model_step: dict[str, dict[str, Sums]],
    processes: dict[str, _Process],
    codes: dict[str, str],
) -> list[ModelYield]:
    models = {
        m.model_code: m
        for m in await session.scalars(
            select(FloorProductModel).where(FloorProductModel.model_code.in_(list(by_model_step)))
        )
    }
    answer = []
    for model_code in sorted(by_model_step):
        known = models.get(model_code)
        routing = list(known.routing) if known else []
        steps = by_model_step[model_code]
        code_of = {pid: processes[pid].process_code if pid in processes else codes[pid] for pid in steps}
        ordered = sorted(
            (pid for pid in steps if steps[pid].first_attempts),
            key=lambda pid: (routing.index(code_of[pid]) if code_of[pid] in routing else len(routing), code_of[pid]),
        )
        yields = [first_pass_yield(steps[pid].first_passes, steps[pid].first_attempts) for pid in ordered]
        attempts = sum(steps[pid].first_attempts for pid in ordered)
        passes = sum(steps[pid].first_passes for pid in ordered)
        answer.append(
            ModelYield(
                model_code=model_code,
                model_name=known.model_name if known else None,
                first_pass_yield=first_pass_yield(passes, attempts),
                rolled_throughput_yield=rolled_throughput_yield(
                    (steps[pid].first_passes, steps[pid].first_attempts) for pid in ordered
                ),
                steps=[
                    StepYield(process_code=code_of[pid], first_attempts=steps[pid].first_attempts, first_pass_yield=y)
                    for pid, y in zip(ordered, yields, strict=True)
                ],
            )
        )
    return answer


async def operator_performance(session: AsyncSession, first: date, last: date) -> OperatorPerformance:
    d = FloorStepDay.__table__
    rows = await session.execute(
        select(d.c.operator, *_sums(d)).where(d.c.day.between(first, last)).group_by(d.c.operator)
    )
    operators = []
    for row in rows:
        s = _to_sums(row)
        operators.append(
            OperatorRow(
                operator=None if row.operator == NO_OPERATOR else row.operator,
                executions=s.executions,
                units=s.first_attempts,
                passes=s.passes,
                failures=s.failures,
                reworks=s.reworks,
                pass_rate=percent(s.passes, s.executions),
                avg_cycle_time_seconds=average(s.cycle_seconds, s.cycle_count),
            )
        )
    operators.sort(key=lambda o: (-o.executions, o.operator or ""))
    return OperatorPerformance(days=(last - first).days + 1, date_from=first, date_to=last, operators=operators)
