"""``Outbox.add``: events written in the caller's transaction, refused if Kafka could never take them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_common import context
from lathe_common.db import copy_rows, time_ordered_id
from lathe_common.errors import InvalidInput
from lathe_common.events import DomainEvent, ce_headers
from lathe_common.outbox.tables import PlumbingTables, record_bytes

# Below the 1 MiB Kafka allows by default (the producer's max_request_size, the broker's
# message.max.bytes): room is left for the record's framing. ServiceSettings.outbox_max_event_bytes.
DEFAULT_MAX_EVENT_BYTES = 1_000_000
EVENT_TOO_LARGE = "event_too_large"

_OUTBOX_COLUMNS = ("event_id", "topic", "message_key", "event_type", "headers", "payload")


class Outbox:
    def __init__(self, tables: PlumbingTables, *, source: str, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.table = tables.outbox
        self.source = source
        self.max_event_bytes = max_event_bytes

    async def add(
        self, session: AsyncSession, *events: DomainEvent, correlation_ids: Sequence[str | None] | None = None
    ) -> None:
        """Write ``events`` in the session's transaction. Their correlation id is the current
        request's or message's; ``correlation_ids`` (one per event, None = the current one) serves
        work that handles several messages at once. Events written together share their time.

        An event larger than ``max_event_bytes`` (payload, key and headers encoded) raises
        ``InvalidInput`` (``event_too_large``) before anything is written: Kafka would refuse it
        for ever, and the change it announces must not commit without it."""
        if not events:
            return
        current, actor = context.correlation_id.get(), context.actor.get()
        chosen = correlation_ids if correlation_ids is not None else [None] * len(events)
        at = datetime.now(UTC).isoformat()
        rows = []
        for event, correlation_id in zip(events, chosen, strict=True):
            event_id, subject = time_ordered_id(), event.aggregate_id
            headers = ce_headers(
                id=str(event_id),
                source=self.source,
                type=event.event_type,
                time=at,
                subject=subject,
                correlation_id=correlation_id or current,
                actor=actor,
            )
            payload = to_json(event)
            size = record_bytes(payload, subject.encode(), headers)
            if size > self.max_event_bytes:
                raise InvalidInput(
                    f"The {event.event_type} event would be {size} bytes; at most {self.max_event_bytes} "
                    "can be published. Nothing was saved.",
                    code=EVENT_TOO_LARGE,
                    event_type=event.event_type,
                    size_bytes=size,
                    max_event_bytes=self.max_event_bytes,
                )
            rows.append((event_id, event.topic, subject, event.event_type, to_json(headers).decode(), payload))
        await copy_rows(session, self.table, _OUTBOX_COLUMNS, rows)
