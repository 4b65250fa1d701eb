"""Facts the production service announces (one topic per aggregate, key = its id)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from lathe_common.events import DomainEvent
from pydantic import Field

# `previous` of a ...ChangedEvent: added beside `changed` (never instead of it).
PREVIOUS_VALUES = (
    "the value before this change of each field named in `changed` (its value after: the event's own "
    "field of that name); empty in events published before Lathe recorded old values"
)

PROCESSES_TOPIC = "lathe.production.processes.v1"
PRODUCT_MODELS_TOPIC = "lathe.production.product-models.v1"


class ProcessDefinedEvent(DomainEvent):
    event_type: ClassVar[str] = "lathe.production.process.defined.v1"
    topic: ClassVar[str] = PROCESSES_TOPIC

    id: uuid.UUID
    process_code: str
    process_number: int
    name: str
    quality_criteria: dict[str, Any]
    is_active: bool


class ProcessChangedEvent(ProcessDefinedEvent):
    event_type: ClassVar[str] = "lathe.production.process.changed.v1"

    changed: list[str]
    previous: dict[str, Any] = Field(default_factory=dict, description=PREVIOUS_VALUES)


class ProductModelDefinedEvent(DomainEvent):
    event_type: ClassVar[str] = "lathe.production.product-model.defined.v1"
    topic: ClassVar[str] = PRODUCT_MODELS_TOPIC

    id: uuid.UUID
    model_code: str
    model_name: str
    category: str | None
    routing: list[str]
    is_active: bool


class ProductModelChangedEvent(ProductModelDefinedEvent):
    event_type: ClassVar[str] = "lathe.production.product-model.changed.v1"

    changed: list[str]
    previous: dict[str, Any] = Field(default_factory=dict, description=PREVIOUS_VALUES)


LOTS_TOPIC = "lathe.production.lots.v1"
SERIALS_TOPIC = "lathe.production.serials.v1"


class LotCreatedEvent(DomainEvent):
    event_type: ClassVar[str] = "lathe.production.lot.created.v1"
    topic: ClassVar[str] = LOTS_TOPIC

    id: uuid.UUID
    lot_number: str
    product_model_id: uuid.UUID
    model_code: str
    work_order_number: str | None
    target_quantity: int
    shift: str
    production_date: str
    status: str


class LotStatusChangedEvent(DomainEvent):
    event_type: ClassVar[str] = "lathe.production.lot.status-changed.v1"
    topic: ClassVar[str] = LOTS_TOPIC

    id: uuid.UUID
    lot_number: str
    work_order_number: str | None
    previous_status: str
    status: str


class SerialsCreatedEvent(DomainEvent):
    """Serials added to a LOT in one request, in chunks of at most 1,000 per event. Key = LOT id,
    so a LOT's serial events stay in order with each other."""

    event_type: ClassVar[str] = "lathe.production.serials.created.v1"
    topic: ClassVar[str] = SERIALS_TOPIC
    aggregate_field: ClassVar[str] = "lot_id"

    lot_id: uuid.UUID
    lot_number: str
    work_order_number: str | None
    serials: list[dict[str, Any]]  # {"id", "serial_number", "sequence_in_lot"}
    # The LOT's product model, so a consumer need not have seen the LOT's creation first (another
    # topic); None in events published before it was added.
    model_code: str | None = None


PROCESS_DATA_TOPIC = "lathe.production.process-data.v1"


class StepRecordedEvent(DomainEvent):
    """A process step was executed. Key: the serial's id, or the LOT's for LOT-level data. It carries
    the unit's status after the step (``serial_status``, ``rework_count``): a step announces one
    event, and no separate status change."""

    event_type: ClassVar[str] = "lathe.production.step.recorded.v1"
    topic: ClassVar[str] = PROCESS_DATA_TOPIC
    aggregate_field: ClassVar[str] = "subject_id"

    id: uuid.UUID
    subject_id: uuid.UUID
    message_id: str | None
    process_id: uuid.UUID
    process_code: str
    level: str
    step_no: int | None
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    work_order_number: str | None
    serial_id: uuid.UUID | None
    serial_number: str | None
    result: str
    reported_result: str | None
    measurements: dict[str, Any]
    violations: list[dict[str, Any]]
    defect_codes: list[str]
    operator: str | None
    equipment_id: str | None
    started_at: str | None
    completed_at: str
    cycle_time_seconds: float | None
    serial_status: str | None
    rework_count: int | None


GENEALOGY_TOPIC = "lathe.production.genealogy.v1"


class ComponentsConsumedEvent(DomainEvent):
    """A unit consumed components (other units, or quantities of LOTs). Key: the consuming unit."""

    event_type: ClassVar[str] = "lathe.production.components.consumed.v1"
    topic: ClassVar[str] = GENEALOGY_TOPIC
    aggregate_field: ClassVar[str] = "parent_serial_id"

    parent_serial_id: uuid.UUID
    parent_serial_number: str
    process_code: str | None
    operator: str | None
    components: list[dict[str, Any]]


WORK_ORDERS_TOPIC = "lathe.production.work-orders.v1"


class WorkOrderPlannedEvent(DomainEvent):
    """Production accepted a released work order (or a replacement) and created its LOTs."""

    event_type: ClassVar[str] = "lathe.production.work-order.planned.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC
    aggregate_field: ClassVar[str] = "work_order_number"

    work_order_number: str
    lots: list[dict[str, Any]]  # {"id", "lot_number", "target_quantity"}
    # Which request of the work order was planned: 0 the release, 1, 2, ... its replacements and
    # quantity increases (the request_no of lathe.orders.work-order.*).
    request_no: int = 0


class WorkOrderRejectedEvent(DomainEvent):
    """Production could not plan a released work order (unknown or inactive model): why, for the planner."""

    event_type: ClassVar[str] = "lathe.production.work-order.rejected.v1"
    topic: ClassVar[str] = WORK_ORDERS_TOPIC
    aggregate_field: ClassVar[str] = "work_order_number"

    work_order_number: str
    code: str  # product_model_not_found, inactive_product_model, too_many_lots
    reason: str
    request_no: int = 0  # as in WorkOrderPlannedEvent: 0 is the release itself
