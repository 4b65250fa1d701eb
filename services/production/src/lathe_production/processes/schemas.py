from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from lathe_common.patching import changed_field
from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, Field, model_validator

# How process requests are refused (documented on the routes that can refuse so).
PROCESS_NOT_FOUND = ProblemCode(404, "process_not_found", "no process has that id or process code")
PROCESS_EXISTS = ProblemCode(409, "process_exists", "a process with that code or number exists")

PROCESS_CODE = Field(min_length=2, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9_]*$")
# Planned labor per unit, in seconds: above zero, at most a week, to the millisecond (NUMERIC(12, 3)).
MAX_STANDARD_TIME_SECONDS = Decimal(7 * 24 * 3600)
STANDARD_TIME_DESCRIPTION = (
    "planned labor per unit in seconds (0 < s <= 604800, 3 decimals): labor efficiency is this x units done "
    "/ actual labor time"
)


def _standard_time(**extra: Any) -> Any:
    return Field(
        gt=0,
        le=MAX_STANDARD_TIME_SECONDS,
        max_digits=12,
        decimal_places=3,
        allow_inf_nan=False,
        description=STANDARD_TIME_DESCRIPTION,
        **extra,
    )


class Criterion(BaseModel):
    """Spec limits of one measurement; a value outside them fails the step whatever was reported."""

    model_config = ConfigDict(extra="forbid")

    unit: str | None = Field(default=None, max_length=32)
    lower_limit: float | None = Field(default=None, strict=True)
    upper_limit: float | None = Field(default=None, strict=True, description="not below lower_limit")
    target: float | None = Field(default=None, strict=True, description="between the limits")

    @model_validator(mode="after")
    def _ordered(self) -> Criterion:
        low, high = self.lower_limit, self.upper_limit
        if low is not None and high is not None and low > high:
            raise ValueError("lower_limit is above upper_limit")
        if self.target is not None and (
            (low is not None and self.target < low) or (high is not None and self.target > high)
        ):
            raise ValueError("target lies outside the limits")
        return self


class ProcessCreate(BaseModel):
    process_code: str = PROCESS_CODE
    process_number: int = Field(gt=0, le=1_000_000, strict=True)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    quality_criteria: dict[str, Criterion] = Field(default_factory=dict)
    is_active: bool = Field(default=True, strict=True)
    standard_time_seconds: Decimal | None = _standard_time(default=None)


class ProcessUpdate(BaseModel):
    name: str = changed_field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000, description="null clears it")
    quality_criteria: dict[str, Criterion] = changed_field()
    is_active: bool = changed_field(strict=True)
    standard_time_seconds: Decimal | None = _standard_time(default=None)  # null clears it


class ProcessRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    process_code: str
    process_number: int
    name: str
    description: str | None
    quality_criteria: dict[str, Criterion]
    is_active: bool
    standard_time_seconds: Decimal | None = Field(description="planned labor per unit, seconds; null: not set")
    created_at: datetime
    updated_at: datetime
