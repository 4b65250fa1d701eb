from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from lathe_common.problem_docs import ProblemCode
from lathe_common.schema_rules import exactly_one_of
from pydantic import BaseModel, ConfigDict, Field, model_validator

# How consuming components is refused (documented on the route).
COMPONENT_NOT_USABLE = ProblemCode(409, "component_not_usable", "a unit component is FAILED or SCRAPPED")
COMPONENT_ALREADY_USED = ProblemCode(409, "component_already_used", "a unit component is built into another unit")
COMPONENT_CYCLE = ProblemCode(409, "component_cycle", "a unit would contain itself")
LOT_NOT_USABLE = ProblemCode(409, "lot_not_usable", "a LOT component is CANCELLED or CLOSED")
LOT_QUANTITY_EXCEEDED = ProblemCode(
    409, "lot_quantity_exceeded", "more is asked of a LOT than it has left (`remaining_quantity`)"
)
COMPONENT_NOT_ON_BOM = ProblemCode(
    422,
    "component_not_on_bom",
    "the unit's BOM (its LOT's revision) has no line for the component at that step (`bom_processes`)",
)
BOM_QUANTITY_EXCEEDED = ProblemCode(
    409, "bom_quantity_exceeded", "the unit would consume more of a component than its BOM line's `quantity_per_unit`"
)


def _unit_or_lot(schema: dict[str, Any]) -> None:
    # What _one_kind checks: a unit, whose quantity (if given) is 1, or a LOT.
    exactly_one_of("serial_number", "lot_number")(schema)
    one = {"anyOf": [{"const": 1}, {"type": "string", "pattern": r"^\+?0*1(\.0*)?$"}]}
    schema["oneOf"][0]["properties"]["quantity"] = one


class ComponentRef(BaseModel):
    """A unit (`serial_number`, one of it) or a quantity of a LOT (`lot_number`, `quantity`)."""

    model_config = ConfigDict(json_schema_extra=_unit_or_lot)

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


class BomDeviationRead(BaseModel):
    code: str = Field(description="component_not_on_bom or bom_quantity_exceeded")
    component_code: str
    process_code: str | None
    detail: str


class ConsumedRead(BaseModel):
    parent_serial_number: str
    consumed: list[GenealogyLink] = Field(description="everything the unit directly contains now")
    bom_deviations: list[BomDeviationRead] = Field(
        default_factory=list, description="what the BOM check let through (LATHE_PRODUCTION_BOM_CHECK=warn)"
    )
