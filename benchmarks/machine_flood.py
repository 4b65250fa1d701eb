"""What the benchmarks that load the machine topic share: units of their own routed through one
default process (written with COPY), their messages produced as fast as Kafka takes them, how many
production recorded, and when production's step events reached Kafka."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from benchmarks.report import Figure
from benchmarks.stack import copy_units, percentile

MACHINE_TOPIC = "lathe.machine.process-data.v1"
STEPS_TOPIC = "lathe.production.process-data.v1"  # production's step.recorded events
MARKING = "P01_LASER_MARKING"


async def routed_units(
    conn: asyncpg.Connection,
    code: str,
    count: int,
    *,
    process: str = MARKING,
    units_per_lot: int = 1_000,
    model_name: str = "Bench flood",
) -> tuple[list[str], list[uuid.UUID]]:
    """``count`` new units of a model ``code`` whose routing is ``process`` alone, in CREATED LOTs of
    ``units_per_lot`` (serial numbers ``<code>-U000000`` on): their serial numbers and LOT ids."""
    numbers = [f"{code}-U{n:06d}" for n in range(count)]
    model_id, lots, _ = await copy_units(
        conn,
        model_code=code,
        model_name=model_name,
        lot_numbers=[f"{code}-{n:03d}" for n in range(-(-count // units_per_lot))],
        units_per_lot=units_per_lot,
        serial_numbers=numbers,
        lot_status="CREATED",
    )
    await conn.execute(
        "INSERT INTO production.routing_steps (product_model_id, step_no, process_id) "
        "SELECT $1, 1, id FROM production.processes WHERE process_code = $2",
        model_id,
        process,
    )
    return numbers, lots


async def marking_units(
    conn: asyncpg.Connection, prefix: str, count: int, **kw: object
) -> tuple[list[str], list[uuid.UUID]]:
    """``routed_units`` through the laser marking, of a model named ``<prefix>-<random>``."""
    return await routed_units(conn, f"{prefix}-{uuid.uuid4().hex[:6]}", count, **kw)  # type: ignore[arg-type]


def marking_message(serial: str, **more: object) -> dict:
    """A machine's PASS of the laser marking for ``serial``."""
    return {
        "message_id": str(uuid.uuid4()),
        "serial_number": serial,
        "process_code": MARKING,
        "result": "PASS",
        "operator": "bench",
        **more,
    }


async def produce(bootstrap: str, messages: Iterable[dict], topic: str = MACHINE_TOPIC) -> float:
    """``messages`` into ``topic`` (keyed by serial number) as fast as the producer sends, every one
    acknowledged; the seconds it took."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    started = time.perf_counter()
    try:
        sent = [await producer.send(topic, json.dumps(m).encode(), key=m["serial_number"].encode()) for m in messages]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def units_passed(dsn: str, prefix: str) -> int:
    """How many units whose serial number starts with ``prefix`` production has PASSED."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM production.serials WHERE serial_number LIKE $1 AND status = 'PASSED'", f"{prefix}%"
        )
    finally:
        await conn.close()


async def step_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    """Where production's step.recorded events end now: a run's events come after."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        partitions = [TopicPartition(STEPS_TOPIC, n) for n in sorted(await producer.partitions_for(STEPS_TOPIC))]
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def published_at(bootstrap: str, since: dict[TopicPartition, int], keys: set[str]) -> dict[str, float]:
    """When the last step.recorded of each unit in ``keys`` (its event key) after ``since`` reached
    Kafka: its record timestamp, epoch seconds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: dict[str, float] = {}
    try:
        consumer.assign(list(since))
        for partition, offset in since.items():
            consumer.seek(partition, offset)
        ends = await consumer.end_offsets(list(since))
        while any([await consumer.position(p) < end for p, end in ends.items()]):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.key and record.key.decode() in keys:
                        found[record.key.decode()] = record.timestamp / 1000
    finally:
        await consumer.stop()
    return found


def freshness_figures(found: dict) -> tuple[list[Figure], list[float], list[float]]:
    """The figures a freshness benchmark reports from its probes (``found``: ``idle`` and ``flood``
    latencies in seconds, ``flood_recorded_while_probing``, ``probing_seconds``), and the idle and
    flood latencies in milliseconds."""
    idle_ms = [s * 1000 for s in found["idle"]]
    flood_ms = [s * 1000 for s in found["flood"]]
    idle_p99, flood_p99 = percentile(idle_ms, 99), percentile(flood_ms, 99)
    rate = found["flood_recorded_while_probing"] / found["probing_seconds"]
    figures = [
        Figure("idle p50", percentile(idle_ms, 50), "ms"),
        Figure("idle p99", idle_p99, "ms", "< 1000", idle_p99 < 1000),
        Figure("under machine flood p50", percentile(flood_ms, 50), "ms"),
        Figure("under machine flood p99", flood_p99, "ms", "< 1000", flood_p99 < 1000),
        Figure("machine messages recorded per second while probing", rate, "messages/s"),
    ]
    return figures, idle_ms, flood_ms
