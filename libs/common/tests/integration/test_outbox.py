"""The outbox against real PostgreSQL and Kafka: atomic with the change, durable across crashes,
retried for ever while Kafka is away, parking only what Kafka refuses on its merits."""

from __future__ import annotations

import argparse
import asyncio
import io
import socket
import uuid
from typing import ClassVar

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from lathe_common.db import unit_of_work
from lathe_common.errors import InvalidInput
from lathe_common.events import DomainEvent, Envelope
from lathe_common.kafka import create_producer
from lathe_common.outbox import Outbox, OutboxPublishError, OutboxRelay
from lathe_common.outbox.operators import configure, outbox_command
from lathe_common.outbox.topic_limits import TopicLimits
from lathe_common.testing import eventually, read_topic
from prometheus_client import REGISTRY
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


async def outbox_row(sandbox):
    async with sandbox.engine.connect() as conn:
        return (await conn.execute(select(sandbox.tables.outbox))).one()


async def empty_the_outbox(sandbox) -> None:
    async with unit_of_work(sandbox.sessions) as session:  # leave the module's outbox empty
        await session.execute(sandbox.tables.outbox.delete())


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": "test", **labels}) or 0.0


@pytest.fixture
async def stopped_producer(sandbox, topic):
    """A producer that knew the topic, then stopped: every send fails at once (ProducerClosed)."""
    p = create_producer(sandbox.bootstrap, client_id="lathe-tests-stopped")
    await p.start()
    await p.partitions_for(topic)
    await p.stop()
    return p


