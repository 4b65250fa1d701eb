"""The consumer runtime of a service process: subscribes each ``ConsumerSpec`` to its topics and
routes every fetched record (or batch) through ``handling`` (or ``batches``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from lathe_common.consumers.batches import process_batch
from lathe_common.consumers.handling import RETRY_KINDS, RecordHandling
from lathe_common.consumers.spec import ConsumerSpec
from lathe_common.metrics import CONSUMER_RETRIES


def _left_to_the_spec(message: Any) -> None:  # noqa: ARG001 - FastStream's decoder signature
    """FastStream would parse every body as JSON (again per record, for a batch); the spec's
    ``decode`` reads the raw records instead, and knows what a bad body means."""
    return None


async def _headers_left_to_the_spec(
    records: ConsumerRecord | tuple[ConsumerRecord, ...], original: Callable[[Any], Awaitable[Any]]
) -> Any:
    """FastStream's own parser decodes every header as UTF-8 and fails on any other value (or on a
    header without one) before a handler runs, and then drops the record with an error log. It is
    given the records without their headers; the spec's decoder reads the raw records, headers
    included, and dead-letters what it cannot read."""
    if isinstance(records, tuple):
        message = await original(tuple(replace(record, headers=()) for record in records))
    else:
        message = await original(replace(records, headers=()))
    message.raw_message = records
    return message


Pacer = Callable[[float], Awaitable[bool]]  # waits up to the given seconds; whether it was not in vain


class ConsumerRuntime(RecordHandling):
    """``register`` a spec on a broker; ``process`` / ``process_batch`` are what its subscribers call."""

    pacer: Pacer | None = None
    pacing_max_seconds: float = 10.0

    def pace_with(self, pacer: Pacer, max_seconds: float) -> None:
        """What specs ``paced_by_outbox`` wait for before each fetched batch (the outbox relay's
        ``caught_up``)."""
        self.pacer, self.pacing_max_seconds = pacer, max_seconds

    def register(self, broker: KafkaBroker, spec: ConsumerSpec) -> None:
        # Retries are counted from 0, so the first one is an increase (a series born at 1 shows none).
        for topic in spec.topics:
            for kind in RETRY_KINDS:
                CONSUMER_RETRIES.labels(self.service, spec.name, topic, kind)
        if spec.batch_size:

            async def consume(msg: KafkaMessage) -> None:
                if spec.paced_by_outbox and self.pacer is not None:
                    await self.pacer(self.pacing_max_seconds)
                await self.process_batch(spec, msg.raw_message, getattr(msg, "consumer", None))
        else:

            async def consume(msg: KafkaMessage) -> None:
                await self.process(spec, msg.raw_message, getattr(msg, "consumer", None))

        consume.__name__ = f"consume_{spec.name.replace('.', '_').replace('-', '_')}"
        consume.__doc__ = f"Consumer `{spec.name}`."
        subscriber_args: dict[str, Any] = {
            "group_id": f"lathe.{spec.name}",
            "ack_policy": AckPolicy.NACK_ON_ERROR,
            "auto_offset_reset": spec.auto_offset_reset,
            "parser": _headers_left_to_the_spec,
            "decoder": _left_to_the_spec,
        }
        if spec.batch_size:
            subscriber_args |= {"batch": True, "max_records": spec.batch_size, "batch_timeout_ms": 200}
        for _ in range(spec.members):
            broker.subscriber(*spec.topics, **subscriber_args)(consume)

    async def process_batch(
        self, spec: ConsumerSpec, records: Sequence[ConsumerRecord], consumer: Any = None
    ) -> dict[str, int]:
        """Handle a fetched batch; returns outcome counts. Raises only to have it redelivered."""
        return await process_batch(self, spec, records, consumer)
