"""Facts the production service announces (one topic per aggregate, key = its id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from lathe_common.events import DomainEvent
from pydantic import BaseModel, Field

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
    # Added with labor entries (issue 12); None in events published before, or when not set.
    standard_time_seconds: Decimal | None = Field(
        default=None, description="planned labor per unit in seconds (a decimal string); null: not set"
    )


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
    # Added with revisions (issue 12); None / empty in events published before.
    traveler_type: str | None = None  # PCB, PARTS, ASSEMBLY, CABLE
    revision: str | None = Field(
        default=None, description="the revision of the routing and BOM this event shows: A, B, ... Z, AA, ..."
    )
    bom: list[dict[str, Any]] = Field(
        default_factory=list,
        description="BOM lines: component_code, description, quantity_per_unit (a decimal string), unit, "
        "reference_designators, process_code (null: any step)",
    )
    revision_reason: str | None = Field(default=None, description="why, when this event makes a new revision")


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
    # The product model's revision the LOT pinned: its units follow that revision's routing and BOM
    # (None in events published before revisions).
    revision: str | None = None


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
    # What the consuming unit's BOM check found and let through (LATHE_PRODUCTION_BOM_CHECK=warn):
    # {"code", "component_code", "process_code", "detail"}; empty when nothing deviated.
    bom_deviations: list[dict[str, Any]] = Field(default_factory=list)


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


class ElectronicSignature(BaseModel):
    """An electronic signature as a record keeps it (21 CFR Part 11 §11.50): who (id, username and
    name), when (``signed_at``: production's database clock when it was applied; ``authenticated_at``:
    auth's, when the password was checked), what it means, why, the record and action it was given
    for, and the SHA-256 of that content. Never the password or the token."""

    id: uuid.UUID
    signer_id: uuid.UUID
    signer: str
    signer_name: str | None
    meaning: str  # approved, rejected, reviewed
    reason: str
    record: str
    signed_at: datetime
    authenticated_at: datetime
    content_sha256: str


class SerialStatusChangedEvent(DomainEvent):
    """A unit's status changed other than by a step: a disposition of its nonconformance (a REWORK
    sends it back to the failed step, a SCRAP or an exhausted rework scraps it, a USE_AS_IS lets it go
    on as if it had passed). On the process-data topic with the unit's id as key, so it stays in order
    with the unit's ``step.recorded`` events, which carry its status after each step."""

    event_type: ClassVar[str] = "lathe.production.serial.status-changed.v1"
    topic: ClassVar[str] = PROCESS_DATA_TOPIC
    aggregate_field: ClassVar[str] = "serial_id"

    serial_id: uuid.UUID
    serial_number: str
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    work_order_number: str | None
    previous_status: str
    serial_status: str
    rework_count: int
    current_step: int = Field(description="routing steps the unit has completed")
    cause: str = Field(description="`disposition` (the only cause so far)")
    nonconformance_id: uuid.UUID | None
    disposition: str | None
    code: str | None = Field(description="`rework_exhausted` when a REWORK beyond the limit scrapped the unit")


NONCONFORMANCES_TOPIC = "lathe.production.nonconformances.v1"


class _NonconformanceEvent(DomainEvent):
    topic: ClassVar[str] = NONCONFORMANCES_TOPIC

    id: uuid.UUID
    serial_id: uuid.UUID
    serial_number: str
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    work_order_number: str | None
    process_code: str
    step_no: int


class NonconformanceOpenedEvent(_NonconformanceEvent):
    """A FAIL opened a nonconformance record (NCR) for the unit, in the step's transaction. Key: the NCR."""

    event_type: ClassVar[str] = "lathe.production.nonconformance.opened.v1"

    process_data_id: uuid.UUID = Field(description="the failed step execution")
    defect_codes: list[str]
    measurements: dict[str, Any]
    violations: list[dict[str, Any]]
    rework_count: int = Field(description="reworks the unit had had when it failed")
    opened_at: datetime


