"""Transactional outbox.

``Outbox.add`` (writer.py) writes events in the caller's transaction, so a change and its
announcement commit (or roll back) together, and refuses an event Kafka could never take.
``OutboxRelay`` (relay.py) publishes committed rows; failures.py decides which failures park a
row and which are retried for ever; operators.py serves ``python -m lathe_<svc> outbox ...``.
"""

from lathe_common.outbox.relay import OutboxPublishError, OutboxRelay, OutboxState
from lathe_common.outbox.tables import PlumbingTables, notify_trigger_sql, record_bytes
from lathe_common.outbox.writer import DEFAULT_MAX_EVENT_BYTES, EVENT_TOO_LARGE, Outbox

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "EVENT_TOO_LARGE",
    "Outbox",
    "OutboxPublishError",
    "OutboxRelay",
    "OutboxState",
    "PlumbingTables",
    "notify_trigger_sql",
    "record_bytes",
]
