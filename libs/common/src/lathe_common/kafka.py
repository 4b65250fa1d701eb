"""Kafka clients shared by the outbox relay, dead-lettering and health checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

logger = logging.getLogger(__name__)


PRODUCER_BATCH_BYTES = 256 * 1024
# The largest record the producer sends (aiokafka's default, stated so dead letters can fit under it);
# Kafka's broker accepts about as much by default (message.max.bytes = 1,048,588).
MAX_REQUEST_BYTES = 1024 * 1024


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def create_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """Idempotent, acks=all: a retried send never duplicates or reorders within a partition."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=PRODUCER_BATCH_BYTES,
        max_request_size=MAX_REQUEST_BYTES,
        request_timeout_ms=30_000,
    )


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[str], *, partitions: int, replication_factor: int = 1
) -> None:
    """Create the topics a service owns (and their dead-letter topics); existing ones are left alone."""
    wanted = sorted(set(topics))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="lathe-topic-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t, num_partitions=partitions, replication_factor=replication_factor)
            for t in wanted
            if t not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another replica created it first
            logger.info("created topics", extra={"topics": [t.name for t in missing]})
    finally:
        await admin.close()


async def kafka_reachable(producer: AIOKafkaProducer, timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout)
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False
    return True
