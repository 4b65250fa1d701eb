"""What a consumer is: its topics, how a record is decoded, and the handlers that apply it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_common.errors import LatheError
from lathe_common.events import Envelope, InvalidEnvelope


class Undeliverable(Exception):
    """Raised by a decoder: the record can never be processed. ``code`` becomes the DLQ reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Decoded:
    message_id: str
    payload: Any
    correlation_id: str | None = None
    actor: str | None = None


def decode_envelope(record: ConsumerRecord) -> Decoded:
    """A Lathe domain event (CloudEvents in Kafka binary mode)."""
    try:
        envelope = Envelope.from_kafka(record.headers or (), record.value)
    except InvalidEnvelope as exc:
        raise Undeliverable(exc.code, str(exc)) from exc
    return Decoded(str(envelope.id), envelope, envelope.correlationid, envelope.actor)


Handler = Callable[[AsyncSession, Any], Awaitable[None]]
# Told of each record sent to the dead-letter topic, in a transaction of its own after the send:
# for consumers that keep a list of what they could not apply (the record, the reason, the detail).
DeadLetterListener = Callable[[AsyncSession, ConsumerRecord, str, str], Awaitable[None]]
# Handles a whole batch of payloads in one go: one outcome per payload, in order (None: done;
# a LatheError: the rule it broke, which must have left no trace of that payload).
BatchHandler = Callable[[AsyncSession, list[Any]], Awaitable[list[LatheError | None]]]


@dataclass(frozen=True)
class ConsumerSpec:
    """One logical consumer: its own group, its own inbox rows.

    ``decode`` turns a raw record into a ``Decoded``; it raises ``Undeliverable`` for a record that
    can never be processed (any other exception it raises is treated the same way: a decoder is
    pure, so trying again cannot help)."""

    name: str
    handler: Handler
    topics: tuple[str, ...] = ()
    decode: Callable[[ConsumerRecord], Decoded] = decode_envelope
    auto_offset_reset: str = "earliest"
    # Set for throughput: records are fetched up to this many at a time and handled in one
    # transaction, each inside its own savepoint (see batches).
    batch_size: int | None = None
    # Optional, with batch_size: the batch's records are handled by one call, without savepoints;
    # ``handler`` still isolates one bad record when the batch keeps failing (see batches).
    batch_handler: BatchHandler | None = None
    # Members of the consumer group this process runs. Each is given its share of the partitions by
    # Kafka, so one member's batch is computed while another's waits on the database.
    members: int = 1
    payload: type | None = None  # the body's model, for the AsyncAPI document (default: an event's data)
    on_dead_letter: DeadLetterListener | None = None
    # For a consumer that writes an event for each record it handles (machine ingestion): before
    # each fetched batch it waits (up to OUTBOX_PACING_MAX_SECONDS) until the service's outbox relay
    # has caught up, so with a backlog in the topic its events still go out within about a batch's
    # time of their commit instead of queueing behind everything it has ingested.
    paced_by_outbox: bool = False
    description: str = ""
