from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep, paginate
from sqlalchemy import select

from lathe_analytics.audit.models import AuditLog
from lathe_analytics.audit.schemas import AuditLogRead

router = APIRouter(prefix="/audit-logs", tags=["audit"])


@router.get(
    "",
    response_model=Page[AuditLogRead],
    summary="The audit trail, newest first",
    dependencies=[requires("audit:read")],
)
async def list_audit_logs(
    session: SessionDep,
    page: PageDep,
    subject: Annotated[str | None, Query(description="Aggregate id the event is about")] = None,
    event_type: Annotated[str | None, Query(description="e.g. lathe.auth.user.created.v1")] = None,
    actor: Annotated[str | None, Query()] = None,
    correlation_id: Annotated[str | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="occurred at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="occurred before (ISO 8601)")] = None,
) -> Page[AuditLogRead]:
    statement = select(AuditLog).order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc())
    filters = {
        AuditLog.subject: subject,
        AuditLog.event_type: event_type,
        AuditLog.actor: actor,
        AuditLog.correlation_id: correlation_id,
    }
    for column, value in filters.items():
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(AuditLog.occurred_at >= since)
    if until is not None:
        statement = statement.where(AuditLog.occurred_at < until)
    rows, total = await paginate(session, statement, page)
    return Page(items=[AuditLogRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset)
