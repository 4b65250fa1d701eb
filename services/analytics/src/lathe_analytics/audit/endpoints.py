from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.schema_rules import IsoDateTime

from lathe_analytics.audit.schemas import AuditLogRead
from lathe_analytics.audit.trail import AuditFilter, AuditTrail

router = APIRouter(prefix="/audit-logs", tags=["audit"])


@router.get(
    "",
    response_model=CursorPage[AuditLogRead],
    summary="The audit trail, newest first",
    dependencies=[requires("audit:read")],
)
async def list_audit_logs(
    session: SessionDep,
    page: CursorDep,
    subject: Annotated[str | None, Query(description="Aggregate id the event is about")] = None,
    event_type: Annotated[str | None, Query(description="e.g. lathe.auth.user.created.v1")] = None,
    actor: Annotated[str | None, Query()] = None,
    correlation_id: Annotated[str | None, Query()] = None,
    since: Annotated[IsoDateTime | None, Query(description="occurred at or after (ISO 8601)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="occurred before (ISO 8601)")] = None,
) -> CursorPage[AuditLogRead]:
    where = AuditFilter(subject, event_type, actor, correlation_id, since, until)
    found = await AuditTrail(session).search(page, where)
    return found.answer([AuditLogRead.model_validate(r) for r in found.rows], page.limit)
