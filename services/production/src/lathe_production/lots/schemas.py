from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from lathe_common.problem_docs import ProblemCode
from lathe_common.schema_rules import exactly_one_of
from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from lathe_production.genealogy.rules import remaining_quantity
from lathe_production.lots.rules import LotStatus, Shift
from lathe_production.settings import settings

# How LOT and unit requests are refused (documented on the routes that can refuse so).
LOT_NOT_FOUND = ProblemCode(404, "lot_not_found", "no LOT has that id or LOT number")
SERIAL_NOT_FOUND = ProblemCode(404, "serial_not_found", "no unit has that serial number")
LOT_EXISTS = ProblemCode(409, "lot_exists", "a LOT with that number exists")
TARGET_QUANTITY_TOO_LARGE = ProblemCode(
    422, "target_quantity_too_large", "the target quantity is above the plant's maximum LOT size (`max_lot_quantity`)"
)
INACTIVE_PRODUCT_MODEL = ProblemCode(422, "inactive_product_model", "the product model is inactive")
INVALID_STATUS_TRANSITION = ProblemCode(
    409, "invalid_status_transition", "the LOT cannot move from its status to that one (`current_status`)"
)
LOT_NOT_OPEN = ProblemCode(409, "lot_not_open", "the LOT is no longer CREATED or IN_PROGRESS")
LOT_FULL = ProblemCode(409, "lot_full", "the LOT has room for fewer units (`remaining`)")
SERIAL_EXISTS = ProblemCode(409, "serial_exists", "some of the serial numbers exist (`serial_numbers`)")
SERIAL_FINISHED = ProblemCode(409, "serial_finished", "the unit has finished: it PASSED")
REWORK_EXHAUSTED = ProblemCode(
    409, "rework_exhausted", "the unit was SCRAPPED (after its last allowed rework, or by a disposition)"
)
AWAITING_DISPOSITION = ProblemCode(
    409, "awaiting_disposition", "the unit FAILED a step: it waits for its nonconformance's disposition"
)
# check_unit_open: the unit takes no more steps or components
UNIT_CLOSED = (SERIAL_FINISHED, REWORK_EXHAUSTED, AWAITING_DISPOSITION)
ON_HOLD = ProblemCode(409, "on_hold", "the unit or its LOT is on hold (`lot_on_hold`): release the hold first")


def _unique_trimmed_items(schema: dict[str, Any]) -> None:
    # What _one_way checks that a schema can say (whether each is printable, it cannot).
    schema["anyOf"][0]["uniqueItems"] = True
    schema["anyOf"][0]["items"]["pattern"] = r"^\S(.*\S)?$"


class LotCreate(BaseModel):
    """Of `model_code` and `product_model_id`, exactly one."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("model_code", "product_model_id"))

    model_code: str | None = Field(default=None, max_length=64)
    product_model_id: uuid.UUID | None = None
    target_quantity: int = Field(
        gt=0,
        strict=True,
        description="at most the plant's maximum LOT size",
        # Stated, but checked by the service: above it is 422 target_quantity_too_large.
        json_schema_extra={"maximum": settings.max_lot_quantity},
    )
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
    revision: str = Field(description="the model's revision it was created with: its units follow that routing and BOM")
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
    hold_id: uuid.UUID | None = Field(description="the LOT's active hold: nothing is recorded on it or its units")
    created_at: datetime
    updated_at: datetime

    @computed_field(description="what components may still take: a LOT holds its target_quantity")
    @property
    def remaining_quantity(self) -> Decimal:
        return remaining_quantity(self.target_quantity, self.consumed_quantity)


class SerialsCreate(BaseModel):
    """Of `count` and `serial_numbers`, exactly one."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("count", "serial_numbers"))

    count: int | None = Field(default=None, gt=0, le=100_000, strict=True)
    serial_numbers: list[Annotated[str, Field(min_length=1, max_length=80)]] | None = Field(
        default=None,
        min_length=1,
        max_length=100_000,
        description="printable, without surrounding spaces, each once",
        json_schema_extra=_unique_trimmed_items,
    )

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
    hold_id: uuid.UUID | None = Field(description="the unit's own active hold (its LOT's is on the LOT)")
    created_at: datetime
    updated_at: datetime


class SerialsCreated(BaseModel):
    lot_id: uuid.UUID
    lot_number: str
    serial_count: int
    items: list[SerialRead]
