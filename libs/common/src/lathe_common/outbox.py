"""Transactional outbox.

``Outbox.add`` writes the event in the caller's transaction, so a change and its announcement
commit (or roll back) together. ``OutboxRelay`` publishes committed rows to Kafka with the
idempotent producer, claiming them with ``FOR UPDATE SKIP LOCKED`` so several replicas can share
the work, and deletes them once Kafka has acknowledged them. A row Kafka keeps refusing (say, too
large) is retried with backoff and then parked (``attempts >= max_attempts``) so it cannot block the
rows behind it; ``lathe_outbox_backlog`` and the row's ``last_error`` show it to operators. It is
woken by LISTEN/NOTIFY right after commit and falls back to polling, so rows left behind by a
crash go out when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from pydantic_core import to_json
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    any_,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lathe_common import context
from lathe_common.db import copy_rows, time_ordered_id
from lathe_common.events import DomainEvent, ce_headers
from lathe_common.kafka import PRODUCER_BATCH_BYTES
from lathe_common.metrics import MESSAGES_PUBLISHED, OUTBOX_BACKLOG, OUTBOX_FAILURES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlumbingTables:
    """The outbox and inbox every service keeps in its own schema."""

    outbox: Table
    inbox: Table

    @classmethod
    def define(cls, metadata: MetaData) -> PlumbingTables:
        outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, Identity(), primary_key=True),
            Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
            Column("topic", Text, nullable=False),
            Column("message_key", Text, nullable=False),
            Column("event_type", Text, nullable=False),
            Column("headers", JSONB, nullable=False),
            Column("payload", LargeBinary, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("attempts", Integer, nullable=False, server_default="0"),
            Column("last_error", Text),
        )
        inbox = Table(
            "inbox",
            metadata,
            Column("consumer", Text, nullable=False),
            Column("message_id", Text, nullable=False),
            Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            PrimaryKeyConstraint("consumer", "message_id"),
        )
        return cls(outbox=outbox, inbox=inbox)

    @property
    def notify_channel(self) -> str:
        return f"lathe_outbox_{self.outbox.schema}"


def notify_trigger_sql(schema: str) -> list[str]:
    """DDL for migrations: wake the relay when a transaction that wrote outbox rows commits."""
    return [
        f"""CREATE OR REPLACE FUNCTION "{schema}".outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('lathe_outbox_{schema}', ''); RETURN NULL; END $$""",
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".outbox_notify()""",
    ]


class OutboxPublishError(RuntimeError):
    """Some rows of a batch were refused by Kafka; they stay in the outbox."""


class Outbox:
    def __init__(self, tables: PlumbingTables, *, source: str) -> None:
        self.table = tables.outbox
        self.source = source

    async def add(
        self, session: AsyncSession, *events: DomainEvent, correlation_ids: Sequence[str | None] | None = None
    ) -> None:
        """Write ``events`` in the session's transaction. Their correlation id is the current
        request's or message's; ``correlation_ids`` (one per event, None = the current one) serves
        work that handles several messages at once. Events written together share their time."""
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
            rows.append((event_id, event.topic, subject, event.event_type, to_json(headers).decode(), to_json(event)))
        await copy_rows(session, self.table, _OUTBOX_COLUMNS, rows)


def _kafka_headers(row: Row) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in row.headers.items()]


