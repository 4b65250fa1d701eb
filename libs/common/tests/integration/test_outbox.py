"""The outbox against real PostgreSQL and Kafka: atomic with the change, durable across crashes."""

from __future__ import annotations

import asyncio
import uuid
from typing import ClassVar

import pytest
from lathe_common.db import unit_of_work
from lathe_common.events import DomainEvent, Envelope
from lathe_common.outbox import Outbox, OutboxRelay
from lathe_common.testing import eventually, read_topic
from sqlalchemy import func, select

pytestmark = pytest.mark.integration


def event_class(topic: str) -> type[DomainEvent]:
    class WidgetMade(DomainEvent):
        event_type: ClassVar[str] = "lathe.test.widget.made.v1"
        id: uuid.UUID
        name: str

    WidgetMade.topic = topic
    return WidgetMade


def relay_for(sandbox, producer, **kw) -> OutboxRelay:
    return OutboxRelay(service="test", tables=sandbox.tables, engine=sandbox.engine, producer=producer, **kw)


async def outbox_rows(sandbox) -> int:
    async with sandbox.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(sandbox.tables.outbox))).scalar_one()


async def _is_zero(count) -> bool:
    return await count == 0


async def test_rolled_back_transaction_publishes_nothing(sandbox, topic, producer):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    with pytest.raises(RuntimeError):
        async with unit_of_work(sandbox.sessions) as session:
            await session.execute(sandbox.widgets.insert().values(id=1, name="doomed"))
            await outbox.add(session, WidgetMade(id=uuid.uuid4(), name="doomed"))
            raise RuntimeError("the business rule failed after the event was added")

    assert await relay_for(sandbox, producer).drain() == 0
    assert await outbox_rows(sandbox) == 0
    assert await read_topic(sandbox.bootstrap, topic, expect=1, timeout=3) == []


async def test_rows_left_by_a_crash_are_published_when_the_relay_comes_back(sandbox, topic, producer):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    ids = [uuid.uuid4() for _ in range(5)]
    # Committed while no relay runs: the state a crash between commit and publish leaves behind.
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(session, *(WidgetMade(id=i, name=f"w{n}") for n, i in enumerate(ids)))
    assert await outbox_rows(sandbox) == 5

    relay = relay_for(sandbox, producer, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        records = await read_topic(sandbox.bootstrap, topic, expect=5)
        await eventually(lambda: _is_zero(outbox_rows(sandbox)))
    finally:
        task.cancel()

    assert [r.key.decode() for r in records] == [str(i) for i in ids]  # key = aggregate id, order kept
    envelopes = [Envelope.from_kafka(r.headers, r.value) for r in records]
    assert [e.data["name"] for e in envelopes] == ["w0", "w1", "w2", "w3", "w4"]
    assert all(e.type == "lathe.test.widget.made.v1" and e.source == "lathe/test" for e in envelopes)
    assert await outbox_rows(sandbox) == 0


async def test_commit_wakes_the_relay_without_waiting_for_the_poll(sandbox, topic, producer):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    relay = relay_for(sandbox, producer, poll_seconds=600)  # only NOTIFY can wake it in time
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(1)  # let it drain and start waiting
        async with unit_of_work(sandbox.sessions) as session:
            await outbox.add(session, WidgetMade(id=uuid.uuid4(), name="prompt"))
        records = await read_topic(sandbox.bootstrap, topic, expect=1, timeout=15)
        await eventually(lambda: _is_zero(outbox_rows(sandbox)))  # deleted too, before we stop the relay
    finally:
        task.cancel()
    assert len(records) == 1


async def test_concurrent_relays_publish_each_row_once(sandbox, topic, producer):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(session, *(WidgetMade(id=uuid.uuid4(), name=str(n)) for n in range(600)))

    relays = [relay_for(sandbox, producer, batch_size=50) for _ in range(3)]
    published = await asyncio.gather(*(r.drain() for r in relays))

    assert sum(published) == 600
    records = await read_topic(sandbox.bootstrap, topic, expect=600, settle=1.0)
    ids = [Envelope.from_kafka(r.headers, r.value).id for r in records]
    assert len(ids) == 600 and len(set(ids)) == 600


async def test_a_row_kafka_refuses_is_kept_with_its_error_then_parked(sandbox, topic, producer):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    async with unit_of_work(sandbox.sessions) as session:
        # Larger than the producer's max request size: the real client refuses it.
        await outbox.add(session, WidgetMade(id=uuid.uuid4(), name="x" * 2_000_000))

    relay = relay_for(sandbox, producer, max_attempts=2)
    for _ in range(2):
        with pytest.raises(Exception, match="MessageSizeTooLarge|too large"):
            await relay.publish_batch()

    async with sandbox.engine.connect() as conn:
        row = (await conn.execute(select(sandbox.tables.outbox))).one()
    assert row.attempts == 2 and "MessageSizeTooLarge" in row.last_error
    # Parked: it no longer blocks the rows behind it, and it stays for an operator to look at.
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(session, WidgetMade(id=uuid.uuid4(), name="behind"))
    assert await relay.drain() == 1
    assert await relay.backlog() == 1 and await relay.parked() == 1
    async with unit_of_work(sandbox.sessions) as session:  # leave the module's outbox empty
        await session.execute(sandbox.tables.outbox.delete())


async def test_a_refused_row_does_not_hold_back_the_rows_published_with_it(sandbox, topic, producer):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(
            session,
            WidgetMade(id=uuid.uuid4(), name="before"),
            WidgetMade(id=uuid.uuid4(), name="x" * 2_000_000),
            WidgetMade(id=uuid.uuid4(), name="after"),
        )

    relay = relay_for(sandbox, producer)
    with pytest.raises(Exception, match="1 of 3 outbox rows not published"):
        await relay.publish_batch()

    records = await read_topic(sandbox.bootstrap, topic, expect=2, settle=1.0)
    assert sorted(Envelope.from_kafka(r.headers, r.value).data["name"] for r in records) == ["after", "before"]
    async with sandbox.engine.connect() as conn:
        left = (await conn.execute(select(sandbox.tables.outbox))).all()
    assert len(left) == 1 and left[0].attempts == 1
    async with unit_of_work(sandbox.sessions) as session:  # leave the module's outbox empty
        await session.execute(sandbox.tables.outbox.delete())
