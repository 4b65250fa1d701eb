"""Sales orders on the wire: the issue's create shape (extended, never renamed), changes, movements
and what GET answers. Money and quantities are decimal strings both ways."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from lathe_common.patching import changed_field
from lathe_common.schema_rules import IsoDate
from pydantic import BaseModel, Field, PlainSerializer, model_validator

from lathe_orders.fulfilment import ShipmentState
from lathe_orders.lifecycles import SalesOrderStatus


def plain(value: Decimal) -> str:
    """A quantity or a rate as people write it: ``10``, ``2.5``, ``0.000001`` (no exponent, no
    trailing zeros from the column's scale)."""
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):f}"
    return f"{value.normalize():f}"


# Out: quantities and rates without the column's trailing zeros; money as computed (already
# rounded to the currency's minor unit, so "119.00" in EUR, "120" in JPY).
Quantity = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:f}", return_type=str, when_used="json")]

# In: what the columns hold (documents.QUANTITY, PRICE, RATE).
QuantityIn = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6)]
PriceIn = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]
RateIn = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, description='percent: "19" = 19 %')]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")]
Unit = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9._-]+$")]
SerialNumber = Annotated[str, Field(min_length=1, max_length=80)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]

MAX_LINES = 500
MAX_SERIALS = 5000  # per movement: its event must stay within what Kafka takes


class SalesOrderLineCreate(BaseModel):
    model_code: Code
    quantity: QuantityIn
    unit_price: PriceIn
    tax_rate: RateIn
    discount_percent: RateIn = Decimal(0)
    requested_date: IsoDate | None = None
    promised_date: IsoDate | None = None
    unit: Unit = Field(default="EA", description="the unit the quantity is in")
    conversion_factor: QuantityIn = Field(default=Decimal(1), description="stock units (serial numbers) per unit")


class SalesOrderCreate(BaseModel):
    customer_code: Code
    currency: Currency
    customer_po_number: str | None = Field(default=None, max_length=64)
    ship_to: str | None = Field(default=None, max_length=2000)
    notes: str | None = Field(default=None, max_length=10_000)
    lines: list[SalesOrderLineCreate] = Field(min_length=1, max_length=MAX_LINES)


class SalesOrderLineChange(BaseModel):
    """With ``line_no``: a change to that line (only the fields given). Without: a new line, which
    needs ``model_code``, ``quantity``, ``unit_price`` and ``tax_rate``."""

    line_no: int | None = Field(default=None, ge=1, le=1_000_000, strict=True)
    model_code: Code = changed_field()
    quantity: QuantityIn = changed_field()
    unit_price: PriceIn = changed_field()
    tax_rate: RateIn = changed_field()
    discount_percent: RateIn = changed_field()
    unit: Unit = changed_field()
    conversion_factor: QuantityIn = changed_field()
    requested_date: IsoDate | None = Field(default=None, description="null clears it")
    promised_date: IsoDate | None = Field(default=None, description="null clears it")

    @model_validator(mode="after")
    def _new_lines_are_whole(self) -> SalesOrderLineChange:
        if self.line_no is None:
            missing = [
                f for f in ("model_code", "quantity", "unit_price", "tax_rate") if f not in self.model_fields_set
            ]
            if missing:
                raise ValueError(f"a new line (no line_no) needs {', '.join(missing)}")
        return self

    def as_new_line(self) -> SalesOrderLineCreate:
        return SalesOrderLineCreate(**self.model_dump(exclude_unset=True, exclude={"line_no"}))


class SalesOrderUpdate(BaseModel):
    """Fields left out keep their value. Drafts change freely; a confirmed order changes its dates,
    quantities (never below what shipped), notes, ship-to and customer PO number, and takes new lines."""

    customer_code: Code = changed_field()
    currency: Currency = changed_field()
    customer_po_number: str | None = Field(default=None, max_length=64, description="null clears it")
    ship_to: str | None = Field(default=None, max_length=2000, description="null clears it")
    notes: str | None = Field(default=None, max_length=10_000, description="null clears it")
    lines: list[SalesOrderLineChange] = changed_field(max_length=MAX_LINES)
    remove_lines: list[Annotated[int, Field(ge=1, strict=True)]] = changed_field(
        max_length=MAX_LINES, description="line numbers to remove (drafts only)"
    )

    @classmethod
    def from_create(cls, data: SalesOrderCreate, existing_line_nos: Iterable[int]) -> SalesOrderUpdate:
        """A whole document (an ERP's revision, in the create shape) as a change of the stored one:
        line *n* of the revision is line *n*, lines beyond the stored ones are new, stored lines the
        revision no longer has are removed. The same rules as any change then apply."""
        existing = sorted(existing_line_nos)
        lines = [
            SalesOrderLineChange(**line.model_dump(), line_no=no if no in existing else None)
            for no, line in enumerate(data.lines, 1)
        ]
        return cls(
            customer_code=data.customer_code,
            currency=data.currency,
            customer_po_number=data.customer_po_number,
            ship_to=data.ship_to,
            notes=data.notes,
            lines=lines,
            remove_lines=[no for no in existing if no > len(data.lines)],
        )


