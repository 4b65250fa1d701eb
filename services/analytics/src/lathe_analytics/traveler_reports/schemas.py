from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field


class LaborGroupBy(StrEnum):
    OPERATOR = "operator"
    PROCESS = "process"
    LOT = "lot"


class LaborEfficiencyRow(BaseModel):
    key: str = Field(description="the operator, the process code or the LOT number")
    lot_id: uuid.UUID | None = Field(default=None, description="with group_by=lot")
    units: int = Field(description="units done: SERIAL-level step executions that PASSED")
    units_without_standard: int = Field(description="of those, at processes without a standard time")
    standard_minutes: Decimal | None = Field(description="units x standard time per unit; null: no standard time")
    actual_minutes: Decimal = Field(description="labor entries' time")
    step_minutes: Decimal = Field(description="the steps' own cycle times")
    efficiency_percent: Decimal | None = Field(description="standard / actual x 100; null with no standard or time")
    step_efficiency_percent: Decimal | None = Field(description="standard / step time x 100")
    processes: list[str]


class LaborEfficiency(BaseModel):
    date_from: date
    date_to: date
    group_by: LaborGroupBy
    rows: list[LaborEfficiencyRow]


class CoatedProcess(BaseModel):
    process_code: str
    logs: int
    result: str = Field(description="of its latest log")
    applied_at: datetime


class CoatingStatusRow(BaseModel):
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    status: str = Field(description="COATED, or FAILED when the latest log of one of its processes failed")
    logs: int
    last_process_code: str
    last_applied_at: datetime
    last_result: str
    last_coating_type: str
    last_material_lot: str
    last_thickness_readings_um: list[float]
    last_thickness_lower_um: float | None
    last_thickness_upper_um: float | None
    processes: list[CoatedProcess]


class CoatingStatusReport(BaseModel):
    date_from: date
    date_to: date
    lots: list[CoatingStatusRow] = Field(description="LOTs coated in the window, latest coating first")


class TravelerRow(BaseModel):
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    status: str
    target_quantity: int
    units: int
    units_finished: int
    routing_steps: int | None = Field(description="steps of the model's routing; null: model not seen yet")
    steps_done: int = Field(description="routing steps the LOT's units have reached, added up")
    steps_total: int | None = Field(description="target_quantity x routing_steps")
    completion_percent: Decimal | None


class TravelerCompletion(BaseModel):
    lots: list[TravelerRow] = Field(description="open LOTs (CREATED, IN_PROGRESS), newest first")
