"""The answers of /api/v1/analytics (seed 001's field names where it gives them) and their refusals.

Rates and yields are percentages with two decimals, null when nothing was measured.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, Field

from lathe_analytics.spc.schemas import SpcAlertRead

INVALID_DATE_RANGE = ProblemCode(422, "invalid_date_range", "`date_from` is after `date_to`")
DATE_RANGE_TOO_LONG = ProblemCode(422, "date_range_too_long", "the range spans more than 366 production days")

Rate = float | None


class GroupBy(StrEnum):
    DAY = "day"
    SHIFT = "shift"
    MODEL = "model"


# -- dashboard -------------------------------------------------------------------------------


class LotStatistics(BaseModel):
    total_lots: int
    lots_today: int = Field(description="created this production day")
    lots_this_week: int = Field(description="created since Monday's production day")
    active_lots: int = Field(description="CREATED or IN_PROGRESS")


class SerialStatistics(BaseModel):
    total_serials: int
    serials_today: int = Field(description="created this production day")
    in_progress: int
    passed: int
    failed: int = Field(description="FAILED now: awaiting their nonconformance's disposition")
    scrapped: int


class QualitySummary(BaseModel):
    overall_pass_rate: Rate = Field(description="PASS share of all step executions, %")
    defect_rate: Rate = Field(description="FAIL share, %")
    rework_rate: Rate = Field(description="REWORK share, %")


class ExecutionSummary(BaseModel):
    total_executions: int
    avg_cycle_time_seconds: float | None
    total_failures: int


class Dashboard(BaseModel):
    production_day: date = Field(description="the production day running now, on the plant's clock")
    lot_statistics: LotStatistics
    serial_statistics: SerialStatistics
    quality_metrics: QualitySummary
    process_performance: ExecutionSummary


# -- production stats ------------------------------------------------------------------------


class OutputCounts(BaseModel):
    lots_created: int = 0
    lots_started: int = 0
    lots_completed: int = 0
    units_created: int = 0
    units_started: int = 0
    units_completed: int = Field(0, description="finished for good, each unit once: passed + scrapped")
    units_passed: int = Field(0, description="units a step or a disposition (USE_AS_IS) passed")
    units_failed: int = Field(
        0, description="failures as they happen: steps that left a unit FAILED, awaiting its disposition"
    )
    units_scrapped: int = Field(0, description="units a step (rework limit) or a disposition scrapped")


class OutputBucket(OutputCounts):
    bucket: str = Field(description="`2026-01-05`, `2026-01-05 NIGHT` or the model code")
    day: date | None = None
    shift: str | None = None
    model_code: str | None = None


class ProductionStats(BaseModel):
    date_from: date
    date_to: date
    group_by: GroupBy
    buckets: list[OutputBucket]
    totals: OutputCounts


# -- process performance ---------------------------------------------------------------------


class ProcessPerformanceRow(BaseModel):
    process_id: uuid.UUID
    process_code: str
    process_name: str | None
    total_executions: int
    success_count: int
    failure_count: int
    rework_count: int
    avg_cycle_time_seconds: float | None
    success_rate: Rate
    cycle_time_p50_seconds: float | None = Field(description="within 1 % of the true median (see docs)")
    cycle_time_p95_seconds: float | None = Field(description="within 1 % of the true 95th percentile")
    first_pass_yield: Rate = Field(description="units whose first attempt at this step passed, %")


class ProcessPerformance(BaseModel):
    days: int | None = Field(description="the last N production days; null: all time")
    percentile_relative_error: float = Field(description="bound of the cycle-time percentiles' relative error")
    processes: list[ProcessPerformanceRow]


# -- quality metrics -------------------------------------------------------------------------


class QualityRates(BaseModel):
    total_executions: int
    passes: int
    failures: int
    reworks: int
    pass_rate: Rate
    defect_rate: Rate
    rework_rate: Rate
    first_pass_yield: Rate


class DefectShare(BaseModel):
    defect_code: str
    occurrences: int
    share: Rate = Field(description="of all defect occurrences in the window, %")
    cumulative_share: Rate = Field(description="Pareto: this code and the more frequent ones, %")


class ProcessQuality(QualityRates):
    process_id: uuid.UUID
    process_code: str
    process_name: str | None
    defects: int


class DailyQuality(QualityRates):
    day: date


class StepYield(BaseModel):
    process_code: str
    first_attempts: int
    first_pass_yield: Rate


class ModelYield(BaseModel):
    model_code: str
    model_name: str | None
    first_pass_yield: Rate = Field(description="first attempts that passed, over all its steps, %")
    rolled_throughput_yield: Rate = Field(description="product of its steps' first-pass yields, %")
    steps: list[StepYield] = Field(description="in routing order; steps without units in the window are left out")


class QualityMetrics(BaseModel):
    days: int
    date_from: date
    date_to: date
    rates: QualityRates
    defects_pareto: list[DefectShare]
    by_process: list[ProcessQuality]
    daily_trend: list[DailyQuality]
    by_model: list[ModelYield]


# -- operators -------------------------------------------------------------------------------


class OperatorRow(BaseModel):
    operator: str | None = Field(description="null: steps recorded without an operator")
    executions: int
    units: int = Field(description="unit steps done for the first time (a rework's repeat is not a new unit)")
    passes: int
    failures: int
    reworks: int
    pass_rate: Rate
    avg_cycle_time_seconds: float | None


class OperatorPerformance(BaseModel):
    days: int
    date_from: date
    date_to: date
    operators: list[OperatorRow]


# -- realtime --------------------------------------------------------------------------------


class ActiveLot(BaseModel):
    lot_id: uuid.UUID
    lot_number: str | None
    model_code: str | None
    work_order_number: str | None
    status: str
    target_quantity: int | None
    units: int
    units_finished: int
    units_passed: int
    progress_percent: Rate = Field(description="finished units of the target quantity, %")
    created_at: datetime | None


class ProcessWip(BaseModel):
    process_code: str | None = Field(description="null: the model's routing is not known here")
    process_name: str | None
    units: int = Field(description="units waiting at (or being reworked at) this step")


class Throughput(BaseModel):
    minutes: int
    executions: int
    passes: int
    failures: int
    reworks: int
    units_finished: int


class RecentExecution(BaseModel):
    step_id: uuid.UUID
    completed_at: datetime
    process_code: str
    level: str
    model_code: str
    lot_number: str
    serial_number: str | None
    result: str
    serial_status: str | None
    operator: str | None
    equipment_id: str | None
    cycle_time_seconds: float | None
    defect_codes: list[str]


class RealtimeStatus(BaseModel):
    as_of: datetime
    active_lot_count: int
    active_lots: list[ActiveLot] = Field(description="newest first, up to `limit`")
    wip_by_process: list[ProcessWip]
    throughput_last_hour: Throughput
    latest_executions: list[RecentExecution]
    alerts: list[SpcAlertRead] = Field(description="the latest SPC alerts of every chart, newest first")
