"""Work orders on the wire. Quantities are whole units (integers): a work order makes units."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from lathe_common.patching import changed_field
from lathe_common.problem_docs import ProblemCode
from lathe_common.schema_rules import IsoDate
from pydantic import BaseModel, ConfigDict, Field

from lathe_orders.fulfilment import WorkOrderProgress, overdue
from lathe_orders.lifecycles import Priority, WorkOrderStatus
from lathe_orders.work_orders.models import WorkOrder

# How work-order requests are refused (documented on the routes that can refuse so).
WORK_ORDER_NOT_FOUND = ProblemCode(404, "work_order_not_found", "no work order has that id or number")
PRODUCT_MODEL_NOT_FOUND = ProblemCode(
    404, "product_model_not_found", "production has announced no product model with that code"
)
INACTIVE_PRODUCT_MODEL = ProblemCode(422, "inactive_product_model", "the product model is inactive")
SALES_ORDER_LINE_NOT_FOUND = ProblemCode(422, "sales_order_line_not_found", "no sales-order line has that id")
SALES_ORDER_LINE_MODEL_MISMATCH = ProblemCode(
    422, "sales_order_line_model_mismatch", "the sales-order line is for another product model"
)
PLANNED_START_AFTER_DUE_DATE = ProblemCode(
    422, "planned_start_after_due_date", "the planned start is after the due date"
)
INVALID_STATUS_TRANSITION = ProblemCode(
    409, "invalid_status_transition", "the work order cannot move from its status to that one (`current_status`)"
)
NOT_EDITABLE = ProblemCode(409, "not_editable", "the work order is COMPLETED, CLOSED or CANCELLED")
LOCKED_AFTER_RELEASE = ProblemCode(
    409, "locked_after_release", "after the release only dates, priority, notes and quantity change (`fields`)"
)
QUANTITY_BELOW_DONE = ProblemCode(
    409, "quantity_below_done", "the quantity would be below the units made good (`done`)"
)
NOT_A_DRAFT = ProblemCode(409, "not_a_draft", "only a draft is deleted; cancel or close a released work order")
REASON_REQUIRED = ProblemCode(422, "reason_required", "closing short (fewer good than ordered) needs a reason")
STALE_DOCUMENT = ProblemCode(412, "stale_document", "If-Match names an older version: read it again (`current_etag`)")
PRECONDITION_REQUIRED = ProblemCode(428, "precondition_required", "send the ETag of the GET in If-Match")
PRECONDITIONS = (STALE_DOCUMENT, PRECONDITION_REQUIRED)

MAX_QUANTITY = 100_000  # units per work order: production plans it in one transaction


class WorkOrderCreate(BaseModel):
    model_code: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=MAX_QUANTITY, strict=True, description="units to make")
    priority: Priority = Priority.NORMAL
    due_date: IsoDate
    planned_start: IsoDate | None = None
    create_serials: bool = Field(default=False, strict=True, description="production creates a serial number per unit")
    replace_scrap: bool = Field(
        default=False, strict=True, description="production plans a LOT again for scrapped units"
    )
    sales_order_line_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=4000)


class WorkOrderUpdate(BaseModel):
    """Drafts change every field; after the release only dates, priority, notes and the quantity
    (never below the units made good; an increase is planned by production as more LOTs)."""

    model_code: str = changed_field(min_length=1, max_length=64)
    quantity: int = changed_field(gt=0, le=MAX_QUANTITY, strict=True)
    priority: Priority = changed_field()
    due_date: IsoDate = changed_field()
    planned_start: IsoDate | None = Field(default=None, description="null clears it")
    create_serials: bool = changed_field(strict=True)
    replace_scrap: bool = changed_field(strict=True)
    sales_order_line_id: uuid.UUID | None = Field(default=None, description="null unlinks it")
    notes: str | None = Field(default=None, max_length=4000, description="null clears it")


class WorkOrderClose(BaseModel):
    reason: str | None = Field(default=None, max_length=2000, description="required when fewer good than ordered")


class WorkOrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    status: WorkOrderStatus
    model_code: str
    quantity: int
    priority: Priority
    due_date: date | None
    planned_start: date | None
    create_serials: bool
    replace_scrap: bool
    sales_order_line_id: uuid.UUID | None
    notes: str | None
    quantity_good: int
    quantity_scrapped: int
    quantity_in_progress: int
    progress_percent: int = Field(ge=0, le=100, description="good of ordered, floored: 100 only when done")
    overdue: bool = Field(description="due before today at the plant and not COMPLETED, CLOSED or CANCELLED")
    lots_planned: int = Field(description="LOTs production created for it")
    quantity_planned: int = Field(description="units production planned LOTs for (replacements included)")
    plan_requests: int = Field(description="extra plans asked of production: replacements and quantity increases")
    quantity_replaced: int = Field(description="scrapped units asked to be made again")
    rejection_code: str | None = Field(description="why production refused the last release or request")
    rejection_reason: str | None
    close_reason: str | None
    released_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    created_by: str | None
    version: int
    external_source: str | None
    external_id: str | None
    external_revision: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, wo: WorkOrder, today: date) -> WorkOrderRead:
        progress = WorkOrderProgress(wo.quantity, wo.quantity_good, wo.quantity_scrapped, wo.quantity_in_progress)
        derived = {
            "progress_percent": progress.percent,
            "overdue": overdue(WorkOrderStatus(wo.status), wo.due_date, today),
        }
        fields = {name: getattr(wo, name) for name in cls.model_fields if name not in derived}
        return cls.model_validate(fields | derived)


class DocumentChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str | None
    changed_at: datetime
