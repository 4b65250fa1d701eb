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
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer
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
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lathe_common import context
from lathe_common.events import DomainEvent, Envelope
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
    ) -> list[Envelope]:
        """Write ``events`` in the session's transaction. Their correlation id is the current
        request's or message's; ``correlation_ids`` (one per event, None = the current one) serves
        work that handles several messages at once."""
        current = context.correlation_id.get()
        chosen = correlation_ids if correlation_ids is not None else [None] * len(events)
        envelopes = [
            Envelope.wrap(event, source=self.source, correlation_id=cid or current, actor=context.actor.get())
            for event, cid in zip(events, chosen, strict=True)
        ]
        if envelopes:
            await session.execute(
                self.table.insert(),
                [
                    {
                        "event_id": env.id,
                        "topic": event.topic,
                        "message_key": env.subject,
                        "event_type": env.type,
                        "headers": dict((k, v.decode()) for k, v in env.kafka_headers()),
                        "payload": env.kafka_value(),
                    }
                    for env, event in zip(envelopes, events, strict=True)
                ],
            )
        return envelopes


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
            # send() only enqueues; gathering the futures waits for every acknowledgement (acks=all).
            outcomes = await asyncio.gather(*(self._send(row) for row in rows), return_exceptions=True)
            sent = [row for row, outcome in zip(rows, outcomes, strict=True) if not isinstance(outcome, BaseException)]
            failed = [(row.id, o) for row, o in zip(rows, outcomes, strict=True) if isinstance(o, BaseException)]
            if sent:
                await conn.execute(delete(t).where(t.c.id.in_([row.id for row in sent])))
            for row_id, exc in failed:
                await conn.execute(
                    update(t).where(t.c.id == row_id).values(attempts=t.c.attempts + 1, last_error=repr(exc)[:2000])
                )
        for row in sent:
            MESSAGES_PUBLISHED.labels(self.service, row.topic).inc()
        if failed:
            OUTBOX_FAILURES.labels(self.service).inc(len(failed))
            raise OutboxPublishError(f"{len(failed)} of {len(rows)} outbox rows not published: {failed[0][1]!r}")
        return len(sent)

    async def _send(self, row: Row) -> object:
        future = await self.producer.send(
            row.topic,
            value=row.payload,
            key=row.message_key.encode(),
            headers=[(k, v.encode()) for k, v in row.headers.items()],
        )
        return await future

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
