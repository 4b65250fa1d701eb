from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator


class ComponentRef(BaseModel):
    serial_number: str | None = Field(default=None, min_length=1, max_length=80)
    lot_number: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: Decimal = Field(default=Decimal(1), gt=0, max_digits=14, decimal_places=4)

    @model_validator(mode="after")
    def _one_kind(self) -> ComponentRef:
        if (self.serial_number is None) == (self.lot_number is None):
            raise ValueError("a component is either a serial_number or a lot_number with a quantity")
        if self.serial_number is not None and self.quantity != 1:
            raise ValueError("a serial is one unit: quantity must be 1")
        return self


class ComponentsConsumed(BaseModel):
    components: list[ComponentRef] = Field(min_length=1, max_length=500)
    process_code: str | None = Field(default=None, max_length=64, description="the step that consumed them")
    operator: str | None = Field(default=None, max_length=64)


class Direction(StrEnum):
    BACKWARD = "backward"  # everything inside the unit, all levels down
    FORWARD = "forward"  # every unit the component ended up in, all levels up


class GenealogyLink(BaseModel):
    depth: int
    parent_serial_number: str
    serial_number: str | None
    lot_number: str | None
    quantity: Decimal
    process_code: str | None
    consumed_at: datetime


class Genealogy(BaseModel):
    root: str
    direction: Direction
    links: list[GenealogyLink]
    units: list[str] = Field(description="the distinct units reached (for forward traces: the recall list)")


class ConsumedRead(BaseModel):
    parent_serial_number: str
    consumed: list[GenealogyLink] = Field(description="everything the unit directly contains now")
