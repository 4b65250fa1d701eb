"""Record every domain event in the audit trail."""

from __future__ import annotations

from typing import Any

from lathe_common.consumers import ConsumerSpec
from lathe_common.db import copy_rows
from lathe_common.events import Envelope
from lathe_contracts import published_topics
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.audit.models import AuditLog
from lathe_analytics.audit.secrets import may_hold_secrets, without_secrets

# Every topic a Lathe service publishes events on: a service's new topics are audited as soon as
# its contract module declares them.
AUDITED_TOPICS = published_topics()


_COLUMNS = ("event_id", "event_type", "source", "subject", "actor", "correlation_id", "occurred_at", "data")


def _stored_data(data: dict[str, Any]) -> str:
    raw = to_json(data)
    if may_hold_secrets(raw):
        raw = to_json(without_secrets(data))
    return raw.decode()


async def record_events(session: AsyncSession, envelopes: list[Envelope]) -> list[None]:
    """A fetched batch of events in one COPY: the trail keeps up with the busiest producer. Each
    row lands in its month's partition (or DEFAULT); the inbox has already skipped events handled
    before, and (event_id, occurred_at) is unique besides."""
    rows = (
        (e.id, e.type, e.source, e.subject, e.actor, e.correlationid, e.time, _stored_data(e.data)) for e in envelopes
    )
    await copy_rows(session, AuditLog.__table__, _COLUMNS, rows)
    return [None] * len(envelopes)


async def record_event(session: AsyncSession, envelope: Envelope) -> None:
    await record_events(session, [envelope])


audit_consumer = ConsumerSpec(
    name="analytics.audit-log",
    topics=AUDITED_TOPICS,
    handler=record_event,
    batch_handler=record_events,
    batch_size=2000,
    description="Every domain event, into the immutable audit trail.",
)
