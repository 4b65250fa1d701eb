from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from lathe_common.problem_docs import ProblemCode
from lathe_common.schema_rules import IsoAwareDateTime, exactly_one_of
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lathe_production.labor.rules import Activity

# How a labor entry is refused (documented on POST /labor-entries).
ENDED_BEFORE_STARTED = ProblemCode(422, "ended_before_started", "`ended_at` is not after `started_at`")
LABOR_ENTRY_TOO_LONG = ProblemCode(422, "labor_entry_too_long", "the entry lasts more than 24 hours (`max_seconds`)")
LABOR_IN_FUTURE = ProblemCode(422, "labor_in_future", "`ended_at` is more than 5 minutes ahead of the server's clock")

OPERATOR = Field(min_length=1, max_length=64, description="who did the work")


class LaborEntryCreate(BaseModel):
    """Time spent on a process for a LOT (`lot`: its id or number) or for one unit (`serial_number`):
    exactly one of them. Times are ISO 8601 with a zone."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one_of("lot", "serial_number"))

    operator: str = OPERATOR
    lot: str | None = Field(default=None, min_length=1, max_length=64, description="LOT id or LOT number")
    serial_number: str | None = Field(default=None, min_length=1, max_length=80)
    process_code: str = Field(min_length=1, max_length=64)
    activity: Activity
    started_at: IsoAwareDateTime
    ended_at: IsoAwareDateTime = Field(
        description="after started_at, at most 24 hours later, not more than 5 minutes in the future"
    )

    @model_validator(mode="after")
    def _one_subject(self) -> LaborEntryCreate:
        if (self.lot is None) == (self.serial_number is None):
            raise ValueError("give exactly one of lot and serial_number")
        return self


class LaborEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    operator: str
    lot_id: uuid.UUID
    lot_number: str
    serial_id: uuid.UUID | None
    serial_number: str | None
    process_code: str
    activity: Activity
    started_at: datetime
    ended_at: datetime
    duration_seconds: Decimal
    recorded_by: str | None = Field(description="the signed-in user who recorded it")
    recorded_at: datetime


class LaborTotal(BaseModel):
    process_code: str
    activity: str
    entries: int
    minutes: Decimal = Field(description="the entries' time added up")


class LaborOfLot(BaseModel):
    entries: int = Field(description="labor entries on the LOT and its units")
    minutes: Decimal
    totals: list[LaborTotal] = Field(description="by process and activity, in routing order")
    items: list[LaborEntryRead] = Field(description="the newest, as many as asked")
