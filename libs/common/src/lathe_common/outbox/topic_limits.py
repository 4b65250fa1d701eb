"""Each topic's ``max.message.bytes``, as the broker reports it, so the relay never sends what it
would refuse (a refusal would break the idempotent producer's sequence for the partition)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin.config_resource import ConfigResourceType
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.admin import DescribeConfigsRequest

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = "max.message.bytes"


class TopicLimits:
    """Asked through the producer's own connection (DescribeConfigs), cached for ``ttl_seconds``
    so that an operator's change to a topic is seen without a restart. ``None``: the broker did
    not say (unknown topic, no permission to describe it); then only the producer's own size
    check and ``Outbox.add``'s limit stand."""

    def __init__(self, producer: AIOKafkaProducer, *, ttl_seconds: float = 300.0) -> None:
        self.producer = producer
        self.ttl_seconds = ttl_seconds
        self._known: dict[str, tuple[int | None, float]] = {}

    async def max_message_bytes(self, topic: str, *, fresh: bool = False) -> int | None:
        """``fresh``: ask the broker even if a cached answer is still valid."""
        now = asyncio.get_running_loop().time()
        known = self._known.get(topic)
        if known is not None and now - known[1] < self.ttl_seconds and not fresh:
            return known[0]
        client = self.producer.client
        node = client.get_random_node()
        if node is None:
            raise KafkaConnectionError("no broker known to ask for the topic's max.message.bytes")
        request = DescribeConfigsRequest([(ConfigResourceType.TOPIC, topic, [MAX_MESSAGE_BYTES])])
        response = await client.send(node, request)
        limit = None
        for resource in response.resources:
            error_code, entries = resource[0], resource[4]
            if error_code:
                logger.warning("cannot read %s of topic %s (error %s)", MAX_MESSAGE_BYTES, topic, error_code)
                continue
            for entry in entries:
                if entry[0] == MAX_MESSAGE_BYTES and entry[1] is not None:
                    limit = int(entry[1])
        self._known[topic] = (limit, now)
        return limit
