from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from lathe_common.problem_docs import ProblemCode
from lathe_common.schema_rules import IsoAwareDateTime
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lathe_production.coating.rules import CoatingResult, CoatingStatus, LimitsSource

# How a coating log is refused (documented on POST /coating-logs).
THICKNESS_LIMITS_FROM_PROCESS = ProblemCode(
    422, "thickness_limits_from_process", "the process defines the `thickness_um` limits: the log gives none"
)
THICKNESS_LIMITS_MISSING = ProblemCode(
    422, "thickness_limits_missing", "the process defines no `thickness_um` limits and the log gives none"
)
APPLIED_IN_FUTURE = ProblemCode(422, "applied_in_future", "`applied_at` is more than 5 minutes ahead of the server")

# A coating is microns thick: 10 mm is no coating. Readings and limits are plain numbers, as measurements are.
MAX_THICKNESS_UM = 10_000
Thickness = Annotated[float, Field(ge=0, le=MAX_THICKNESS_UM, allow_inf_nan=False)]
MAX_LOGS_SHOWN = 200


class CoatingLogCreate(BaseModel):
    """A coating applied to a LOT at a process. Thickness limits: the process's `thickness_um` spec
    limits when it defines them (the log then gives none), else `thickness_lower_um` / `thickness_upper_um`."""

    model_config = ConfigDict(extra="forbid")

    lot: str = Field(min_length=1, max_length=64, description="LOT id or LOT number")
    process_code: str = Field(min_length=1, max_length=64)
    coating_type: str = Field(min_length=1, max_length=64, description="acrylic, silicone, urethane, parylene, ...")
    material_lot: str = Field(min_length=1, max_length=64, description="the coating material's lot")
    thickness_readings_um: list[Thickness] = Field(min_length=1, max_length=100)
    thickness_lower_um: Thickness | None = None
    thickness_upper_um: Thickness | None = None
    cure_temperature_c: Decimal = Field(ge=-100, le=1000, max_digits=6, decimal_places=2, allow_inf_nan=False)
    cure_minutes: Decimal = Field(gt=0, le=43_200, max_digits=8, decimal_places=2, allow_inf_nan=False)
    inspector: str = Field(min_length=1, max_length=64)
    applied_at: IsoAwareDateTime = Field(description="not more than 5 minutes in the future")

    @model_validator(mode="after")
    def _ordered_limits(self) -> CoatingLogCreate:
        low, high = self.thickness_lower_um, self.thickness_upper_um
        if low is not None and high is not None and low > high:
            raise ValueError("thickness_lower_um is above thickness_upper_um")
        return self


class CoatingLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lot_id: uuid.UUID
    lot_number: str
    process_code: str
    coating_type: str
    material_lot: str
    thickness_readings_um: list[float]
    thickness_lower_um: float | None
    thickness_upper_um: float | None
    limits_source: LimitsSource = Field(description="where the limits came from: the process or this log")
    violations: list[dict[str, Any]] = Field(description="readings outside the limits")
    result: CoatingResult
    cure_temperature_c: Decimal
    cure_minutes: Decimal
    inspector: str
    applied_at: datetime
    recorded_by: str | None
    recorded_at: datetime


class ProcessCoating(BaseModel):
    process_code: str
    result: CoatingResult = Field(description="of the latest log at this process, which decides")
    applied_at: datetime
    log_id: uuid.UUID


class LotCoatingStatus(BaseModel):
    lot_id: uuid.UUID
    lot_number: str
    status: CoatingStatus = Field(
        description="NOT_COATED: no log; FAILED: the latest log of a process failed; COATED: each passed"
    )
    processes: list[ProcessCoating] = Field(description="each process coated at, with its latest log")
    logs_total: int
    logs: list[CoatingLogRead] = Field(description=f"newest first, at most {MAX_LOGS_SHOWN}")
