"""Reading the audit trail: newest first, by cursor, filtered by what an auditor asks about.

Every list is ordered by (occurred_at, id) and filtered by at most one equality that an index
leads with, then by time: each is an index range (``ix_audit_log_time_id``, ``..._subject_time``,
``..._actor_time``, ``..._event_type_time``, ``..._correlation_time``, one per partition, merged
newest first); a time range also skips the months outside it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from lathe_common.errors import InvalidInput, NotFound
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from sqlalchemy import Select, select, tuple_

from lathe_analytics.audit.models import AuditLog

NEWEST_FIRST = Keyset("audit-log", (AuditLog.occurred_at, AuditLog.id))
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class AuditFilter:
    subject: str | None = None
    event_type: str | None = None
    actor: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None  # occurred at or after
    until: datetime | None = None  # occurred before

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidInput("`since` must be before `until`.", code="invalid_time_range")


class AuditTrail(Repository[AuditLog]):
    model = AuditLog
    noun = "audit entry"

    def listed(self, where: AuditFilter) -> Select:
        """Every entry ``where`` matches, unordered."""
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
        return self.filtered(equal, statement)

    async def search(self, params: CursorParams, where: AuditFilter) -> KeysetPage:
        statement = self.listed(where)
        if params.cursor is not None:
            # Implied by the cursor's (occurred_at, id) < (..): stated, the months after it are
            # pruned (the planner prunes partitions on a column's bounds, never on a row comparison).
            statement = statement.where(AuditLog.occurred_at <= NEWEST_FIRST.values_of(params.cursor)[0])
        return await self.keyset_page(params, NEWEST_FIRST, statement=statement)

    async def entry(self, key: str) -> AuditLog:
        """By id (a number) or by the event's id (a UUID)."""
        if key.isascii() and key.isdigit():
            condition = AuditLog.id == int(key) if int(key) <= MAX_ID else None
        else:
            try:
                condition = AuditLog.event_id == uuid.UUID(key)
            except ValueError:
                condition = None
        found = await self.session.scalar(select(AuditLog).where(condition)) if condition is not None else None
        if found is None:
            raise NotFound(f"No audit entry with id or event id {key}.", code="audit_entry_not_found")
        return found


@dataclass(frozen=True)
class ExportChunk:
    """One chunk of an export: what to stream, and the cursor of the next chunk (None: the last)."""

    statement: Select
    next: str | None


async def export_chunk(trail: AuditTrail, where: AuditFilter, rows: int, cursor: str | None) -> ExportChunk:
    """The next ``rows`` entries after ``cursor``, newest first. Their range is fixed here, by the
    key of the chunk's last entry (an index range read without the rows), so entries arriving
    while it streams can add to its top but never push one out of it unseen."""
    statement = trail.listed(where)
    if cursor is not None:
        after = NEWEST_FIRST.values_of(cursor)
        statement = NEWEST_FIRST.after(statement.where(AuditLog.occurred_at <= after[0]), after)
    keys = statement.with_only_columns(AuditLog.occurred_at, AuditLog.id)
    ends = (await trail.session.execute(NEWEST_FIRST.order(keys).offset(rows - 1).limit(2))).all()
    if len(ends) < 2:
        return ExportChunk(NEWEST_FIRST.order(statement), None)
    last = ends[0]
    statement = statement.where(
        AuditLog.occurred_at >= last.occurred_at, tuple_(AuditLog.occurred_at, AuditLog.id) >= tuple_(*last)
    )
    return ExportChunk(NEWEST_FIRST.order(statement), NEWEST_FIRST.cursor_of(last))
