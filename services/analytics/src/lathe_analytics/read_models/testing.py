"""Support for the tests that prove a rebuild equals the live result (each read model has one): its
live consumer run on a private topic as the service runs it, and private schemas to hold the live
tables, the rebuild's shadow and a reference. Here rather than in one test folder so every read
model's test uses the same, as ``lathe_common.testing`` serves the libraries' tests."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer
from lathe_common.consumers import Backoff, ConsumerRuntime
from lathe_common.db import create_engine, create_session_factory
from lathe_common.kafka import ensure_topics
from sqlalchemy import Table, text

from lathe_analytics.read_models.declaration import ReadModel
from lathe_analytics.tables import SCHEMA, plumbing


class NoDeadLetters:
    """A dead-letter producer for tests in which nothing may be dead-lettered."""

    async def send_and_wait(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("nothing here should be dead-lettered")


class LiveConsumer:
    """The read model's live consumer on its (private) topics, as the service runs it: batches of
    50, a batch that fails is tried again in place, offsets committed after each."""

    def __init__(self, model: ReadModel, engine: Any, bootstrap: str) -> None:
        self.model, self.bootstrap = model, bootstrap
        self.spec = model.consumer()
        self.runtime = ConsumerRuntime(
            service="test",
            session_factory=create_session_factory(engine),
            inbox=plumbing.inbox,
            producer=NoDeadLetters(),  # type: ignore[arg-type]
            backoff=Backoff(first_seconds=0.05, max_seconds=0.5),
        )
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            *self.model.topics,
            bootstrap_servers=self.bootstrap,
            group_id=f"lathe.{self.model.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while not self.stopping.is_set():
                for tp, records in (await consumer.getmany(timeout_ms=100, max_records=50)).items():
                    try:
                        await self.runtime.process_batch(self.spec, records)
                    except Exception:  # noqa: BLE001 - retried in place, as the runtime does
                        consumer.seek(tp, records[0].offset)
                        continue
                    await consumer.commit({tp: records[-1].offset + 1})
        finally:
            await consumer.stop()


@asynccontextmanager
async def private_schemas(prefix: str, tables: Sequence[Table]) -> AsyncIterator[dict[str, Any]]:
    """Schemas of a test's own in the test database (``live`` and ``reference`` with ``tables``
    made, ``shadow`` empty for the rebuild), a topic of three partitions, and an engine: dropped
    after. Yields ``url``, ``engine``, ``schemas``, ``topic``, ``bootstrap``."""
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0]
    url += "/lathe_test"
    tag = uuid.uuid4().hex[:10]
    schemas = {"live": f"{prefix}_{tag}", "shadow": f"{prefix}_{tag}_shadow", "reference": f"{prefix}_{tag}_ref"}
    engine = create_engine(url, pool_size=6)
    async with engine.begin() as conn:
        for role, schema in schemas.items():
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            if role != "shadow":  # the rebuild makes its own tables there
                translated = await conn.execution_options(schema_translate_map={SCHEMA: schema})
                await translated.run_sync(lambda sync: tables[0].metadata.create_all(sync, tables=list(tables)))
    topic = f"lathe.test.{prefix}-{tag}.v1"
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    await ensure_topics(bootstrap, [topic], partitions=3)
    try:
        yield {"url": url, "engine": engine, "schemas": schemas, "topic": topic, "bootstrap": bootstrap}
    finally:
        async with engine.begin() as conn:
            for schema in schemas.values():
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
