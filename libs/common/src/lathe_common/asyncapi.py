"""The AsyncAPI document of a service: the topics it consumes and the events it publishes.

Built from the same ``ServiceDefinition`` the process runs with, on a FastStream broker that is
never connected: subscribers carry the consumed payload's model, publishers each event's model.
``python -m lathe_<service> asyncapi`` prints it; docs/asyncapi/ keeps a copy a test compares.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from lathe_common.kafka import dlq_topic
from lathe_common.service import ServiceDefinition

DLQ_DESCRIPTION = (
    "Messages this consumer could not process: same key and body, with headers lathe_dlq_reason, "
    "lathe_dlq_message, lathe_dlq_topic, lathe_dlq_partition, lathe_dlq_offset, lathe_dlq_consumer; "
    "a copy cut to fit the size limit has lathe_dlq_truncated and lathe_dlq_original_bytes, "
    "the copy of a record with neither key nor value lathe_dlq_null_record."
)


def asyncapi_document(definition: ServiceDefinition) -> dict[str, Any]:
    # A placeholder address: the document describes the contract, not one installation.
    broker = KafkaBroker("kafka:9092", description="your Kafka cluster (KAFKA_BOOTSTRAP_SERVERS)")
    for spec in definition.consumers:
        payload = spec.payload or dict[str, Any]

        async def consume(body: payload) -> None:  # type: ignore[valid-type]  # noqa: ARG001 - documentation only
            return None

        # Annotations are text here (postponed evaluation), read when the document is built: by then
        # the name ``payload`` would be the last consumer's. Each subscriber gets its own model now.
        consume.__annotations__["body"] = payload
        consume.__name__ = f"consume_{spec.name.replace('.', '_').replace('-', '_')}"
        broker.subscriber(
            *spec.topics,
            group_id=f"lathe.{spec.name}",
            title=",".join(spec.topics),
            description=f"Consumer group lathe.{spec.name}. {spec.description}".strip(),
        )(consume)
        for topic in spec.topics:
            broker.publisher(dlq_topic(topic), title=f"{dlq_topic(topic)}", description=DLQ_DESCRIPTION)

    by_topic: dict[str, list[type]] = defaultdict(list)
    for event in definition.events:
        by_topic[event.topic].append(event)
    for topic, events in sorted(by_topic.items()):
        schema: Any = events[0] if len(events) == 1 else _union(events)
        types = ", ".join(e.event_type for e in events)
        broker.publisher(
            topic,
            title=topic,
            schema=schema,
            description=f"CloudEvents in Kafka binary mode (ce_* headers); key = ce_subject. ce_type: {types}",
        )
    spec = AsyncAPI(
        broker, title=f"Lathe {definition.name}", version=definition.version, description=definition.description
    )
    return json.loads(spec.to_specification().to_json())


def _union(events: list[type]) -> Any:
    from typing import Union

    return Union[tuple(events)]  # noqa: UP007 - built at run time from a list
