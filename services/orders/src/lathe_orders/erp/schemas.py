from __future__ import annotations

from datetime import datetime

from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, Field

ERP_CONFLICT_NOT_FOUND = ProblemCode(404, "erp_conflict_not_found", "no ERP conflict has that id")
ALREADY_RESOLVED = ProblemCode(409, "already_resolved", "the conflict was resolved already")


class ErpConflictRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    topic: str
    source: str | None = Field(description="as far as the record could be read")
    external_id: str | None
    revision: int | None
    reason: str = Field(description="the dead letter's reason code (docs/integration.md)")
    detail: str
    partition: int
    offset: int = Field(description="where the original record sits on its topic")
    received_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ErpConflictResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="what was done about it")
