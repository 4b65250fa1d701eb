from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from lathe_production.genealogy.rules import remaining_quantity
from lathe_production.lots.rules import LotStatus, Shift


class LotCreate(BaseModel):
    model_code: str | None = Field(default=None, max_length=64)
    product_model_id: uuid.UUID | None = None
    target_quantity: int = Field(gt=0, description="at most the plant's maximum LOT size (default 100)")
    shift: Shift | None = Field(default=None, description="defaults to the shift running at the plant now")
    work_order_number: str | None = Field(default=None, max_length=64)
    lot_number: str | None = Field(
        default=None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="generated when omitted"
    )

    @model_validator(mode="after")
    def _one_model(self) -> LotCreate:
        if (self.model_code is None) == (self.product_model_id is None):
            raise ValueError("give exactly one of model_code and product_model_id")
        return self


class LotStatusChange(BaseModel):
    status: LotStatus


class LotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lot_number: str
    product_model_id: uuid.UUID
    model_code: str
    work_order_number: str | None
    target_quantity: int
    serial_count: int
    consumed_quantity: Decimal = Field(description="taken from the LOT as components of other units")
    shift: Shift
    production_date: date
    status: LotStatus
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @computed_field(description="what components may still take: a LOT holds its target_quantity")
    @property
    def remaining_quantity(self) -> Decimal:
        return remaining_quantity(self.target_quantity, self.consumed_quantity)


class SerialsCreate(BaseModel):
    count: int | None = Field(default=None, gt=0, le=100_000)
    serial_numbers: list[str] | None = Field(default=None, min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _one_way(self) -> SerialsCreate:
        if (self.count is None) == (self.serial_numbers is None):
            raise ValueError("give exactly one of count and serial_numbers")
        if self.serial_numbers is not None:
            if len(set(self.serial_numbers)) != len(self.serial_numbers):
                raise ValueError("serial_numbers repeat")
            if any(not (0 < len(s) <= 80) or not s.isprintable() or s != s.strip() for s in self.serial_numbers):
                raise ValueError("serial numbers are 1 to 80 printable characters without surrounding spaces")
        return self


class SerialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    serial_number: str
    lot_id: uuid.UUID
    sequence_in_lot: int
    status: str
    current_step: int
    rework_count: int
    created_at: datetime
    updated_at: datetime


class SerialsCreated(BaseModel):
    lot_id: uuid.UUID
    lot_number: str
    serial_count: int
    items: list[SerialRead]
