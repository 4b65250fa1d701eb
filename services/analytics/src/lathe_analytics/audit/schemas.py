from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, Field

from lathe_analytics.audit.changes import field_changes
from lathe_analytics.audit.models import AuditLog

AUDIT_ENTRY_NOT_FOUND = ProblemCode(404, "audit_entry_not_found", "no audit entry has this id or event id")
INVALID_TIME_RANGE = ProblemCode(422, "invalid_time_range", "`since` must be before `until`")


class FieldChangeRead(BaseModel):
    field: str
    before: Any = Field(description="the value before the change (null when not `recorded`)")
    after: Any = Field(description="the value after the change (null when not `recorded`)")
    recorded: bool = Field(
        description="false: the event names the field without its values: a secret such as a password "
        "(never recorded), or an event published before Lathe recorded old values"
    )


class AuditLogRead(BaseModel):
    id: int
    event_id: uuid.UUID
    event_type: str
    source: str
    subject: str = Field(description="what the event is about: the aggregate's id (the Kafka key)")
    actor: str | None = Field(description="the user who caused it (their username), if a user did")
    correlation_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    changes: list[FieldChangeRead] = Field(description="what changed, field by field, for events that change something")
    data: dict[str, Any] = Field(description="the event as published (secrets, were there any, as `[redacted]`)")

    @classmethod
    def of(cls, entry: AuditLog) -> AuditLogRead:
        return cls(
            id=entry.id,
            event_id=entry.event_id,
            event_type=entry.event_type,
            source=entry.source,
            subject=entry.subject,
            actor=entry.actor,
            correlation_id=entry.correlation_id,
            occurred_at=entry.occurred_at,
            recorded_at=entry.recorded_at,
            changes=[FieldChangeRead(**vars(change)) for change in field_changes(entry.data)],
            data=entry.data,
        )