@pytest.fixture
async def unreachable_producer():
    """A producer pointed at a port where no broker listens: it waits for ever for metadata."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = create_producer(f"127.0.0.1:{port}", client_id="lathe-tests-unreachable")
    yield p
    await p.stop()


async def topic_taking(sandbox, max_message_bytes: int) -> str:
    """A new one-partition topic whose broker-side record limit (max.message.bytes) is given."""
    name = f"lathe.test.{uuid.uuid4().hex[:10]}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"max.message.bytes": str(max_message_bytes)})])
    finally:
        await admin.close()
    return name


@pytest.fixture
async def small_topic(sandbox) -> str:
    return await topic_taking(sandbox, 2_000)


@pytest.fixture
async def roomy_topic(sandbox) -> str:
    """Takes more than the producer sends in one request (max_request_size, 1 MiB)."""
    return await topic_taking(sandbox, 5_000_000)


async def test_transient_failures_never_park_a_row_and_it_goes_out_once_kafka_answers(
    sandbox, topic, producer, stopped_producer, unreachable_producer
):
    WidgetMade = event_class(topic)
    # Large enough (200 kB) to be sent on its own, where each failure is the row's own outcome.
    patient = "patient " + "p" * 200_000
    async with unit_of_work(sandbox.sessions) as session:
        await Outbox(sandbox.tables, source="lathe/test").add(session, WidgetMade(id=uuid.uuid4(), name=patient))
    retrying_before = metric("lathe_outbox_publish_failures_total", outcome="retrying")

    down = relay_for(sandbox, stopped_producer)
    for _ in range(25):  # more than the 20 attempts after which rows used to be parked
        with pytest.raises(OutboxPublishError, match="ProducerClosed"):
            await down.publish_batch()
    unreachable = relay_for(sandbox, unreachable_producer, publish_timeout_seconds=0.5)
    with pytest.raises(OutboxPublishError, match="no acknowledgement within 0.5s|KafkaConnectionError"):
        await unreachable.publish_batch()

    row = await outbox_row(sandbox)
    assert row.attempts == 26 and row.parked_at is None and row.parked_reason is None
    state = await down.observe()
    assert state.waiting == 1 and state.parked == 0 and state.oldest_age_seconds > 0
    assert metric("lathe_outbox_oldest_age_seconds") == state.oldest_age_seconds
    assert metric("lathe_outbox_publish_failures_total", outcome="retrying") == retrying_before + 26

    assert await relay_for(sandbox, producer).drain() == 1
    records = await read_topic(sandbox.bootstrap, topic, expect=1, settle=0.5)
    assert [Envelope.from_kafka(r.headers, r.value).data["name"] for r in records] == [patient]
    assert await outbox_rows(sandbox) == 0


async def test_the_relay_loop_keeps_retrying_with_backoff_and_keeps_its_gauges_moving(sandbox, topic, stopped_producer):
    WidgetMade = event_class(topic)
    async with unit_of_work(sandbox.sessions) as session:
        await Outbox(sandbox.tables, source="lathe/test").add(session, WidgetMade(id=uuid.uuid4(), name="waiting"))
    relay = relay_for(sandbox, stopped_producer, max_backoff_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:

        async def tried_often():
            return (await outbox_row(sandbox)).attempts >= 8

        await eventually(tried_often)
        first_age = metric("lathe_outbox_oldest_age_seconds")
        await asyncio.sleep(1.0)
        assert metric("lathe_outbox_oldest_age_seconds") > first_age > 0  # the loop updates it while failing
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    row = await outbox_row(sandbox)
    assert row.parked_at is None and "ProducerClosed" in row.last_error
    await empty_the_outbox(sandbox)


async def test_a_record_the_topic_refuses_is_parked_and_the_rows_behind_it_go_out(sandbox, small_topic, producer):
    WidgetMade = event_class(small_topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(
            session,
            WidgetMade(id=uuid.uuid4(), name="before"),
            WidgetMade(id=uuid.uuid4(), name="x" * 5000),  # fits Outbox.add's limit, not this topic's
            WidgetMade(id=uuid.uuid4(), name="after"),
        )
    parked_before = metric("lathe_outbox_publish_failures_total", outcome="parked")

    relay = relay_for(sandbox, producer)
    assert await relay.drain() == 2  # no OutboxPublishError: nothing left to retry

    row = await outbox_row(sandbox)
    assert row.parked_at is not None and row.attempts == 1
    assert "max.message.bytes=2000" in row.parked_reason and row.last_error == row.parked_reason
    assert metric("lathe_outbox_publish_failures_total", outcome="parked") == parked_before + 1
    state = await relay.observe()
    assert (state.waiting, state.parked, state.oldest_age_seconds) == (0, 1, 0)
    # The partition is not wedged: later rows still go out, and the parked one is not retried.
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(session, WidgetMade(id=uuid.uuid4(), name="later"))
    assert await relay.drain() == 1
    records = await read_topic(sandbox.bootstrap, small_topic, expect=3, settle=0.5)
    assert [Envelope.from_kafka(r.headers, r.value).data["name"] for r in records] == ["before", "after", "later"]
    assert (await outbox_row(sandbox)).attempts == 1
    await empty_the_outbox(sandbox)


async def test_a_record_larger_than_the_producer_sends_is_parked_without_holding_back_its_batch(
    sandbox, roomy_topic, producer
):
    topic = roomy_topic
    WidgetMade = event_class(topic)
    # Written past Outbox.add's own limit on purpose: the relay's last line of defence.
    outbox = Outbox(sandbox.tables, source="lathe/test", max_event_bytes=3_000_000)
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(
            session,
            WidgetMade(id=uuid.uuid4(), name="before"),
            WidgetMade(id=uuid.uuid4(), name="x" * 2_000_000),  # beyond the producer's max_request_size
            WidgetMade(id=uuid.uuid4(), name="after"),
        )

    assert await relay_for(sandbox, producer).drain() == 2

    records = await read_topic(sandbox.bootstrap, topic, expect=2, settle=1.0)
    assert sorted(Envelope.from_kafka(r.headers, r.value).data["name"] for r in records) == ["after", "before"]
    row = await outbox_row(sandbox)
    assert row.attempts == 1 and row.parked_at is not None and "MessageSizeTooLarge" in row.parked_reason
    await empty_the_outbox(sandbox)


async def test_outbox_add_refuses_an_event_kafka_could_never_take(sandbox, topic):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test", max_event_bytes=2_000)
    with pytest.raises(InvalidInput) as refused:
        async with unit_of_work(sandbox.sessions) as session:
            await session.execute(sandbox.widgets.insert().values(id=2, name="announced too loudly"))
            await outbox.add(
                session, WidgetMade(id=uuid.uuid4(), name="small"), WidgetMade(id=uuid.uuid4(), name="x" * 2_000)
            )
    assert refused.value.code == "event_too_large" and refused.value.status == 422
    assert refused.value.extra["size_bytes"] > 2_000 and refused.value.extra["max_event_bytes"] == 2_000
    assert await outbox_rows(sandbox) == 0  # nothing half-way: neither event, nor the change
    async with sandbox.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(sandbox.widgets))).scalar_one() == 0

    # The limit counts the headers and key too: a payload that fits alone may not fit with them.
    payload_only = len(b'{"id":"00000000-0000-0000-0000-000000000000","name":""}')
    with pytest.raises(InvalidInput):
        async with unit_of_work(sandbox.sessions) as session:
            await outbox.add(session, WidgetMade(id=uuid.uuid4(), name="x" * (2_000 - payload_only)))


async def test_operators_list_parked_rows_and_republish_one_once_the_cause_is_fixed(sandbox, small_topic, producer):
    WidgetMade = event_class(small_topic)
    async with unit_of_work(sandbox.sessions) as session:
        await Outbox(sandbox.tables, source="lathe/test").add(session, WidgetMade(id=uuid.uuid4(), name="x" * 5000))
    relay = relay_for(sandbox, producer)
    assert await relay.drain() == 0
    parked_id = (await outbox_row(sandbox)).id
    url = sandbox.engine.url.render_as_string(hide_password=False)

    async def cli(*argv: str) -> tuple[int, str, str]:
        parser = argparse.ArgumentParser()
        configure(parser)
        out, err = io.StringIO(), io.StringIO()
        code = await outbox_command(parser.parse_args(argv), database_url=url, schema=sandbox.schema, out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    code, listing, _ = await cli("parked")
    header, *lines = listing.splitlines()
    assert code == 0 and header.split("\t") == ["id", "topic", "event_type", "created_at", "attempts", "reason"]
    assert len(lines) == 1
    fields = lines[0].split("\t")
    assert fields[:3] == [str(parked_id), small_topic, "lathe.test.widget.made.v1"] and fields[4] == "1"
    assert "max.message.bytes=2000" in fields[5]

    # The operator raises the topic's limit, then puts the row back in line.
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, small_topic, configs={"max.message.bytes": "100000"})]
        )
    finally:
        await admin.close()

    async def limit_raised() -> bool:
        return await TopicLimits(producer).max_message_bytes(small_topic) == 100_000

    await eventually(limit_raised)
    code, said, _ = await cli("republish", str(parked_id))
    assert code == 0 and f"outbox row {parked_id}" in said
    row = await outbox_row(sandbox)
    assert row.parked_at is None and row.attempts == 0 and "max.message.bytes=2000" in row.last_error
    assert (await cli("republish", str(parked_id)))[0] == 1  # no longer parked
    assert (await cli("republish", "999999999"))[0] == 1

    assert await relay.drain() == 1  # the relay that parked it asks the topic's limit again, not its cache
    records = await read_topic(sandbox.bootstrap, small_topic, expect=1)
    assert Envelope.from_kafka(records[0].headers, records[0].value).data["name"] == "x" * 5000


async def test_paced_consumers_wait_while_the_relay_has_a_whole_batch_or_more_to_publish(sandbox, topic, producer):
    WidgetMade = event_class(topic)
    outbox = Outbox(sandbox.tables, source="lathe/test")
    async with unit_of_work(sandbox.sessions) as session:
        await outbox.add(session, *(WidgetMade(id=uuid.uuid4(), name=f"w{n}") for n in range(5)))
    relay = relay_for(sandbox, producer, batch_size=2)
    assert await relay.caught_up(0.01)  # nothing claimed yet: nobody is held back
    assert await relay.publish_batch() == 2  # a whole batch: more may wait
    assert not await relay.caught_up(0.05)
    waiting = asyncio.create_task(relay.caught_up(10))
    assert await relay.publish_batch() == 2
    assert not waiting.done()
    assert await relay.publish_batch() == 1  # less than a batch: caught up
    assert await asyncio.wait_for(waiting, 1) is True
    assert await relay.caught_up(0.01)
