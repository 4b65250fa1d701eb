from __future__ import annotations

import uuid
from datetime import datetime

from lathe_common.problem_docs import ProblemCode
from lathe_common.signatures import MAX_REASON_LENGTH
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from lathe_production.holds.rules import HoldState, HoldSubject
from lathe_production.signatures.schemas import SignatureRead, SignedRequest

# How hold requests are refused (documented on the routes that can refuse so).
ALREADY_ON_HOLD = ProblemCode(409, "already_on_hold", "the LOT or unit is on hold already (`hold_id`)")
NOT_ON_HOLD = ProblemCode(409, "not_on_hold", "the LOT or unit is not on hold")
HOLD_NOT_FOUND = ProblemCode(404, "hold_not_found", "no hold has that id")
COMPONENT_NOT_FOUND = ProblemCode(404, "component_not_found", "no unit or LOT has that serial or LOT number")


class _Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)

    @field_validator("reason")
    @classmethod
    def _reason_said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required")
        return value


class HoldRequest(_Reason):
    """Why the LOT or unit is held (a suspect component LOT, a customer complaint, ...)."""


class ByComponentRequest(_Reason):
    component: str = Field(min_length=1, max_length=80, description="a serial number or a LOT number")


class ReleaseRequest(SignedRequest):
    """Release the hold, signed: `signature` is the token of POST /api/v1/auth/signatures for record
    `hold/{hold id}/release` (the hold's id: GET the LOT or unit, or its hold), with this meaning and reason."""


class HoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    placement_id: uuid.UUID = Field(description="the call that placed it: a by-component call places many")
    subject: HoldSubject
    lot_id: uuid.UUID
    lot_number: str
    serial_id: uuid.UUID | None
    serial_number: str | None
    reason: str
    component: str | None = Field(description="the component a by-component hold traced")
    placed_by: str | None
    placed_at: datetime = Field(description="when it took effect: no step is recorded after this")
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None
    release_signature: SignatureRead | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> HoldState:
        return HoldState.ACTIVE if self.released_at is None else HoldState.RELEASED


class ComponentHoldsPlaced(BaseModel):
    placement_id: uuid.UUID = Field(description="list them: GET /api/v1/holds?placement_id=")
    component: str
    component_subject: HoldSubject = Field(description="what the component is: a unit or a LOT")
    reason: str
    units_containing: int = Field(description="units whose genealogy contains the component, at any depth")
    held: int = Field(description="holds placed now: the component and the units containing it, not held before")
    already_on_hold: int = Field(description="of those, already on hold: they keep the hold they have")
    placed_at: datetime
