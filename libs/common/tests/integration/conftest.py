"""Real PostgreSQL and Kafka of the local stack (``make test`` starts it and exports its URLs).

Each test module gets a private schema in the ``lathe_test`` database and private topics, so the
tests never touch the services' data and can run while the stack serves.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker
from lathe_common.consumers import Backoff, ConsumerRuntime, ConsumerSpec, Decoded, decode_envelope
from lathe_common.db import create_engine, create_session_factory, schema_metadata
from lathe_common.errors import Conflict
from lathe_common.events import DomainEvent, Envelope
from lathe_common.kafka import create_producer, ensure_topics
from lathe_common.outbox import PlumbingTables, notify_trigger_sql
from sqlalchemy import Column, Integer, Table, Text, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test` (it starts the stack and exports it)")
    return value


@dataclass
class Sandbox:
    schema: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: PlumbingTables
    widgets: Table
    bootstrap: str


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[Sandbox]:
    url = _env("DATABASE_URL").replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0] + "/lathe_test"
    schema = f"t_{uuid.uuid4().hex[:10]}"
    metadata = schema_metadata(schema)
    tables = PlumbingTables.define(metadata)
    widgets = Table("widgets", metadata, Column("id", Integer, primary_key=True), Column("name", Text))
    engine = create_engine(url, pool_size=5)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
        for statement in notify_trigger_sql(schema):
            await conn.execute(text(statement))
    try:
        yield Sandbox(schema, engine, create_session_factory(engine), tables, widgets, _env("KAFKA_BOOTSTRAP_SERVERS"))
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


@pytest.fixture
async def topic(sandbox: Sandbox) -> str:
    name = f"lathe.test.{uuid.uuid4().hex[:10]}.v1"
    # One partition: order across the test's messages is then the order they were produced in.
    await ensure_topics(sandbox.bootstrap, [name, f"{name}.dlq"], partitions=1)
    return name


@pytest.fixture
async def producer(sandbox: Sandbox) -> AsyncIterator[AIOKafkaProducer]:
    p = create_producer(sandbox.bootstrap, client_id="lathe-tests")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


# ---------------------------------------------------------------- consumers under test


class WidgetMade(DomainEvent):
    event_type: ClassVar[str] = "lathe.test.widget.made.v1"
    topic: ClassVar[str] = "unused"
    id: uuid.UUID
    name: str


def envelope(name: str) -> Envelope:
    return Envelope.wrap(WidgetMade(id=uuid.uuid4(), name=name), source="lathe/test")


class Harness:
    """A consumer group on the test topic whose handler records widgets and misbehaves on request."""

    def __init__(
        self,
        sandbox,
        producer,
        topic: str,
        batch_size: int | None = None,
        *,
        together: bool = False,
        members: int = 1,
        decode: Callable[[ConsumerRecord], Decoded] = decode_envelope,
        on_dead_letter: Callable[..., Any] | None = None,
    ) -> None:
        self.sandbox, self.producer, self.topic = sandbox, producer, topic
        self.calls: Counter[str] = Counter()
        self.call_times: dict[str, list[float]] = {}
        self.single_calls = 0
        self.batch_calls = 0
        self.spec = ConsumerSpec(
            name=f"test.{uuid.uuid4().hex[:8]}",
            topics=(topic,),
            handler=self.handle,
            batch_size=batch_size,
            batch_handler=self.handle_batch if together else None,
            members=members,
            decode=decode,
            on_dead_letter=on_dead_letter,
        )
        self.runtime = ConsumerRuntime(
            service="test",
            session_factory=sandbox.sessions,
            inbox=sandbox.tables.inbox,
            producer=producer,
            max_attempts=3,
            backoff=Backoff(first_seconds=0.05, max_seconds=0.2),
        )
        self.broker = KafkaBroker(sandbox.bootstrap)
        self.runtime.register(self.broker, self.spec)

    async def handle(self, session, env: Envelope) -> None:
        name = env.data["name"]
        self.calls[name] += 1
        self.call_times.setdefault(name, []).append(time.monotonic())
        self.single_calls += 1
        # The effect is written first, so a failure below proves the rollback too.
        await session.execute(self.sandbox.widgets.insert().values(name=name))
        if name.startswith("conflict"):
            raise Conflict("this widget clashes", code="widget_conflict")
        if name.startswith("explode"):
            raise RuntimeError("a bug in the handler")
        if name.startswith("flaky") and self.calls[name] == 1:
            raise ConnectionError("database went away")
        if name.startswith("unstable") and self.calls[name] <= 3:
            raise ConnectionError("database still away")

    async def handle_batch(self, session, envs: list[Envelope]) -> list[Conflict | None]:
        """The set-based handler: rules decided before writing, so a broken one leaves no trace."""
        self.batch_calls += 1
        outcomes: list[Conflict | None] = []
        for env in envs:
            name = env.data["name"]
            self.calls[name] += 1
            if name.startswith("conflict"):
                outcomes.append(Conflict("this widget clashes", code="widget_conflict"))
                continue
            if name.startswith("explode"):
                raise RuntimeError("a bug in the handler")
            if name.startswith("flaky") and self.calls[name] == 1:
                raise ConnectionError("database went away")
            outcomes.append(None)
        good = [env.data["name"] for env, o in zip(envs, outcomes, strict=False) if o is None]
        if good:
            await session.execute(self.sandbox.widgets.insert(), [{"name": n} for n in good])
        return outcomes

    async def inbox_ids(self) -> set[str]:
        inbox = self.sandbox.tables.inbox
        async with self.sandbox.engine.connect() as conn:
            rows = await conn.execute(select(inbox.c.message_id).where(inbox.c.consumer == self.spec.name))
            return {r for (r,) in rows}

    async def send(
        self,
        env: Envelope | None = None,
        *,
        raw: bytes | None = None,
        key: bytes | None = b"k",
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        if env is None and raw is None and key is None:
            # What other Kafka clients can write and aiokafka's send() refuses: neither key nor value.
            batch = self.producer.create_batch()
            batch.append(key=None, value=None, timestamp=None, headers=headers or [])
            await (await self.producer.send_batch(batch, self.topic, partition=0))
        elif env is None:
            await self.producer.send_and_wait(self.topic, value=raw, key=key, headers=headers)
        else:
            await self.producer.send_and_wait(
                self.topic, value=env.kafka_value(), key=env.subject.encode(), headers=env.kafka_headers()
            )

    async def widgets(self, name: str) -> int:
        async with self.sandbox.engine.connect() as conn:
            w = self.sandbox.widgets
            return (await conn.execute(select(func.count()).where(w.c.name == name))).scalar_one()

    async def committed_offset(self) -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.sandbox.bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(f"lathe.{self.spec.name}")
        finally:
            await admin.close()
        return sum(meta.offset for tp, meta in offsets.items() if tp.topic == self.topic)


@pytest.fixture
async def harness(sandbox, producer, topic) -> AsyncIterator[Harness]:
    h = Harness(sandbox, producer, topic)
    await h.broker.start()
    try:
        yield h
    finally:
        await h.broker.stop()
