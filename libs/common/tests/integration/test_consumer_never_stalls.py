"""Whatever arrives, a consumer handles it, dead-letters it with a reason, or retries it after a
pause, and the partition moves on: hostile records against a real FastStream subscriber, Kafka
and PostgreSQL. Each test sends the hostile record first and a good one after it on the same
(single) partition: the good one must be handled within seconds."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from lathe_common.consumers import DeadLetters, Undeliverable, decode_envelope
from lathe_common.kafka import MAX_REQUEST_BYTES, create_producer, ensure_topics
from lathe_common.testing import eventually, read_topic
from prometheus_client import REGISTRY

from .conftest import Harness, envelope

pytestmark = pytest.mark.integration

BOTH_MODES = pytest.mark.parametrize("batch_size", [None, 50], ids=["one-by-one", "batched"])


def headers_of(record) -> dict[str, bytes]:
    return dict(record.headers)


def reasons(records) -> list[str]:
    return [headers_of(r)["lathe_dlq_reason"].decode() for r in records]


async def started(harness: Harness) -> Harness:
    await harness.broker.start()
    return harness


def retries(harness: Harness, kind: str) -> float:
    labels = {"service": "test", "consumer": harness.spec.name, "topic": harness.topic, "kind": kind}
    return REGISTRY.get_sample_value("lathe_consumer_retries_total", labels) or 0.0


@BOTH_MODES
async def test_envelopes_whose_headers_or_body_break_parsing_are_dead_lettered_and_the_next_is_handled(
    sandbox, producer, topic, batch_size
):
    harness = Harness(sandbox, producer, topic, batch_size)
    tag = uuid.uuid4().hex[:8]  # both modes share the module's widgets table
    event = envelope(f"with-ce-data-{tag}")
    good = event.kafka_headers()
    other = envelope("other").kafka_headers()
    # An extension named like the body field: ignored, the event is handled.
    await harness.send(raw=event.kafka_value(), headers=[*good, ("ce_data", b"{}")])
    await harness.send(raw=b'{"name": "x"}', headers=[*other, ("ce_actor", b"\xff\xfe")])  # not UTF-8
    await harness.send(
        raw=b'{"name": "x"}', headers=[(k, v) for k, v in other if k != "ce_subject"] + [("ce_subject", None)]
    )
    await harness.send(raw=b'{"name": "x", "weight": NaN}', headers=other)
    await harness.send(raw=b'{"name": "x\\u0000y"}', headers=other)
    await harness.send(
        raw=b'{"name": "x"}', headers=[(k, v) for k, v in other if k != "ce_subject"] + [("ce_subject", b"a\x00")]
    )
    await harness.send(raw=b'{"name": "x", "big": 123456789012345678901234567890}', headers=other)
    await harness.send(raw=b"[" * 5000 + b"]" * 5000, headers=other)  # deeper than any parser allows
    await harness.send(raw=None, key=None)  # neither key nor value
    await harness.send(envelope(f"after-hostile-headers-{tag}"))
    await started(harness)
    try:
        assert await eventually(lambda: harness.widgets(f"after-hostile-headers-{tag}"), timeout=15)
        dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=8)
    finally:
        await harness.broker.stop()
    assert await harness.widgets(f"with-ce-data-{tag}") == 1
    assert reasons(dead) == [
        "invalid_envelope",  # not UTF-8
        "invalid_envelope",  # a header without a value
        "invalid_value",  # NaN
        "invalid_value",  # NUL in the body
        "invalid_value",  # NUL in a header
        "invalid_value",  # beyond 64 bits
        "invalid_envelope",  # nesting
        "invalid_envelope",  # nothing at all
    ]
    assert [int(headers_of(r)["lathe_dlq_offset"]) for r in dead] == list(range(1, 9))
    null_copy = dead[-1]
    assert (
        null_copy.key is None and null_copy.value == b"" and headers_of(null_copy)["lathe_dlq_null_record"] == b"true"
    )


def exploding_decode(record):
    if record.value == b"boom":
        raise TypeError("the decoder has a bug")
    if record.value == b"refused":
        raise Undeliverable("refused_by_decoder", "the decoder says no")
    return decode_envelope(record)


@BOTH_MODES
async def test_any_exception_a_decoder_raises_dead_letters_the_record(sandbox, producer, topic, batch_size):
    harness = Harness(sandbox, producer, topic, batch_size, decode=exploding_decode)
    after = f"after-the-decoder-failed-{uuid.uuid4().hex[:8]}"
    await harness.send(raw=b"boom")
    await harness.send(raw=b"refused")
    await harness.send(envelope(after))
    await started(harness)
    try:
        assert await eventually(lambda: harness.widgets(after), timeout=15)
        dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=2)
    finally:
        await harness.broker.stop()
    assert reasons(dead) == ["undecodable", "refused_by_decoder"]
    assert b"TypeError: the decoder has a bug" in headers_of(dead[0])["lathe_dlq_message"]


async def test_a_record_near_the_size_limit_is_dead_lettered_cut_to_fit(sandbox, producer, topic):
    harness = Harness(sandbox, producer, topic)
    big = b"x" * (MAX_REQUEST_BYTES - 200)  # fits the broker; with the dead-letter headers it would not
    await harness.send(raw=big)
    await harness.send(envelope("after-the-big-one"))
    await started(harness)
    try:
        assert await eventually(lambda: harness.widgets("after-the-big-one"), timeout=20)
        (dead,) = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=1)
    finally:
        await harness.broker.stop()
    headers = headers_of(dead)
    assert headers["lathe_dlq_reason"] == b"invalid_envelope"
    assert headers["lathe_dlq_truncated"] == b"true"
    assert headers["lathe_dlq_original_bytes"] == str(len(big)).encode()
    assert (headers["lathe_dlq_topic"], headers["lathe_dlq_offset"]) == (topic.encode(), b"0")
    assert 0 < len(dead.value) < len(big) and big.startswith(dead.value)


async def test_a_dead_letter_topic_that_accepts_less_gets_the_copy_without_its_body(sandbox, producer):
    topic = f"lathe.test.{uuid.uuid4().hex[:10]}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        small = NewTopic(
            f"{topic}.dlq", num_partitions=1, replication_factor=1, topic_configs={"max.message.bytes": "4096"}
        )
        await admin.create_topics([small])
    finally:
        await admin.close()
    await ensure_topics(sandbox.bootstrap, [topic], partitions=1)
    harness = Harness(sandbox, producer, topic)
    await harness.send(raw=b"y" * 20_000)
    await harness.send(envelope("after-the-refused-copy"))
    await started(harness)
    try:
        assert await eventually(lambda: harness.widgets("after-the-refused-copy"), timeout=15)
        (dead,) = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=1)
    finally:
        await harness.broker.stop()
    assert dead.value == b"" and headers_of(dead)["lathe_dlq_truncated"] == b"true"
    assert headers_of(dead)["lathe_dlq_original_bytes"] == b"20000"


async def test_a_dead_letter_that_cannot_be_sent_is_retried_after_pauses_until_it_can(sandbox, producer, topic):
    harness = Harness(sandbox, producer, topic)
    broken = create_producer(sandbox.bootstrap, client_id="lathe-tests-closed")
    await broken.start()
    await broken.stop()  # every send now fails
    harness.runtime.dead_letters = DeadLetters(broken, send_timeout_seconds=0.2)
    await harness.send(raw=b"not an event")
    await harness.send(envelope("after-the-dead-letter-went"))
    await started(harness)
    try:

        async def retried_thrice() -> bool:
            return retries(harness, "dead_letter") >= 3

        assert await eventually(retried_thrice, timeout=10)
        seen = retries(harness, "dead_letter")
        assert await harness.widgets("after-the-dead-letter-went") == 0  # never skipped
        # Paused between tries (0.05 s doubling to 0.2 s here), not looping: a handful, not thousands.
        assert seen <= 12, seen
        harness.runtime.dead_letters = DeadLetters(producer)
        assert await eventually(lambda: harness.widgets("after-the-dead-letter-went"), timeout=15)
        (dead,) = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=1)
    finally:
        await harness.broker.stop()
    assert dead.value == b"not an event" and headers_of(dead)["lathe_dlq_reason"] == b"invalid_envelope"


async def test_a_transient_failure_is_retried_in_place_after_growing_pauses(harness):
    await harness.send(envelope("unstable-1"))
    await harness.send(envelope("after-the-outage"))
    assert await eventually(lambda: harness.widgets("after-the-outage"), timeout=15)
    times = harness.call_times["unstable-1"]
    assert len(times) == 4 and await harness.widgets("unstable-1") == 1
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    for gap, pause in zip(gaps, (0.05, 0.1, 0.2), strict=True):  # the harness's Backoff(0.05, max 0.2)
        assert gap >= pause * 0.9, gaps
    assert retries(harness, "transient") == 3


async def test_unstorable_values_in_a_batch_cost_the_rest_of_it_nothing(sandbox, producer, topic):
    harness = Harness(sandbox, producer, topic, batch_size=50, together=True)
    for event in (envelope("batch-good-1"), envelope("nul\x00in-a-name"), envelope("batch-good-2")):
        await harness.send(event)
    await started(harness)
    try:
        assert await eventually(lambda: harness.widgets("batch-good-2"), timeout=15)
        (dead,) = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=1)
    finally:
        await harness.broker.stop()
    assert reasons([dead]) == ["invalid_value"]
    assert harness.batch_calls == 1 and harness.single_calls == 0  # refused before the database: no retry
    assert await harness.widgets("batch-good-1") == 1


async def test_a_consumer_is_told_of_its_dead_letters_and_a_listener_that_fails_stalls_nothing(
    sandbox, producer, topic
):
    async def note(session, record, reason, detail) -> None:
        if record.value == b"listener breaks":
            raise RuntimeError("the listener has a bug")
        await session.execute(sandbox.widgets.insert().values(name=f"noted:{reason}:{record.offset}"))

    harness = Harness(sandbox, producer, topic, on_dead_letter=note)
    await harness.send(raw=b"listener breaks")
    await harness.send(raw=b"not an event")
    await harness.send(envelope("conflict-noted"))
    await harness.send(envelope("after-the-notes"))
    await started(harness)
    try:
        assert await eventually(lambda: harness.widgets("after-the-notes"), timeout=15)
        dead = await read_topic(sandbox.bootstrap, f"{topic}.dlq", expect=3)
    finally:
        await harness.broker.stop()
    assert reasons(dead) == ["invalid_envelope", "invalid_envelope", "widget_conflict"]
    assert await harness.widgets("noted:invalid_envelope:0") == 0  # its listener failed: the dead letter went anyway
    assert await harness.widgets("noted:invalid_envelope:1") == 1
    assert await harness.widgets("noted:widget_conflict:2") == 1
