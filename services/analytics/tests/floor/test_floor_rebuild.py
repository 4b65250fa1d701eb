"""A rebuild equals the incremental result, and switching while events flow loses or doubles nothing.

Real Kafka and PostgreSQL, the service's own rebuild code: the simulated plant's events go to a
private topic (three partitions, keyed as production keys them); a live consumer (the read
model's guarded consumer, in a group of its own) builds a private live schema as they come; the
rebuild replays the topic into a private shadow schema and switches while the rest of the events
are still being produced. At the end the live tables must equal a reference built from the same
events in one go.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from lathe_analytics.floor.models import FLOOR_TABLES
from lathe_analytics.floor.projector import floor_read_model
from lathe_analytics.read_models.models import ReadModelSkip, ReadModelState
from lathe_analytics.read_models.rebuild import Rebuild, RebuildRefused
from lathe_analytics.read_models.testing import LiveConsumer, private_schemas
from lathe_analytics.tables import SCHEMA, plumbing
from lathe_common.kafka import create_producer
from sqlalchemy import select

from .conftest import interleave, simulate
from .test_floor_projection import Sandbox, _zero, stable_columns

pytestmark = pytest.mark.integration

TABLES = (plumbing.inbox, ReadModelState.__table__, ReadModelSkip.__table__, *FLOOR_TABLES)


@pytest.fixture
async def private() -> AsyncIterator[dict]:
    async with private_schemas("rb", TABLES) as made:
        yield made


async def _tables(engine, schema: str) -> dict[str, list[tuple]]:
    translated = engine.execution_options(schema_translate_map={SCHEMA: schema})
    async with translated.connect() as conn:
        found = {}
        for t in FLOOR_TABLES:
            rows = (await conn.execute(select(*stable_columns(t)))).all()
            found[t.name] = sorted(tuple(map(str, row)) for row in rows if not _zero(t, row))
        return found


async def test_a_rebuild_during_traffic_ends_with_what_one_pass_over_the_events_gives(private):
    plant = simulate(21, lots=6, units_per_lot=12)
    order = interleave(plant.streams, random.Random(21))
    key_of = {id(e): key for key, events in plant.streams.items() for e in events}
    model = dataclasses.replace(floor_read_model, name=f"test.floor.{uuid.uuid4().hex[:8]}", topics=(private["topic"],))
    live_engine = private["engine"].execution_options(schema_translate_map={SCHEMA: private["schemas"]["live"]})
    producer = create_producer(private["bootstrap"], client_id="lathe-tests")
    await producer.start()

    async def produce(events, pause: float = 0.0) -> None:
        for e in events:
            await producer.send_and_wait(
                private["topic"], e.kafka_value(), key=key_of[id(e)].encode(), headers=e.kafka_headers()
            )
            if pause:
                await asyncio.sleep(pause)

    first, rest = order[: len(order) * 2 // 3], order[len(order) * 2 // 3 :]
    live = LiveConsumer(model, live_engine, private["bootstrap"])
    running = asyncio.create_task(live.run())
    try:
        await produce(first)
        rebuild = Rebuild(
            model,
            database_url=private["url"],
            bootstrap=private["bootstrap"],
            live_schema=private["schemas"]["live"],
            shadow_schema=private["schemas"]["shadow"],
            switch_lag=20,
        )
        # The rest arrives while the replay runs and switches: over about three seconds.
        traffic = asyncio.create_task(produce(rest, pause=3.0 / len(rest)))
        report = await rebuild.run()
        await traffic
        assert report.generation == 2 and report.events >= len(first)
        # Everything produced is handled by the live consumer on the swapped-in tables.
        reference = Sandbox(private["engine"], private["schemas"]["reference"])
        await reference.deliver(order)
        expected = await _tables(private["engine"], private["schemas"]["reference"])
        for _ in range(300):
            if await _tables(private["engine"], private["schemas"]["live"]) == expected:
                break
            await asyncio.sleep(0.1)
        assert await _tables(private["engine"], private["schemas"]["live"]) == expected
        async with live_engine.connect() as conn:
            state = (await conn.execute(select(ReadModelState).where(ReadModelState.name == model.name))).one()
        assert state.generation == 2
    finally:
        live.stopping.set()
        await running
        await producer.stop()


async def test_a_rebuild_refuses_topics_whose_history_is_gone(private):
    """Retention deleted the oldest records of a partition: a replay would count less than happened."""
    model = dataclasses.replace(floor_read_model, name=f"test.floor.{uuid.uuid4().hex[:8]}", topics=(private["topic"],))
    producer = create_producer(private["bootstrap"], client_id="lathe-tests")
    await producer.start()
    try:
        plant = simulate(4, lots=1, units_per_lot=2)
        for e in interleave(plant.streams, random.Random(4))[:5]:
            sent = await producer.send_and_wait(private["topic"], e.kafka_value(), key=b"k", headers=e.kafka_headers())
    finally:
        await producer.stop()
    admin = AIOKafkaAdminClient(bootstrap_servers=private["bootstrap"])
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(private["topic"], sent.partition): RecordsToDelete(2)})
    finally:
        await admin.close()
    rebuild = Rebuild(
        model,
        database_url=private["url"],
        bootstrap=private["bootstrap"],
        live_schema=private["schemas"]["live"],
        shadow_schema=private["schemas"]["shadow"],
    )
    with pytest.raises(RebuildRefused, match="no longer hold their whole history"):
        await rebuild.run()
