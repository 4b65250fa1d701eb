"""Real PostgreSQL and Kafka of the local stack (``make test`` starts it and exports its URLs).

Each test module gets a private schema in the ``lathe_test`` database and private topics, so the
tests never touch the services' data and can run while the stack serves.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer
from lathe_common.db import create_engine, create_session_factory, schema_metadata
from lathe_common.kafka import create_producer, ensure_topics
from lathe_common.outbox import PlumbingTables, notify_trigger_sql
from sqlalchemy import Column, Integer, Table, Text, text
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
