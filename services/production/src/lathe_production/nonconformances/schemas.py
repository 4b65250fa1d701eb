from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, Field

from lathe_production.nonconformances.rules import Disposition, NcrStatus
from lathe_production.signatures.schemas import SignatureRead, SignedRequest

# How nonconformance requests are refused (documented on the routes that can refuse so).
NONCONFORMANCE_NOT_FOUND = ProblemCode(404, "nonconformance_not_found", "no nonconformance has that id")
NONCONFORMANCE_NOT_OPEN = ProblemCode(
    409, "nonconformance_not_open", "the nonconformance's disposition was decided already (`status`)"
)
UNIT_NOT_FAILED = ProblemCode(409, "unit_not_failed", "the unit is not FAILED (`unit_status`): data written by hand")
DEVIATION_NOT_APPROVED = ProblemCode(
    422, "deviation_not_approved", "USE_AS_IS is a deviation: its signature's meaning must be `approved`"
)
DISPOSITION_LOT_NOT_OPEN = ProblemCode(
    409, "lot_not_open", "the unit's LOT is no longer open: a unit that would run more steps can only be scrapped"
)


class DispositionRequest(SignedRequest):
    """What becomes of the failed unit, signed: `signature` is the token of POST /api/v1/auth/signatures
    for record `nonconformance/{id}/disposition/{disposition}`, with this meaning and reason."""

    disposition: Disposition


class NonconformanceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: NcrStatus
    serial_id: uuid.UUID
    serial_number: str
    lot_id: uuid.UUID
    lot_number: str
    model_code: str
    work_order_number: str | None
    process_data_id: uuid.UUID = Field(description="the failed step execution")
    process_code: str
    step_no: int
    routing_length: int
    defect_codes: list[str]
    measurements: dict[str, Any]
    violations: list[dict[str, Any]] = Field(description="the limits the measurements broke")
    rework_count: int = Field(description="the unit's reworks when it failed")
    opened_at: datetime
    disposition: Disposition | None
    disposition_reason: str | None
    dispositioned_by: str | None
    dispositioned_at: datetime | None
    unit_status: str | None = Field(description="what the disposition made of the unit")
    code: str | None = Field(description="`rework_exhausted`: a REWORK beyond the limit scrapped the unit")
    closed_at: datetime | None
    closed_by_step_id: uuid.UUID | None = Field(description="for a REWORK: the unit's next step, which closed it")
    signature: SignatureRead | None = Field(default=None, description="the disposition's electronic signature")