class NonconformanceDispositionedEvent(_NonconformanceEvent):
    """Quality decided what becomes of the unit, with an electronic signature. ``status`` is the NCR's
    after it: DISPOSITIONED for a REWORK (closed by the unit's next step), CLOSED otherwise."""

    event_type: ClassVar[str] = "lathe.production.nonconformance.dispositioned.v1"

    disposition: str  # REWORK, SCRAP, USE_AS_IS
    reason: str
    status: str
    unit_status: str
    rework_count: int
    code: str | None = Field(description="`rework_exhausted`: a REWORK beyond the limit scrapped the unit")
    dispositioned_at: datetime
    signature: ElectronicSignature


class NonconformanceClosedEvent(_NonconformanceEvent):
    """The unit's next step after a REWORK disposition was recorded: the rework was done. Its result
    is the step's (a FAIL opens the unit's next NCR in the same transaction)."""

    event_type: ClassVar[str] = "lathe.production.nonconformance.closed.v1"

    closed_at: datetime
    closed_by_step_id: uuid.UUID
    step_result: str


HOLDS_TOPIC = "lathe.production.holds.v1"


class HoldsPlacedEvent(DomainEvent):
    """Quality put a LOT, a unit, or every unit containing a component on hold: no step is recorded
    on them until released. One call's holds, up to 1,000 an event. Key: the call (``placement_id``)."""

    event_type: ClassVar[str] = "lathe.production.holds.placed.v1"
    topic: ClassVar[str] = HOLDS_TOPIC
    aggregate_field: ClassVar[str] = "placement_id"

    placement_id: uuid.UUID
    reason: str
    component: str | None = Field(description="the serial or LOT number a by-component hold traced")
    # {"id", "subject": "LOT" | "SERIAL", "lot_id", "lot_number", "serial_id", "serial_number"}
    holds: list[dict[str, Any]]
    placed_at: datetime


class HoldReleasedEvent(DomainEvent):
    """A hold was released, with an electronic signature. Key: the hold's placement."""

    event_type: ClassVar[str] = "lathe.production.hold.released.v1"
    topic: ClassVar[str] = HOLDS_TOPIC
    aggregate_field: ClassVar[str] = "placement_id"

    id: uuid.UUID
    placement_id: uuid.UUID
    subject: str  # LOT or SERIAL
    lot_id: uuid.UUID
    lot_number: str
    serial_id: uuid.UUID | None
    serial_number: str | None
    hold_reason: str
    reason: str
    released_at: datetime
    signature: ElectronicSignature


# Records kept against a LOT beside its steps (issue 12): labor entries and coating logs. Key: the
# LOT's id, so a LOT's records stay in order with each other; a topic of their own, so consumers of
# LOTs and steps are not handed record types they do not read.
LOT_RECORDS_TOPIC = "lathe.production.lot-records.v1"


class LaborEntryRecordedEvent(DomainEvent):
    """Someone's time on a process for a LOT or one of its units (``serial_number``)."""

    event_type: ClassVar[str] = "lathe.production.labor-entry.recorded.v1"
    topic: ClassVar[str] = LOT_RECORDS_TOPIC
    aggregate_field: ClassVar[str] = "lot_id"

    id: uuid.UUID
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    serial_id: uuid.UUID | None
    serial_number: str | None
    operator: str
    process_id: uuid.UUID
    process_code: str
    activity: str  # SETUP, RUN, REWORK, INSPECTION
    started_at: datetime
    ended_at: datetime
    duration_seconds: Decimal = Field(description="ended_at - started_at, to the millisecond (a decimal string)")
    recorded_by: str | None


class CoatingLogRecordedEvent(DomainEvent):
    """A coating applied to a LOT at a process, its thickness readings judged against the limits."""

    event_type: ClassVar[str] = "lathe.production.coating-log.recorded.v1"
    topic: ClassVar[str] = LOT_RECORDS_TOPIC
    aggregate_field: ClassVar[str] = "lot_id"

    id: uuid.UUID
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    process_id: uuid.UUID
    process_code: str
    coating_type: str
    material_lot: str
    thickness_readings_um: list[float]
    thickness_lower_um: float | None
    thickness_upper_um: float | None
    limits_source: str = Field(description="`process` (its `thickness_um` criterion) or `log` (given in the log)")
    violations: list[dict[str, Any]] = Field(description="readings outside the limits, as a step's violations")
    result: str  # PASS, FAIL
    cure_temperature_c: Decimal
    cure_minutes: Decimal
    inspector: str
    applied_at: datetime
    recorded_by: str | None
