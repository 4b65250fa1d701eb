from __future__ import annotations

import uuid
from datetime import datetime

from lathe_common.problem_docs import ProblemCode
from lathe_contracts.analytics import SpcAlertPoint
from pydantic import BaseModel, ConfigDict, Field

PROCESS_NOT_FOUND = ProblemCode(404, "process_not_found", "analytics knows no process with that code (from its events)")
MEASUREMENT_NOT_FOUND = ProblemCode(
    404, "measurement_not_found", "the process has neither spec limits nor numeric points for that measurement"
)
BASELINE_EXCEEDS_WINDOW = ProblemCode(422, "baseline_exceeds_window", "`baseline` is larger than `window`")

DEFAULT_WINDOW = 100
MAX_WINDOW = 10_000


class SpecLimitsRead(BaseModel):
    lower_limit: float | None
    upper_limit: float | None
    target: float | None
    unit: str | None


class StatisticsRead(BaseModel):
    n: int = Field(description="points in the window")
    mean: float | None
    std_dev: float | None = Field(description="overall sample standard deviation (n - 1)")
    mr_bar: float | None = Field(description="mean moving range of consecutive points")
    sigma_within: float | None = Field(description="MR̄ / d2, d2 = 1.128")


class CapabilityRead(BaseModel):
    """AIAG definitions: Cp / Cpk from sigma_within, Pp / Ppk from std_dev. None where undefined (see notes)."""

    cp: float | None
    cpk: float | None
    cpu: float | None
    cpl: float | None
    pp: float | None
    ppk: float | None
    ppu: float | None
    ppl: float | None


class LimitsRead(BaseModel):
    centre_line: float | None
    upper: float | None
    lower: float | None


class ControlLimitsRead(BaseModel):
    baseline_n: int = Field(description="points the limits come from: the oldest of the window")
    sigma: float | None = Field(description="the baseline's MR̄ / d2")
    individuals: LimitsRead = Field(description="centre ± 3 sigma (x̄ ± 2.66 MR̄)")
    moving_range: LimitsRead = Field(description="MR̄, UCL 3.267 MR̄, LCL 0")


class NoteRead(BaseModel):
    code: str
    detail: str


class ViolationRead(BaseModel):
    rule: int = Field(description="Nelson's rule number, 1-4")
    rule_code: str
    description: str
    indices: list[int] = Field(description="positions in `points` of the points that make it")


class PointRead(BaseModel):
    index: int
    value: float
    moving_range: float | None
    completed_at: datetime
    serial_number: str | None
    lot_number: str | None
    model_code: str | None
    step_id: uuid.UUID


class SpcAlertRead(BaseModel):
    id: uuid.UUID
    process_code: str
    measurement: str
    rule: int
    rule_code: str
    description: str
    centre_line: float | None
    upper_control_limit: float | None
    lower_control_limit: float | None
    points: list[SpcAlertPoint]
    detected_at: datetime


class SpcChartRead(BaseModel):
    process_code: str
    process_name: str | None
    measurement: str
    window: int = Field(description="points asked for; `statistics.n` says how many there are")
    spec_limits: SpecLimitsRead | None
    statistics: StatisticsRead
    capability: CapabilityRead
    control_limits: ControlLimitsRead
    violations: list[ViolationRead]
    notes: list[NoteRead] = Field(description="why an index, a limit or rule 1 is missing")
    points: list[PointRead] = Field(description="oldest first")
    alerts: list[SpcAlertRead] = Field(description="the latest alerts announced for this chart, newest first")


class SpcChartSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    process_code: str
    process_name: str | None
    measurement: str
    unit: str | None
    lower_limit: float | None
    upper_limit: float | None
    points_kept: int
    n: int = Field(description="points in the default window (the latest 100)")
    mean: float | None
    cpk: float | None
    ppk: float | None
    last_point_at: datetime | None
