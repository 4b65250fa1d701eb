"""Hostile records on the real broker, against the running services: each is dead-lettered with its
reason (or handled, when it is readable after all) and a good record sent after it to the same
partition is handled within seconds. Covers the machine topic (production) and a topic the audit
trail consumes (analytics)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from lathe_common.kafka import MAX_REQUEST_BYTES, create_producer
from lathe_common.testing import eventually

from .conftest import Catalog, bearer

pytestmark = pytest.mark.e2e

MACHINE_TOPIC = "lathe.machine.process-data.v1"
AUDITED_TOPIC = "lathe.production.lots.v1"  # read by analytics' audit-trail consumer


def near_the_limit(key: bytes | None, headers=()) -> bytes:
    """A body that makes the record 150 bytes short of the limit: the broker takes it, and with the
    dead-letter headers added its copy would not fit."""
    empty = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, b"", list(headers))
    return b"x" * (MAX_REQUEST_BYTES - 150 - empty)


@pytest.fixture
async def producer(kafka):
    p = create_producer(kafka, client_id="lathe-tests-hostile")
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def send(producer, topic: str, partition: int, value: bytes | None, *, key: bytes | None, headers=()) -> int:
    """Produce one record to ``partition``; returns its offset. A record with neither key nor value
    (which aiokafka's send() refuses, other clients do not) goes as a hand-built batch."""
    if key is None and value is None:
        batch = producer.create_batch()
        batch.append(key=None, value=None, timestamp=None, headers=list(headers))
        return (await (await producer.send_batch(batch, topic, partition=partition))).offset
    return (
        await producer.send_and_wait(topic, value=value, key=key, partition=partition, headers=list(headers))
    ).offset


async def dead_letters(kafka: str, topic: str, origins: Iterable[tuple[int, int]], timeout: float = 30.0) -> dict:
    """The dead letters of the given (partition, offset) origins, by origin, once all have arrived."""
    wanted = set(origins)
    found: dict[tuple[int, int], ConsumerRecord] = {}
    consumer = AIOKafkaConsumer(
        f"{topic}.dlq", bootstrap_servers=kafka, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while wanted - found.keys() and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    headers = dict(record.headers)
                    if headers.get("lathe_dlq_topic") == topic.encode():
                        origin = (int(headers["lathe_dlq_partition"]), int(headers["lathe_dlq_offset"]))
                        if origin in wanted:
                            found[origin] = record
    finally:
        await consumer.stop()
    assert not wanted - found.keys(), f"no dead letter for {sorted(wanted - found.keys())}"
    return found


def reason(record: ConsumerRecord) -> str:
    return dict(record.headers)["lathe_dlq_reason"].decode()


def step(serial: str, process: str, **fields) -> dict:
    return {"message_id": str(uuid.uuid4()), "serial_number": serial, "process_code": process} | fields


async def test_hostile_machine_messages_are_dead_lettered_and_the_unit_s_next_message_is_recorded(
    gateway, accounts, kafka, producer
):
    engineer = bearer(await accounts.token_for("engineer"))
    process = f"HOSTILE_{uuid.uuid4().hex[:8].upper()}"
    limits = {"offset_mv": {"lower_limit": -5, "upper_limit": 5}}
    created = await gateway.post(
        "/api/v1/processes",
        json={
            "process_code": process,
            "process_number": 100_000 + uuid.uuid4().int % 900_000,
            "name": "Hostile",
            "quality_criteria": limits,
        },
        headers=engineer,
    )
    assert created.status_code == 201, created.text
    model = f"HOSTILE-{uuid.uuid4().hex[:8]}"
    await gateway.post(
        "/api/v1/product-models", json={"model_code": model, "model_name": "M", "routing": [process]}, headers=engineer
    )
    lot = (
        await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": 1}, headers=engineer)
    ).json()
    made = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 1}, headers=engineer)
    (serial,) = (s["serial_number"] for s in made.json()["items"])
    key = serial.encode()
    partition = (await producer.send_and_wait(MACHINE_TOPIC, value=b"{}", key=key)).partition  # schema_error, ignored
    dumps = json.dumps

    def raw(body: str) -> bytes:
        return (
            body.replace("{SERIAL}", serial).replace("{PROCESS}", process).replace("{ID}", str(uuid.uuid4())).encode()
        )

    hostile = {
        "NaN": raw(
            '{"message_id":"{ID}","serial_number":"{SERIAL}","process_code":"{PROCESS}","measurements":{"offset_mv":NaN}}'
        ),
        "Infinity": raw(
            '{"message_id":"{ID}","serial_number":"{SERIAL}","process_code":"{PROCESS}","measurements":{"x":-Infinity}}'
        ),
        "1e400": raw(
            '{"message_id":"{ID}","serial_number":"{SERIAL}","process_code":"{PROCESS}","measurements":{"x":1e400}}'
        ),
        "huge integer": raw(
            '{"message_id":"{ID}","serial_number":"{SERIAL}","process_code":"{PROCESS}","measurements":{"x":1'
            + "0" * 30
            + "}}"
        ),
        "1e20": raw(
            '{"message_id":"{ID}","serial_number":"{SERIAL}","process_code":"{PROCESS}","measurements":{"x":1e20}}'
        ),
        "NUL in a value": dumps(step(serial, process, operator="rob\x00ot")).encode(),
        "NUL in a key": dumps(step(serial, process, measurements={"o\x00": 1})).encode(),
        "started in 1900": dumps(step(serial, process, started_at="1900-01-01T00:00:00Z")).encode(),
    }
    expected = {name: "invalid_value" for name in hostile}
    offsets = {name: await send(producer, MACHINE_TOPIC, partition, body, key=key) for name, body in hostile.items()}
    offsets["nested too deep"] = await send(producer, MACHINE_TOPIC, partition, b"[" * 5000 + b"]" * 5000, key=key)
    offsets["nothing"] = await send(producer, MACHINE_TOPIC, partition, None, key=None)
    big = near_the_limit(key)
    offsets["near the size limit"] = await send(producer, MACHINE_TOPIC, partition, big, key=key)
    expected |= {"nested too deep": "invalid_json", "nothing": "invalid_json", "near the size limit": "invalid_json"}
    # Readable after all, whatever its other headers: recorded.
    good = step(serial, process, measurements={"offset_mv": 1.5}, result="PASS")
    await send(producer, MACHINE_TOPIC, partition, dumps(good).encode(), key=key, headers=[("x-junk", b"\xff\xfe")])

    async def recorded() -> bool:
        history = await gateway.get(f"/api/v1/serials/{serial}/history", headers=engineer)
        return [h["message_id"] for h in history.json()] == [good["message_id"]]

    assert await eventually(recorded, timeout=15)
    dead = await dead_letters(kafka, MACHINE_TOPIC, ((partition, offset) for offset in offsets.values()))
    assert {name: reason(dead[(partition, offset)]) for name, offset in offsets.items()} == expected
    cut = dict(dead[(partition, offsets["near the size limit"])].headers)
    assert cut["lathe_dlq_truncated"] == b"true" and cut["lathe_dlq_original_bytes"] == str(len(big)).encode()
    assert dict(dead[(partition, offsets["nothing"])].headers)["lathe_dlq_null_record"] == b"true"
    unit = (await gateway.get(f"/api/v1/serials/{serial}", headers=engineer)).json()
    assert unit["status"] == "PASSED"


