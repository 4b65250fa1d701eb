from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from lathe_common.patching import changed_field
from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from lathe_production.processes.schemas import PROCESS_CODE
from lathe_production.product_models.rules import MAX_BOM_LINES, MAX_DESIGNATORS_PER_LINE

# How product model requests are refused (documented on the routes that can refuse so).
PRODUCT_MODEL_NOT_FOUND = ProblemCode(404, "product_model_not_found", "no product model has that id or model code")
PRODUCT_MODEL_EXISTS = ProblemCode(409, "product_model_exists", "a product model with that code exists")
ROUTING_PROCESS_NOT_FOUND = ProblemCode(422, "process_not_found", "the routing names a process that does not exist")
ROUTING_PROCESS_INACTIVE = ProblemCode(422, "inactive_process", "the routing names an inactive process")
ROUTING_PROBLEMS = (ROUTING_PROCESS_NOT_FOUND, ROUTING_PROCESS_INACTIVE)
REVISION_NOT_FOUND = ProblemCode(404, "revision_not_found", "the product model has no revision of that label")
REVISION_REASON_REQUIRED = ProblemCode(
    422, "revision_reason_required", "the routing or BOM of a model with LOTs changes: say why (`revision_reason`)"
)
BOM_PROBLEMS = (
    ProblemCode(422, "duplicate_bom_line", "two BOM lines name the same component at the same step (`lines`)"),
    ProblemCode(422, "duplicate_reference_designator", "a reference designator appears twice (`designator`)"),
    ProblemCode(422, "designator_count_mismatch", "a line's reference designators do not count its quantity per unit"),
    ProblemCode(422, "bom_process_not_in_routing", "a BOM line is consumed at a step not in the routing"),
    ProblemCode(422, "bom_contains_itself", "a BOM line names the model itself"),
    ProblemCode(422, "bom_too_large", f"more than {MAX_BOM_LINES} lines or too many reference designators"),
)

MODEL_CODE = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# A routing names each process once, by a code a process can have.
RoutingCode = Annotated[str, PROCESS_CODE]


def _routing_once(schema: dict[str, Any]) -> None:
    schema["properties"]["routing"]["uniqueItems"] = True  # what _no_repeats checks


def _no_repeats(routing: list[str] | None) -> list[str] | None:
    if routing is not None and len(set(routing)) != len(routing):
        raise ValueError("a process appears twice in the routing; each step must be a different process")
    return routing


class TravelerType(StrEnum):
    """The kind of job document a model's LOTs travel with (seed 000's traveler types)."""

    PCB = "PCB"
    PARTS = "PARTS"
    ASSEMBLY = "ASSEMBLY"
    CABLE = "CABLE"


# A reference designator names one place on a board: R1, C12, U3A, J1-2.
Designator = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:+/-]*$")]
NOT_BLANK = r"^\S(.*\S)?$"  # printable words without surrounding spaces


class BomLine(BaseModel):
    """What one unit consumes of one component, and at which step of the routing (none: any step)."""

    model_config = ConfigDict(extra="forbid")

    component_code: str = Field(
        min_length=1, max_length=64, pattern=NOT_BLANK, description="a product model's code or a material's code"
    )
    description: str = Field(min_length=1, max_length=200)
    quantity_per_unit: Decimal = Field(
        gt=0, max_digits=14, decimal_places=4, description="in `unit`; a decimal string in answers"
    )
    unit: str = Field(min_length=1, max_length=16, pattern=NOT_BLANK, description="pcs, g, m, ...")
    reference_designators: list[Designator] = Field(
        default_factory=list,
        max_length=MAX_DESIGNATORS_PER_LINE,
        description="PCB placements, each once in the BOM (ignoring case); when given, as many as the quantity",
    )
    process_code: RoutingCode | None = Field(
        default=None, description="the routing step that consumes it; null: consumed at any step"
    )

    @field_serializer("quantity_per_unit")
    def _plain_decimal(self, quantity: Decimal) -> str:
        # One spelling per quantity ("2", never "2.0000" or "2E+0"): revisions compare lines as stored.
        return format(quantity.normalize(), "f")


REVISION_REASON = Field(
    default=None,
    min_length=1,
    max_length=1000,
    pattern=r"\S",
    description="why the routing or BOM changes (kept with the revision); required once the model has LOTs",
)


class ProductModelCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra=_routing_once)

    model_code: str = MODEL_CODE
    model_name: str = Field(min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    specifications: dict[str, Any] = Field(default_factory=dict)
    routing: list[RoutingCode] = Field(
        min_length=1, max_length=100, description="process codes in the order they are run"
    )
    traveler_type: TravelerType | None = Field(default=None, description="null: not classified")
    bom: list[BomLine] = Field(default_factory=list, max_length=MAX_BOM_LINES, description="empty: no BOM yet")
    revision_reason: str | None = REVISION_REASON

    _routing = field_validator("routing")(_no_repeats)


class ProductModelUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra=_routing_once)

    model_name: str = changed_field(min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=100, description="null clears it")
    specifications: dict[str, Any] = changed_field()
    routing: list[RoutingCode] = changed_field(
        min_length=1, max_length=100, description="a change makes the next revision"
    )
    is_active: bool = changed_field(strict=True)
    traveler_type: TravelerType | None = Field(default=None, description="null clears it")
    bom: list[BomLine] = changed_field(
        max_length=MAX_BOM_LINES, description="the whole BOM; a change makes the next revision"
    )
    revision_reason: str | None = REVISION_REASON

    _routing = field_validator("routing")(_no_repeats)


class ProductModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    model_code: str
    model_name: str
    category: str | None
    specifications: dict[str, Any]
    routing: list[str]
    is_active: bool
    traveler_type: TravelerType | None
    revision: str = Field(description="the current revision of the routing and BOM: A, B, ... Z, AA, ...")
    bom: list[BomLine]
    created_at: datetime
    updated_at: datetime


class RoutingChange(BaseModel):
    before: list[str]
    after: list[str]
    added: list[str]
    removed: list[str]


class BomLineChange(BaseModel):
    component_code: str
    process_code: str | None
    before: dict[str, Any] = Field(description="the fields that changed, as they were")
    after: dict[str, Any]


class BomChange(BaseModel):
    added: list[BomLine]
    removed: list[BomLine]
    changed: list[BomLineChange]


class RevisionChanges(BaseModel):
    """Against the revision before (for A: against nothing); null where nothing changed."""

    routing: RoutingChange | None
    bom: BomChange | None


class RevisionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: str
    revision_no: int = Field(description="1 for A, 2 for B, ... 27 for AA")
    created_at: datetime
    created_by: str | None = Field(description="who made the change (null: before Lathe kept revisions)")
    reason: str | None
    changes: RevisionChanges


class RevisionRead(RevisionSummary):
    """One revision whole: the routing and BOM the LOTs pinned to it follow."""

    routing: list[str]
    bom: list[BomLine]