class SalesOrderClosing(BaseModel):
    reason: Reason | None = Field(default=None, description="required when something is still open")


class SalesMovementLine(BaseModel):
    line_no: int = Field(ge=1, le=1_000_000, strict=True)
    quantity: QuantityIn
    serial_numbers: list[SerialNumber] | None = Field(
        default=None, max_length=MAX_SERIALS, description="one per stock unit (quantity x conversion factor)"
    )


class _Movement(BaseModel):
    lines: list[SalesMovementLine] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _serials_within_limit(self) -> _Movement:
        count = sum(len(line.serial_numbers or ()) for line in self.lines)
        if count > MAX_SERIALS:
            raise ValueError(f"at most {MAX_SERIALS} serial numbers per movement, not {count}")
        return self


class ShipmentCreate(_Movement):
    """Serial numbers at most 5,000 in all (one movement, one event)."""


class CustomerReturnCreate(_Movement):
    """Serial numbers at most 5,000 in all (one movement, one event)."""

    reason: Reason | None = None


class SalesOrderFulfilment(BaseModel):
    ordered: Quantity
    shipped: Quantity
    returned: Quantity
    closed_short: Quantity = Field(description="what closing short wrote off")
    open_balance: Quantity = Field(description="what the order still expects to ship")
    produced: Quantity = Field(description="good units of the work orders linked to the line(s)")
    shipment_state: ShipmentState


class SalesOrderLineRead(BaseModel):
    id: uuid.UUID
    line_no: int
    model_code: str
    quantity: Quantity
    unit: str
    conversion_factor: Quantity
    unit_price: Quantity
    tax_rate: Quantity
    discount_percent: Quantity
    requested_date: date | None
    promised_date: date | None
    amount: Money
    tax: Money
    closed_short: bool
    close_reason: str | None
    overdue: bool
    fulfilment: SalesOrderFulfilment


class SalesOrderSummary(BaseModel):
    """A sales order in a list: everything but its lines."""

    id: uuid.UUID
    number: str
    status: SalesOrderStatus
    version: int = Field(description='the ETag is W/"<version>"')
    customer_code: str
    customer_name: str
    currency: str
    customer_po_number: str | None
    ship_to: str | None
    notes: str | None
    subtotal: Money
    tax_total: Money
    total: Money
    fulfilment: SalesOrderFulfilment
    overdue: bool = Field(description="a line promised before today still has an open balance")
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    external_source: str | None
    external_id: str | None
    external_revision: int | None


class SalesOrderRead(SalesOrderSummary):
    lines: list[SalesOrderLineRead]


class SalesMovementLineRead(BaseModel):
    line_no: int
    model_code: str
    quantity: Quantity
    serial_numbers: list[str]


class ShipmentRead(BaseModel):
    id: uuid.UUID
    number: str
    sales_order_id: uuid.UUID
    sales_order_number: str
    customer_code: str
    shipped_by: str | None
    shipped_at: datetime
    lines: list[SalesMovementLineRead]


class CustomerReturnRead(BaseModel):
    id: uuid.UUID
    number: str
    sales_order_id: uuid.UUID
    sales_order_number: str
    customer_code: str
    reason: str | None
    returned_by: str | None
    returned_at: datetime
    lines: list[SalesMovementLineRead]


class SalesOrderChange(BaseModel):
    line_no: int | None
    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str | None
    changed_at: datetime


class CustomerRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class ShipmentRef(BaseModel):
    id: uuid.UUID
    number: str
    shipped_at: datetime


class SalesOrderRef(BaseModel):
    id: uuid.UUID
    number: str
    customer_po_number: str | None
    line_no: int


class ShippedUnitRead(BaseModel):
    """A unit out at a customer: who has it, which delivery note took it there, for which order."""

    serial_number: str
    model_code: str
    customer: CustomerRef
    shipment: ShipmentRef
    sales_order: SalesOrderRef


class RecallImpact(BaseModel):
    items: list[ShippedUnitRead] = Field(description="the units asked for that are out at a customer")
    not_shipped: list[str] = Field(
        description="the units asked for that are at no customer (never shipped, or returned)"
    )


MAX_RECALL_UNITS = 10_000


class RecallQuery(BaseModel):
    serial_numbers: list[SerialNumber] = Field(min_length=1, max_length=MAX_RECALL_UNITS)