_ALONE_ABOVE_BYTES = PRODUCER_BATCH_BYTES // 2
_OUTBOX_COLUMNS = ("event_id", "topic", "message_key", "event_type", "headers", "payload")


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        tables: PlumbingTables,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        max_attempts: int = 20,
    ) -> None:
        self.service = service
        self.tables = tables
        self.table = tables.outbox
        self.engine = engine
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        # The producer's own default: the Java client's murmur2, so a key always lands on one partition.
        self._partitioner = DefaultPartitioner()

    async def publish_batch(self) -> int:
        """Publish up to one batch of committed rows; returns how many went out.

        Acknowledged rows are deleted; refused ones keep their place with ``attempts`` and
        ``last_error`` updated, and ``OutboxPublishError`` tells the caller to back off.
        """
        t = self.table
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.message_key, t.c.headers, t.c.payload)
                    .where(t.c.attempts < self.max_attempts)
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            sent, failed = await self._publish(rows)
            if sent:
                sent_ids = bindparam("sent", [row.id for row in sent], type_=ARRAY(BigInteger))
                await conn.execute(delete(t).where(t.c.id == any_(sent_ids)))
            for row_id, exc in failed:
                await conn.execute(
                    update(t).where(t.c.id == row_id).values(attempts=t.c.attempts + 1, last_error=repr(exc)[:2000])
                )
        for topic, count in Counter(row.topic for row in sent).items():
            MESSAGES_PUBLISHED.labels(self.service, topic).inc(count)
        if failed:
            OUTBOX_FAILURES.labels(self.service).inc(len(failed))
            raise OutboxPublishError(f"{len(failed)} of {len(rows)} outbox rows not published: {failed[0][1]!r}")
        return len(sent)

    async def _publish(self, rows: Sequence[Row]) -> tuple[list[Row], list[tuple[int, BaseException]]]:
        """Rows go out in record batches (see ``_submit``). A batch Kafka refuses is sent again row
        by row, so one bad row cannot hold back its neighbours."""
        submitted, alone = await self._submit(rows)
        outcomes = await asyncio.gather(*(future for future, _ in submitted), return_exceptions=True)
        sent: list[Row] = []
        refused: list[Row] = []
        failed: list[tuple[int, BaseException]] = []
        for (_, members), outcome in zip(submitted, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                sent.extend(members)
            elif len(members) == 1 and members[0].id in alone:
                failed.append((members[0].id, outcome))  # already sent on its own
            else:
                refused.extend(members)
        for row in sorted(refused, key=lambda r: r.id):
            try:
                await self.producer.send_and_wait(
                    row.topic, value=row.payload, key=row.message_key.encode(), headers=_kafka_headers(row)
                )
            except Exception as exc:  # noqa: BLE001 - recorded on the row, reported by the caller
                failed.append((row.id, exc))
            else:
                sent.append(row)
        return sent, failed

    async def _submit(self, rows: Sequence[Row]) -> tuple[list[tuple[asyncio.Future, list[Row]]], set[int]]:
        """Hand the rows to the producer, one record batch per partition at a time, in id order
        within each: thousands of events cost a few produce requests, not a future per event.
        Returns each submission's future with its rows, and the ids of rows sent on their own."""
        open_batches: dict[tuple[str, int], tuple[BatchBuilder, list[Row]]] = {}
        submitted: list[tuple[asyncio.Future, list[Row]]] = []
        partitions: dict[str, list[int]] = {}
        partition_of: dict[tuple[str, bytes], int] = {}  # one aggregate's events often travel together
        alone: set[int] = set()

        async def partition(topic: str, key: bytes) -> int:
            if (topic, key) not in partition_of:
                if topic not in partitions:
                    partitions[topic] = sorted(await self.producer.partitions_for(topic))
                partition_of[topic, key] = self._partitioner(key, partitions[topic], partitions[topic])
            return partition_of[topic, key]

        async def submit(target: tuple[str, int]) -> None:
            if target in open_batches:
                batch, members = open_batches.pop(target)
                submitted.append((await self.producer.send_batch(batch, target[0], partition=target[1]), members))

        for row in rows:
            key = row.message_key.encode()
            target = (row.topic, await partition(row.topic, key))
            headers = _kafka_headers(row)
            if len(row.payload) + len(key) + sum(len(k) + len(v) for k, v in headers) > _ALONE_ABOVE_BYTES:
                # On its own, after the rows before it, through send(), which checks the size: a
                # batch the broker refused would also break the idempotent sequence of its partition.
                await submit(target)
                try:
                    future = await self.producer.send(row.topic, value=row.payload, key=key, headers=headers)
                except Exception as exc:  # noqa: BLE001 - the outcome of this row, like a failed future
                    future = asyncio.get_running_loop().create_future()
                    future.set_exception(exc)
                submitted.append((future, [row]))
                alone.add(row.id)
                continue
            if target not in open_batches:
                open_batches[target] = (self.producer.create_batch(), [])
            if open_batches[target][0].append(key=key, value=row.payload, timestamp=None, headers=headers) is None:
                await submit(target)  # full
                open_batches[target] = (self.producer.create_batch(), [])
                open_batches[target][0].append(key=key, value=row.payload, timestamp=None, headers=headers)
            open_batches[target][1].append(row)
        for target in list(open_batches):
            await submit(target)
        return submitted, alone

    async def drain(self) -> int:
        total = 0
        while published := await self.publish_batch():
            total += published
        return total

    async def backlog(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(self.table))).scalar_one())

    async def parked(self) -> int:
        """Rows that failed ``max_attempts`` times: kept for an operator, no longer retried."""
        async with self.engine.connect() as conn:
            statement = select(func.count()).select_from(self.table).where(self.table.c.attempts >= self.max_attempts)
            return int((await conn.execute(statement)).scalar_one())

    async def run(self) -> None:
        listener = await self._listen()
        backoff = 0.5
        try:
            while True:
                self._wake.clear()
                try:
                    await self.drain()
                    OUTBOX_BACKLOG.labels(self.service).set(await self.backlog())
                    backoff = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("outbox publish failed; retrying in %.1fs", backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff_seconds)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    def wake(self) -> None:
        self._wake.set()

    async def _listen(self) -> asyncpg.Connection | None:
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            conn = await asyncpg.connect(dsn)
            await conn.add_listener(self.tables.notify_channel, lambda *_: self._wake.set())
        except Exception:
            logger.warning("LISTEN unavailable; the outbox relay falls back to polling", exc_info=True)
            return None
        return conn
