"""Helpers for tests against the real stack (imported by test suites, never by services)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 20.0, interval: float = 0.2) -> T:
    """Await ``probe`` until it returns something truthy; fail with its last value after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 20.0, settle: float = 0.0
) -> list[ConsumerRecord]:
    """Every record of ``topic`` from the start: waits for ``expect`` records, then ``settle`` more seconds."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(records) < expect and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records += [r for rs in batch.values() for r in rs]
        settle_until = loop.time() + settle
        while loop.time() < settle_until:
            batch = await consumer.getmany(timeout_ms=200)
            records += [r for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return records
