from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from lathe_common.problem_docs import ProblemCode
from lathe_common.schema_rules import IsoAwareDateTime, at_least_one_of
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lathe_production.process_data.judging import StepResult

# How a step execution is refused (POST /process-data; the machine topic dead-letters the same).
STEP_PROCESS_NOT_FOUND = ProblemCode(404, "process_not_found", "no process has that process code")
STEP_PROCESS_INACTIVE = ProblemCode(422, "inactive_process", "the process is inactive")
SERIAL_NOT_IN_LOT = ProblemCode(422, "serial_not_in_lot", "the unit belongs to another LOT than `lot_number`")
INVALID_MEASUREMENT = ProblemCode(422, "invalid_measurement", "a measurement with spec limits is not a number")
PROCESS_NOT_IN_ROUTING = ProblemCode(422, "process_not_in_routing", "the process is not in the product's routing")
STEP_OUT_OF_ORDER = ProblemCode(409, "step_out_of_order", "the unit's next step is another one (`expected_process`)")


# What StepExecution's validator checks, as far as a schema can state it, for POST /process-data
# to add to its body's schema (StepExecution's own is the machine topic's contract, docs/asyncapi).
STEP_EXECUTION_RULES: dict[str, Any] = {
    "description": "`serial_number` or `lot_number` (or both); `started_at` not after `completed_at`"
}
at_least_one_of("serial_number", "lot_number")(STEP_EXECUTION_RULES)


class Defect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=1000)


class StepExecution(BaseModel):
    """The machine message of contracts.md; over REST ``message_id`` is an optional idempotency key."""

    message_id: str | None = Field(default=None, min_length=1, max_length=128)
    serial_number: str | None = Field(default=None, min_length=1, max_length=80)
    lot_number: str | None = Field(default=None, min_length=1, max_length=64)
    process_code: str = Field(min_length=1, max_length=64)
    result: StepResult | None = None
    measurements: dict[str, Any] = Field(default_factory=dict)
    defects: list[Defect] = Field(default_factory=list, max_length=100)
    operator: str | None = Field(default=None, max_length=64)
    equipment_id: str | None = Field(default=None, max_length=64)
    started_at: IsoAwareDateTime | None = None
    completed_at: IsoAwareDateTime | None = None

    @field_validator("defects", mode="before")
    @classmethod
    def _defect_codes(cls, value: Any) -> Any:
        # Machines often send bare codes: ["SCRATCH"] means [{"code": "SCRATCH"}].
        if isinstance(value, list):
            return [{"code": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _subject_and_times(self) -> StepExecution:
        if self.serial_number is None and self.lot_number is None:
            raise ValueError("one of serial_number and lot_number is required")
        if self.started_at and self.completed_at and self.started_at > self.completed_at:
            raise ValueError("started_at is after completed_at")
        return self


class ProcessDataRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    message_id: str | None
    process_code: str
    lot_id: uuid.UUID
    serial_id: uuid.UUID | None
    level: str
    step_no: int | None
    result: StepResult
    reported_result: StepResult | None
    measurements: dict[str, Any]
    violations: list[dict[str, Any]]
    defects: list[dict[str, Any]]
    operator: str | None
    equipment_id: str | None
    started_at: datetime | None
    completed_at: datetime
    cycle_time_seconds: Decimal | None
    recorded_at: datetime


class StepRecorded(ProcessDataRead):
    """The execution and what it did to the unit."""

    serial_number: str | None = None
    serial_status: str | None = None
    rework_count: int | None = None
    lot_status: str
