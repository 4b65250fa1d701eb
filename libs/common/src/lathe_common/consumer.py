"""Idempotent Kafka consumers with dead-lettering.

Each message is handled in one database transaction that also inserts an inbox row keyed by
(consumer, message id): a redelivered message finds its row and has no second effect. The offset
is committed only after that transaction commits (FastStream ``AckPolicy.NACK_ON_ERROR``: ack after
the handler returns, seek back on an exception). What can never succeed goes to ``<topic>.dlq``
with the reason, and the partition moves on; what may succeed later (database or broker down) is
retried in place, so nothing is dropped and order within a partition is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from sqlalchemy import Table, delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lathe_common import context
from lathe_common.db import unit_of_work
from lathe_common.errors import LatheError
from lathe_common.events import Envelope, InvalidEnvelope
from lathe_common.kafka import dlq_topic
from lathe_common.metrics import CONSUMER_LAG, DEAD_LETTERS, MESSAGES_CONSUMED

logger = logging.getLogger(__name__)


class Undeliverable(Exception):
    """Raised by a decoder: the message can never be processed. ``code`` becomes the DLQ reason."""

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
    try:
        envelope = Envelope.from_kafka(record.headers or (), record.value)
    except InvalidEnvelope as exc:
        raise Undeliverable("invalid_envelope", str(exc)) from exc
    return Decoded(str(envelope.id), envelope, envelope.correlationid, envelope.actor)


Handler = Callable[[AsyncSession, Any], Awaitable[None]]
# Handles a whole batch of payloads in one go: one outcome per payload, in order (None: done;
# a LatheError: the rule it broke, which must have left no trace of that payload).
BatchHandler = Callable[[AsyncSession, list[Any]], Awaitable[list[LatheError | None]]]


@dataclass(frozen=True)
class ConsumerSpec:
    """One logical consumer: its own group, its own inbox rows."""

    name: str
    handler: Handler
    topics: tuple[str, ...] = ()
    decode: Callable[[ConsumerRecord], Decoded] = decode_envelope
    auto_offset_reset: str = "earliest"
    # Set for throughput: records are fetched up to this many at a time and handled in one
    # transaction, each inside its own savepoint (see batch_consumer).
    batch_size: int | None = None
    # Optional, with batch_size: the batch's records are handled by one call, without savepoints;
    # ``handler`` still isolates one bad record when the batch keeps failing (see batch_consumer).
    batch_handler: BatchHandler | None = None
    # Members of the consumer group this process runs. Each is given its share of the partitions by
    # Kafka, so one member's batch is computed while another's waits on the database.
    members: int = 1
    payload: type | None = None  # the body's model, for the AsyncAPI document (default: an event's data)
    description: str = ""


def _left_to_the_spec(message: Any) -> None:  # noqa: ARG001 - FastStream's decoder signature
    """FastStream would parse every body as JSON (again per record, for a batch); the spec's
    ``decode`` reads the raw records instead, and knows what a bad body means."""
    return None


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, OSError, TimeoutError)


@dataclass
class ConsumerRuntime:
    service: str
    session_factory: async_sessionmaker[AsyncSession]
    inbox: Table
    producer: AIOKafkaProducer
    max_attempts: int = 5
    retry_backoff_seconds: float = 1.0
    _attempts: dict[tuple[str, int, int], int] = field(default_factory=dict)

    def register(self, broker: KafkaBroker, spec: ConsumerSpec) -> None:
        if spec.batch_size:
            from lathe_common.batch_consumer import process_batch  # it builds on this module

            async def consume(msg: KafkaMessage) -> None:
                await process_batch(self, spec, msg.raw_message, getattr(msg, "consumer", None))
        else:

            async def consume(msg: KafkaMessage) -> None:
                await self.process(spec, msg.raw_message, getattr(msg, "consumer", None))

        consume.__name__ = f"consume_{spec.name.replace('.', '_').replace('-', '_')}"
        consume.__doc__ = f"Consumer `{spec.name}`."
        subscriber_args: dict[str, Any] = {
            "group_id": f"lathe.{spec.name}",
            "ack_policy": AckPolicy.NACK_ON_ERROR,
            "auto_offset_reset": spec.auto_offset_reset,
            "decoder": _left_to_the_spec,
        }
        if spec.batch_size:
            subscriber_args |= {"batch": True, "max_records": spec.batch_size, "batch_timeout_ms": 200}
        for _ in range(spec.members):
            broker.subscriber(*spec.topics, **subscriber_args)(consume)

    async def process(self, spec: ConsumerSpec, record: ConsumerRecord, consumer: Any = None) -> str:
        """Handle one record; returns the outcome. Raises only to have the record redelivered."""
        try:
            decoded = spec.decode(record)
        except Undeliverable as exc:
            outcome = await self._dead_letter(spec, record, exc.code, exc.detail)
        else:
            outcome = await self._handle(spec, record, decoded)
        MESSAGES_CONSUMED.labels(self.service, spec.name, record.topic, outcome).inc()
        self._observe_lag(spec, record, consumer)
        return outcome

    async def _handle(self, spec: ConsumerSpec, record: ConsumerRecord, decoded: Decoded) -> str:
        origin = (record.topic, record.partition, record.offset)
        context.correlation_id.set(decoded.correlation_id or decoded.message_id)
        context.actor.set(decoded.actor)
        try:
            async with unit_of_work(self.session_factory) as session:
                if not await self._claim(session, spec.name, decoded.message_id):
                    return "duplicate"
                await spec.handler(session, decoded.payload)
        except LatheError as exc:
            return await self._dead_letter(spec, record, exc.code, exc.detail)
        except TRANSIENT_ERRORS as exc:
            await self._retry_later(spec, record, "transient", exc)
        except Exception as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                await self._retry_later(spec, record, "transient", exc)
            attempts = self._attempts.get(origin, 0) + 1
            if attempts >= self.max_attempts:
                self._attempts.pop(origin, None)
                logger.exception("giving up on message after %d attempts", attempts)
                return await self._dead_letter(spec, record, "unhandled_error", f"{type(exc).__name__}: {exc}")
            self._attempts[origin] = attempts
            await self._retry_later(spec, record, "unexpected", exc)
        self._attempts.pop(origin, None)
        return "processed"

    async def _claim(self, session: AsyncSession, consumer_name: str, message_id: str) -> bool:
        result = await session.execute(
            insert(self.inbox)
            .values(consumer=consumer_name, message_id=message_id)
            .on_conflict_do_nothing()
            .returning(self.inbox.c.message_id)
        )
        return result.first() is not None

    async def _retry_later(self, spec: ConsumerSpec, record: ConsumerRecord, kind: str, exc: BaseException) -> None:
        MESSAGES_CONSUMED.labels(self.service, spec.name, record.topic, "retried").inc()
        logger.warning(
            "%s error on %s[%d]@%d; will retry: %r", kind, record.topic, record.partition, record.offset, exc
        )
        await asyncio.sleep(self.retry_backoff_seconds)
        raise exc

    async def _dead_letter(self, spec: ConsumerSpec, record: ConsumerRecord, reason: str, detail: str) -> str:
        headers = [
            *[(k, v) for k, v in (record.headers or ()) if not k.startswith("lathe_dlq_")],
            ("lathe_dlq_reason", reason.encode()),
            ("lathe_dlq_message", detail[:4000].encode()),
            ("lathe_dlq_topic", record.topic.encode()),
            ("lathe_dlq_partition", str(record.partition).encode()),
            ("lathe_dlq_offset", str(record.offset).encode()),
            ("lathe_dlq_consumer", spec.name.encode()),
            ("lathe_dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        # Awaited to acknowledgement before the offset moves: a dead letter is never lost.
        await self.producer.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key, headers=headers)
        logger.warning("dead-lettered %s[%d]@%d: %s: %s", record.topic, record.partition, record.offset, reason, detail)
        DEAD_LETTERS.labels(self.service, spec.name, record.topic, reason).inc()
        return "dead_lettered"

    def _observe_lag(self, spec: ConsumerSpec, record: ConsumerRecord, consumer: Any) -> None:
        highwater = getattr(consumer, "highwater", None)
        if highwater is None:
            return
        end = highwater(TopicPartition(record.topic, record.partition))
        if end is not None:
            CONSUMER_LAG.labels(self.service, spec.name, record.topic, str(record.partition)).set(
                max(end - record.offset - 1, 0)
            )


async def prune_inbox(engine: AsyncEngine, inbox: Table, *, retention: timedelta) -> int:
    """Forget handled message ids older than ``retention``. Keep it longer than the topics' own
    retention (Kafka keeps 7 days by default), so nothing still replayable loses its guard."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(inbox).where(inbox.c.processed_at < datetime.now(UTC) - retention))
    return result.rowcount or 0


async def prune_inbox_forever(engine: AsyncEngine, inbox: Table, *, retention: timedelta, every_seconds: float) -> None:
    while True:
        try:
            pruned = await prune_inbox(engine, inbox, retention=retention)
            if pruned:
                logger.info("pruned %d inbox rows older than %s", pruned, retention)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("inbox pruning failed; will try again", exc_info=True)
        await asyncio.sleep(every_seconds)
