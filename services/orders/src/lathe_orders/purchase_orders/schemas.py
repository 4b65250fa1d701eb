"""Purchase orders on the wire: money and quantities as decimal strings, rates in percent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from lathe_common.patching import changed_field
from lathe_common.schema_rules import IsoDate
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lathe_orders.fulfilment import ReceiptState
from lathe_orders.lifecycles import PurchaseOrderStatus

SUPPLIER_CODE = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CURRENCY = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217 with a minor unit, e.g. EUR")
ITEM_CODE = Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$", description="the material's code")
DESCRIPTION = Field(min_length=1, max_length=500)
QUANTITY = Field(gt=0, max_digits=18, decimal_places=6)
UNIT = Field(min_length=1, max_length=16, pattern=r"^\S+$", description="the unit ordered in, e.g. KG, M, EA")
UNIT_PRICE = Field(ge=0, max_digits=20, decimal_places=6, description="per unit ordered; more decimals than money")
RATE = Field(ge=0, le=100, max_digits=7, decimal_places=4, description="percent: 19 means 19 %")
LotNumber = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
SerialNumber = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]


class LineCreate(BaseModel):
    item_code: str = ITEM_CODE
    description: str = DESCRIPTION
    quantity: Decimal = QUANTITY
    unit: str = UNIT
    conversion_factor: Decimal = Field(default=Decimal(1), gt=0, max_digits=18, decimal_places=6)
    unit_price: Decimal = UNIT_PRICE
    tax_rate: Decimal = RATE
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, max_digits=7, decimal_places=4)
    required_date: IsoDate | None = None
    promised_date: IsoDate | None = None


class PurchaseOrderCreate(BaseModel):
    supplier_code: str = SUPPLIER_CODE
    currency: str = CURRENCY
    expected_date: IsoDate | None = None
    notes: str | None = Field(default=None, max_length=4000)
    lines: list[LineCreate] = Field(min_length=1, max_length=1000)


class LineChange(BaseModel):
    """One line of a change: with ``line_no`` it changes (or, with ``remove``, removes) that line;
    without, it adds a line (then every field a new line needs is given)."""

    line_no: int | None = Field(default=None, ge=1, le=1_000_000, strict=True, description="none: a new line")
    remove: bool = Field(default=False, strict=True, description="drafts only")
    item_code: str = changed_field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
    description: str = changed_field(min_length=1, max_length=500)
    quantity: Decimal = changed_field(gt=0, max_digits=18, decimal_places=6)
    unit: str = changed_field(min_length=1, max_length=16, pattern=r"^\S+$")
    conversion_factor: Decimal = changed_field(gt=0, max_digits=18, decimal_places=6)
    unit_price: Decimal = changed_field(ge=0, max_digits=20, decimal_places=6)
    tax_rate: Decimal = changed_field(ge=0, le=100, max_digits=7, decimal_places=4)
    discount_percent: Decimal = changed_field(ge=0, le=100, max_digits=7, decimal_places=4)
    required_date: IsoDate | None = Field(default=None, description="null clears it")
    promised_date: IsoDate | None = Field(default=None, description="null clears it")


class PurchaseOrderUpdate(BaseModel):
    """Fields left out keep their values; lines not named keep theirs."""

    supplier_code: str = changed_field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    currency: str = changed_field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    expected_date: IsoDate | None = Field(default=None, description="null clears it")
    notes: str | None = Field(default=None, max_length=4000, description="null clears it")
    lines: list[LineChange] = changed_field(max_length=1000)

    @classmethod
    def from_document(cls, document: PurchaseOrderCreate, line_nos: list[int]) -> PurchaseOrderUpdate:
        """A whole document (an ERP's revision, in the create shape) as a change of the order whose
        lines are ``line_nos``: its lines by position (the first is the order's first line...),
        further ones added, missing ones removed. Unchanged values change nothing."""
        changes: list[LineChange] = []
        for position, line in enumerate(document.lines):
            values = line.model_dump()
            if position < len(line_nos):
                changes.append(LineChange(line_no=line_nos[position], **values))
            else:
                changes.append(LineChange(**values))
        changes += [LineChange(line_no=line_no, remove=True) for line_no in line_nos[len(document.lines) :]]
        return cls(
            supplier_code=document.supplier_code,
            currency=document.currency,
            expected_date=document.expected_date,
            notes=document.notes,
            lines=changes,
        )


class ApproveRequest(BaseModel):
    override_four_eyes: bool = Field(
        default=False, strict=True, description="an administrator approving an order they created says so explicitly"
    )
    reason: str | None = Field(default=None, max_length=2000, description="why, with override_four_eyes (recorded)")


class ReasonRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=2000, description="needed to close with an open balance")


class LineCloseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="why the rest is not expected")


class ReceiptLineCreate(BaseModel):
    line_no: int = Field(ge=1, le=1_000_000, strict=True)
    quantity: Decimal = Field(gt=0, max_digits=18, decimal_places=6, description="received, rejected ones included")
    rejected_quantity: Decimal = Field(default=Decimal(0), ge=0, max_digits=18, decimal_places=6)
    lot_numbers: list[LotNumber] = Field(default_factory=list, max_length=1000, description="the supplier's")
    serial_numbers: list[SerialNumber] = Field(default_factory=list, max_length=10_000, description="one per unit")


class ReceiptCreate(BaseModel):
    delivery_note: str | None = Field(default=None, max_length=64, description="the supplier's delivery-note number")
    lines: list[ReceiptLineCreate] = Field(min_length=1, max_length=1000)


class ReturnLineCreate(BaseModel):
    line_no: int = Field(ge=1, le=1_000_000, strict=True)
    quantity: Decimal = Field(gt=0, max_digits=18, decimal_places=6)
    serial_numbers: list[SerialNumber] = Field(default_factory=list, max_length=10_000)


class ReturnCreate(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)
    lines: list[ReturnLineCreate] = Field(min_length=1, max_length=1000)


class FulfilmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ordered: Decimal
    received: Decimal = Field(description="accepted + rejected")
    accepted: Decimal
    rejected: Decimal
    returned: Decimal = Field(description="accepted goods sent back to the supplier")
    closed_short: Decimal = Field(description="what lines closed short still lacked")
    open_balance: Decimal = Field(description="still expected: ordered - (accepted - returned), 0 when closed short")
    state: ReceiptState


class LineRead(BaseModel):
    line_no: int
    item_code: str
    description: str
    quantity: Decimal
    unit: str
    conversion_factor: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    discount_percent: Decimal
    required_date: date | None
    promised_date: date | None
    amount: Decimal = Field(description="quantity × unit price less the discount, rounded half up to the currency")
    tax: Decimal = Field(description="amount × tax rate, rounded half up to the currency")
    closed_short: bool
    close_reason: str | None
    fulfilment: FulfilmentRead


class ApprovalRead(BaseModel):
    approved_by: str | None
    approved_at: datetime | None
    approved_total: Decimal | None = Field(description="the total approved last (re-approval compares with it)")
    override_reason: str | None = Field(description="set when an administrator approved an order they created")


class ExternalRead(BaseModel):
    source: str
    external_id: str
    revision: int | None


class PurchaseOrderRead(BaseModel):
    id: uuid.UUID
    number: str
    status: PurchaseOrderStatus
    supplier_id: uuid.UUID
    supplier_code: str
    supplier_name: str
    currency: str
    expected_date: date | None
    notes: str | None
    lines: list[LineRead]
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    fulfilment: FulfilmentRead
    approval: ApprovalRead | None
    version: int = Field(description="what the ETag carries")
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    cancelled_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    external: ExternalRead | None = Field(description="set for documents from an ERP")


class PurchaseOrderSummary(BaseModel):
    """A purchase order in a list: its header, totals and receipt state, without lines."""

    id: uuid.UUID
    number: str
    status: PurchaseOrderStatus
    supplier_code: str
    currency: str
    expected_date: date | None
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    receipt_state: ReceiptState
    version: int
    created_by: str | None
    created_at: datetime
    external_source: str | None
    external_id: str | None


class ReceiptLineRead(BaseModel):
    line_no: int
    item_code: str
    unit: str
    quantity: Decimal
    rejected_quantity: Decimal
    accepted_quantity: Decimal
    lot_numbers: list[str]
    serial_numbers: list[str]


class GoodsReceiptRead(BaseModel):
    id: uuid.UUID
    number: str
    purchase_order_id: uuid.UUID
    purchase_order_number: str
    delivery_note: str | None
    received_by: str | None
    received_at: datetime
    lines: list[ReceiptLineRead]


class ReturnLineRead(BaseModel):
    line_no: int
    item_code: str
    quantity: Decimal
    serial_numbers: list[str]


class ReturnRead(BaseModel):
    id: uuid.UUID
    number: str
    kind: str
    purchase_order_id: uuid.UUID
    purchase_order_number: str
    reason: str | None
    returned_by: str | None
    returned_at: datetime
    lines: list[ReturnLineRead]


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int | None
    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str | None
    changed_at: datetime
