from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from lathe_production.coating.schemas import LotCoatingStatus
from lathe_production.holds.schemas import HoldRead
from lathe_production.labor.schemas import LaborOfLot
from lathe_production.lots.rules import LotStatus, Shift
from lathe_production.nonconformances.schemas import NonconformanceRead
from lathe_production.product_models.schemas import TravelerType
from lathe_production.travelers.rules import MAX_LISTED_RECORDS, StepState

PDF = "application/pdf"
# ZPL is plain ASCII (every other character is hex-escaped, see labels.py): readable anywhere, and
# sent to a Zebra printer as it is.
ZPL = "text/plain; charset=utf-8"


class LabelFormat(StrEnum):
    ZPL = "zpl"
    PDF = "pdf"


class TravelerHeader(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    model_name: str
    revision: str = Field(description="the revision the LOT pinned: its routing and BOM are the ones below")
    traveler_type: TravelerType | None
    work_order_number: str | None = Field(
        description="the only order reference production knows (purchase and sales orders are in orders)"
    )
    target_quantity: int
    serial_count: int
    status: LotStatus
    on_hold: bool
    shift: Shift
    production_date: date
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None


class SignOffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    operator: str | None = Field(description="who recorded the step's latest execution for the LOT")
    at: datetime = Field(description="when that execution completed")


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step_no: int
    process_code: str
    process_name: str
    state: StepState
    units_done: int = Field(description="units past the step")
    passed: int = Field(description="executions at the step that passed")
    failed: int
    reworked: int
    sign_off: SignOffRead | None = Field(description="none until something is recorded at the step")


class BomLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    component_code: str
    description: str
    unit: str
    process_code: str | None = Field(description="the step that consumes it; none: any step")
    reference_designators: list[str]
    quantity_per_unit: Decimal
    planned_quantity: Decimal = Field(description="quantity_per_unit × the LOT's target quantity")
    consumed_quantity: Decimal = Field(description="what the LOT's units consumed against the line")


class UnplannedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    component_code: str
    process_code: str | None
    consumed_quantity: Decimal


class NonconformancesOfLot(BaseModel):
    open: int = Field(description="NCRs of the LOT's units waiting for a disposition")
    closed: int = Field(description="NCRs dispositioned or closed")
    items: list[NonconformanceRead] = Field(description=f"the newest {MAX_LISTED_RECORDS}")


class HoldsOfLot(BaseModel):
    active: int = Field(description="holds in force on the LOT or its units")
    released: int
    items: list[HoldRead] = Field(description=f"the newest {MAX_LISTED_RECORDS}")


class TravelerRead(BaseModel):
    """The job document of a LOT. LOTs carry no notes, so there is no `notes` section."""

    lot: TravelerHeader
    unit_counts: dict[str, int] = Field(description="the LOT's units by status")
    steps: list[StepRead] = Field(description="the pinned revision's routing, in order")
    bom: list[BomLineRead] = Field(description="the pinned revision's BOM")
    unplanned_consumption: list[UnplannedRead] = Field(
        description="consumption no BOM line covers (let through while the BOM check warned or was off)"
    )
    nonconformances: NonconformancesOfLot
    holds: HoldsOfLot
    labor: LaborOfLot
    coating: LotCoatingStatus
    generated_at: datetime