async def test_hostile_records_on_an_audited_topic_are_dead_lettered_and_the_trail_keeps_up(
    gateway, accounts, kafka, producer
):
    quality = bearer(await accounts.token_for("quality"))
    partitions = sorted(await producer.partitions_for(AUDITED_TOPIC))

    def headers(**override: bytes | None) -> list[tuple[str, bytes | None]]:
        base = {
            "ce_id": str(uuid.uuid4()).encode(),
            "ce_source": b"lathe/tests",
            "ce_type": b"lathe.tests.hostile.v1",
            "ce_time": b"2026-11-30T00:00:00+00:00",
            "ce_subject": f"hostile-{uuid.uuid4().hex}".encode(),
            "ce_specversion": b"1.0",
        }
        return list((base | override).items())

    readable_with_ce_data = headers()
    sent: dict[tuple[int, int], str] = {}
    for partition in partitions:
        big_headers = headers()
        hostile = [
            # An extension named like the envelope's data field is ignored (it used to stall the trail).
            (b'{"n": 1}', b"h", [*headers(), ("ce_data", b"{}")], None),
            (b"{}", b"h", headers(ce_actor=b"\xff"), "invalid_envelope"),
            (b"{}", b"h", headers(ce_actor=None), "invalid_envelope"),
            (b'{"n": NaN}', b"h", headers(), "invalid_value"),
            (b'{"n": "\\u0000"}', b"h", headers(), "invalid_value"),
            (b"{}", b"h", headers(ce_subject=b"a\x00"), "invalid_value"),
            (None, None, [], "invalid_envelope"),
            (near_the_limit(b"h", big_headers), b"h", big_headers, "invalid_envelope"),
        ]
        for body, key, record_headers, expected in hostile:
            offset = await send(producer, AUDITED_TOPIC, partition, body, key=key, headers=record_headers)
            if expected is not None:
                sent[(partition, offset)] = expected
    readable = [*readable_with_ce_data, ("ce_data", b"x")]
    await send(producer, AUDITED_TOPIC, partitions[0], b'{"n": 1}', key=b"h", headers=readable)

    # A real change after all of them, on whichever partition its key takes: audited within seconds.
    engineer = bearer(await accounts.token_for("engineer"))
    catalog = Catalog(gateway, engineer)
    model = await catalog.model([await catalog.process()], prefix="AUDIT")
    lot = (
        await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": 1}, headers=engineer)
    ).json()

    async def audited(subject: str) -> list:
        answer = await gateway.get("/api/v1/audit-logs", params={"subject": subject}, headers=quality)
        return answer.json()["items"]

    assert await eventually(lambda: audited(lot["id"]), timeout=15)
    readable_subject = dict(readable_with_ce_data)["ce_subject"].decode()
    assert [entry["data"] for entry in await eventually(lambda: audited(readable_subject), timeout=15)] == [{"n": 1}]
    dead = await dead_letters(kafka, AUDITED_TOPIC, sent)
    assert {origin: reason(record) for origin, record in dead.items()} == sent
    truncated = [r for r in dead.values() if dict(r.headers).get("lathe_dlq_truncated") == b"true"]
    assert len(truncated) == len(partitions)
