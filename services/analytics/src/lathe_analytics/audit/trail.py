"""Reading the audit trail: newest first, by cursor, filtered by what an auditor asks about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from sqlalchemy import select

from lathe_analytics.audit.models import AuditLog

NEWEST_FIRST = Keyset("audit-log", (AuditLog.occurred_at, AuditLog.id))


@dataclass(frozen=True)
class AuditFilter:
    subject: str | None = None
    event_type: str | None = None
    actor: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None  # occurred at or after
    until: datetime | None = None  # occurred before


class AuditTrail(Repository[AuditLog]):
    model = AuditLog
    noun = "audit entry"

    async def search(self, params: CursorParams, where: AuditFilter) -> KeysetPage:
        statement = select(AuditLog)
        if where.since is not None:
            statement = statement.where(AuditLog.occurred_at >= where.since)
        if where.until is not None:
            statement = statement.where(AuditLog.occurred_at < where.until)
        equal = {
            AuditLog.subject: where.subject,
            AuditLog.event_type: where.event_type,
            AuditLog.actor: where.actor,
            AuditLog.correlation_id: where.correlation_id,
        }
        return await self.keyset_page(params, NEWEST_FIRST, equal=equal, statement=statement)
