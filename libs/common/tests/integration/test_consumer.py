"""The idempotent consumer on a real FastStream/Kafka subscriber and real PostgreSQL.

Pins how FastStream's ack policy behaves in the installed version: an exception seeks back and the
record is delivered again (offset not committed); a normal return commits it.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from lathe_common.kafka import ensure_topics
from lathe_common.testing import eventually, read_topic
from sqlalchemy import select

from .conftest import Harness, envelope

pytestmark = pytest.mark.integration


async def test_poison_messages_go_to_the_dlq_with_reason_and_the_next_one_is_processed(harness, sandbox, topic):
    await harness.send(raw=b"\x00 not an event")
    await harness.send(envelope("conflict-1"))
    await harness.send(envelope("good-1"))

    assert await eventually(lambda: harness.widgets("good-1"))
    dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=2)
    headers = [dict(r.headers) for r in dead]
    assert [h["lathe_dlq_reason"] for h in headers] == [b"invalid_envelope", b"widget_conflict"]
    assert [h["lathe_dlq_offset"] for h in headers] == [b"0", b"1"]
    assert all(h["lathe_dlq_topic"] == topic.encode() and h["lathe_dlq_partition"] == b"0" for h in headers)
    assert b"clashes" in headers[1]["lathe_dlq_message"]
    assert dead[0].value == b"\x00 not an event"  # same body, same key
    assert dead[1].key == dead[1].key and dead[1].value and dead[0].key == b"k"
    assert await harness.widgets("conflict-1") == 0  # the failed handler's writes were rolled back
    assert await eventually(lambda: _equals(harness.committed_offset(), 3))


async def test_a_redelivered_event_has_no_second_effect(harness):
    once = envelope("once")
    await harness.send(once)
    await harness.send(once)  # what a producer retry or a replay delivers
    await harness.send(envelope("marker"))

    assert await eventually(lambda: harness.widgets("marker"))
    assert harness.calls["once"] == 1
    assert await harness.widgets("once") == 1


async def test_a_failing_record_is_redelivered_in_place_until_it_succeeds_or_is_dead_lettered(harness, sandbox, topic):
    await harness.send(envelope("flaky-1"))
    await harness.send(envelope("explode-1"))
    await harness.send(envelope("after"))

    assert await eventually(lambda: harness.widgets("after"))
    # Not committed on failure: the same record came back (seek), and order was kept.
    assert harness.calls["flaky-1"] == 2 and await harness.widgets("flaky-1") == 1
    assert harness.calls["explode-1"] == 3 and await harness.widgets("explode-1") == 0
    dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=1)
    assert [dict(r.headers)["lathe_dlq_reason"] for r in dead] == [b"unhandled_error"]
    # Committed after success: the group's offset is past every record.
    assert await eventually(lambda: _equals(harness.committed_offset(), 3))


async def test_a_batch_rolls_back_only_the_record_that_fails_and_keeps_every_guarantee(sandbox, producer, topic):
    harness = Harness(sandbox, producer, topic, batch_size=50)
    once = envelope("batch-once")
    # Produced before the subscriber starts, so they arrive together in one batch.
    for env in (
        once,
        envelope("conflict-b"),
        once,
        envelope("flaky-b"),
        envelope("explode-b"),
        envelope("batch-after"),
    ):
        await harness.send(env)
    await harness.send(raw=b"garbage")
    await harness.broker.start()
    try:
        assert await eventually(lambda: harness.widgets("batch-after"))
        dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=3)
        assert await eventually(lambda: _equals(harness.committed_offset(), 7))
    finally:
        await harness.broker.stop()
    reasons = sorted(dict(r.headers)["lathe_dlq_reason"].decode() for r in dead)
    assert reasons == ["invalid_envelope", "unhandled_error", "widget_conflict"]
    # Whatever the retries of the batch, each effect happened once and failed records left none.
    for name, expected in {"batch-once": 1, "flaky-b": 1, "batch-after": 1, "conflict-b": 0, "explode-b": 0}.items():
        assert await harness.widgets(name) == expected, name
    assert harness.calls["explode-b"] == 3  # max_attempts, then dead-lettered alone


async def test_a_batch_handler_handles_the_batch_in_one_call_and_keeps_every_guarantee(sandbox, producer, topic):
    harness = Harness(sandbox, producer, topic, batch_size=50, together=True)
    once, conflict = envelope("together-once"), envelope("conflict-t")
    for env in (once, conflict, once, envelope("flaky-t"), envelope("together-after")):
        await harness.send(env)
    await harness.send(raw=b"garbage")
    await harness.broker.start()
    try:
        assert await eventually(lambda: harness.widgets("together-after"))
        dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=2)
        assert await eventually(lambda: _equals(harness.committed_offset(), 6))
    finally:
        await harness.broker.stop()
    assert sorted(dict(r.headers)["lathe_dlq_reason"].decode() for r in dead) == ["invalid_envelope", "widget_conflict"]
    for name, expected in {"together-once": 1, "flaky-t": 1, "together-after": 1, "conflict-t": 0}.items():
        assert await harness.widgets(name) == expected, name
    assert harness.calls["together-once"] == harness.calls["flaky-t"] == 2  # the transient failure retried the batch
    assert harness.single_calls == 0 and harness.batch_calls >= 2
    inbox = await harness.inbox_ids()
    assert str(once.id) in inbox and str(conflict.id) not in inbox  # a dead-lettered record leaves no claim


async def test_a_batch_handler_that_keeps_failing_falls_back_to_records_one_by_one(sandbox, producer, topic):
    harness = Harness(sandbox, producer, topic, batch_size=50, together=True)
    for env in (envelope("first-t"), envelope("explode-t"), envelope("conflict-u"), envelope("last-t")):
        await harness.send(env)
    await harness.broker.start()
    try:
        assert await eventually(lambda: harness.widgets("last-t"))
        dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=2)
        assert await eventually(lambda: _equals(harness.committed_offset(), 4))
    finally:
        await harness.broker.stop()
    assert sorted(dict(r.headers)["lathe_dlq_reason"].decode() for r in dead) == ["unhandled_error", "widget_conflict"]
    for name, expected in {"first-t": 1, "last-t": 1, "explode-t": 0, "conflict-u": 0}.items():
        assert await harness.widgets(name) == expected, name
    # max_attempts (3): twice as a batch, then alone, isolated from the others by the fallback.
    assert harness.calls["explode-t"] == 3 and harness.single_calls >= 1


async def _equals(value, expected) -> bool:
    return await value == expected


async def test_inbox_pruning_forgets_only_old_message_ids(sandbox):
    from datetime import UTC, datetime, timedelta

    from lathe_common.consumers import prune_inbox

    inbox = sandbox.tables.inbox
    async with sandbox.engine.begin() as conn:
        await conn.execute(
            inbox.insert(),
            [
                {"consumer": "prune-test", "message_id": "old", "processed_at": datetime.now(UTC) - timedelta(days=40)},
                {
                    "consumer": "prune-test",
                    "message_id": "recent",
                    "processed_at": datetime.now(UTC) - timedelta(days=2),
                },
            ],
        )
    assert await prune_inbox(sandbox.engine, inbox, retention=timedelta(days=30)) == 1
    async with sandbox.engine.connect() as conn:
        left = (await conn.execute(select(inbox.c.message_id).where(inbox.c.consumer == "prune-test"))).scalars().all()
    assert left == ["recent"]


async def test_group_members_share_the_partitions_and_each_record_is_handled_once(sandbox, producer):
    topic = f"lathe.test.{uuid.uuid4().hex[:10]}.v1"
    await ensure_topics(sandbox.bootstrap, [topic, f"{topic}.dlq"], partitions=3)
    harness = Harness(sandbox, producer, topic, batch_size=50, together=True, members=3)
    sent = [envelope(f"member-{n}") for n in range(60)]
    for env in sent:
        await harness.send(env)
    await harness.broker.start()
    try:
        assert await eventually(lambda: _equals(harness.committed_offset(), 60))
        admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
        await admin.start()
        try:
            (described,) = await admin.describe_consumer_groups([f"lathe.{harness.spec.name}"])
        finally:
            await admin.close()
    finally:
        await harness.broker.stop()
    (group,) = described.to_object()["groups"]
    assert len(group["members"]) == 3  # one process, three members, one partition each
    for env in sent:
        assert await harness.widgets(env.data["name"]) == 1
